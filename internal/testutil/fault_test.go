package testutil

import (
	"net/http"
	"testing"

	"github.com/orgraph/orgraph/internal/upstreamsim"
)

func TestFaultUpstreamFaultsThenRecovers(t *testing.T) {
	_, base := StartSimulator(t, upstreamsim.Config{})
	f := StartFaultUpstream(t, base)
	get := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, f.URL+"/api/v2/organizations?per_page=1", nil)
		req.Header.Set("Authorization", "Bearer "+Auth0Token)
		return Do(t, req)
	}
	f.FaultTimes(http.MethodGet, "/api/v2/org*", 1, HTMLPage())
	if status, body := get(); status != 200 || body[0] != '<' {
		t.Fatalf("faulted answer: %d %.40q", status, body)
	}
	if status, body := get(); status != 200 || body[0] != '[' && body[0] != '{' {
		t.Fatalf("after the fault the simulator answers: %d %.40q", status, body)
	}
	if n := f.Hits(http.MethodGet, "/api/v2/organizations"); n != 2 {
		t.Fatalf("hits = %d, want 2", n)
	}
	if n := f.Total(); n != 2 {
		t.Fatalf("total = %d, want 2", n)
	}
}
