package server_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestForwardModeKeepsCallersApart: with UPSTREAM_AUTH_MODE=forward each
// caller's token goes to Auth0, and what one token fetched (cached, or in
// flight) is never served to another: two tokens with different upstream
// scopes see different data, each its own.
func TestForwardModeKeepsCallersApart(t *testing.T) {
	const full, narrow = "bff-token-full-access", "bff-token-no-connections"
	noConnections := slices.DeleteFunc(upstreamsim.AllAuth0Scopes(), func(s string) bool { return s == "read:organization_connections" })
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Tokens: map[string][]string{full: upstreamsim.AllAuth0Scopes(), narrow: noConnections},
	})
	redisEnv, rdb := redistest.Env(t)
	env := with(with(testutil.UpstreamEnv(base), redisEnv), map[string]string{"UPSTREAM_AUTH_MODE": "forward"})
	delete(env, "AUTH0_TOKEN")
	gw := testutil.StartGateway(t, env)
	query := `{ organization(id: "` + hogwartsID + `") { name connections { id } } }`

	a := gw.QueryAs(t, full, query, nil)
	if len(a.Errors) > 0 || !strings.Contains(string(a.Data), `"connections":[{`) {
		t.Fatalf("full token: %s", a.Raw)
	}
	b := gw.QueryAs(t, narrow, query, nil)
	if e := b.OnlyError(t); e.Code() != "FORBIDDEN" || e.PathString() != "organization.connections" {
		t.Fatalf("narrow token got %s: another token's cached connections?", b.Raw)
	}
	// The narrow token's organization came from Auth0 under its own token,
	// not from the first token's cache entry.
	if n := sim.Count(upstreamsim.RouteOrganization); n != 2 {
		t.Fatalf("organization fetched %d times for two tokens, want 2", n)
	}
	// Each token's own entries still serve it.
	sim.Reset()
	if again := gw.QueryAs(t, full, query, nil); string(again.Data) != string(a.Data) || sim.Total() != 0 {
		t.Fatalf("full token again: %s with %d calls", again.Raw, sim.Total())
	}

	// Identical calls in flight at once are shared within a token, never across.
	sim.SetLatency(100 * time.Millisecond)
	sim.Reset()
	other := `{ organizationByName(name: "` + sim.Dataset().Organizations[2].Name + `") { id } }` // not seen yet
	var wg sync.WaitGroup
	for _, tok := range []string{full, full, narrow, narrow} {
		wg.Go(func() {
			if r := gw.QueryAs(t, tok, other, nil); len(r.Errors) > 0 {
				t.Errorf("%s", r.Raw)
			}
		})
	}
	wg.Wait()
	if n := sim.Count(upstreamsim.RouteOrganizationByName); n != 2 {
		t.Fatalf("by-name fetched %d times for 2 tokens × 2 requests at once, want 2 (one per token)", n)
	}

	// No token: nothing to forward, nothing runs.
	if r := gw.QueryAs(t, "", query, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %d %s", r.Status, r.Raw)
	}
	// Cache keys name a hash of the token, never the token.
	keys, _ := rdb.Keys(t.Context(), redisEnv["REDIS_KEY_PREFIX"]+"*").Result()
	if len(keys) == 0 {
		t.Fatal("nothing cached in Redis")
	}
	for _, k := range keys {
		if strings.Contains(k, full) || strings.Contains(k, narrow) || (strings.Contains(k, ":auth0:") && !strings.Contains(k, ":auth0:caller-")) {
			t.Fatalf("cache key %q", k)
		}
	}
}
