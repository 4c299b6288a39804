package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// foreignServer is another origin (same host, another port) that answers
// every request with a valid organization and remembers what it was sent.
type foreignServer struct {
	URL  string
	mu   sync.Mutex
	seen []string // method, path, Authorization and body of each request
}

func startForeign(t *testing.T) *foreignServer {
	t.Helper()
	f := &foreignServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" body="+string(body))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/token") {
			_, _ = io.WriteString(w, `{"access_token":"foreign","token_type":"Bearer","expires_in":86400}`)
			return
		}
		_, _ = io.WriteString(w, `{"id":"`+hogwartsID+`","name":"foreign","display_name":"Foreign"}`)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *foreignServer) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// An upstream that redirects (to another origin, or to itself) is an
// upstream error: nothing is sent to the redirect's target, the gateway's
// token never leaves the configured origin, and nothing is cached, in
// either tier, by id or by name.
func TestUpstreamRedirectsAreNotFollowed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		target func(foreign, self string) string
	}{
		{"other port 302", http.StatusFound, func(foreign, _ string) string { return foreign + "/api/v2/organizations/" + hogwartsID }},
		{"other port 307", http.StatusTemporaryRedirect, func(foreign, _ string) string { return foreign + "/api/v2/organizations/" + hogwartsID }},
		{"same origin 301", http.StatusMovedPermanently, func(_, self string) string { return self + "/api/v2/organizations/name/hogwarts" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			redisEnv, rdb := redistest.Env(t)
			_, base := testutil.StartSimulator(t, upstreamsim.Config{})
			fault := testutil.StartFaultUpstream(t, base)
			foreign := startForeign(t)
			gw := testutil.StartGateway(t, with(testutil.UpstreamEnv(fault.URL), redisEnv))
			path := "/api/v2/organizations/" + hogwartsID
			fault.FaultTimes(http.MethodGet, path, 1, testutil.Redirect(tc.status, tc.target(foreign.URL, fault.URL)))

			q := `{ organization(id: "` + hogwartsID + `") { id name } }`
			e := gw.Query(t, q, nil).OnlyError(t)
			up, _ := e.Extensions["upstream"].(map[string]any)
			if e.Code() != "UPSTREAM_ERROR" || up["status"] != float64(tc.status) || up["errorCode"] != "redirect" {
				t.Fatalf("error = %s %v, want UPSTREAM_ERROR with status %d and errorCode redirect", e.Code(), e.Extensions, tc.status)
			}
			if got := foreign.requests(); len(got) != 0 {
				t.Fatalf("the redirect was followed to another origin: %q", got)
			}
			if n := fault.Hits(http.MethodGet, "/api/v2/organizations/name/*"); n != 0 {
				t.Fatalf("the same-origin redirect was followed: %d requests", n)
			}
			if keys, _ := rdb.Keys(t.Context(), redisEnv["REDIS_KEY_PREFIX"]+"v1:*").Result(); len(keys) != 0 {
				t.Fatalf("Redis holds %q after a redirect", keys)
			}

			// Nothing was cached: the recovered upstream is asked, by id
			// and by name, and answers for itself.
			var data struct{ Organization, ByName struct{ ID, Name string } }
			gw.Query(t, `{ organization(id: "`+hogwartsID+`") { id name } byName: organizationByName(name: "hogwarts") { id name } }`, nil).Decode(t, &data)
			if data.Organization.Name != "hogwarts" || data.ByName.ID != hogwartsID {
				t.Fatalf("after the upstream recovered: %+v", data)
			}
			if n := fault.Hits(http.MethodGet, path); n != 2 {
				t.Fatalf("organization by id: %d upstream requests, want 2 (the redirect, then the answer)", n)
			}
		})
	}
}

// A token endpoint that redirects gets neither the client secret nor a
// second request: the token fetch fails as an upstream error.
func TestTokenEndpointRedirectIsNotFollowed(t *testing.T) {
	const secret = "gateway-secret-never-elsewhere"
	_, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Clients: map[string]upstreamsim.Client{"gateway": {Secret: secret, Scopes: upstreamsim.AllAuth0Scopes()}},
	})
	fault := testutil.StartFaultUpstream(t, base)
	foreign := startForeign(t)
	env := testutil.UpstreamEnv(fault.URL)
	delete(env, "AUTH0_TOKEN")
	env["AUTH0_CLIENT_ID"], env["AUTH0_CLIENT_SECRET"] = "gateway", secret
	gw := testutil.StartGateway(t, env)
	fault.FaultTimes(http.MethodPost, "/oauth/token", 1, testutil.Redirect(http.StatusTemporaryRedirect, foreign.URL+"/oauth/token"))

	r := gw.Query(t, `{ organization(id: "`+hogwartsID+`") { id } }`, nil)
	e := r.OnlyError(t)
	if e.Code() != "UPSTREAM_ERROR" {
		t.Fatalf("error = %s %v, want UPSTREAM_ERROR", e.Code(), e.Extensions)
	}
	if got := foreign.requests(); len(got) != 0 {
		t.Fatalf("the token request went to another origin: %q", got)
	}
	if strings.Contains(gw.Logs.String(), secret) {
		t.Fatal("the client secret is in the log")
	}
	// The token endpoint recovers: the next request gets a token and data.
	var data struct{ Organization struct{ ID string } }
	gw.Query(t, `{ organization(id: "`+hogwartsID+`") { id } }`, nil).Decode(t, &data)
	if data.Organization.ID != hogwartsID {
		t.Fatalf("after the token endpoint recovered: %+v", data)
	}
	if n := fault.Hits(http.MethodPost, "/oauth/token"); n != 2 {
		t.Fatalf("token endpoint: %d requests, want 2", n)
	}
}
