package server_test

import (
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

func TestClientCredentialsAreCachedAndRenewedOnceAfter401(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Clients:    map[string]upstreamsim.Client{"gateway": {Secret: "gateway-secret", Scopes: upstreamsim.AllAuth0Scopes()}},
		IdentityClients: map[string]upstreamsim.Client{"gateway-uipath": {Secret: "uipath-secret", Scopes: upstreamsim.AllIdentityScopes()}},
	})
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL":         base,
		"AUTH0_CLIENT_ID":        "gateway",
		"AUTH0_CLIENT_SECRET":    "gateway-secret",
		"IDENTITY_BASE_URL":      base + "/{organizationName}/identity_",
		"IDENTITY_CLIENT_ID":     "gateway-uipath",
		"IDENTITY_CLIENT_SECRET": "uipath-secret",
		"AUTH_DISABLED":          "true",
		"CACHE_TTL":              "0", // every query reaches the upstreams
	})
	const q = `{ organization(id: "` + hogwartsID + `") { name groups { name } } }`
	for i := 0; i < 3; i++ {
		resp := gw.Query(t, q, nil)
		var data struct {
			Organization struct{ Groups []struct{ Name string } }
		}
		resp.Decode(t, &data)
		if len(data.Organization.Groups) != 4 {
			t.Fatalf("groups: %s", resp.Raw)
		}
	}
	if a, i := sim.Count(upstreamsim.RouteAuth0Token), sim.Count(upstreamsim.RouteIdentityToken); a != 1 || i != 1 {
		t.Fatalf("token requests auth0=%d identity=%d, want 1 and 1 (cached)", a, i)
	}

	// Revoked tokens: each upstream answers 401 once, the gateway fetches a
	// new token once and the query still succeeds.
	sim.RevokeTokens()
	sim.Reset()
	resp := gw.Query(t, q, nil)
	var data struct {
		Organization struct{ Groups []struct{ Name string } }
	}
	resp.Decode(t, &data)
	if a, i := sim.Count(upstreamsim.RouteAuth0Token), sim.Count(upstreamsim.RouteIdentityToken); a != 1 || i != 1 {
		t.Fatalf("token requests after revocation auth0=%d identity=%d, want 1 and 1", a, i)
	}
	if n := sim.Count(upstreamsim.RouteOrganization); n != 2 {
		t.Fatalf("organization requests %d, want 2 (refused, then retried once)", n)
	}
}

func TestWrongClientSecretIsUpstreamUnauthorizedAndNotReady(t *testing.T) {
	const secret = "wrong-secret-value"
	_, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Clients: map[string]upstreamsim.Client{"gateway": {Secret: "right", Scopes: upstreamsim.AllAuth0Scopes()}},
	})
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL": base, "AUTH0_CLIENT_ID": "gateway", "AUTH0_CLIENT_SECRET": secret, "AUTH_DISABLED": "true",
	})
	resp := gw.Query(t, `{ organization(id: "`+hogwartsID+`") { name } }`, nil)
	if e := resp.OnlyError(t); e.Code() != "UPSTREAM_UNAUTHORIZED" {
		t.Fatalf("code %s", e.Code())
	}
	status, body := testutil.Get(t, gw.URL+"/readyz")
	if status != 503 {
		t.Fatalf("/readyz %d %s, want 503", status, body)
	}
	for _, out := range []string{string(resp.Raw), body, gw.Logs.String()} {
		if contains(out, secret) {
			t.Fatalf("secret leaked: %s", out)
		}
	}
}

func TestStaticTokenIsSentAndNeverShown(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Auth0Tokens: map[string][]string{"other": upstreamsim.AllAuth0Scopes()}}, nil)
	resp := gw.Query(t, `{ organization(id: "`+hogwartsID+`") { name } }`, nil)
	if e := resp.OnlyError(t); e.Code() != "UPSTREAM_UNAUTHORIZED" {
		t.Fatalf("code %s", e.Code())
	}
	// A static token cannot be renewed, so a refusal is not retried.
	if n := sim.Count(upstreamsim.RouteOrganization); n != 1 {
		t.Fatalf("organization requests %d, want 1", n)
	}
	if contains(string(resp.Raw)+gw.Logs.String(), testutil.Auth0Token) {
		t.Fatal("token leaked into the response or logs")
	}
}
