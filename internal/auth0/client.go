// Package auth0 is the gateway's client for the Auth0 Management API v2: one
// method per endpoint the graph reads, every path segment escaped, every list
// paged the way the upstream actually behaves rather than how its totals claim.
//
// Reference: https://auth0.com/docs/api/management/v2/organizations
package auth0

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/orgraph/orgraph/internal/upstream"
)

// Route templates name each endpoint in errors and metrics.
const (
	RouteOrganizations      = "GET /api/v2/organizations"
	RouteOrganization       = "GET /api/v2/organizations/{id}"
	RouteOrganizationByName = "GET /api/v2/organizations/name/{name}"
	RouteEnabledConnections = "GET /api/v2/organizations/{id}/enabled_connections"
	RouteMembers            = "GET /api/v2/organizations/{id}/members"
	RouteUserOrganizations  = "GET /api/v2/users/{id}/organizations"
	RouteUser               = "GET /api/v2/users/{id}"
)

// MaxPageSize is the largest per_page/take the Management API accepts.
const MaxPageSize = 100

// maxOffsetPages stops offset paging at Auth0's 1,000-record ceiling
// (10 pages of 100); past it the upstream answers invalid_paging anyway.
const maxOffsetPages = 10

// Client calls one Auth0 tenant's Management API.
type Client struct {
	http *upstream.Client
	base string // https://tenant/api/v2, no trailing slash
}

// New returns a client for the tenant at baseURL (e.g. https://tenant.eu.auth0.com).
// It sets http's Companions, so that every organization the upstream sends,
// alone or in a list, is cached by id and by name.
func New(baseURL string, http *upstream.Client) *Client {
	c := &Client{http: http, base: strings.TrimRight(baseURL, "/") + "/api/v2"}
	http.Companions = c.companions
	return c
}

// companions lists the by-id and by-name URLs that the organizations in a
// response also answer: an organization read one way, or in a page of the
// tenant's or a user's organizations, is then a cache hit the other way in
// later requests (within a request the loaders' priming does this).
func (c *Client) companions(route string, body []byte) []upstream.Companion {
	switch route {
	case RouteOrganization, RouteOrganizationByName:
		var o orgRef
		if json.Unmarshal(body, &o) != nil {
			return nil
		}
		if route == RouteOrganization && o.Name != "" {
			return []upstream.Companion{{URL: c.OrganizationByNameURL(o.Name), Body: body}}
		}
		if route == RouteOrganizationByName && o.ID != "" {
			return []upstream.Companion{{URL: c.OrganizationURL(o.ID), Body: body}}
		}
	case RouteOrganizations, RouteUserOrganizations:
		var page offsetPage[json.RawMessage, rawOrganizationsEnvelope]
		if json.Unmarshal(body, &page) != nil {
			return nil
		}
		out := make([]upstream.Companion, 0, 2*len(page.items))
		for _, item := range page.items {
			var o orgRef
			if json.Unmarshal(item, &o) != nil {
				continue
			}
			if o.ID != "" {
				out = append(out, upstream.Companion{URL: c.OrganizationURL(o.ID), Body: item})
			}
			if o.Name != "" {
				out = append(out, upstream.Companion{URL: c.OrganizationByNameURL(o.Name), Body: item})
			}
		}
		return out
	}
	return nil
}

// orgRef is what companions needs of an organization.
type orgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (c *Client) url(path string, q url.Values) string {
	if len(q) == 0 {
		return c.base + path
	}
	return c.base + path + "?" + q.Encode()
}

// Organizations reads one checkpoint page of the tenant's organizations
// (from/take), which, unlike offset paging, goes past 1,000 records.
// https://auth0.com/docs/api/management/v2/organizations/get-organizations
func (c *Client) Organizations(ctx context.Context, from string, take int) (OrganizationsPage, error) {
	var page OrganizationsPage
	err := c.http.GetJSON(ctx, RouteOrganizations, c.OrganizationsURL(from, take), &page)
	return page, err
}

// OrganizationsURL is the URL of one checkpoint page of organizations.
func (c *Client) OrganizationsURL(from string, take int) string {
	return c.url("/organizations", checkpoint(from, take))
}

func checkpoint(from string, take int) url.Values {
	q := url.Values{"take": {strconv.Itoa(take)}}
	if from != "" {
		q.Set("from", from)
	}
	return q
}

// CountOrganizations asks for the tenant's organization count. Checkpoint
// pages carry no total, so this is one offset request for a single record.
func (c *Client) CountOrganizations(ctx context.Context) (int, error) {
	q := url.Values{"include_totals": {"true"}, "per_page": {"1"}, "page": {"0"}}
	var env struct {
		Total int `json:"total"`
	}
	err := c.http.GetJSON(ctx, RouteOrganizations, c.url("/organizations", q), &env)
	return env.Total, err
}

// Organization reads one organization by id.
// https://auth0.com/docs/api/management/v2/organizations/get-organizations-by-id
func (c *Client) Organization(ctx context.Context, id string) (*Organization, error) {
	var org Organization
	if err := c.http.GetJSON(ctx, RouteOrganization, c.OrganizationURL(id), &org); err != nil {
		return nil, err
	}
	return &org, nil
}

// OrganizationURL is the URL of one organization by id.
func (c *Client) OrganizationURL(id string) string {
	return c.url("/organizations/"+upstream.PathEscape(id), nil)
}

// OrganizationByName reads one organization by its name (at most 50 chars).
// https://auth0.com/docs/api/management/v2/organizations/get-name-by-name
func (c *Client) OrganizationByName(ctx context.Context, name string) (*Organization, error) {
	var org Organization
	if err := c.http.GetJSON(ctx, RouteOrganizationByName, c.OrganizationByNameURL(name), &org); err != nil {
		return nil, err
	}
	return &org, nil
}

// OrganizationByNameURL is the URL of one organization by name.
func (c *Client) OrganizationByNameURL(name string) string {
	return c.url("/organizations/name/"+upstream.PathEscape(name), nil)
}

// EnabledConnections reads every connection enabled for an organization. The
// endpoint pages by offset only and its envelope's limit is the item count,
// so paging stops on a short or empty page, never on limit or total.
// https://auth0.com/docs/api/management/v2/organizations/get-enabled-connections
func (c *Client) EnabledConnections(ctx context.Context, orgID string) ([]EnabledConnection, error) {
	return pageAll[EnabledConnection, connectionsEnvelope](ctx, c, RouteEnabledConnections, c.enabledConnectionsPath(orgID))
}

func (c *Client) enabledConnectionsPath(orgID string) string {
	return "/organizations/" + upstream.PathEscape(orgID) + "/enabled_connections"
}

// EnabledConnectionsURL is the URL of the first page of an organization's
// enabled connections (usually the only one).
func (c *Client) EnabledConnectionsURL(orgID string) string {
	return c.url(c.enabledConnectionsPath(orgID), offset(0))
}

// UserOrganizations reads every organization a user belongs to. The envelope's
// total has been seen at 0 with an organization in the page, so it is ignored.
// https://auth0.com/docs/api/management/v2/users/get-user-organizations
func (c *Client) UserOrganizations(ctx context.Context, userID string) ([]Organization, error) {
	return pageAll[Organization, organizationsEnvelope](ctx, c, RouteUserOrganizations, c.userOrganizationsPath(userID))
}

func (c *Client) userOrganizationsPath(userID string) string {
	return "/users/" + upstream.PathEscape(userID) + "/organizations"
}

// UserOrganizationsURL is the URL of the first page of a user's organizations.
func (c *Client) UserOrganizationsURL(userID string) string {
	return c.url(c.userOrganizationsPath(userID), offset(0))
}

// Members reads one checkpoint page of an organization's members. The
// upstream sends next on every non-empty page and ends with an empty one.
// https://auth0.com/docs/api/management/v2/organizations/get-members
func (c *Client) Members(ctx context.Context, orgID, from string, take int) (MembersPage, error) {
	var page MembersPage
	err := c.http.GetJSON(ctx, RouteMembers, c.MembersURL(orgID, from, take), &page)
	return page, err
}

// MembersURL is the URL of one checkpoint page of an organization's members.
func (c *Client) MembersURL(orgID, from string, take int) string {
	return c.url("/organizations/"+upstream.PathEscape(orgID)+"/members", checkpoint(from, take))
}

// User reads a user's profile.
// https://auth0.com/docs/api/management/v2/users/get-users-by-id
func (c *Client) User(ctx context.Context, id string) (*User, error) {
	var u User
	if err := c.http.GetJSON(ctx, RouteUser, c.UserURL(id), &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// UserURL is the URL of a user's profile, asking only for the fields the
// graph exposes.
func (c *Client) UserURL(id string) string {
	q := url.Values{"fields": {"user_id,email,name,picture"}, "include_fields": {"true"}}
	return c.url("/users/"+upstream.PathEscape(id), q)
}

// Prefetch reads the cached responses of urls in one round trip, for a
// loader batch about to fetch them.
func (c *Client) Prefetch(ctx context.Context, urls []string) { c.http.Prefetch(ctx, urls) }

// envelope is the include_totals shape of an offset list, named per endpoint.
type envelope[T any] interface {
	list() []T
}

type organizationsEnvelope struct {
	Organizations []Organization `json:"organizations"`
}

func (e organizationsEnvelope) list() []Organization { return e.Organizations }

// rawOrganizationsEnvelope keeps each organization as the upstream sent it,
// for caching (the checkpoint envelope has the same "organizations" key).
type rawOrganizationsEnvelope struct {
	Organizations []json.RawMessage `json:"organizations"`
}

func (e rawOrganizationsEnvelope) list() []json.RawMessage { return e.Organizations }

type connectionsEnvelope struct {
	EnabledConnections []EnabledConnection `json:"enabled_connections"`
}

func (e connectionsEnvelope) list() []EnabledConnection { return e.EnabledConnections }

// offsetPage decodes either shape an offset list can come in, in one pass: a
// bare array (without include_totals) or the envelope E.
type offsetPage[T any, E envelope[T]] struct {
	items []T
}

func (p *offsetPage[T, E]) UnmarshalJSON(b []byte) error {
	if trimmed := bytes.TrimLeft(b, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		return json.Unmarshal(b, &p.items)
	}
	var env E
	if err := json.Unmarshal(b, &env); err != nil {
		return err
	}
	p.items = env.list()
	return nil
}

// offset is the query of one offset page of the largest size.
func offset(page int) url.Values {
	return url.Values{"include_totals": {"true"}, "per_page": {strconv.Itoa(MaxPageSize)}, "page": {strconv.Itoa(page)}}
}

// pageAll reads an offset-paged list to its end with the largest page size:
// one request for lists of up to 99 items.
func pageAll[T any, E envelope[T]](ctx context.Context, c *Client, route, path string) ([]T, error) {
	var all []T
	for page := 0; page < maxOffsetPages; page++ {
		var p offsetPage[T, E]
		if err := c.http.GetJSON(ctx, route, c.url(path, offset(page)), &p); err != nil {
			return nil, err
		}
		if all == nil {
			all = p.items
		} else {
			all = append(all, p.items...)
		}
		if len(p.items) < MaxPageSize {
			break
		}
	}
	if all == nil {
		all = []T{}
	}
	return all, nil
}
