package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/pager"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

const (
	hogwartsID        = "org_Hg7bQ2mN4pLk9TzA"
	hogwartsPartition = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	demoUserID        = "auth0|6410784d38b3e02b77fdd660"
)

func TestOrganizationFieldsMatchUpstream(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 5, Partitions: 2, GroupsPerPartition: 1, MembersPerGroup: 2, ConnectionsPerOrg: 2}, nil)
	ds := sim.Dataset()
	for _, o := range ds.Organizations {
		t.Run(o.Name, func(t *testing.T) {
			resp := gw.Query(t, `query($id: ID!, $name: String!) {
				byID: organization(id: $id) { `+organizationWithEdges+` }
				byName: organizationByName(name: $name) { `+organizationFields+` }
			}`, map[string]any{"id": o.ID, "name": o.Name})
			var data struct{ ByID, ByName json.RawMessage }
			resp.Decode(t, &data)
			assertJSON(t, data.ByID, wantOrganization(ds, o, true))
			assertJSON(t, data.ByName, wantOrganization(ds, o, false))
		})
	}
}

func TestNotFoundIsNullWithoutError(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	resp := gw.Query(t, `{
		organization(id: "org_doesnotexist0000") { id }
		organizationByName(name: "no-such-org") { id }
		user(id: "auth0|nobody") { email }
		groups(partitionGlobalId: "00000000-0000-4000-8000-000000000000", organizationName: "hogwarts") { id }
		group(partitionGlobalId: "`+hogwartsPartition+`", groupId: "11111111-2222-4333-8444-555555555555", organizationName: "hogwarts") { id }
		unknownUser: user(id: "auth0|nobody") { id organizations { id } }
	}`, nil)
	assertJSON(t, resp.Data, map[string]any{
		"organization": nil, "organizationByName": nil, "user": nil, "groups": nil, "group": nil,
		"unknownUser": map[string]any{"id": "auth0|nobody", "organizations": []any{}},
	})
	if len(resp.Errors) != 0 {
		t.Fatalf("errors: %s", resp.Raw)
	}
}

func TestUserWithOrganizationsConnectionsAndGroups(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	ds := sim.Dataset()
	u, ok := ds.UserByID(demoUserID)
	if !ok {
		t.Fatal("demo user missing from the simulator's data")
	}
	resp := gw.Query(t, `query($id: ID!) { user(id: $id) { id email name picture organizations { `+organizationWithEdges+` } } }`,
		map[string]any{"id": demoUserID})
	orgs := []any{}
	for _, id := range ds.UserOrganizations[demoUserID] {
		o, _ := ds.OrganizationByID(id)
		orgs = append(orgs, wantOrganization(ds, o, true))
	}
	assertJSON(t, resp.Data, map[string]any{"user": map[string]any{
		"id": u.UserID, "email": u.Email, "name": u.Name, "picture": u.Picture, "organizations": orgs,
	}})
	if len(orgs) < 2 {
		t.Fatalf("demo user should be in several organizations, got %d", len(orgs))
	}
}

// TestGroupAndConnectionIDsAreOnePerParent: a group's id is its partition's
// and its own, the same however the partition is reached (an organization's
// metadata, or the top-level queries with the GUIDs in upper case), and a
// built-in group or a shared connection has another id under another parent,
// so normalizing client caches keep them apart (README, "Schema changes").
func TestGroupAndConnectionIDsAreOnePerParent(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	type group struct{ ID, GroupID, PartitionGlobalID string }
	type connection struct{ ID, ConnectionID, OrganizationID string }
	type org struct {
		Groups      []group
		Connections []connection
	}
	var data struct {
		Hogwarts, Durmstrang org
		Upper                []group
		One                  group
	}
	upper := strings.ToUpper(hogwartsPartition)
	gw.Query(t, `query($p: ID!, $g: ID!) {
		hogwarts: organization(id: "`+upstreamsim.OrgHogwartsID+`") { groups { id groupId partitionGlobalId } connections { id connectionId organizationId } }
		durmstrang: organization(id: "`+upstreamsim.OrgDurmstrangID+`") { groups { id groupId partitionGlobalId } connections { id connectionId organizationId } }
		upper: groups(partitionGlobalId: $p, organizationName: "hogwarts") { id groupId partitionGlobalId }
		one: group(partitionGlobalId: $p, groupId: $g, organizationName: "hogwarts") { id groupId partitionGlobalId }
	}`, map[string]any{"p": upper, "g": strings.ToUpper(upstreamsim.GroupDaniCID)}).Decode(t, &data)
	// 2 organizations, 2 connection lists, 2 partitions' groups, the
	// upper-case partition's groups (another URL, so another call) and 1 group.
	if n := sim.Total(); n != 8 {
		t.Fatalf("%d upstream calls, want 8", n)
	}

	hogwarts := map[string]group{}
	for _, g := range data.Hogwarts.Groups {
		if g.ID != hogwartsPartition+":"+g.GroupID || g.PartitionGlobalID != hogwartsPartition {
			t.Errorf("hogwarts group %+v: want id %s:<groupId>", g, hogwartsPartition)
		}
		hogwarts[g.GroupID] = g
	}
	if !reflect.DeepEqual(data.Upper, data.Hogwarts.Groups) {
		t.Errorf("groups by the upper-case partition %+v, want hogwarts' own %+v", data.Upper, data.Hogwarts.Groups)
	}
	if want := hogwarts[upstreamsim.GroupDaniCID]; data.One != want || want.ID == "" {
		t.Errorf("group by upper-case ids %+v, want %+v", data.One, want)
	}
	for _, g := range data.Durmstrang.Groups {
		if h, shared := hogwarts[g.GroupID]; shared && h.ID == g.ID {
			t.Errorf("built-in group %s has id %s in both partitions", g.GroupID, g.ID)
		}
	}
	hogwartsConns := map[string]connection{}
	for _, c := range data.Hogwarts.Connections {
		hogwartsConns[c.ConnectionID] = c
	}
	for _, c := range data.Durmstrang.Connections {
		if c.ID != upstreamsim.OrgDurmstrangID+":"+c.ConnectionID || c.OrganizationID != upstreamsim.OrgDurmstrangID {
			t.Errorf("durmstrang connection %+v: want id %s:<connectionId>", c, upstreamsim.OrgDurmstrangID)
		}
		if h, shared := hogwartsConns[c.ConnectionID]; shared && h.ID == c.ID {
			t.Errorf("connection %s has id %s in both organizations", c.ConnectionID, c.ID)
		}
	}
}

func TestGroupsAndGroupQueries(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	ds := sim.Dataset()
	groups := ds.Groups[hogwartsPartition]
	want := []any{}
	for _, g := range groups {
		want = append(want, wantGroup(hogwartsPartition, g))
	}
	const fields = `id groupId partitionGlobalId name displayName type creationTime lastModificationTime
		members { identifier objectType name firstName lastName displayName email source jobTitle companyName city department }`
	resp := gw.Query(t, `query($p: ID!, $g: ID!) {
		groups(partitionGlobalId: $p, organizationName: "hogwarts") { `+fields+` }
		group(partitionGlobalId: $p, groupId: $g, organizationName: "hogwarts") { `+fields+` }
	}`, map[string]any{"p": hogwartsPartition, "g": groups[2].ID})
	assertJSON(t, resp.Data, map[string]any{"groups": want, "group": wantGroup(hogwartsPartition, groups[2])})
	// The doc example's custom group with three members is part of the built-in data.
	if groups[2].Name != "DaniC" || len(groups[2].Members) != 3 {
		t.Fatalf("built-in data changed: %+v", groups[2])
	}
}

func TestOrganizationsPagingPastOneThousand(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 1050}, nil)
	ds := sim.Dataset()
	var seen []string
	var after any
	pages := 0
	for {
		resp := gw.Query(t, `query($after: String) { organizations(first: 100, after: $after) {
			edges { cursor node { id } } nodes { id } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after})
		var data struct {
			Organizations struct {
				Edges []struct {
					Cursor string
					Node   struct{ ID string }
				}
				Nodes    []struct{ ID string }
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		resp.Decode(t, &data)
		pages++
		page := data.Organizations
		for i, e := range page.Edges {
			if e.Node.ID != page.Nodes[i].ID {
				t.Fatalf("edges and nodes disagree at %d", i)
			}
			seen = append(seen, e.Node.ID)
		}
		if !page.PageInfo.HasNextPage {
			break
		}
		after = *page.PageInfo.EndCursor
	}
	if len(seen) != len(ds.Organizations) {
		t.Fatalf("saw %d organizations, the tenant has %d", len(seen), len(ds.Organizations))
	}
	for i, o := range ds.Organizations {
		if seen[i] != o.ID {
			t.Fatalf("organization %d: got %s want %s", i, seen[i], o.ID)
		}
	}
	// One upstream call per page: 1,053 organizations in pages of 100.
	if got := sim.Count(upstreamsim.RouteOrganizations); got != 11 || pages != 11 {
		t.Fatalf("pages %d, upstream calls %d; want 11 and 11", pages, got)
	}
}

func TestOrganizationsEdgeCursorResumesMidPage(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 40}, nil)
	ds := sim.Dataset()
	resp := gw.Query(t, `{ organizations(first: 20) { edges { cursor } totalCount } }`, nil)
	var first struct {
		Organizations struct {
			Edges      []struct{ Cursor string }
			TotalCount int
		}
	}
	resp.Decode(t, &first)
	if first.Organizations.TotalCount != len(ds.Organizations) {
		t.Fatalf("totalCount %d, want %d", first.Organizations.TotalCount, len(ds.Organizations))
	}
	for _, i := range []int{0, 6, 18} {
		resp := gw.Query(t, `query($after: String) { organizations(first: 3, after: $after) { nodes { id } } }`,
			map[string]any{"after": first.Organizations.Edges[i].Cursor})
		var data struct {
			Organizations struct{ Nodes []struct{ ID string } }
		}
		resp.Decode(t, &data)
		for j, n := range data.Organizations.Nodes {
			if want := ds.Organizations[i+1+j].ID; n.ID != want {
				t.Fatalf("after edge %d, node %d: got %s want %s", i, j, n.ID, want)
			}
		}
	}
}

func TestMembersPaging(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 1, Users: 30, MembershipsPerUser: 1}, nil)
	ds := sim.Dataset()
	var orgID string
	for _, o := range ds.Organizations {
		if len(ds.Members[o.ID]) > len(ds.Members[orgID]) {
			orgID = o.ID
		}
	}
	wantIDs := ds.Members[orgID]
	if len(wantIDs) < 5 {
		t.Fatalf("need an organization with several members, best has %d", len(wantIDs))
	}
	var got []string
	var after any
	for i := 0; ; i++ {
		resp := gw.Query(t, `query($id: ID!, $after: String) { organization(id: $id) { members(first: 4, after: $after) {
			nodes { id email } pageInfo { hasNextPage endCursor } } } }`, map[string]any{"id": orgID, "after": after})
		var data struct {
			Organization struct {
				Members struct {
					Nodes []struct {
						ID    string
						Email *string
					}
					PageInfo struct {
						HasNextPage bool
						EndCursor   *string
					}
				}
			}
		}
		resp.Decode(t, &data)
		for _, n := range data.Organization.Members.Nodes {
			u, _ := ds.UserByID(n.ID)
			if n.Email == nil || *n.Email != u.Email {
				t.Fatalf("member %s email %v, want %s", n.ID, n.Email, u.Email)
			}
			got = append(got, n.ID)
		}
		if !data.Organization.Members.PageInfo.HasNextPage {
			break
		}
		after = *data.Organization.Members.PageInfo.EndCursor
		if i > 100 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(got, ",") != strings.Join(wantIDs, ",") {
		t.Fatalf("members\n got %v\nwant %v", got, wantIDs)
	}
	// Member lists carry the profile fields: no GET /users/{id}.
	if n := sim.Count(upstreamsim.RouteUser); n != 0 {
		t.Fatalf("members cost %d profile calls, want 0", n)
	}
}

func TestBadInputIsRefusedBeforeAnyUpstreamCall(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	cases := []struct {
		name, query, wantIn string
		vars                map[string]any
	}{
		{"name over 50 characters", `query($n: String!) { organizationByName(name: $n) { id } }`, "name", map[string]any{"n": strings.Repeat("a", 51)}},
		{"empty id", `{ organization(id: "") { id } }`, "id", nil},
		{"control character in id", `query($id: ID!) { organization(id: $id) { id } }`, "control", map[string]any{"id": "org_a\nb"}},
		{"control character in user id", `query($id: ID!) { user(id: $id) { id } }`, "control", map[string]any{"id": "auth0|\u0000"}},
		{"first zero", `{ organizations(first: 0) { nodes { id } } }`, "first", nil},
		{"first over 100", `{ organizations(first: 101) { nodes { id } } }`, "first", nil},
		{"garbage cursor", `{ organizations(after: "not-a-cursor") { nodes { id } } }`, "cursor", nil},
		{"members cursor on organizations", `query($a: String) { organizations(after: $a) { nodes { id } } }`, "cursor",
			map[string]any{"a": pager.Encode(pager.MembersOf(hogwartsID), pager.Cursor{From: "abc"})}},
		{"injected checkpoint token", `query($a: String) { organizations(after: $a) { nodes { id } } }`, "cursor",
			map[string]any{"a": pager.Encode(pager.Organizations, pager.Cursor{From: "x&take=100"})}},
		{"partition not a GUID", `{ groups(partitionGlobalId: "../../api/User", organizationName: "hogwarts") { id } }`, "GUID", nil},
		{"group id with traversal", `{ group(partitionGlobalId: "` + hogwartsPartition + `", groupId: "../` + hogwartsPartition + `", organizationName: "hogwarts") { id } }`, "GUID", nil},
		{"missing organization name", `{ groups(partitionGlobalId: "` + hogwartsPartition + `") { id } }`, "organizationName", nil},
		{"members first over 100", `{ organization(id: "` + hogwartsID + `") { members(first: 500) { nodes { id } } } }`, "first", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim.Reset()
			resp := gw.Query(t, tc.query, tc.vars)
			e := resp.OnlyError(t)
			if e.Code() != "BAD_USER_INPUT" || !strings.Contains(e.Message, tc.wantIn) {
				t.Fatalf("got %s %q, want BAD_USER_INPUT mentioning %q", e.Code(), e.Message, tc.wantIn)
			}
			if tc.name == "members first over 100" {
				if n := sim.Total(); n != 1 { // the organization itself was read
					t.Fatalf("upstream calls %d, want 1", n)
				}
				return
			}
			if n := sim.Total(); n != 0 {
				t.Fatalf("upstream calls %d, want 0: %v", n, sim.Counts())
			}
		})
	}
}

// TestIdsCannotReachAnotherUpstreamRoute: ids and names become URL path
// segments upstream; ones that could change the route (or the query) are
// refused as BAD_USER_INPUT before any call. (The clients escape every
// segment as well: internal/upstream's TestPathEscape.)
func TestIdsCannotReachAnotherUpstreamRoute(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	cases := []struct {
		name, query, path string
	}{
		{"organization id with traversal", `{ organization(id: "../users/` + demoUserID + `") { id } }`, "organization"},
		{"dot-dot organization id", `{ organization(id: "..") { id } }`, "organization"},
		{"percent-encoded traversal", `{ organization(id: "%2e%2e%2fusers") { id } }`, "organization"},
		{"name with slash", `{ organizationByName(name: "hogwarts/enabled_connections") { id } }`, "organizationByName"},
		{"user id with traversal", `{ user(id: "../organizations/` + hogwartsID + `") { email } }`, "user"},
		{"user id with query", `{ user(id: "auth0|x?fields=password") { email } }`, "user"},
		{"user id with fragment", `{ user(id: "auth0|x#y") { id organizations { id } } }`, "user"},
		{"UiPath organization with traversal", `{ groups(partitionGlobalId: "` + hogwartsPartition + `", organizationName: "../other") { id } }`, "groups"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim.Reset()
			resp := gw.Query(t, tc.query, nil)
			if e := resp.OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.PathString() != tc.path {
				t.Fatalf("answer %s, want BAD_USER_INPUT at %s", resp.Raw, tc.path)
			}
			if n := sim.Total(); n != 0 {
				t.Fatalf("%d upstream calls, want none: %v", n, sim.Counts())
			}
		})
	}
	// A user id with '|' reaches the right user.
	resp := gw.Query(t, `{ user(id: "`+demoUserID+`") { email } }`, nil)
	assertJSON(t, resp.Data, map[string]any{"user": map[string]any{"email": "chuck938@example.com"}})
}

func TestUpstreamFailuresStayOnTheirPath(t *testing.T) {
	// Each case gets a gateway of its own: after a 429 the governor rightly
	// pauses every call to that upstream, which would leak into the next case.
	// A 429 asks for a second; retries past this deadline are not tried.
	start := func(t *testing.T) (*testutil.Gateway, *upstreamsim.Simulator, string) {
		gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 50}, map[string]string{"REQUEST_TIMEOUT": "800ms"})
		return gw, sim, sim.Dataset().Organizations[4].ID
	}
	cases := []struct {
		status   int
		code     string
		extraKey string
	}{
		{http.StatusInternalServerError, "UPSTREAM_ERROR", "upstream"},
		{http.StatusServiceUnavailable, "UPSTREAM_ERROR", "upstream"},
		{http.StatusForbidden, "FORBIDDEN", ""},
		{http.StatusUnauthorized, "UPSTREAM_UNAUTHORIZED", ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			gw, sim, failing := start(t)
			sim.SetFault("/api/v2/organizations/"+failing+"/enabled_connections", tc.status)
			resp := gw.Query(t, `{ organizations(first: 50) { nodes { id connections { id } } } }`, nil)
			e := resp.OnlyError(t)
			if e.Code() != tc.code {
				t.Fatalf("code %s, want %s: %s", e.Code(), tc.code, resp.Raw)
			}
			if want := "organizations.nodes.4.connections"; e.PathString() != want {
				t.Fatalf("path %s, want %s", e.PathString(), want)
			}
			if tc.extraKey != "" && e.Extensions[tc.extraKey] == nil {
				t.Fatalf("extensions lack %s: %v", tc.extraKey, e.Extensions)
			}
			for i, c := range connectionsOfFifty(t, resp) {
				if (c == nil) != (i == 4) {
					t.Fatalf("organization %d connections=%v; only 4 should be null", i, c)
				}
			}
			// Upstream wording never reaches the caller.
			if strings.Contains(string(resp.Raw), "Global limit") || strings.Contains(string(resp.Raw), "Insufficient scope") {
				t.Fatalf("upstream message leaked: %s", resp.Raw)
			}
		})
	}
	t.Run("upstream error extensions", func(t *testing.T) {
		gw, sim, failing := start(t)
		sim.SetFault("/api/v2/organizations/"+failing+"/enabled_connections", http.StatusInternalServerError)
		resp := gw.Query(t, `query($id: ID!) { organization(id: $id) { id connections { id } } }`, map[string]any{"id": failing})
		e := resp.OnlyError(t)
		up, _ := e.Extensions["upstream"].(map[string]any)
		if up["service"] != "auth0" || up["status"] != float64(500) {
			t.Fatalf("extensions.upstream = %v", e.Extensions)
		}
	})
}

// TestUpstream429PausesTheUpstream: Auth0's rate-limit headers describe the
// tenant's global bucket, so a 429 on one path pauses every call to Auth0
// for its Retry-After. With calls made one at a time, the calls before the
// 429 answer, the 429 is sent once (its Retry-After is past the deadline, so
// no retry), and no call is sent after it: each remaining path is
// RATE_LIMITED with extensions.retryAfter, and the page itself comes back.
func TestUpstream429PausesTheUpstream(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 50},
		map[string]string{"REQUEST_TIMEOUT": "800ms", "UPSTREAM_CONCURRENCY": "1"})
	failing := sim.Dataset().Organizations[4].ID
	sim.SetFault("/api/v2/organizations/"+failing+"/enabled_connections", http.StatusTooManyRequests)
	resp := gw.Query(t, `{ organizations(first: 50) { nodes { id connections { id } } } }`, nil)
	answered := 0
	for _, c := range connectionsOfFifty(t, resp) {
		if c != nil {
			answered++
		}
	}
	if len(resp.Errors) != 50-answered {
		t.Fatalf("%d errors for %d null connections: %s", len(resp.Errors), 50-answered, resp.Raw)
	}
	sawFailing := false
	for _, e := range resp.Errors {
		if e.Code() != "RATE_LIMITED" || e.Extensions["retryAfter"] == nil || !strings.HasSuffix(e.PathString(), ".connections") {
			t.Fatalf("error %+v, want RATE_LIMITED with retryAfter on a connections path", e)
		}
		sawFailing = sawFailing || e.PathString() == "organizations.nodes.4.connections"
	}
	if !sawFailing {
		t.Fatalf("the 429 path has no error: %s", resp.Raw)
	}
	if got, want := sim.Count(upstreamsim.RouteEnabledConnections), int64(answered+1); got != want {
		t.Fatalf("enabled_connections calls %d, want %d (those answered and the one 429): calls went out during the pause", got, want)
	}
	if sim.RateLimited() != 1 {
		t.Fatalf("simulator sent %d 429s, want 1", sim.RateLimited())
	}
}

// connectionsOfFifty decodes `organizations(first: 50) { nodes { connections
// { id } } }`: each node's connections, nil where the field is null. It
// fails unless all 50 organizations came back.
func connectionsOfFifty(t *testing.T, resp testutil.Response) []*[]struct{ ID string } {
	t.Helper()
	var data struct {
		Organizations struct {
			Nodes []struct{ Connections *[]struct{ ID string } }
		}
	}
	_ = json.Unmarshal(resp.Data, &data)
	if len(data.Organizations.Nodes) != 50 {
		t.Fatalf("got %d organizations, want all 50: %s", len(data.Organizations.Nodes), resp.Raw)
	}
	out := make([]*[]struct{ ID string }, len(data.Organizations.Nodes))
	for i, n := range data.Organizations.Nodes {
		out[i] = n.Connections
	}
	return out
}

func TestUpstreamUnavailable(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	_ = sim
	env := testutil.UpstreamEnv("http://127.0.0.1:1") // nothing listens on port 1
	env["IDENTITY_BASE_URL"] = base + "/{organizationName}/identity_"
	gw := testutil.StartGateway(t, env)
	resp := gw.Query(t, `{ organization(id: "`+hogwartsID+`") { id } groups(partitionGlobalId: "`+hogwartsPartition+`", organizationName: "hogwarts") { name } }`, nil)
	e := resp.OnlyError(t)
	if e.Code() != "UPSTREAM_UNAVAILABLE" || e.PathString() != "organization" {
		t.Fatalf("got %s at %s", e.Code(), e.PathString())
	}
	var data struct{ Groups []struct{ Name string } }
	_ = json.Unmarshal(resp.Data, &data)
	if len(data.Groups) != 4 {
		t.Fatalf("groups should still come back, got %s", resp.Data)
	}
}

func TestIdentityScopeAndOrganizationErrors(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{
		IdentityTokens: map[string][]string{testutil.IdentityToken: {"PM.User.Read"}},
	}, nil)
	resp := gw.Query(t, `{ organization(id: "`+hogwartsID+`") { name groups { name } } }`, nil)
	e := resp.OnlyError(t)
	if e.Code() != "FORBIDDEN" || e.PathString() != "organization.groups" {
		t.Fatalf("got %s at %s", e.Code(), e.PathString())
	}
	assertJSON(t, resp.Data, map[string]any{"organization": map[string]any{"name": "hogwarts", "groups": nil}})
}
