package server_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestGatewayMemoryUnderPersistedQueryRegistrations runs the gateway binary
// with Redis, registers 100 distinct ~900 KB texts as persisted queries
// (what a hostile caller sends: each used to be kept for 24 h in Redis and
// in-process), then 1,000 distinct valid queries of 16 KiB, the largest
// kept, and prints the gateway's RSS. Its peak must stay under 150 MiB and
// Redis must hold none of the refused texts.
func TestGatewayMemoryUnderPersistedQueryRegistrations(t *testing.T) {
	const huge, registrations = 900 << 10, 100
	redisEnv, rdb := redistest.Env(t)
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	p := testutil.StartGatewayProcess(t, with(testutil.UpstreamEnv(base), redisEnv))
	gw := p.Gateway()
	start, err := testutil.RSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range registrations {
		text := fmt.Sprintf("%04d", i) + strings.Repeat("x", huge-4)
		if r := persistedRequest(t, gw, text, true); len(r.Errors) != 1 {
			t.Fatalf("registration %d: %d errors", i, len(r.Errors))
		}
	}
	peakHuge, err := testutil.PeakRSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(context.Background(), redisEnv["REDIS_KEY_PREFIX"]+"apq:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("Redis holds %d persisted queries after refused registrations", len(keys))
	}

	const valid = 1000
	for i := range valid {
		q := fmt.Sprintf("query Q%d { __typename }", i)
		q += strings.Repeat(" ", 16<<10-len(q))
		if r := persistedRequest(t, gw, q, true); len(r.Errors) != 0 {
			t.Fatalf("valid registration %d: %s", i, r.Raw)
		}
	}
	peak, err := testutil.PeakRSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := testutil.RSS(p.PID)
	t.Logf("gateway RSS: at start %d MiB; peak (VmHWM) after %d distinct %d KB registrations %d MiB, after %d distinct valid 16 KiB ones %d MiB; now %d MiB",
		start>>20, registrations, huge>>10, peakHuge>>20, valid, peak>>20, now>>20)
	if peak >= 150<<20 {
		t.Fatalf("peak RSS %d MiB, want under 150 MiB", peak>>20)
	}
}

// TestDistinctLargeDocumentsAreNotKept: a parsed document shares the memory
// of its whole text, so whatever keeps a document, an operation or even an
// operation name keeps up to 1 MiB. 200 distinct valid 1000 KB documents
// used to leave 200 MiB live (gqlgen's query cache, the limits' measures,
// metric label values); now the gateway keeps none of them.
func TestDistinctLargeDocumentsAreNotKept(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{},
		// The response cache keeps whole requests up to its own bound
		// (RESPONSE_CACHE_MAX_MB); this is about everything else.
		map[string]string{"RESPONSE_CACHE": "false"})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sendLargeDocuments(t, gw, 200)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("live heap grew %d KiB after 200 distinct 1000 KB documents", grew>>10)
	if grew > 16<<20 {
		t.Fatalf("live heap grew %d MiB: documents are kept", grew>>20)
	}
}

// sendLargeDocuments sends n distinct valid, named documents of 1000 KB
// (just under the body limit) and checks each ran.
func sendLargeDocuments(t *testing.T, gw *testutil.Gateway, n int) {
	t.Helper()
	for i := range n {
		q := fmt.Sprintf("query Large%d { __typename }", i)
		q += strings.Repeat(" ", 1000<<10-len(q))
		if r := gw.Query(t, q, nil); len(r.Errors) != 0 {
			t.Fatalf("document %d: %.300s", i, r.Raw)
		}
	}
}
