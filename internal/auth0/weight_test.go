package auth0_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/upstream"
)

// tinyMetadataOrg is an organization whose 25 one-letter metadata entries
// take a few bytes of JSON each and some 90 bytes each once decoded.
func tinyMetadataOrg(id string) string {
	meta := make([]string, 25)
	for i := range meta {
		meta[i] = fmt.Sprintf(`"%c":"v"`, 'a'+i)
	}
	return `{"id":"` + id + `","name":"` + id + `","metadata":{` + strings.Join(meta, ",") + `}}`
}

// TestLocalTierBoundCoversDecodedMemory: CACHE_LOCAL_MAX_MB bounds what the
// in-process tier's decoded values hold, not the bodies they came from. An
// upstream whose organizations decode to several times their JSON fills a
// 1 MiB tier with at most 1 MiB of organizations; weighed by body, it held
// about twice that.
func TestLocalTierBoundCoversDecodedMemory(t *testing.T) {
	const bound, orgs = 1 << 20, 3000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(tinyMetadataOrg(path.Base(r.URL.Path))))
	}))
	t.Cleanup(srv.Close)
	responses, err := cache.New(cache.Config{TTL: time.Hour, LocalBytes: bound})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(responses.Close)
	hc := upstream.NewClient("auth0", srv.Client(), nil, 10*time.Second)
	hc.Cache, hc.Concurrency = responses, 16
	c := auth0.New(srv.URL, hc)

	ids := make([]string, orgs)
	for i := range ids {
		ids[i] = fmt.Sprintf("org_%05d", i)
	}
	ctx := context.Background()
	for i := 0; i < orgs; i += 100 {
		for _, r := range c.OrganizationsByID(ctx, ids[i:i+100]) {
			if r.Err != nil || !r.Found {
				t.Fatalf("fetch: %+v", r)
			}
		}
	}
	held := 0
	for _, id := range ids {
		if _, ok := c.PeekOrganizationByID(ctx, id); ok {
			held++
		}
	}
	// What one such organization holds decoded, as the runtime counts it
	// (without what decoding derives from it, so this is a floor).
	keep := make([]*auth0.Organization, 1000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = new(auth0.Organization)
		if err := json.Unmarshal([]byte(tinyMetadataOrg(fmt.Sprintf("org_%05d", i))), keep[i]); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	each := int64(after.HeapAlloc-before.HeapAlloc) / int64(len(keep))
	t.Logf("%d of %d organizations held in a %d KiB tier, each holding at least %d bytes decoded (%d of JSON)",
		held, orgs, bound>>10, each, len(tinyMetadataOrg(ids[0])))
	if held == 0 || int64(held)*each > bound {
		t.Fatalf("%d organizations of %d bytes held: %d KiB in a %d KiB tier", held, each, int64(held)*each>>10, bound>>10)
	}
}
