package server_test

import (
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestSafeDefaultsOutsideDemo: outside demo mode introspection is off unless
// INTROSPECTION=true, and serving without caller auth (AUTH_DISABLED=true)
// is announced at start and on /readyz.
func TestSafeDefaultsOutsideDemo(t *testing.T) {
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := testutil.UpstreamEnv(base)
	delete(env, "INTROSPECTION")
	gw := testutil.StartGateway(t, env)
	resp := gw.Query(t, `{ __schema { queryType { name } } }`, nil)
	if len(resp.Errors) == 0 || resp.Errors[0].Code() == "" || strings.Contains(string(resp.Data), "Query") {
		t.Fatalf("introspection outside demo mode: %s", resp.Raw)
	}
	if !strings.Contains(gw.Logs.String(), "AUTH_DISABLED=true") {
		t.Fatalf("no warning at start:\n%s", gw.Logs.String())
	}
	if _, body := readyz(t, gw); body["status"] != "degraded" || !strings.Contains(body["detail"].(string), "AUTH_DISABLED") {
		t.Fatalf("/readyz does not say caller auth is off: %v", body)
	}

	env["INTROSPECTION"] = "true"
	open := testutil.StartGateway(t, env)
	if resp := open.Query(t, `{ __schema { queryType { name } } }`, nil); len(resp.Errors) > 0 {
		t.Fatalf("INTROSPECTION=true: %s", resp.Raw)
	}
}
