// Package auth0 is the gateway's client for the Auth0 Management API v2: one
// method per endpoint the graph reads, each answering many keys in one call
// through the typed data layer (internal/upstream), every path segment
// escaped, every list paged the way the upstream actually behaves rather than
// how its totals claim. Bodies are decoded once, into values that are shared
// and never written to.
//
// Reference: https://auth0.com/docs/api/management/v2/organizations
package auth0

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
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

// PageKey identifies one checkpoint page of the tenant's organizations.
type PageKey struct {
	From string
	Take int
}

// MembersKey identifies one checkpoint page of an organization's members;
// the paging arguments are part of the key because different pages are
// different data.
type MembersKey struct {
	OrganizationID string
	From           string
	Take           int
}

// listPage is one offset page of a per-id list (enabled connections, a
// user's organizations).
type listPage struct {
	ID   string
	Page int
}

// Client calls one Auth0 tenant's Management API.
type Client struct {
	http *upstream.Client
	base string // https://tenant/api/v2, no trailing slash

	organizationsPage   *upstream.Route[PageKey, *OrganizationsPage]
	organizationCount   *upstream.Route[struct{}, int]
	organizationByID    *upstream.Route[string, *Organization]
	organizationByName  *upstream.Route[string, *Organization]
	enabledConnections  *upstream.Route[listPage, []EnabledConnection]
	userOrganizations   *upstream.Route[listPage, []Organization]
	membersPage         *upstream.Route[MembersKey, *MembersPage]
	user                *upstream.Route[string, *User]
	offsetOnePageSuffix string // the query of offset page 0, built once
}

// New returns a client for the tenant at baseURL (e.g.
// https://tenant.eu.auth0.com). Every organization the upstream sends, alone
// or in a list, is cached by id and by name too (see related), so warmed data
// stays warm whichever way it is asked for.
func New(baseURL string, http *upstream.Client) *Client {
	c := &Client{http: http, base: strings.TrimRight(baseURL, "/") + "/api/v2"}
	c.offsetOnePageSuffix = "?" + offset(0).Encode()
	c.organizationsPage = upstream.NewRoute(RouteOrganizations,
		func(dst []byte, k PageKey) ([]byte, error) {
			return append(dst, c.url("/organizations", checkpoint(k.From, k.Take))...), nil
		},
		decodeJSON[OrganizationsPage],
		func(p *OrganizationsPage, _ []byte) []upstream.Related {
			return c.relatedOrganizations(p.Organizations)
		})
	c.organizationCount = upstream.NewRoute(RouteOrganizations,
		func(dst []byte, _ struct{}) ([]byte, error) {
			return append(dst, c.url("/organizations", url.Values{"include_totals": {"true"}, "per_page": {"1"}, "page": {"0"}})...), nil
		},
		func(body []byte) (int, error) {
			var env struct {
				Total *int `json:"total"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				return 0, err
			}
			if env.Total == nil || *env.Total < 0 { // null, {} or no count at all
				return 0, fmt.Errorf("%w: no total", upstream.ErrMalformed)
			}
			return *env.Total, nil
		}, nil)
	c.organizationByID = upstream.NewRoute(RouteOrganization,
		func(dst []byte, id string) ([]byte, error) { return c.appendOrganization(dst, id), nil },
		decodeJSON[Organization], c.alsoByName)
	c.organizationByName = upstream.NewRoute(RouteOrganizationByName,
		func(dst []byte, name string) ([]byte, error) { return c.appendOrganizationByName(dst, name), nil },
		decodeJSON[Organization], c.alsoByID)
	c.enabledConnections = upstream.NewRoute(RouteEnabledConnections,
		func(dst []byte, k listPage) ([]byte, error) {
			return c.appendPage(c.appendPath(dst, "/organizations/", k.ID, "/enabled_connections"), k.Page), nil
		},
		decodeOffsetPage[EnabledConnection, connectionsEnvelope], nil)
	c.userOrganizations = upstream.NewRoute(RouteUserOrganizations,
		func(dst []byte, k listPage) ([]byte, error) {
			return c.appendPage(c.appendPath(dst, "/users/", k.ID, "/organizations"), k.Page), nil
		},
		decodeOffsetPage[Organization, organizationsEnvelope],
		func(orgs []Organization, _ []byte) []upstream.Related { return c.relatedOrganizations(orgs) })
	c.membersPage = upstream.NewRoute(RouteMembers,
		func(dst []byte, k MembersKey) ([]byte, error) {
			dst = c.appendPath(dst, "/organizations/", k.OrganizationID, "/members?")
			return append(dst, checkpoint(k.From, k.Take).Encode()...), nil
		},
		decodeJSON[MembersPage], nil)
	c.user = upstream.NewRoute(RouteUser,
		func(dst []byte, id string) ([]byte, error) {
			return append(c.appendPath(dst, "/users/", id, "?"), userFieldsQuery...), nil
		},
		decodeJSON[User], nil)
	c.setTags()
	return c
}

func (c *Client) url(path string, q url.Values) string {
	if len(q) == 0 {
		return c.base + path
	}
	return c.base + path + "?" + q.Encode()
}

// appendPath appends base, head, the escaped segment and tail.
func (c *Client) appendPath(dst []byte, head, segment, tail string) []byte {
	dst = append(dst, c.base...)
	dst = append(dst, head...)
	dst = append(dst, upstream.PathEscape(segment)...)
	return append(dst, tail...)
}

// appendPage appends the query of one offset page of the largest size; page
// 0, by far the most asked for, costs no query encoding.
func (c *Client) appendPage(dst []byte, page int) []byte {
	if page == 0 {
		return append(dst, c.offsetOnePageSuffix...)
	}
	return append(append(dst, '?'), offset(page).Encode()...)
}

// userFieldsQuery asks for the profile fields the graph exposes only.
var userFieldsQuery = url.Values{"fields": {"user_id,email,name,picture"}, "include_fields": {"true"}}.Encode()

// appendOrganization and appendOrganizationByName append the URL of one
// organization by id and by name: the routes' keys, and the related entries
// a list or the other route primes, must be the same bytes.
func (c *Client) appendOrganization(dst []byte, id string) []byte {
	return c.appendPath(dst, "/organizations/", id, "")
}

func (c *Client) appendOrganizationByName(dst []byte, name string) []byte {
	return c.appendPath(dst, "/organizations/name/", name, "")
}

func (c *Client) organizationURL(id string) string { return string(c.appendOrganization(nil, id)) }

func (c *Client) organizationByNameURL(name string) string {
	return string(c.appendOrganizationByName(nil, name))
}

func checkpoint(from string, take int) url.Values {
	q := url.Values{"take": {strconv.Itoa(take)}}
	if from != "" {
		q.Set("from", from)
	}
	return q
}

// offset is the query of one offset page of the largest size.
func offset(page int) url.Values {
	return url.Values{"include_totals": {"true"}, "per_page": {strconv.Itoa(MaxPageSize)}, "page": {strconv.Itoa(page)}}
}

// alsoByName: an organization fetched by id is cached by name too.
func (c *Client) alsoByName(o *Organization, body []byte) []upstream.Related {
	if o.Name == "" {
		return nil
	}
	return []upstream.Related{{URL: c.organizationByNameURL(o.Name), Value: o, Body: body, Tags: relatedTags(o, true)}}
}

// alsoByID: an organization fetched by name is cached by id too.
func (c *Client) alsoByID(o *Organization, body []byte) []upstream.Related {
	if o.ID == "" {
		return nil
	}
	return []upstream.Related{{URL: c.organizationURL(o.ID), Value: o, Body: body, Tags: relatedTags(o, false)}}
}

// relatedOrganizations lists the by-id and by-name entries that the
// organizations of a list also answer: an organization read in a page of
// the tenant's or a user's organizations is then a cache hit either way in
// later requests (within a request, cached or not, the loaders' record of
// the request's organizations does this). Each value points into the list's
// own, shared value.
func (c *Client) relatedOrganizations(orgs []Organization) []upstream.Related {
	out := make([]upstream.Related, 0, 2*len(orgs))
	for i := range orgs {
		o := &orgs[i]
		body, err := json.Marshal(o)
		if err != nil {
			continue
		}
		if o.ID != "" {
			out = append(out, upstream.Related{URL: c.organizationURL(o.ID), Value: o, Body: body, Tags: relatedTags(o, false)})
		}
		if o.Name != "" {
			out = append(out, upstream.Related{URL: c.organizationByNameURL(o.Name), Value: o, Body: body, Tags: relatedTags(o, true)})
		}
	}
	return out
}

// OrganizationsPages reads checkpoint pages of the tenant's organizations
// (from/take), which, unlike offset paging, go past 1,000 records.
// https://auth0.com/docs/api/management/v2/organizations/get-organizations
func (c *Client) OrganizationsPages(ctx context.Context, keys []PageKey) []upstream.Result[*OrganizationsPage] {
	return upstream.GetMany(ctx, c.http, c.organizationsPage, keys)
}

// CountOrganizations asks for the tenant's organization count. Checkpoint
// pages carry no total, so this is one offset request for a single record.
func (c *Client) CountOrganizations(ctx context.Context) (int, error) {
	r := upstream.Get(ctx, c.http, c.organizationCount, struct{}{})
	return r.Value, r.Err
}

// OrganizationsByID reads organizations by id.
// https://auth0.com/docs/api/management/v2/organizations/get-organizations-by-id
func (c *Client) OrganizationsByID(ctx context.Context, ids []string) []upstream.Result[*Organization] {
	return upstream.GetMany(ctx, c.http, c.organizationByID, ids)
}

// OrganizationsByName reads organizations by name (at most 50 characters).
// https://auth0.com/docs/api/management/v2/organizations/get-name-by-name
func (c *Client) OrganizationsByName(ctx context.Context, names []string) []upstream.Result[*Organization] {
	return upstream.GetMany(ctx, c.http, c.organizationByName, names)
}

// EnabledConnections reads every connection enabled for each organization.
// The endpoint pages by offset only and its envelope's limit is the item
// count, so paging stops on a short or empty page, never on limit or total.
// https://auth0.com/docs/api/management/v2/organizations/get-enabled-connections
func (c *Client) EnabledConnections(ctx context.Context, orgIDs []string) []upstream.Result[[]EnabledConnection] {
	return pageAll(ctx, c.http, c.enabledConnections, orgIDs)
}

// UserOrganizations reads every organization each user belongs to. The
// envelope's total has been seen at 0 with an organization in the page, so
// it is ignored.
// https://auth0.com/docs/api/management/v2/users/get-user-organizations
func (c *Client) UserOrganizations(ctx context.Context, userIDs []string) []upstream.Result[[]Organization] {
	return pageAll(ctx, c.http, c.userOrganizations, userIDs)
}

// MembersPages reads checkpoint pages of organizations' members. The
// upstream sends next on every non-empty page and ends with an empty one.
// https://auth0.com/docs/api/management/v2/organizations/get-members
func (c *Client) MembersPages(ctx context.Context, keys []MembersKey) []upstream.Result[*MembersPage] {
	return upstream.GetMany(ctx, c.http, c.membersPage, keys)
}

// Users reads users' profiles, asking only for the fields the graph
// exposes.
// https://auth0.com/docs/api/management/v2/users/get-users-by-id
func (c *Client) Users(ctx context.Context, ids []string) []upstream.Result[*User] {
	return upstream.GetMany(ctx, c.http, c.user, ids)
}

// pageAll reads an offset-paged list per id to its end with the largest page
// size: one request per id for lists of up to 99 items, and one many-key
// lookup per page depth for all ids together. A list longer than a page is
// a new slice: cached pages are shared and never appended to.
func pageAll[T any](ctx context.Context, http *upstream.Client, route *upstream.Route[listPage, []T], ids []string) []upstream.Result[[]T] {
	out := make([]upstream.Result[[]T], len(ids))
	pending := make([]int, len(ids))
	for i := range pending {
		pending[i] = i
	}
	keys := make([]listPage, 0, len(ids))
	for page := 0; page < maxOffsetPages && len(pending) > 0; page++ {
		keys = keys[:0]
		for _, i := range pending {
			keys = append(keys, listPage{ID: ids[i], Page: page})
		}
		res := upstream.GetMany(ctx, http, route, keys)
		next := pending[:0]
		for j, i := range pending {
			r := res[j]
			switch {
			case r.Err != nil:
				out[i] = upstream.Result[[]T]{Err: r.Err}
				continue
			case !r.Found && page == 0:
				out[i] = upstream.Result[[]T]{} // the owner does not exist
				continue
			case page == 0:
				out[i] = r
			case r.Found:
				out[i].Value = append(slices.Clip(out[i].Value), r.Value...)
			}
			if len(r.Value) == MaxPageSize {
				next = append(next, i)
			}
		}
		pending = next
	}
	return out
}

// The Peek methods answer one key from the in-process tier alone and report
// whether they could: no round trip, no lock, no wait. A loader asks them
// before it queues a key for a batch, so a warm key costs no batching.

// PeekOrganizationsPage is OrganizationsPages for one cached key.
func (c *Client) PeekOrganizationsPage(ctx context.Context, key PageKey) (upstream.Result[*OrganizationsPage], bool) {
	return upstream.Peek(ctx, c.http, c.organizationsPage, key)
}

// PeekOrganizationByID is OrganizationsByID for one cached id.
func (c *Client) PeekOrganizationByID(ctx context.Context, id string) (upstream.Result[*Organization], bool) {
	return upstream.Peek(ctx, c.http, c.organizationByID, id)
}

// PeekOrganizationByName is OrganizationsByName for one cached name.
func (c *Client) PeekOrganizationByName(ctx context.Context, name string) (upstream.Result[*Organization], bool) {
	return upstream.Peek(ctx, c.http, c.organizationByName, name)
}

// PeekEnabledConnections is EnabledConnections for one organization whose
// list is cached and fits in one page.
func (c *Client) PeekEnabledConnections(ctx context.Context, orgID string) (upstream.Result[[]EnabledConnection], bool) {
	return peekList(ctx, c.http, c.enabledConnections, orgID)
}

// PeekUserOrganizations is UserOrganizations for one user whose list is
// cached and fits in one page.
func (c *Client) PeekUserOrganizations(ctx context.Context, userID string) (upstream.Result[[]Organization], bool) {
	return peekList(ctx, c.http, c.userOrganizations, userID)
}

// PeekMembersPage is MembersPages for one cached key.
func (c *Client) PeekMembersPage(ctx context.Context, key MembersKey) (upstream.Result[*MembersPage], bool) {
	return upstream.Peek(ctx, c.http, c.membersPage, key)
}

// PeekUser is Users for one cached id.
func (c *Client) PeekUser(ctx context.Context, id string) (upstream.Result[*User], bool) {
	return upstream.Peek(ctx, c.http, c.user, id)
}

func peekList[T any](ctx context.Context, http *upstream.Client, route *upstream.Route[listPage, []T], id string) (upstream.Result[[]T], bool) {
	r, ok := upstream.Peek(ctx, http, route, listPage{ID: id})
	if !ok || len(r.Value) == MaxPageSize {
		return upstream.Result[[]T]{}, false // a longer list needs its next page
	}
	return r, true
}
