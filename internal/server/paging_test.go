package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// membersPage is the shape of an organization's members page in a response.
type membersPage struct {
	Nodes    []struct{ ID string }
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
}

func (p membersPage) ids() string {
	ids := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		ids[i] = n.ID
	}
	return strings.Join(ids, ",")
}

const membersQuery = `query($id: ID!, $first: Int, $after: String) { organization(id: $id) {
	members(first: $first, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }`

func queryMembers(t *testing.T, gw *testutil.Gateway, orgID string, first int, after any) (membersPage, testutil.Response) {
	t.Helper()
	resp := gw.Query(t, membersQuery, map[string]any{"id": orgID, "first": first, "after": after})
	var data struct{ Organization struct{ Members membersPage } }
	if len(resp.Errors) == 0 {
		resp.Decode(t, &data)
	}
	return data.Organization.Members, resp
}

// TestEmptyAfterIsTheStart: genqlient and many forms send after: "" for "no
// cursor"; it reads the first page, as null does, on every list.
func TestEmptyAfterIsTheStart(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 5}, nil)
	for _, q := range []string{
		`query($a: String) { organizations(first: 2, after: $a) { nodes { id } pageInfo { hasNextPage } } }`,
		`query($a: String) { organization(id: "` + hogwartsID + `") { members(first: 2, after: $a) { nodes { id } pageInfo { hasNextPage } } } }`,
	} {
		start := gw.Query(t, q, map[string]any{"a": nil})
		empty := gw.Query(t, q, map[string]any{"a": ""})
		if len(start.Errors) > 0 || len(empty.Errors) > 0 {
			t.Fatalf("%s\nafter null: %s\nafter \"\": %s", q, start.Raw, empty.Raw)
		}
		if string(empty.Data) != string(start.Data) {
			t.Fatalf("after \"\" answers %s, after null %s", empty.Data, start.Data)
		}
	}
	// Inline too: the literal "" is the start, not an invalid cursor.
	if resp := gw.Query(t, `{ organizations(first: 1, after: "") { nodes { id } } }`, nil); len(resp.Errors) > 0 {
		t.Fatalf("after: \"\" inline: %s", resp.Raw)
	}
}

// TestMembersCursorPagesOnlyItsOrganization: Auth0's members tokens hold only
// a position (a time and a user id), so another organization's token would
// page that organization from the wrong place. A cursor names its
// organization; on another it is BAD_USER_INPUT and costs no upstream call.
func TestMembersCursorPagesOnlyItsOrganization(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	page, resp := queryMembers(t, gw, hogwartsID, 1, nil)
	if len(resp.Errors) > 0 || !page.PageInfo.HasNextPage {
		t.Fatalf("first hogwarts page: %s", resp.Raw)
	}
	cursor := *page.PageInfo.EndCursor

	sim.Reset()
	_, resp = queryMembers(t, gw, upstreamsim.OrgDurmstrangID, 1, cursor)
	if e := resp.OnlyError(t); e.Code() != "BAD_USER_INPUT" || !strings.Contains(e.Message, "cursor") {
		t.Fatalf("hogwarts cursor on durmstrang: %s", resp.Raw)
	}
	if n := sim.Count(upstreamsim.RouteMembers); n != 0 {
		t.Fatalf("a refused cursor cost %d members calls, want 0", n)
	}

	// In a list, the cursor pages the organization it came from; the others
	// are refused one by one, with no call for them.
	sim.Reset()
	resp = gw.Query(t, `query($a: String) { organizations { nodes { id members(first: 1, after: $a) { nodes { id } } } } }`,
		map[string]any{"a": cursor})
	var data struct {
		Organizations struct {
			Nodes []struct {
				ID      string
				Members *membersPage
			}
		}
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		t.Fatalf("%v: %s", err, resp.Raw)
	}
	nodes := data.Organizations.Nodes
	if len(nodes) < 2 || len(resp.Errors) != len(nodes)-1 {
		t.Fatalf("want one error per other organization: %s", resp.Raw)
	}
	for _, e := range resp.Errors {
		if e.Code() != "BAD_USER_INPUT" {
			t.Fatalf("error %s, want BAD_USER_INPUT: %s", e.Code(), resp.Raw)
		}
	}
	for _, o := range nodes {
		if (o.Members != nil) != (o.ID == hogwartsID) {
			t.Fatalf("organization %s: members %v", o.ID, o.Members)
		}
	}
	ds := sim.Dataset()
	if got, want := nodes[0].ID, hogwartsID; got != want {
		t.Fatalf("first organization %s, want %s", got, want)
	}
	if got := data.Organizations.Nodes[0].Members.ids(); got != ds.Members[hogwartsID][1] {
		t.Fatalf("hogwarts after its first member: %s, want %s", got, ds.Members[hogwartsID][1])
	}
	if n := sim.Count(upstreamsim.RouteMembers); n != 1 {
		t.Fatalf("members calls %d, want 1 (hogwarts only)", n)
	}
}

// TestMembersHasNextPageIsExact: the members list sends a next token on
// every page, even the last, so a page ending exactly at the last member
// said hasNextPage: true. Asking for one member more tells, at one call per
// page.
func TestMembersHasNextPageIsExact(t *testing.T) {
	const n = 3 // hogwarts' members in the demo
	_, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	want := sim.Dataset().Members[hogwartsID]
	if len(want) != n {
		t.Fatalf("hogwarts has %d members, want %d", len(want), n)
	}
	for _, tc := range []struct {
		name        string
		first       int
		walkFirst   int // after the first page
		wantPages   int
		wantHasNext []bool
	}{
		{"one page of all members", n, n, 1, []bool{false}},
		{"a page short of the end, then the last member", n - 1, 1, 2, []bool{true, false}},
		{"one at a time", 1, 1, n, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A gateway of its own: no page cached by another case.
			gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
			var got []string
			var hasNext []bool
			var after any
			first := tc.first
			for pages := 1; ; pages++ {
				page, resp := queryMembers(t, gw, hogwartsID, first, after)
				if len(resp.Errors) > 0 {
					t.Fatalf("page %d: %s", pages, resp.Raw)
				}
				if page.ids() != "" {
					got = append(got, page.ids())
				}
				hasNext = append(hasNext, page.PageInfo.HasNextPage)
				if !page.PageInfo.HasNextPage {
					if pages != tc.wantPages {
						t.Fatalf("%d pages, want %d (hasNextPage %v)", pages, tc.wantPages, hasNext)
					}
					break
				}
				if pages > n {
					t.Fatalf("paging does not end: %v", hasNext)
				}
				after, first = *page.PageInfo.EndCursor, tc.walkFirst
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("members %v, want %v", got, want)
			}
			if tc.wantHasNext != nil && len(hasNext) == len(tc.wantHasNext) {
				for i := range hasNext {
					if hasNext[i] != tc.wantHasNext[i] {
						t.Fatalf("hasNextPage %v, want %v", hasNext, tc.wantHasNext)
					}
				}
			}
			// One call per page: the one member more comes with the page.
			if c := sim.Count(upstreamsim.RouteMembers); c != int64(tc.wantPages) {
				t.Fatalf("members calls %d for %d pages", c, tc.wantPages)
			}
		})
	}
}
