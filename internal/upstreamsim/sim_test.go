package upstreamsim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func auth0TokenForm(id, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		"audience": {"https://tenant.example/api/v2/"}}
}

func TestAuth0TokensAndScopes(t *testing.T) {
	e := newEnv(t, Config{
		Auth0Clients: map[string]Client{"gw": {Secret: "s3cret", Scopes: []string{"read:organizations", "read:organization_connections"}}},
		Auth0Tokens:  map[string][]string{"static-users": {"read:users"}},
	})
	orgs := "/api/v2/organizations"

	r := e.postForm(t, "/oauth/token", auth0TokenForm("gw", "s3cret")).wantStatus(t, http.StatusOK)
	var tok tokenResponse
	r.decode(t, &tok)
	if tok.AccessToken == "" || tok.ExpiresIn != 86400 || tok.TokenType != "Bearer" || tok.Scope != "read:organizations read:organization_connections" {
		t.Fatalf("token = %+v", tok)
	}
	e.postForm(t, "/oauth/token", auth0TokenForm("gw", "wrong")).wantBody(t, http.StatusUnauthorized, recTokenDenied)
	e.postForm(t, "/oauth/token", auth0TokenForm("nobody", "s3cret")).wantBody(t, http.StatusUnauthorized, recTokenDenied)

	tests := []struct {
		name   string
		path   string
		token  string
		status int
		body   string
	}{
		{"issued token", orgs, tok.AccessToken, 200, ""},
		{"no token", orgs, "", 401, recInvalidToken},
		{"unknown token", orgs, "forged", 401, recInvalidToken},
		{"missing scope", orgs, "static-users", 403,
			`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:organizations,read:organizations_summary","errorCode":"insufficient_scope"}`},
		{"user route with read:users", "/api/v2/users/" + url.PathEscape(UserChuck938ID), "static-users", 200, ""},
		{"user route without read:users", "/api/v2/users/" + url.PathEscape(UserChuck938ID), tok.AccessToken, 403,
			`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:users,read:current_user,read:user_idp_tokens","errorCode":"insufficient_scope"}`},
		{"user orgs accept read:users", "/api/v2/users/" + url.PathEscape(UserChuck938ID) + "/organizations", "static-users", 200, ""},
		{"members need their scope", "/api/v2/organizations/" + OrgHogwartsID + "/members", tok.AccessToken, 403,
			`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:organization_members","errorCode":"insufficient_scope"}`},
		{"connections", "/api/v2/organizations/" + OrgHogwartsID + "/enabled_connections", tok.AccessToken, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.token == "" {
				r = e.get(t, tc.path)
			} else {
				r = e.getAuth(t, tc.path, tc.token)
			}
			if tc.body == "" {
				r.wantStatus(t, tc.status)
			} else {
				r.wantBody(t, tc.status, tc.body)
			}
		})
	}

	e.sim.RevokeTokens()
	e.getAuth(t, orgs, tok.AccessToken).wantBody(t, http.StatusUnauthorized, recInvalidToken)
	e.getAuth(t, "/api/v2/users/"+url.PathEscape(UserChuck938ID), "static-users").wantStatus(t, http.StatusOK)
	r = e.postForm(t, "/oauth/token", auth0TokenForm("gw", "s3cret")).wantStatus(t, http.StatusOK)
	r.decode(t, &tok)
	e.getAuth(t, orgs, tok.AccessToken).wantStatus(t, http.StatusOK)

	if n := e.sim.Count(RouteAuth0Token); n != 4 {
		t.Fatalf("token requests = %d", n)
	}
	if n, want := e.sim.Total(), int64(len(tests)+3); n != want {
		t.Fatalf("Total = %d, want %d (token requests excluded)", n, want)
	}
}

func TestMemberRolesNeedTheirScope(t *testing.T) {
	e := newEnv(t, Config{Auth0Tokens: map[string][]string{
		"members": {"read:organization_members"},
		"roles":   {"read:organization_members", "read:organization_member_roles"},
	}})
	p := "/api/v2/organizations/" + OrgHogwartsID + "/members?fields=user_id,roles"
	e.getAuth(t, p, "members").wantBody(t, http.StatusForbidden,
		`{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:organization_member_roles","errorCode":"insufficient_scope"}`)
	e.getAuth(t, p, "roles").wantStatus(t, http.StatusOK)
}

func TestTokenTTLExpiresIssuedTokens(t *testing.T) {
	e := newEnv(t, Config{
		Auth0Clients: map[string]Client{"gw": {Secret: "x", Scopes: []string{"read:organizations"}}},
		TokenTTL:     time.Nanosecond,
	})
	var tok tokenResponse
	e.postForm(t, "/oauth/token", auth0TokenForm("gw", "x")).wantStatus(t, http.StatusOK).decode(t, &tok)
	if tok.ExpiresIn != 0 {
		t.Fatalf("expires_in = %d", tok.ExpiresIn)
	}
	e.getAuth(t, "/api/v2/organizations", tok.AccessToken).wantBody(t, http.StatusUnauthorized, recInvalidToken)
}

func TestIdentityTokensAndScopes(t *testing.T) {
	e := newEnv(t, Config{
		IdentityClients: map[string]Client{"app": {Secret: "pw", Scopes: []string{"PM.Group.Read", "PM.User.Read"}}},
		IdentityTokens:  map[string][]string{"robots-only": {"OR.Folders.Read", "PM.RobotAccount.Read"}},
	})
	groups := "/hogwarts/identity_/api/Group/" + PartitionHogwartsID
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"pw"}, "scope": {"PM.Group.Read"}}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}
	e.postForm(t, "/hogwarts/identity_/connect/token", form).wantStatus(t, http.StatusOK).decode(t, &tok)
	if tok.ExpiresIn != 3600 || tok.Scope != "PM.Group.Read" || tok.TokenType != "Bearer" {
		t.Fatalf("token = %+v", tok)
	}
	form.Set("client_secret", "bad")
	e.postForm(t, "/identity_/connect/token", form).wantBody(t, http.StatusBadRequest, recInvalidClient)

	e.getAuth(t, groups, tok.AccessToken).wantStatus(t, http.StatusOK)
	e.get(t, groups).wantBody(t, http.StatusUnauthorized, recIdentityNoAPIScope)
	e.getAuth(t, groups, "forged").wantBody(t, http.StatusUnauthorized, recIdentityNoAPIScope)
	e.getAuth(t, groups, "robots-only").wantBody(t, http.StatusForbidden,
		`{"errorMessage":"Scope(s) 'OR.Folders.Read,PM.RobotAccount.Read' is(are) invalid. Expect to have 'PM.Group' or 'PM.Group.Read'. "}`)
	e.getAuth(t, "/identity_/api/User/"+DirectoryUserHarryID, tok.AccessToken).wantBody(t, http.StatusForbidden,
		`{"errorMessage":"Scope(s) 'PM.Group.Read' is(are) invalid. Expect to have 'PM.User' or 'PM.User.Read'. "}`)

	e.sim.RevokeTokens()
	e.getAuth(t, groups, tok.AccessToken).wantBody(t, http.StatusUnauthorized, recIdentityNoAPIScope)
	// Auth0 needs no token in this configuration.
	e.get(t, "/api/v2/organizations").wantStatus(t, http.StatusOK)
}

func TestRateLimit(t *testing.T) {
	// A refill this slow never adds a token during the test, so the outcome does not depend on timing.
	e := newEnv(t, Config{RatePerSecond: 0.001, Burst: 2})
	orgs := "/api/v2/organizations"
	for i, wantRemaining := range []string{"1", "0"} {
		r := e.get(t, orgs).wantStatus(t, http.StatusOK)
		if r.header.Get("X-RateLimit-Limit") != "2" || r.header.Get("X-RateLimit-Remaining") != wantRemaining {
			t.Fatalf("request %d headers = %v", i, r.header)
		}
		if reset, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64); err != nil || reset <= 0 {
			t.Fatalf("X-RateLimit-Reset = %q", r.header.Get("X-RateLimit-Reset"))
		}
	}
	r := e.get(t, orgs)
	r.wantBody(t, http.StatusTooManyRequests, recTooManyAuth0)
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if r.header.Get("X-RateLimit-Limit") != "2" || r.header.Get("X-RateLimit-Remaining") != "0" || r.header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("429 headers = %v", r.header)
	}
	// Errors carry the headers too, and the identity bucket is separate.
	e.get(t, "/hogwarts/identity_/api/Group/nope").wantStatus(t, http.StatusBadRequest)
	r = e.get(t, "/hogwarts/identity_/api/Group/"+PartitionHogwartsID).wantStatus(t, http.StatusOK)
	if r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("identity headers = %v", r.header)
	}
	r = e.get(t, "/hogwarts/identity_/api/Group/"+PartitionHogwartsID)
	r.wantBody(t, http.StatusTooManyRequests, recIdentityTooMany)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("identity 429 without Retry-After")
	}
	if n := e.sim.RateLimited(); n != 2 {
		t.Fatalf("RateLimited = %d", n)
	}
	// Token endpoints are not charged to the data bucket.
	e.postForm(t, "/oauth/token", auth0TokenForm("x", "y")).wantStatus(t, http.StatusUnauthorized)
}

func TestBucketRefills(t *testing.T) {
	b := newBucket(2, 2)
	now := b.last
	for range 2 {
		if !b.take(now).ok {
			t.Fatal("burst not available")
		}
	}
	st := b.take(now)
	if st.ok || st.retryAfter != 1 || st.reset != ceilUnix(now.Add(500*time.Millisecond)) {
		t.Fatalf("empty bucket state = %+v", st)
	}
	if st := b.take(now.Add(500 * time.Millisecond)); !st.ok || st.remaining != 0 {
		t.Fatalf("after refill = %+v", st)
	}
	// Refilled to the brim, then one taken: one left, the next token half a second away.
	if st := b.take(now.Add(time.Hour)); !st.ok || st.remaining != 1 || st.reset != ceilUnix(now.Add(time.Hour+500*time.Millisecond)) {
		t.Fatalf("after full refill = %+v", st)
	}
}

func TestSetFault(t *testing.T) {
	orgPath := "/api/v2/organizations/" + OrgHogwartsID + "/enabled_connections"
	userPath := "/api/v2/users/" + url.PathEscape(UserChuck938ID)
	groupPath := "/hogwarts/identity_/api/Group/" + PartitionHogwartsID
	tests := []struct {
		path   string
		status int
		check  func(t *testing.T, r response)
	}{
		{orgPath, 404, func(t *testing.T, r response) { r.wantBody(t, 404, recOrgNotFound) }},
		{userPath, 404, func(t *testing.T, r response) { r.wantBody(t, 404, recUserNotFound) }},
		{orgPath, 401, func(t *testing.T, r response) { r.wantBody(t, 401, recInvalidToken) }},
		{orgPath, 403, func(t *testing.T, r response) {
			r.wantBody(t, 403, `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:organization_connections","errorCode":"insufficient_scope"}`)
		}},
		{orgPath, 429, func(t *testing.T, r response) {
			r.wantBody(t, 429, recTooManyAuth0)
			if r.header.Get("Retry-After") != "1" || r.header.Get("X-RateLimit-Remaining") != "0" ||
				r.header.Get("X-RateLimit-Limit") == "" || r.header.Get("X-RateLimit-Reset") == "" {
				t.Fatalf("headers = %v", r.header)
			}
		}},
		{orgPath, 500, func(t *testing.T, r response) {
			r.wantBody(t, 500, `{"statusCode":500,"error":"Internal Server Error","message":"Internal Server Error"}`)
		}},
		{orgPath, 503, func(t *testing.T, r response) {
			r.wantBody(t, 503, `{"statusCode":503,"error":"Service Unavailable","message":"Service Unavailable"}`)
		}},
		{groupPath, 404, func(t *testing.T, r response) { r.wantBody(t, 404, recIdentityNotFound) }},
		{groupPath, 401, func(t *testing.T, r response) { r.wantBody(t, 401, recIdentityNoAPIScope) }},
		{groupPath, 403, func(t *testing.T, r response) { r.wantBody(t, 403, recIdentityForbidden) }},
		{groupPath, 429, func(t *testing.T, r response) {
			r.wantBody(t, 429, recIdentityTooMany)
			if r.header.Get("Retry-After") != "1" {
				t.Fatalf("headers = %v", r.header)
			}
		}},
		{groupPath, 500, func(t *testing.T, r response) { wantProblem(t, r, 500) }},
		{groupPath, 503, func(t *testing.T, r response) { wantProblem(t, r, 503) }},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status)+tc.path, func(t *testing.T) {
			e := newEnv(t, Config{})
			e.sim.SetFault(tc.path, tc.status)
			tc.check(t, e.get(t, tc.path))
			if e.sim.Total() != 1 {
				t.Fatalf("faulted request not counted: %v", e.sim.Counts())
			}
			// Other paths are unaffected; clearing restores the path.
			e.get(t, "/api/v2/organizations").wantStatus(t, http.StatusOK)
			e.sim.ClearFaults()
			e.get(t, tc.path).wantStatus(t, http.StatusOK)
		})
	}
}

func wantProblem(t *testing.T, r response, status int) {
	t.Helper()
	r.wantStatus(t, status)
	var p problemDetails
	r.decode(t, &p)
	if p.Status != status || p.Title == "" || !strings.HasPrefix(p.TraceID, "00-") {
		t.Fatalf("problem = %s", r.body)
	}
}

func TestCountersAndControlRoutes(t *testing.T) {
	e := newEnv(t, Config{})
	e.get(t, "/api/v2/organizations")
	e.get(t, "/api/v2/organizations")
	e.get(t, "/api/v2/organizations/"+OrgHogwartsID+"/members")
	e.get(t, "/api/v2/nope")
	e.do(t, http.MethodPost, "/api/v2/organizations", nil, nil)
	e.get(t, "/hogwarts/identity_/api/Group/"+PartitionHogwartsID+"/"+GroupDaniCID)
	e.get(t, "/identity_/nope")
	e.get(t, "/favicon.ico")
	e.postForm(t, "/identity_/connect/token", url.Values{})

	want := map[string]int64{
		RouteOrganizations:     2,
		RouteMembers:           1,
		"auth0 GET unknown":    1,
		"auth0 POST unknown":   1,
		RouteGroup:             1,
		"identity GET unknown": 1,
		"unknown GET unknown":  1,
		RouteIdentityToken:     1,
		RouteOrganization:      0,
		"not a key at all":     0,
	}
	for k, n := range want {
		if got := e.sim.Count(k); got != n {
			t.Errorf("Count(%q) = %d, want %d", k, got, n)
		}
	}
	if e.sim.Total() != 8 {
		t.Fatalf("Total = %d", e.sim.Total())
	}

	var c struct {
		Total       int64            `json:"total"`
		RateLimited int64            `json:"rateLimited"`
		Routes      map[string]int64 `json:"routes"`
	}
	e.get(t, "/_sim/counters").wantStatus(t, http.StatusOK).decode(t, &c)
	if c.Total != 8 || c.RateLimited != 0 || len(c.Routes) != 8 || c.Routes[RouteOrganizations] != 2 {
		t.Fatalf("counters = %+v", c)
	}
	e.do(t, http.MethodPost, "/_sim/reset", nil, nil).wantStatus(t, http.StatusNoContent)
	e.get(t, "/_sim/counters").wantBody(t, http.StatusOK, `{"total":0,"rateLimited":0,"routes":{}}`)
	if e.sim.Count(RouteOrganizations) != 0 || len(e.sim.Counts()) != 0 {
		t.Fatal("reset did not zero counters")
	}
	e.get(t, "/_sim/nope").wantStatus(t, http.StatusNotFound)
	if e.sim.Total() != 0 {
		t.Fatal("/_sim routes are counted")
	}
}

func TestLatencyStopsWhenCallerLeaves(t *testing.T) {
	sim := New(Config{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodGet, "/api/v2/organizations", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, req) // returns at once instead of waiting an hour
	if rec.Body.Len() != 0 || sim.Count(RouteOrganizations) != 1 {
		t.Fatalf("body %q, count %d", rec.Body.String(), sim.Count(RouteOrganizations))
	}
	sim.SetLatency(0)
	rec = httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v2/organizations", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, Config{Organizations: 200, Users: 50, MembershipsPerUser: 3, Partitions: 2, GroupsPerPartition: 2, MembersPerGroup: 3,
		RatePerSecond: 1e6, Auth0Clients: map[string]Client{"c": {Secret: "s", Scopes: AllAuth0Scopes()}}})
	var tok tokenResponse
	e.postForm(t, "/oauth/token", auth0TokenForm("c", "s")).wantStatus(t, http.StatusOK).decode(t, &tok)
	paths := []string{
		"/api/v2/organizations?take=20",
		"/api/v2/organizations/" + OrgHogwartsID + "/members?take=1",
		"/api/v2/users/" + url.PathEscape(UserChuck938ID) + "/organizations",
		"/identity_/api/Group/" + PartitionHogwartsID,
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				switch i % 5 {
				case 0:
					e.sim.SetFault("/x", 500)
				case 1:
					e.sim.Counts()
				case 2:
					e.sim.SetLatency(0)
				}
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+paths[(g+i)%len(paths)], nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				res, err := e.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				var v any
				if err := json.NewDecoder(res.Body).Decode(&v); err != nil || res.StatusCode != http.StatusOK {
					t.Errorf("status %d err %v", res.StatusCode, err)
				}
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	if e.sim.Total() != 200 {
		t.Fatalf("Total = %d", e.sim.Total())
	}
}
