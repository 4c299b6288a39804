package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestAccessLogLinePerRequest: one structured line per request with its id
// (the caller's when sane, made otherwise, and sent back), operation,
// outcome, upstream calls, cache hits and how the response cache answered:
// the repeat is answered whole from it, and a caller asking for a fresh
// answer (Cache-Control: no-cache) gets one from the data cache.
func TestAccessLogLinePerRequest(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	query := []byte(`{"query":"query Flagship($id: ID!) { user(id: $id) { id organizations { id connections { id } } } }","variables":{"id":"` + demoUserID + `"}}`)
	send := func(requestID string, header ...string) string {
		h := http.Header{"Content-Type": {"application/json"}}
		if requestID != "" {
			h.Set("X-Request-Id", requestID)
		}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return gw.PostWith(t, h, query).Header.Get("X-Request-Id")
	}
	if got := send("req-123.A_b"); got != "req-123.A_b" {
		t.Fatalf("X-Request-Id %q, want the caller's", got)
	}
	cold := sim.Total()
	made := send("bad id\u2028with text")
	if made == "" || strings.ContainsAny(made, " \u2028") {
		t.Fatalf("X-Request-Id %q, want a made one", made)
	}
	send("fresh", "Cache-Control", "no-cache")

	lines := gw.AccessLogLines()
	if len(lines) != 3 {
		t.Fatalf("%d access-log lines for 3 requests", len(lines))
	}
	first, second, third := lines[0], lines[1], lines[2]
	if first["request_id"] != "req-123.A_b" || first["operation"] != "Flagship" || first["outcome"] != "ok" ||
		first["upstream_calls"] != float64(cold) || first["cache_hits"] != float64(0) || first["status"] != float64(200) ||
		first["response_cache"] != "miss" || first["upstream_batches"].(float64) < 2 {
		t.Fatalf("first line %v (cold: %d calls)", first, cold)
	}
	if second["request_id"] != made || second["operation"] != "Flagship" || second["outcome"] != "ok" ||
		second["upstream_calls"] != float64(0) || second["response_cache"] != "hit" || second["upstream_batches"] != float64(0) {
		t.Fatalf("second line %v: the repeat is answered whole from the response cache", second)
	}
	if third["response_cache"] != "bypass" || third["upstream_calls"] != float64(0) || third["cache_hits"].(float64) < 2 {
		t.Fatalf("third line %v: no-cache runs the operation, on the data cache", third)
	}
	if strings.Contains(gw.Logs.String(), demoUserID) {
		t.Fatal("the access log holds the variables")
	}
}
