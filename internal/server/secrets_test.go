package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestSecretsNeverLeak runs a gateway whose settings hold known secrets
// (both upstreams' client secrets, a Redis password, callers' tokens),
// drives every kind of path through it, errors included, with debug logging,
// and asserts that no secret appears in any response or log line.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		auth0Secret    = "auth0-client-secret-7f3a9c"
		identitySecret = "identity-client-secret-2b8d41"
		redisPassword  = "redis-password-5e6f70"
	)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Organizations:   3,
		Auth0Clients:    map[string]upstreamsim.Client{"gw": {Secret: auth0Secret, Scopes: upstreamsim.AllAuth0Scopes()}},
		IdentityClients: map[string]upstreamsim.Client{"gw-id": {Secret: identitySecret, Scopes: upstreamsim.AllIdentityScopes()}},
	})
	is := testutil.StartIssuer(t)
	// A Redis URL with a password: the test Redis has no password set, and
	// Redis then accepts any, so the gateway uses it with this URL.
	redisEnv, rdb := redistest.Env(t)
	redisURL, _ := url.Parse(redisEnv["REDIS_URL"])
	redisURL.User = url.UserPassword("", redisPassword)
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL": base, "AUTH0_CLIENT_ID": "gw", "AUTH0_CLIENT_SECRET": auth0Secret,
		"IDENTITY_BASE_URL": base + "/{organizationName}/identity_", "IDENTITY_CLIENT_ID": "gw-id", "IDENTITY_CLIENT_SECRET": identitySecret,
		"REDIS_URL": redisURL.String(), "REDIS_KEY_PREFIX": redisEnv["REDIS_KEY_PREFIX"],
		"AUTH_ISSUER": is.URL, "AUTH_AUDIENCE": callerAudience,
		"INTROSPECTION": "true", "LOG_LEVEL": "debug",
	})
	full := is.Token(callerAudience, testutil.Claims{Scope: strings.Join(allScopes, " ")})
	partial := is.Token(callerAudience, testutil.Claims{Scope: "read:organizations"})
	expired := is.Token(callerAudience, testutil.Claims{Scope: strings.Join(allScopes, " "), ExpiresIn: -1})
	forged := is.TokenSignedBy(callerAudience, testutil.Claims{Scope: strings.Join(allScopes, " ")})
	secrets := []string{auth0Secret, identitySecret, redisPassword, full, partial, expired, forged}

	var seen strings.Builder
	record := func(r testutil.Response) { seen.Write(r.Raw); seen.WriteString(r.Header.Get("WWW-Authenticate")) }
	ds := sim.Dataset()
	queries := []struct{ token, query string }{
		{full, flagshipQuery},
		{full, `{ organizations(first: 3) { totalCount nodes { id members { nodes { id email } } groups { name } } } }`},
		{full, `{ organization(id: "org_doesnotexist0000") { id } }`},             // 404
		{full, `{ organization(id: "` + strings.Repeat("x", 300) + `") { id } }`}, // bad input
		{full, `{ organizations(after: "forged-cursor") { nodes { id } } }`},
		{full, `{ nope }`}, // validation error
		{partial, `{ organization(id: "` + hogwartsID + `") { id connections { id } members { nodes { email } } } }`},
		{expired, `{ organization(id: "` + hogwartsID + `") { id } }`},
		{forged, `{ organization(id: "` + hogwartsID + `") { id } }`},
		{"", `{ organization(id: "` + hogwartsID + `") { id } }`},
	}
	for _, q := range queries {
		record(gw.QueryAs(t, q.token, q.query, map[string]any{"id": demoUserID}))
	}
	// Upstream failures: a 500, a 403 and a 401 on the paths above.
	for _, status := range []int{http.StatusInternalServerError, http.StatusForbidden, http.StatusUnauthorized, http.StatusTooManyRequests} {
		sim.ClearFaults()
		sim.SetFault("/api/v2/organizations/"+ds.Organizations[1].ID+"/enabled_connections", status)
		record(gw.QueryAs(t, full, `query($id: ID!) { organization(id: $id) { connections { id } } }`, map[string]any{"id": ds.Organizations[1].ID}))
	}
	sim.ClearFaults()
	sim.RevokeTokens() // the gateway's upstream tokens are refused: it fetches new ones once
	record(gw.QueryAs(t, full, `query($id: ID!) { organization(id: $id) { name } }`, map[string]any{"id": ds.Organizations[2].ID}))
	for _, path := range []string{"/", "/healthz", "/readyz", "/graphql?query=%7B__typename%7D"} {
		resp, err := http.Get(gw.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen.Write(b)
	}

	logs := gw.Logs.String()
	if keys, _ := rdb.Keys(t.Context(), redisEnv["REDIS_KEY_PREFIX"]+"*").Result(); len(keys) == 0 {
		t.Fatal("nothing reached Redis: the password URL was never used")
	}
	for _, s := range secrets {
		if strings.Contains(seen.String(), s) {
			t.Errorf("a secret (%.12s…) appears in a response", s)
		}
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%.12s…) appears in the logs", s)
		}
	}
}
