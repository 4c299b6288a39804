package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

const callerAudience = "https://orgraph.example/"

var allScopes = []string{"read:organizations", "read:organization_connections", "read:organization_members", "read:users", "read:groups"}

// startAuthGateway starts a gateway that requires caller JWTs from is.
func startAuthGateway(t *testing.T, is *testutil.Issuer) (*testutil.Gateway, *upstreamsim.Simulator) {
	t.Helper()
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := testutil.UpstreamEnv(base)
	delete(env, "AUTH_DISABLED")
	env["AUTH_ISSUER"] = is.URL
	env["AUTH_AUDIENCE"] = callerAudience
	return testutil.StartGateway(t, env), sim
}

func TestCallerAuthRefusesBeforeExecution(t *testing.T) {
	is := testutil.StartIssuer(t)
	gw, sim := startAuthGateway(t, is)
	query := `{ organization(id: "` + hogwartsID + `") { id } }`
	tests := []struct {
		name, token string
	}{
		{"no token", ""},
		{"expired", is.Token(callerAudience, testutil.Claims{Scope: strings.Join(allScopes, " "), ExpiresIn: -time.Hour})},
		{"wrong audience", is.Token("https://another-api/", testutil.Claims{Scope: strings.Join(allScopes, " ")})},
		{"alg none", is.UnsignedToken(callerAudience, testutil.Claims{Scope: strings.Join(allScopes, " ")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := gw.QueryAs(t, tt.token, query, nil)
			header := resp.Header
			if resp.Status != http.StatusUnauthorized || !strings.HasPrefix(header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("status %d, WWW-Authenticate %q", resp.Status, header.Get("WWW-Authenticate"))
			}
			if e := resp.OnlyError(t); e.Code() != "UNAUTHENTICATED" || resp.Data != nil {
				t.Fatalf("answer %s", resp.Raw)
			}
		})
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("refused requests made %d upstream calls", n)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(gw.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s without a token: %v %v", path, err, resp.Status)
		}
		resp.Body.Close()
	}
	resp := gw.QueryAs(t, is.Token(callerAudience, testutil.Claims{Scope: "read:organizations"}), query, nil)
	if resp.Status != http.StatusOK || len(resp.Errors) > 0 || !strings.Contains(string(resp.Data), hogwartsID) {
		t.Fatalf("valid token: %d %s", resp.Status, resp.Raw)
	}
}

// TestEachScopeGatesItsFields: without its scope a field is null with
// FORBIDDEN on its own path, no upstream call is made for it, and the rest
// of the response comes back; with the scope it resolves.
func TestEachScopeGatesItsFields(t *testing.T) {
	is := testutil.StartIssuer(t)
	gw, sim := startAuthGateway(t, is)
	tests := []struct {
		scope, query, path string
		route              string // the upstream route the field would call
	}{
		{"read:organizations", `{ organization(id: "` + hogwartsID + `") { id } user(id: "` + demoUserID + `") { id } }`,
			"organization", upstreamsim.RouteOrganization},
		{"read:organization_connections", `{ organization(id: "` + hogwartsID + `") { id connections { id } } }`,
			"organization.connections", upstreamsim.RouteEnabledConnections},
		{"read:organization_members", `{ organization(id: "` + hogwartsID + `") { id members { nodes { id } } } }`,
			"organization.members", upstreamsim.RouteMembers},
		{"read:groups", `{ organization(id: "` + hogwartsID + `") { id groups { name } } }`,
			"organization.groups", upstreamsim.RouteGroups},
		{"read:users", `{ user(id: "` + demoUserID + `") { id email } }`, "user.email", upstreamsim.RouteUser},
		{"read:groups", `{ groups(partitionGlobalId: "` + hogwartsPartition + `", organizationName: "hogwarts") { name } organization(id: "` + hogwartsID + `") { id } }`,
			"groups", upstreamsim.RouteGroups},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			without := slices.DeleteFunc(slices.Clone(allScopes), func(s string) bool { return s == tt.scope })
			sim.Reset()
			resp := gw.QueryAs(t, is.Token(callerAudience, testutil.Claims{Scope: strings.Join(without, " ")}), tt.query, nil)
			e := resp.OnlyError(t)
			if e.Code() != "FORBIDDEN" || e.PathString() != tt.path || !strings.Contains(e.Message, tt.scope) {
				t.Fatalf("without %s: %s", tt.scope, resp.Raw)
			}
			if resp.Status != http.StatusOK || !strings.Contains(string(resp.Data), `"id"`) {
				t.Fatalf("the rest of the response is missing: %s", resp.Raw)
			}
			if n := sim.Count(tt.route); n != 0 {
				t.Fatalf("forbidden field made %d calls to %s", n, tt.route)
			}

			// The same scope as an Auth0 RBAC permission.
			resp = gw.QueryAs(t, is.Token(callerAudience, testutil.Claims{Scope: strings.Join(without, " "), Permissions: []string{tt.scope}}), tt.query, nil)
			if len(resp.Errors) > 0 {
				t.Fatalf("with %s: %s", tt.scope, resp.Raw)
			}
		})
	}
}

// TestCORSOnlyForAllowedOrigins: browsers on the allowed origins get CORS
// headers (preflight included); others get none.
func TestCORSOnlyForAllowedOrigins(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com"})
	for _, tt := range []struct {
		origin string
		allow  string
	}{
		{"https://app.example.com", "https://app.example.com"},
		{"https://evil.example.com", ""},
	} {
		req, _ := http.NewRequest(http.MethodOptions, gw.URL+"/graphql", nil)
		req.Header.Set("Origin", tt.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.allow {
			t.Fatalf("preflight from %s: Access-Control-Allow-Origin %q, want %q", tt.origin, got, tt.allow)
		}
	}
}
