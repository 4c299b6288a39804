package auth0

import (
	"net/url"
	"strings"

	"github.com/orgraph/orgraph/internal/purge"
)

// Tags: what each route's entries are built from (internal/purge), so that
// an Auth0 event purges exactly the entries that show what it changed. A
// route's URL gives the owner (the organization of a members page, the user
// of an organization list); its value gives what it shows of others (each
// organization of a list page, each member of a members page).

// segment is the unescaped path segment of rawURL after c.base+head.
func (c *Client) segment(rawURL, head string) string {
	rest, ok := strings.CutPrefix(rawURL, c.base+head)
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if s, err := url.PathUnescape(rest); err == nil {
		return s
	}
	return rest
}

// organizationTags are the tags of organizations shown in a list.
func organizationTags(tags []string, orgs []Organization) []string {
	for i := range orgs {
		if orgs[i].ID != "" {
			tags = append(tags, purge.Org(orgs[i].ID))
		}
	}
	return tags
}

func (c *Client) setTags() {
	c.organizationsPage.WithTags(func(_ string, p *OrganizationsPage, found bool) []string {
		tags := []string{purge.Orgs}
		if found && p != nil {
			tags = organizationTags(tags, p.Organizations)
		}
		return tags
	})
	c.organizationCount.WithTags(func(string, int, bool) []string { return []string{purge.Orgs} })
	c.organizationByID.WithTags(func(rawURL string, _ *Organization, _ bool) []string {
		return []string{purge.Org(c.segment(rawURL, "/organizations/"))}
	})
	c.organizationByName.WithTags(func(rawURL string, o *Organization, found bool) []string {
		tags := []string{purge.OrgName(c.segment(rawURL, "/organizations/name/"))}
		if found && o != nil && o.ID != "" {
			// A rename purges the old name's entry by the id it holds.
			tags = append(tags, purge.Org(o.ID))
		}
		return tags
	})
	c.enabledConnections.WithTags(func(rawURL string, _ []EnabledConnection, _ bool) []string {
		return []string{purge.Conns(c.segment(rawURL, "/organizations/"))}
	})
	c.userOrganizations.WithTags(func(rawURL string, orgs []Organization, _ bool) []string {
		return organizationTags([]string{purge.UserOrgs(c.segment(rawURL, "/users/"))}, orgs)
	})
	c.membersPage.WithTags(func(rawURL string, p *MembersPage, found bool) []string {
		tags := []string{purge.Members(c.segment(rawURL, "/organizations/"))}
		if found && p != nil {
			for i := range p.Members {
				if p.Members[i].UserID != "" {
					tags = append(tags, purge.User(p.Members[i].UserID))
				}
			}
		}
		return tags
	})
	c.user.WithTags(func(rawURL string, _ *User, _ bool) []string {
		return []string{purge.User(c.segment(rawURL, "/users/"))}
	})
}

// relatedTags are the tags of an organization cached by id or by name
// because a list or the other lookup answered it.
func relatedTags(o *Organization, byName bool) []string {
	if byName {
		return []string{purge.OrgName(o.Name), purge.Org(o.ID)}
	}
	return []string{purge.Org(o.ID)}
}
