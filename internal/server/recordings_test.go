package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/pager"
	"github.com/orgraph/orgraph/internal/testutil"
)

// TestRecordingsRenderThroughGraphQL serves every real recorded upstream body
// from a replay server and checks what the gateway makes of it. Expected
// values are read off the recordings themselves.
func TestRecordingsRenderThroughGraphQL(t *testing.T) {
	rec := func(name string) []byte { return testutil.Recording(t, name) }
	const (
		checkpointNext = "MjAyMy0wMy0xNCAxMToxNzoxOS40NjYwMDBVVEMsb3JnX1d6MnVNd0FWUW1mUmIwM0k"
		membersNext1   = "MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGQzOGIzZTAyYjc3ZmRkNjYw"
		membersNext2   = "MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGRkMzUzNGJlOGIyZGMzN2Rh"
		groupPartition = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		groupID        = "4d161738-7204-4794-b839-8f7fed28366c"
	)
	arrayOf := func(items ...[]byte) []byte {
		return []byte("[" + string(joinBytes(items, ",")) + "]")
	}
	routes := map[string]testutil.Reply{
		"POST /oauth/token": {Body: rec("auth0-oauth-token-client-credentials")},
		"GET /api/v2/organizations/org_OVCzBg5uRfKdFAfw":                              {Body: rec("auth0-organization-get-by-id")},
		"GET /api/v2/organizations/org_qK4t86pcMGKq00gN":                              {Body: rec("auth0-organization-get-branding-colors-metadata")},
		"GET /api/v2/organizations/org_Xv5L7r2fE2PVMuW9":                              {Status: 404, Body: rec("auth0-organization-get-by-id-404")},
		"GET /api/v2/organizations/name/test-organization272":                         {Body: rec("auth0-organization-get-by-name")},
		"GET /api/v2/organizations":                                                   {Body: rec("auth0-organizations-list-checkpoint-page1")},
		"GET /api/v2/organizations?from=" + checkpointNext:                            {Body: rec("auth0-organizations-list-checkpoint-page2-last")},
		"GET /api/v2/organizations/org_OVCzBg5uRfKdFAfw/members":                      {Body: rec("auth0-members-checkpoint-page1")},
		"GET /api/v2/organizations/org_OVCzBg5uRfKdFAfw/members?from=" + membersNext1: {Body: rec("auth0-members-checkpoint-page2")},
		"GET /api/v2/organizations/org_OVCzBg5uRfKdFAfw/members?from=" + membersNext2: {Body: rec("auth0-members-checkpoint-page3-terminal")},
		"GET /api/v2/organizations/org_qK4t86pcMGKq00gN/members":                      {Body: rec("auth0-members-list-fields-user_id-roles")},
		"GET /api/v2/organizations/org_OVCzBg5uRfKdFAfw/enabled_connections":          {Body: rec("auth0-enabled-connections-list-include_totals")},
		"GET /api/v2/organizations/org_qK4t86pcMGKq00gN/enabled_connections":          {Body: arrayOf(rec("auth0-enabled-connection-get-database"), rec("auth0-enabled-connection-get-enterprise"))},
		"GET /api/v2/organizations/org_Xv5L7r2fE2PVMuW9/enabled_connections":          {Status: 404, Body: rec("auth0-enabled-connection-get-404")},
		"GET /api/v2/organizations/org_xm9zGmT0GL8CaSR9/enabled_connections":          {Status: 400, Body: rec("auth0-enabled-connection-patch-400-invalid_body")},
		"GET /api/v2/users/auth0%7C63d17c4a9d503d76c056c160":                          {Body: rec("auth0-user-get")},
		"GET /api/v2/users/auth0%7C63d17c4ba030f2d4279f2c54":                          {Status: 404, Body: rec("auth0-user-get-404")},
		"GET /api/v2/users/auth0%7C654e0f2209d0e266cf0aa508/organizations":            {Body: rec("auth0-user-organizations-list-include_totals")},
		"GET /api/v2/users/auth0%7C6a7dc5c0582744ef103ba98e/organizations":            {Body: rec("auth0-user-organizations-list-page1-empty")},
		"GET /api/v2/users/auth0%7Cforbidden":                                         {Status: 403, Body: rec("auth0-error-403-insufficient-scope")},
		"GET /api/v2/users/auth0%7Climited":                                           {Status: 429, Body: rec("auth0-error-429-global-limit"), Header: map[string]string{"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "Retry-After": "3"}},
		"POST /identity_/connect/token":                                               {Body: []byte(`{"access_token":"identity-token","expires_in":3600,"token_type":"Bearer","scope":"PM.Group.Read"}`)},
		"GET /acme/identity_/api/Group/" + groupPartition:                             {Body: rec("uipath-docs-example-get-all-groups-first-two")},
		"GET /acme/identity_/api/Group/" + groupPartition + "/" + groupID:             {Body: rec("uipath-docs-example-get-specific-group")},
		"GET /acme/identity_/api/Group/ce684f6f-5af3-4e43-8516-1adad6e98fc9":          {Body: arrayOf(rec("uipath-sdk-wire-group"))},
		"GET /noscope/identity_/api/Group/" + groupPartition:                          {Status: 401, Body: rec("uipath-identity-error-oauth-scope-not-found")},
		"GET /wrongscope/identity_/api/Group/" + groupPartition:                       {Status: 403, Body: rec("uipath-identity-error-scope-invalid")},
		"GET /invalid/identity_/api/Group/" + groupPartition:                          {Status: 400, Body: rec("uipath-identity-error-validation-problemdetails")},
	}
	rp := testutil.StartReplay(t, routes)
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL":         rp.URL,
		"AUTH0_CLIENT_ID":        "client-id",
		"AUTH0_CLIENT_SECRET":    "client-secret",
		"IDENTITY_BASE_URL":      rp.URL + "/{organizationName}/identity_",
		"IDENTITY_CLIENT_ID":     "identity-client",
		"IDENTITY_CLIENT_SECRET": "identity-secret",
		"AUTH_DISABLED":          "true",
		// The recorded 429 asks for 3 s; a retry would not fit this deadline,
		// so the error comes back at once.
		"REQUEST_TIMEOUT": "2s",
	})

	cases := []struct {
		name, query string
		want        string // expected data, as JSON
		wantCode    string // expected error code, if any
	}{
		{"organization by id", `{ organization(id: "org_OVCzBg5uRfKdFAfw") { id name displayName branding { logoUrl colors { primary } } metadata { key } } }`,
			`{"organization":{"id":"org_OVCzBg5uRfKdFAfw","name":"test-organization914","displayName":"Test Organization","branding":{"logoUrl":"https://example.com/logo.gif","colors":null},"metadata":[]}}`, ""},
		{"organization with colours and metadata", `{ organization(id: "org_qK4t86pcMGKq00gN") { displayName branding { logoUrl colors { primary pageBackground } } metadata { key value } } }`,
			`{"organization":{"displayName":"Acme Inc. testaccorganization","branding":{"logoUrl":"https://acme.com/logo.svg","colors":{"primary":"#e3e2f0","pageBackground":"#e3e2ff"}},"metadata":[{"key":"another_key","value":"another_value"},{"key":"some_key","value":"some_value"}]}}`, ""},
		{"organization 404 is null", `{ organization(id: "org_Xv5L7r2fE2PVMuW9") { id } }`, `{"organization":null}`, ""},
		{"organization by name", `{ organizationByName(name: "test-organization272") { id name } }`,
			`{"organizationByName":{"id":"org_xm9zGmT0GL8CaSR9","name":"test-organization272"}}`, ""},
		{"checkpoint pages", `{ organizations(first: 2) { nodes { id } pageInfo { hasNextPage } } }`,
			`{"organizations":{"nodes":[{"id":"org_SST1yp2pazgSiMYi"},{"id":"org_Wz2uMwAVQmfRb03I"}],"pageInfo":{"hasNextPage":true}}}`, ""},
		{"checkpoint last page", `{ organizations(first: 2, after: "` + pager.Encode(pager.Organizations, pager.Cursor{From: checkpointNext}) + `") { nodes { id } pageInfo { hasNextPage } } }`,
			`{"organizations":{"nodes":[{"id":"org_cGR0immZcgIoQziO"}],"pageInfo":{"hasNextPage":false}}}`, ""},
		// first: 1 asks for take=2, the recorded page: one member more than
		// the page returns, so hasNextPage is known without another call.
		{"members first checkpoint page", `{ organization(id: "org_OVCzBg5uRfKdFAfw") { members(first: 1) { nodes { id email picture name } pageInfo { hasNextPage endCursor } } } }`,
			`{"organization":{"members":{"nodes":[{"id":"auth0|6410784d38b3e02b77fdd660","email":"chuck938@example.com","picture":"https://example-picture-url.jpg","name":"chuck938@example.com"}],"pageInfo":{"hasNextPage":true,"endCursor":"` + pager.Encode(pager.MembersOf("org_OVCzBg5uRfKdFAfw"), pager.Cursor{Skip: 1}) + `"}}}}`, ""},
		{"members short page with next ends the list", `{ organization(id: "org_OVCzBg5uRfKdFAfw") { members(first: 2, after: "` + pager.Encode(pager.MembersOf("org_OVCzBg5uRfKdFAfw"), pager.Cursor{From: membersNext1}) + `") { nodes { id } pageInfo { hasNextPage } } } }`,
			`{"organization":{"members":{"nodes":[{"id":"auth0|6410784dd3534be8b2dc37da"}],"pageInfo":{"hasNextPage":false}}}}`, ""},
		{"members terminal empty page", `{ organization(id: "org_OVCzBg5uRfKdFAfw") { members(first: 2, after: "` + pager.Encode(pager.MembersOf("org_OVCzBg5uRfKdFAfw"), pager.Cursor{From: membersNext2}) + `") { nodes { id } pageInfo { hasNextPage endCursor } } } }`,
			`{"organization":{"members":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}}`, ""},
		{"members list with roles only", `{ organization(id: "org_qK4t86pcMGKq00gN") { members { nodes { id email } } } }`,
			`{"organization":{"members":{"nodes":[{"id":"auth0|63d16bb11e39d8a43b8ed0f5","email":null}]}}}`, ""},
		{"enabled connections envelope", `{ organization(id: "org_OVCzBg5uRfKdFAfw") { connections { connectionId name strategy assignMembershipOnLogin showAsButton isSignupEnabled } } }`,
			`{"organization":{"connections":[{"connectionId":"con_wBht67ufY2EmkB7K","name":"test-conn654","strategy":"ad","assignMembershipOnLogin":true,"showAsButton":true,"isSignupEnabled":null}]}}`, ""},
		{"single enabled connections as a bare array", `{ organization(id: "org_qK4t86pcMGKq00gN") { connections { connectionId strategy assignMembershipOnLogin isSignupEnabled } } }`,
			`{"organization":{"connections":[{"connectionId":"con_kZckSVUmrkWpIiCT","strategy":"auth0","assignMembershipOnLogin":true,"isSignupEnabled":true},{"connectionId":"con_8vltfmSkOUXA8Ojf","strategy":"ad","assignMembershipOnLogin":true,"isSignupEnabled":null}]}}`, ""},
		{"connections 404 is empty", `{ organization(id: "org_Xv5L7r2fE2PVMuW9") { id } }`, `{"organization":null}`, ""},
		{"upstream 400 body", `{ organizationByName(name: "test-organization272") { connections { id } } }`,
			`{"organizationByName":{"connections":null}}`, "UPSTREAM_ERROR"},
		{"user profile", `{ user(id: "auth0|63d17c4a9d503d76c056c160") { id email name picture } }`,
			`{"user":{"id":"auth0|63d17c4a9d503d76c056c160","email":"chuck878@example.com","name":"chuck878@example.com","picture":"https://example-picture-url.jpg"}}`, ""},
		{"user 404 is null", `{ user(id: "auth0|63d17c4ba030f2d4279f2c54") { email } }`, `{"user":null}`, ""},
		{"user organizations", `{ user(id: "auth0|654e0f2209d0e266cf0aa508") { organizations { id name displayName } } }`,
			`{"user":{"organizations":[{"id":"org_VvIJTfJhf3NwyCie","name":"test-organization368","displayName":"Test Organization"}]}}`, ""},
		{"user organizations empty page", `{ user(id: "auth0|6a7dc5c0582744ef103ba98e") { organizations { id } } }`,
			`{"user":{"organizations":[]}}`, ""},
		{"insufficient scope", `{ user(id: "auth0|forbidden") { email } }`, `{"user":null}`, "FORBIDDEN"},
		{"global rate limit", `{ user(id: "auth0|limited") { email } }`, `{"user":null}`, "RATE_LIMITED"},
		{"groups list", `{ groups(partitionGlobalId: "` + groupPartition + `", organizationName: "acme") { groupId name displayName type creationTime lastModificationTime members { name } } }`,
			`{"groups":[{"groupId":"ce684f6f-5af3-4e43-8516-1adad6e98fc9","name":"Everyone","displayName":"Everyone","type":"BUILT_IN","creationTime":"2021-10-13T18:37:26.6025799Z","lastModificationTime":"2021-10-13T18:37:26.6025799Z","members":[]},{"groupId":"35551807-06b1-4cda-90a1-2fb84851eee7","name":"Administrators","displayName":"Administrators","type":"BUILT_IN","creationTime":"2021-10-13T18:37:26.602463Z","lastModificationTime":"2021-10-13T18:37:26.6024632Z","members":[]}]}`, ""},
		{"specific group with a member", `{ group(partitionGlobalId: "` + groupPartition + `", groupId: "` + groupID + `", organizationName: "acme") { name type members { identifier objectType firstName lastName displayName email source jobTitle companyName city department name } } }`,
			`{"group":{"name":"Automation Developers","type":"BUILT_IN","members":[{"identifier":"1787ef38-5933-4f2c-a67a-9c22cdb8e6a2","objectType":"DirectoryUser","firstName":"Albus","lastName":"D","displayName":"Albus D","email":"albus@hogwarts.com","source":"local","jobTitle":"master","companyName":"Hogwarts","city":"London","department":"magic","name":"albus"}]}}`, ""},
		{"SDK wire group with extra fields", `{ groups(partitionGlobalId: "ce684f6f-5af3-4e43-8516-1adad6e98fc9", organizationName: "acme") { name creationTime lastModificationTime } }`,
			`{"groups":[{"name":"Everyone","creationTime":"2025-08-04T06:05:21.8464663Z","lastModificationTime":"2025-08-04T06:05:21.8464664Z"}]}`, ""},
		{"identity 401", `{ groups(partitionGlobalId: "` + groupPartition + `", organizationName: "noscope") { id } }`, `{"groups":null}`, "UPSTREAM_UNAUTHORIZED"},
		{"identity scope invalid", `{ groups(partitionGlobalId: "` + groupPartition + `", organizationName: "wrongscope") { id } }`, `{"groups":null}`, "FORBIDDEN"},
		{"identity validation problem", `{ groups(partitionGlobalId: "` + groupPartition + `", organizationName: "invalid") { id } }`, `{"groups":null}`, "UPSTREAM_ERROR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := gw.Query(t, tc.query, nil)
			var want any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			assertJSON(t, resp.Data, want)
			if tc.wantCode == "" {
				if len(resp.Errors) > 0 {
					t.Fatalf("errors: %s", resp.Raw)
				}
				return
			}
			if e := resp.OnlyError(t); e.Code() != tc.wantCode {
				t.Fatalf("code %s, want %s", e.Code(), tc.wantCode)
			}
			if tc.wantCode == "RATE_LIMITED" && resp.Errors[0].Extensions["retryAfter"] != float64(3) {
				t.Fatalf("retryAfter %v, want 3 (from Retry-After)", resp.Errors[0].Extensions["retryAfter"])
			}
		})
	}

	// The recorded token was fetched once per upstream and sent on every call.
	if n := rp.Hits("POST /oauth/token"); n != 1 {
		t.Fatalf("auth0 token fetched %d times, want 1", n)
	}
	for _, a := range rp.Authorizations() {
		if a != "" && a != "Bearer test-access-token" && a != "Bearer identity-token" {
			t.Fatalf("unexpected Authorization %q", a)
		}
	}
	if !strings.Contains(strings.Join(rp.Authorizations(), " "), "Bearer identity-token") {
		t.Fatal("identity calls did not carry the identity token")
	}
}

func joinBytes(items [][]byte, sep string) []byte {
	var out []byte
	for i, b := range items {
		if i > 0 {
			out = append(out, sep...)
		}
		out = append(out, b...)
	}
	return out
}
