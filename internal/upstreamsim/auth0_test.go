package upstreamsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestOrganizationsListShapes(t *testing.T) {
	e := newEnv(t, Config{})
	builtIn := []string{OrgHogwartsID, OrgDurmstrangID, OrgBeauxbatonsID}
	tests := []struct {
		name     string
		query    string
		wantKeys []string // nil: bare array
		wantIDs  []string
	}{
		{"bare array", "", nil, builtIn},
		{"bare array per_page", "?per_page=2&page=1", nil, builtIn[2:]},
		{"include_totals envelope", "?include_totals=true&per_page=2", []string{"limit", "organizations", "start", "total"}, builtIn[:2]},
		{"checkpoint ignores include_totals", "?include_totals=true&per_page=50&take=2", []string{"next", "organizations"}, builtIn[:2]},
		{"checkpoint last page", "?take=3", []string{"organizations"}, builtIn},
		{"checkpoint with empty from", "?from=&take=1", []string{"next", "organizations"}, builtIn[:1]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(t, "/api/v2/organizations"+tc.query).wantStatus(t, http.StatusOK)
			var orgs []Organization
			if tc.wantKeys == nil {
				r.decode(t, &orgs)
			} else {
				keys := r.keys(t)
				slices.Sort(keys)
				if !reflect.DeepEqual(keys, tc.wantKeys) {
					t.Fatalf("keys = %v, want %v", keys, tc.wantKeys)
				}
				var env struct {
					Organizations []Organization
					Start, Limit  int
					Total         int
				}
				r.decode(t, &env)
				orgs = env.Organizations
				if slices.Contains(keys, "total") && (env.Total != 3 || env.Limit != 2 || env.Start != 0) {
					t.Fatalf("envelope = %+v", env)
				}
			}
			if got := ids(orgs); !reflect.DeepEqual(got, tc.wantIDs) {
				t.Fatalf("ids = %v, want %v", got, tc.wantIDs)
			}
		})
	}
}

func TestOrganizationJSONOmitsUnsetFields(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.get(t, "/api/v2/organizations/"+OrgBeauxbatonsID).wantStatus(t, http.StatusOK)
	if string(r.body) != `{"id":"org_Bx5aU9eK3mQp7RsC","name":"beauxbatons","display_name":"Beauxbatons Academy of Magic"}` {
		t.Fatalf("body = %s", r.body)
	}
	r = e.get(t, "/api/v2/organizations/"+OrgDurmstrangID).wantStatus(t, http.StatusOK)
	jsonEqual(t, r.body, `{"id":"org_Dm4cR8sT2vWx6YzB","name":"durmstrang","display_name":"Durmstrang Institute",
		"branding":{"logo_url":"https://example.com/durmstrang.svg"},
		"metadata":{"partitionGlobalId":"8c5e2d1a-4b6f-4e3a-9d7c-1f2e3a4b5c6d"},"third_party_client_access":"block"}`)
	r = e.get(t, "/api/v2/organizations/name/hogwarts").wantStatus(t, http.StatusOK)
	jsonEqual(t, r.body, `{"id":"org_Hg7bQ2mN4pLk9TzA","name":"hogwarts","display_name":"Hogwarts School of Witchcraft and Wizardry",
		"branding":{"logo_url":"https://example.com/hogwarts.svg","colors":{"primary":"#7f0909","page_background":"#ffc500"}},
		"metadata":{"partitionGlobalId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","uipathOrganization":"hogwarts"}}`)

	// No null anywhere in a large generated listing or user profiles.
	g := newEnv(t, Config{Organizations: 60, Users: 10, MembershipsPerUser: 2, ConnectionsPerOrg: 2})
	for _, p := range []string{"/api/v2/organizations?per_page=100", "/api/v2/users/" + url.PathEscape(UserChuck703ID),
		"/api/v2/organizations/" + OrgHogwartsID + "/members", "/api/v2/organizations/" + OrgHogwartsID + "/enabled_connections"} {
		if r := g.get(t, p).wantStatus(t, http.StatusOK); bytes.Contains(r.body, []byte("null")) {
			t.Fatalf("%s contains null: %s", p, r.body)
		}
	}
}

func TestOrganizationsCheckpointVisitsEveryOrgOnce(t *testing.T) {
	e := newEnv(t, Config{Organizations: 1234})
	want := ids(e.sim.Dataset().Organizations)
	if len(want) != 1237 {
		t.Fatalf("dataset has %d orgs", len(want))
	}
	var got []string
	next := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not terminate")
		}
		path := "/api/v2/organizations?take=100"
		if next != "" {
			path += "&from=" + url.QueryEscape(next)
		}
		r := e.get(t, path).wantStatus(t, http.StatusOK)
		var body struct {
			Organizations []Organization `json:"organizations"`
			Next          *string        `json:"next"`
		}
		r.decode(t, &body)
		got = append(got, ids(body.Organizations)...)
		if body.Next == nil {
			if len(body.Organizations) != 37 {
				t.Fatalf("last page has %d items, want 37", len(body.Organizations))
			}
			break
		}
		next = *body.Next
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("checkpoint walk returned %d orgs, want %d in dataset order", len(got), len(want))
	}
	if n := e.sim.Count(RouteOrganizations); n != 13 {
		t.Fatalf("requests = %d, want 13", n)
	}
}

func TestCursorEncodingMatchesRecording(t *testing.T) {
	// Recorded: next of a page ending with org_Wz2uMwAVQmfRb03I created 2023-03-14T11:17:19.466Z.
	const recorded = "MjAyMy0wMy0xNCAxMToxNzoxOS40NjYwMDBVVEMsb3JnX1d6MnVNd0FWUW1mUmIwM0k"
	if got := OrganizationCursor(Organization{ID: "org_Wz2uMwAVQmfRb03I", CreatedAt: orgEpoch}); got != recorded {
		t.Fatalf("cursor = %s, want %s", got, recorded)
	}
	ts, id, err := decodeCursor(recorded)
	if err != nil || id != "org_Wz2uMwAVQmfRb03I" || !ts.Equal(orgEpoch) {
		t.Fatalf("decode = %v %q %v", ts, id, err)
	}
}

func TestMembersCheckpointEndsWithEmptyPage(t *testing.T) {
	e := newEnv(t, Config{})
	base := "/api/v2/organizations/" + OrgHogwartsID + "/members?include_totals=true&per_page=50&take=2"
	type page struct {
		Members []map[string]any `json:"members"`
		Next    *string          `json:"next"`
	}
	var p1, p2, p3 page
	e.get(t, base).wantStatus(t, http.StatusOK).decode(t, &p1)
	if len(p1.Members) != 2 || p1.Next == nil || *p1.Next != recMembersNext1 {
		t.Fatalf("page 1 = %+v", p1)
	}
	// A short page still carries next.
	e.get(t, base+"&from="+url.QueryEscape(*p1.Next)).wantStatus(t, http.StatusOK).decode(t, &p2)
	if len(p2.Members) != 1 || p2.Members[0]["user_id"] != UserChuck849ID || p2.Next == nil || *p2.Next != recMembersNext2 {
		t.Fatalf("page 2 = %+v", p2)
	}
	r := e.get(t, base+"&from="+url.QueryEscape(*p2.Next))
	r.wantBody(t, http.StatusOK, `{"members":[]}`)
	r.decode(t, &p3)

	// Every member reached exactly once, in dataset order.
	var got []string
	for _, m := range append(p1.Members, p2.Members...) {
		got = append(got, m["user_id"].(string))
	}
	if want := e.sim.Dataset().Members[OrgHogwartsID]; !reflect.DeepEqual(got, want) {
		t.Fatalf("members = %v, want %v", got, want)
	}
	if c, _ := e.sim.Dataset().MembershipCursor(OrgHogwartsID, UserChuck849ID); c != recMembersNext2 {
		t.Fatalf("MembershipCursor = %s", c)
	}
}

func TestMembersCheckpointOverManyMembers(t *testing.T) {
	// 1500 users each joining the single generated org: more than the offset ceiling.
	e := newEnv(t, Config{Organizations: 1, Users: 1500, MembershipsPerUser: 1})
	org := e.sim.Dataset().Organizations[3].ID
	want := e.sim.Dataset().Members[org]
	if len(want) != 1500 {
		t.Fatalf("org has %d members", len(want))
	}
	var got []string
	next := ""
	for i := 0; i < 40; i++ {
		path := "/api/v2/organizations/" + org + "/members?take=100&fields=user_id"
		if next != "" {
			path += "&from=" + url.QueryEscape(next)
		}
		var p struct {
			Members []struct {
				UserID string `json:"user_id"`
			} `json:"members"`
			Next *string `json:"next"`
		}
		e.get(t, path).wantStatus(t, http.StatusOK).decode(t, &p)
		if len(p.Members) == 0 {
			if p.Next != nil {
				t.Fatal("terminal page has next")
			}
			break
		}
		for _, m := range p.Members {
			got = append(got, m.UserID)
		}
		next = *p.Next
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("walk returned %d members, want %d", len(got), len(want))
	}
}

func TestMembersFields(t *testing.T) {
	e := newEnv(t, Config{})
	base := "/api/v2/organizations/" + OrgHogwartsID + "/members"
	tests := []struct {
		query string
		want  string
	}{
		{"?per_page=1&page=1", `[{"user_id":"auth0|6410784d38b3e02b77fdd660","email":"chuck938@example.com","picture":"https://example-picture-url.jpg","name":"Chuck Norris"}]`},
		{"?fields=user_id%2Croles&include_fields=true&include_totals=true&per_page=50",
			`{"members":[{"user_id":"auth0|6410784d38b3e02b77fdd65f","roles":[]},{"user_id":"auth0|6410784d38b3e02b77fdd660","roles":[{"id":"rol_Hg0Headmaster001","name":"headmaster"}]},{"user_id":"auth0|6410784dd3534be8b2dc37da","roles":[]}],"start":0,"limit":50,"total":3}`},
		{"?fields=email,picture,roles&include_fields=false&per_page=1",
			`[{"user_id":"auth0|6410784d38b3e02b77fdd65f","name":"chuck703@example.com"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			e.get(t, base+tc.query).wantBody(t, http.StatusOK, tc.want)
		})
	}
}

func TestOffsetCeilingAndQueryValidation(t *testing.T) {
	e := newEnv(t, Config{})
	orgs := "/api/v2/organizations"
	members := "/api/v2/organizations/" + OrgHogwartsID + "/members"
	conns := "/api/v2/organizations/" + OrgHogwartsID + "/enabled_connections"
	userOrgs := "/api/v2/users/" + url.PathEscape(UserChuck938ID) + "/organizations"
	tests := []struct {
		name    string
		path    string
		status  int
		errCode string // "" = success
		body    string // exact body when set
	}{
		{"orgs last allowed page", orgs + "?page=19&per_page=50", 200, "", "[]"},
		{"orgs record 1050", orgs + "?page=20&per_page=50", 400, "invalid_paging", recInvalidPaging},
		{"orgs record 1100", orgs + "?page=10&per_page=100&include_totals=true", 400, "invalid_paging", recInvalidPaging},
		{"members record 1001", members + "?page=1000&per_page=1", 400, "invalid_paging", recInvalidPaging},
		{"checkpoint has no ceiling", orgs + "?page=20&per_page=50&take=5", 200, "", ""},
		{"per_page over 100", orgs + "?per_page=101", 400, "invalid_query_string", ""},
		{"per_page zero", orgs + "?per_page=0", 400, "invalid_query_string", ""},
		{"page not integer", orgs + "?page=abc", 400, "invalid_query_string", ""},
		{"page negative", members + "?page=-1", 400, "invalid_query_string", ""},
		{"page over 1000", userOrgs + "?page=1001", 400, "invalid_query_string", ""},
		{"take over 100", orgs + "?take=101", 400, "invalid_query_string", ""},
		{"take zero", members + "?take=0", 400, "invalid_query_string", ""},
		{"include_totals not bool", orgs + "?include_totals=maybe", 400, "invalid_query_string", ""},
		{"malformed from", orgs + "?from=not-a-cursor", 400, "invalid_query_string", ""},
		{"from of garbage base64", members + "?from=" + base64.RawStdEncoding.EncodeToString([]byte("hello")), 400, "invalid_query_string", ""},
		{"connections per_page over 100", conns + "?per_page=500", 400, "invalid_query_string", ""},
		{"connections deep page is empty", conns + "?page=99999999999&per_page=100", 200, "", "[]"},
		{"bad sort", orgs + "?sort=name:2", 400, "invalid_query_string", ""},
		{"sort by name", orgs + "?sort=name:1&per_page=1", 200, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(t, tc.path)
			if tc.body != "" {
				r.wantBody(t, tc.status, tc.body)
				return
			}
			r.wantStatus(t, tc.status)
			if tc.errCode == "" {
				return
			}
			var body auth0Error
			r.decode(t, &body)
			if body.ErrorCode != tc.errCode || body.StatusCode != 400 || body.Error != "Bad Request" ||
				!strings.HasPrefix(body.Message, "Invalid request query string.") {
				t.Fatalf("body = %s", r.body)
			}
		})
	}
}

func TestSortOffsetMode(t *testing.T) {
	e := newEnv(t, Config{})
	var got []Organization
	e.get(t, "/api/v2/organizations?sort=name:1").wantStatus(t, http.StatusOK).decode(t, &got)
	if want := []string{OrgBeauxbatonsID, OrgDurmstrangID, OrgHogwartsID}; !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("name:1 = %v", ids(got))
	}
	e.get(t, "/api/v2/organizations?sort=created_at:-1&per_page=2").wantStatus(t, http.StatusOK).decode(t, &got)
	if want := []string{OrgBeauxbatonsID, OrgDurmstrangID}; !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("created_at:-1 = %v", ids(got))
	}
}

func TestEnabledConnections(t *testing.T) {
	e := newEnv(t, Config{})
	base := "/api/v2/organizations/" + OrgHogwartsID + "/enabled_connections"
	tests := []struct {
		query string
		want  string
	}{
		{"", `[{"connection_id":"con_Db0UsernamePwd01","assign_membership_on_login":true,"is_signup_enabled":true,"show_as_button":true,"connection":{"name":"Username-Password-Authentication","strategy":"auth0"}},{"connection_id":"con_Ok0HogwartsOkta1","assign_membership_on_login":false,"show_as_button":true,"connection":{"name":"hogwarts-okta","strategy":"okta"}}]`},
		// limit is the number of items returned, not per_page (recorded quirk)
		{"?include_totals=true&per_page=50", `{"enabled_connections":[{"connection_id":"con_Db0UsernamePwd01","assign_membership_on_login":true,"is_signup_enabled":true,"show_as_button":true,"connection":{"name":"Username-Password-Authentication","strategy":"auth0"}},{"connection_id":"con_Ok0HogwartsOkta1","assign_membership_on_login":false,"show_as_button":true,"connection":{"name":"hogwarts-okta","strategy":"okta"}}],"start":0,"limit":2,"total":2}`},
		{"?include_totals=true&per_page=1&page=1", `{"enabled_connections":[{"connection_id":"con_Ok0HogwartsOkta1","assign_membership_on_login":false,"show_as_button":true,"connection":{"name":"hogwarts-okta","strategy":"okta"}}],"start":1,"limit":1,"total":2}`},
		{"?include_totals=true&page=3", `{"enabled_connections":[],"start":150,"limit":0,"total":2}`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			e.get(t, base+tc.query).wantBody(t, http.StatusOK, tc.want)
		})
	}
	e.get(t, "/api/v2/organizations/"+OrgBeauxbatonsID+"/enabled_connections").wantBody(t, http.StatusOK, `[]`)
	e.get(t, base+"/"+ConnectionOktaID).wantBody(t, http.StatusOK,
		`{"connection_id":"con_Ok0HogwartsOkta1","assign_membership_on_login":false,"show_as_button":true,"connection":{"name":"hogwarts-okta","strategy":"okta"}}`)
	e.get(t, "/api/v2/organizations/"+OrgDurmstrangID+"/enabled_connections/"+ConnectionOktaID).wantBody(t, http.StatusNotFound, recConnectionNotFound)
	e.get(t, "/api/v2/organizations/org_missing/enabled_connections").wantBody(t, http.StatusNotFound, recOrgNotFound)
}

func TestUsers(t *testing.T) {
	e := newEnv(t, Config{})
	esc := url.PathEscape(UserChuck938ID)
	if esc != "auth0%7C6410784d38b3e02b77fdd660" {
		t.Fatalf("escape = %s", esc)
	}
	r := e.get(t, "/api/v2/users/"+esc).wantStatus(t, http.StatusOK)
	jsonEqual(t, r.body, `{"user_id":"auth0|6410784d38b3e02b77fdd660","email":"chuck938@example.com","email_verified":true,
		"name":"Chuck Norris","nickname":"chuck938","picture":"https://example-picture-url.jpg","given_name":"Chuck","family_name":"Norris",
		"created_at":"2023-03-14T13:36:13.123Z","updated_at":"2023-06-12T13:36:13.123Z",
		"identities":[{"connection":"Username-Password-Authentication","user_id":"6410784d38b3e02b77fdd660","provider":"auth0","isSocial":false}]}`)
	e.get(t, "/api/v2/users/"+esc+"?fields=email,name&include_fields=true").wantBody(t, http.StatusOK,
		`{"email":"chuck938@example.com","name":"Chuck Norris"}`)
	e.get(t, "/api/v2/users/auth0%7C63d17c4ba030f2d4279f2c54").wantBody(t, http.StatusNotFound, recUserNotFound)

	var orgs []Organization
	e.get(t, "/api/v2/users/"+esc+"/organizations").wantStatus(t, http.StatusOK).decode(t, &orgs)
	if want := []string{OrgHogwartsID, OrgDurmstrangID}; !reflect.DeepEqual(ids(orgs), want) {
		t.Fatalf("user orgs = %v", ids(orgs))
	}
	e.get(t, "/api/v2/users/"+url.PathEscape(UserChuck849ID)+"/organizations?include_totals=true&per_page=1&page=1").
		wantBody(t, http.StatusOK, `{"organizations":[{"id":"org_Bx5aU9eK3mQp7RsC","name":"beauxbatons","display_name":"Beauxbatons Academy of Magic"}],"start":1,"limit":1,"total":2}`)
	e.get(t, "/api/v2/users/"+url.PathEscape(UserGoogleID)+"/organizations").wantBody(t, http.StatusOK, `[]`)
	e.get(t, "/api/v2/users/auth0%7Cnobody/organizations").wantBody(t, http.StatusOK, `[]`)
	e.get(t, "/api/v2/users/auth0%7Cnobody/organizations?include_totals=true&page=1").
		wantBody(t, http.StatusOK, `{"organizations":[],"start":50,"limit":50,"total":0}`)
}

func TestOrganizationByName(t *testing.T) {
	e := newEnv(t, Config{})
	e.get(t, "/api/v2/organizations/name/nope").wantBody(t, http.StatusNotFound, recOrgNotFound)
	e.get(t, "/api/v2/organizations/org_nope").wantBody(t, http.StatusNotFound, recOrgNotFound)
	for _, name := range []string{strings.Repeat("a", 51), ""} {
		var body auth0Error
		e.get(t, "/api/v2/organizations/name/"+name).wantStatus(t, http.StatusBadRequest).decode(t, &body)
		if body.ErrorCode != "invalid_uri" || body.StatusCode != 400 {
			t.Fatalf("name %q: %+v", name, body)
		}
	}
	e.get(t, "/api/v2/organizations/name/"+strings.Repeat("a", 50)).wantBody(t, http.StatusNotFound, recOrgNotFound)
}

func TestEscapedPathNeverReachesOtherRoutes(t *testing.T) {
	tests := []struct {
		path  string
		route string
		body  string
	}{
		{"/api/v2/organizations/..%2Fusers%2Fx", RouteOrganization, recOrgNotFound},
		{"/api/v2/organizations/" + OrgHogwartsID + "%2Fenabled_connections", RouteOrganization, recOrgNotFound},
		{"/api/v2/organizations/%2E%2E", RouteOrganization, recOrgNotFound},
		{"/api/v2/organizations/name/hogwarts%2F..%2F..", RouteOrganizationByName, recOrgNotFound},
		{"/api/v2/users/x%2Forganizations", RouteUser, recUserNotFound},
		{"/api/v2/users/..%2Forganizations%2F" + OrgHogwartsID, RouteUser, recUserNotFound},
		{"/api/v2/organizations/../users/" + url.PathEscape(UserChuck938ID), "auth0 GET unknown", `{"statusCode":404,"error":"Not Found","message":"Not Found"}`},
		{"/hogwarts/identity_/api/Group/" + PartitionHogwartsID + "%2F" + GroupDaniCID, RouteGroups, ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			e := newEnv(t, Config{})
			r := e.get(t, tc.path)
			if tc.body != "" {
				r.wantBody(t, http.StatusNotFound, tc.body)
			} else {
				r.wantStatus(t, http.StatusBadRequest)
			}
			if got := e.sim.Counts(); len(got) != 1 || got[tc.route] != 1 {
				t.Fatalf("counts = %v, want only %q", got, tc.route)
			}
		})
	}
}

func TestGeneratedOrganizationsLinkPartitions(t *testing.T) {
	e := newEnv(t, Config{Organizations: 10, Partitions: 3, GroupsPerPartition: 2, MembersPerGroup: 4, ConnectionsPerOrg: 3, Users: 20, MembershipsPerUser: 3})
	ds := e.sim.Dataset()
	for i, o := range ds.Organizations[3:] {
		pid := o.Metadata[MetadataPartitionKey]
		if ds.PartitionOrganization[pid] != o.Metadata[MetadataOrganizationKey] || len(ds.Groups[pid]) != 4 {
			t.Fatalf("org %d metadata %v", i, o.Metadata)
		}
		if want := ds.Organizations[3+(i%3)].Metadata[MetadataPartitionKey]; pid != want {
			t.Fatalf("org %d partition %s, want %s", i, pid, want)
		}
		if len(ds.Connections[o.ID]) != 3 {
			t.Fatalf("org %d has %d connections", i, len(ds.Connections[o.ID]))
		}
		for _, c := range ds.Connections[o.ID] {
			if (c.IsSignupEnabled != nil) != (c.Connection.Strategy == "auth0") {
				t.Fatalf("is_signup_enabled on %s connection", c.Connection.Strategy)
			}
		}
	}
	for _, u := range ds.Users[4:] {
		if len(ds.UserOrganizations[u.UserID]) != 3 {
			t.Fatalf("user %s in %d orgs", u.UserID, len(ds.UserOrganizations[u.UserID]))
		}
	}
	// Generated groups come back over the wire for the generated org-scoped base.
	pid := ds.Organizations[3].Metadata[MetadataPartitionKey]
	var groups []Group
	e.get(t, "/gen-tenant-000/identity_/api/Group/"+pid).wantStatus(t, http.StatusOK).decode(t, &groups)
	if len(groups) != 4 || len(groups[2].Members) != 4 || groups[2].Type != GroupTypeCustom {
		t.Fatalf("groups = %+v", groups)
	}
}

func TestDeterministicData(t *testing.T) {
	cfg := Config{Seed: 42, Organizations: 50, Users: 30, MembershipsPerUser: 2, ConnectionsPerOrg: 2, Partitions: 2, GroupsPerPartition: 2, MembersPerGroup: 2}
	a, b := New(cfg).Dataset(), New(cfg).Dataset()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed produced different datasets")
	}
	cfg.Seed = 43
	c := New(cfg).Dataset()
	if reflect.DeepEqual(ids(a.Organizations), ids(c.Organizations)) {
		t.Fatal("different seeds produced the same organization ids")
	}
	if !reflect.DeepEqual(ids(a.Organizations[:3]), ids(c.Organizations[:3])) {
		t.Fatal("built-in organizations depend on the seed")
	}
	ja, _ := json.Marshal(a.Groups)
	jb, _ := json.Marshal(b.Groups)
	if !bytes.Equal(ja, jb) {
		t.Fatal("group JSON differs for the same seed")
	}
}
