package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/config"
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
	// Without caller auth, forward mode serves no groups (see TestForwardModeNeverReadsGroupsForUnverifiedCallers).
	delete(env, "IDENTITY_BASE_URL")
	delete(env, "IDENTITY_TOKEN")
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

// TestForwardModeRefusedCallerTokenIsUnauthenticated: in forward mode a
// caller token Auth0 refuses (401) is the caller's problem, not the
// gateway's: UNAUTHENTICATED on the field, and HTTP 401 with
// WWW-Authenticate when every error is that one (partial data, such as
// __typename, stays in the body). Mixed errors, and the
// graphql-response+json media type (whose spec requires 2xx while data is
// set), keep 200. The refused token is sent once: it is not the gateway's
// to renew.
func TestForwardModeRefusedCallerTokenIsUnauthenticated(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Tokens: map[string][]string{"bff-good-token": upstreamsim.AllAuth0Scopes()},
	})
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL": base, "UPSTREAM_AUTH_MODE": "forward", "AUTH_DISABLED": "true", "UPSTREAM_RATE_LIMIT": "100000",
	})
	org := `organization(id: "` + hogwartsID + `") { name }`
	cases := []struct {
		name, accept, query string
		status              int
		codes               []string
	}{
		{"one refused field", "", `{ ` + org + ` }`, http.StatusUnauthorized, []string{"UNAUTHENTICATED"}},
		{"partial data", "", `{ __typename ` + org + ` }`, http.StatusUnauthorized, []string{"UNAUTHENTICATED"}},
		{"mixed errors", "", `{ ` + org + ` bad: organization(id: "` + strings.Repeat("x", 300) + `") { id } }`,
			http.StatusOK, []string{"UNAUTHENTICATED", "BAD_USER_INPUT"}},
		{"graphql-response+json", "application/graphql-response+json", `{ ` + org + ` }`, http.StatusOK, []string{"UNAUTHENTICATED"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim.Reset()
			body, _ := json.Marshal(map[string]any{"query": tc.query})
			h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer made-up-token"}}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			resp := gw.PostWith(t, h, body)
			if resp.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Raw)
			}
			var codes []string
			for _, e := range resp.Errors {
				codes = append(codes, e.Code())
				if e.Code() == "UNAUTHENTICATED" && (e.PathString() != "organization" || strings.Contains(e.Message, "gateway")) {
					t.Fatalf("error %+v: want it on organization, about the caller's token", e)
				}
			}
			slices.Sort(codes)
			if want := slices.Sorted(slices.Values(tc.codes)); !slices.Equal(codes, want) {
				t.Fatalf("codes %v, want %v: %s", codes, want, resp.Raw)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (tc.status == http.StatusUnauthorized) != (got != "") {
				t.Fatalf("WWW-Authenticate %q with status %d", got, resp.Status)
			}
			if tc.name == "partial data" && !strings.Contains(string(resp.Data), `"__typename":"Query"`) {
				t.Fatalf("partial data dropped: %s", resp.Raw)
			}
			if n := sim.Count(upstreamsim.RouteOrganization); n != 1 {
				t.Fatalf("organization requests %d, want 1 (a caller's token is not renewed)", n)
			}
		})
	}
	// The good token still reads.
	if r := gw.QueryAs(t, "bff-good-token", `{ `+org+` }`, nil); r.Status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("good token: %d %s", r.Status, r.Raw)
	}
}

// TestForwardModeScopeMissingFromCallerTokenIsTheirs: a forwarded token
// Auth0 accepts but whose scopes do not cover the field is FORBIDDEN about
// the caller's token, never about the gateway's credentials, and is not
// retried.
func TestForwardModeScopeMissingFromCallerTokenIsTheirs(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Tokens: map[string][]string{"bff-narrow-token": {"read:users"}},
	})
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL": base, "UPSTREAM_AUTH_MODE": "forward", "AUTH_DISABLED": "true", "UPSTREAM_RATE_LIMIT": "100000",
	})
	r := gw.QueryAs(t, "bff-narrow-token", `{ organization(id: "`+hogwartsID+`") { name } }`, nil)
	e := r.OnlyError(t)
	if e.Code() != "FORBIDDEN" || !strings.Contains(e.Message, "caller's token") || strings.Contains(e.Message, "gateway") {
		t.Fatalf("error %q (%s), want FORBIDDEN about the caller's token", e.Message, e.Code())
	}
	if n := sim.Count(upstreamsim.RouteOrganization); n != 1 {
		t.Fatalf("organization requests %d, want 1", n)
	}
}

// TestForwardModeNeverReadsGroupsForUnverifiedCallers: groups are read with
// the gateway's own UiPath credentials and never touch Auth0, so forward mode
// without caller auth (where only Auth0 checks a token) would hand them, and
// members' emails, to any made-up bearer token. That configuration stops
// start-up naming its settings; with caller auth on, the same upstream
// settings start, a made-up token is refused before anything runs, and a
// verified caller reads groups.
func TestForwardModeNeverReadsGroupsForUnverifiedCallers(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Tokens: map[string][]string{"bff-token": upstreamsim.AllAuth0Scopes()},
	})
	env := with(testutil.UpstreamEnv(base), map[string]string{"UPSTREAM_AUTH_MODE": "forward"})
	delete(env, "AUTH0_TOKEN")
	groups := `{ groups(partitionGlobalId: "` + hogwartsPartition + `", organizationName: "hogwarts") { name members { email } } }`

	if _, err := config.Load(testutil.MapLookup(env)); err == nil {
		gw := testutil.StartGateway(t, env)
		r := gw.QueryAs(t, "made-up-token", groups, nil)
		t.Fatalf("forward mode with AUTH_DISABLED=true started, and a made-up token read groups through the gateway's credentials (%d identity calls): %s",
			sim.Count(upstreamsim.RouteGroups), r.Raw)
	} else {
		for _, name := range []string{"UPSTREAM_AUTH_MODE", "AUTH_DISABLED", "IDENTITY_BASE_URL", "AUTH_ISSUER"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("the start-up error does not name %s: %v", name, err)
			}
		}
	}

	is := testutil.StartIssuer(t)
	delete(env, "AUTH_DISABLED")
	env["AUTH_ISSUER"], env["AUTH_AUDIENCE"] = is.URL, callerAudience
	gw := testutil.StartGateway(t, env)
	sim.Reset()
	if r := gw.QueryAs(t, "made-up-token", groups, nil); r.Status != http.StatusUnauthorized || sim.Total() != 0 {
		t.Fatalf("made-up token with caller auth on: %d, %d upstream calls: %s", r.Status, sim.Total(), r.Raw)
	}
	verified := is.Token(callerAudience, testutil.Claims{Scope: "read:groups read:users"})
	if r := gw.QueryAs(t, verified, groups, nil); r.Status != http.StatusOK || len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"name"`) {
		t.Fatalf("verified caller: %d %s", r.Status, r.Raw)
	}
}
