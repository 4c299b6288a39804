package graph

import (
	"testing"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/pager"
)

// TestMembersMapToUsers: a page of Auth0 members becomes a page of users
// whose profile fields are the member's own (null where the member list
// has none), so they cost no call; nodes and edges are the same users, each
// edge with its cursor; an empty page has no end cursor (null, not "").
func TestMembersMapToUsers(t *testing.T) {
	email, name, picture := "harry@hogwarts.example", "Harry", "https://example.com/h.png"
	tests := []struct {
		name string
		page pager.Page[auth0.Member]
	}{
		{"empty last page", pager.Page[auth0.Member]{}},
		{"members with and without profile fields", pager.Page[auth0.Member]{
			Items: []auth0.Member{
				{UserID: "auth0|harry", Email: &email, Name: &name, Picture: &picture},
				{UserID: "google-oauth2|ron"},
			},
			Cursors:     []string{"c1", "c2"},
			HasNextPage: true,
			EndCursor:   "c2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := userPage(tt.page)
			if len(got.Nodes) != len(tt.page.Items) || len(got.Edges) != len(tt.page.Items) {
				t.Fatalf("%d nodes, %d edges for %d members", len(got.Nodes), len(got.Edges), len(tt.page.Items))
			}
			for i, m := range tt.page.Items {
				u := &got.Nodes[i]
				if u.ID != m.UserID || u.Email() != m.Email || u.Name() != m.Name || u.Picture() != m.Picture {
					t.Errorf("member %s: user %s, email %v, name %v, picture %v", m.UserID, u.ID, u.Email(), u.Name(), u.Picture())
				}
				if got.Edges[i].Node != u || got.Edges[i].Cursor != tt.page.Cursors[i] {
					t.Errorf("edge %d: node %p cursor %q, want node %p cursor %q", i, got.Edges[i].Node, got.Edges[i].Cursor, u, tt.page.Cursors[i])
				}
			}
			info := got.PageInfo
			if info.HasNextPage != tt.page.HasNextPage {
				t.Errorf("hasNextPage %v, want %v", info.HasNextPage, tt.page.HasNextPage)
			}
			switch {
			case tt.page.EndCursor == "" && info.EndCursor != nil:
				t.Errorf("endCursor %q on an empty page, want null", *info.EndCursor)
			case tt.page.EndCursor != "" && (info.EndCursor == nil || *info.EndCursor != tt.page.EndCursor):
				t.Errorf("endCursor %v, want %q", info.EndCursor, tt.page.EndCursor)
			}
		})
	}
}

// TestOrganizationsPageEdgesPointIntoNodes: each edge's node is the node of
// the same index (one decoded organization, not a copy) with its cursor.
func TestOrganizationsPageEdgesPointIntoNodes(t *testing.T) {
	p := pager.Page[auth0.Organization]{
		Items:   []auth0.Organization{{ID: "org_a", Name: "a"}, {ID: "org_b", Name: "b"}},
		Cursors: []string{"ca", "cb"}, EndCursor: "cb",
	}
	got := organizationPage(p)
	for i := range p.Items {
		if got.Edges[i].Node != &got.Nodes[i] || got.Edges[i].Cursor != p.Cursors[i] || got.Nodes[i].ID != p.Items[i].ID {
			t.Errorf("edge %d: node %+v cursor %q", i, got.Edges[i].Node, got.Edges[i].Cursor)
		}
	}
	if got.PageInfo.HasNextPage || got.PageInfo.EndCursor == nil || *got.PageInfo.EndCursor != "cb" {
		t.Errorf("pageInfo %+v", got.PageInfo)
	}
}
