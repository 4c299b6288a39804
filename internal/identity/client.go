// Package identity is the gateway's client for the UiPath Identity Server API
// (groups of an organization). The API lives under a per-organization base
// URL, https://cloud.uipath.com/{organizationName}/identity_, so the base may
// hold that placeholder and every call names the organization it is for.
//
// Reference: https://docs.uipath.com/automation-cloud/automation-cloud/latest/api-guide/get-all-groups
package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/orgraph/orgraph/internal/upstream"
)

// Route templates name each endpoint in errors and metrics.
const (
	RouteGroups = "GET /api/Group/{partitionGlobalId}"
	RouteGroup  = "GET /api/Group/{partitionGlobalId}/{groupId}"
)

// Placeholder is the part of IDENTITY_BASE_URL filled with the UiPath
// organization name of each call.
const Placeholder = "{organizationName}"

// ErrOrganizationNameRequired means the base URL has the placeholder and the
// caller did not say which organization it asks about.
var ErrOrganizationNameRequired = errors.New("identity: an organization name is required by this base URL")

// PartitionKey identifies a UiPath organization's group list: its partition
// (organization GUID) and, when the base URL is per organization, its name.
type PartitionKey struct {
	OrganizationName string
	PartitionID      string
}

// GroupKey identifies one group of a UiPath organization.
type GroupKey struct {
	OrganizationName string
	PartitionID      string
	GroupID          string
}

// Client calls the UiPath Identity API.
type Client struct {
	http        *upstream.Client
	base        string
	placeholder bool
	// before and after are the base URL around Placeholder (after is ""
	// without one).
	before, after string

	groups *upstream.Route[PartitionKey, []Group]
	group  *upstream.Route[GroupKey, *Group]
}

// New returns a client for baseURL, which may contain Placeholder.
func New(baseURL string, http *upstream.Client) *Client {
	base := strings.TrimRight(baseURL, "/")
	c := &Client{http: http, base: base, placeholder: strings.Contains(base, Placeholder)}
	c.before, c.after, _ = strings.Cut(base, Placeholder)
	c.groups = upstream.NewRoute(RouteGroups,
		func(dst []byte, k PartitionKey) ([]byte, error) {
			return c.appendGroups(dst, k.OrganizationName, k.PartitionID)
		},
		decodeGroups, nil)
	c.group = upstream.NewRoute(RouteGroup,
		func(dst []byte, k GroupKey) ([]byte, error) {
			dst, err := c.appendGroups(dst, k.OrganizationName, k.PartitionID)
			return append(append(dst, '/'), upstream.PathEscape(k.GroupID)...), err
		},
		decodeGroup, nil)
	return c
}

// NeedsOrganizationName reports whether every call must name its organization.
func (c *Client) NeedsOrganizationName() bool { return c.placeholder }

// TokenURL is where client credentials are exchanged for a token: the
// host-level /identity_/connect/token when the base is per organization (it
// serves every organization), else the base's own.
func TokenURL(baseURL string) string {
	base := strings.TrimRight(baseURL, "/")
	base = strings.Replace(base, "/"+Placeholder, "", 1)
	return base + "/connect/token"
}

// appendGroups appends the URL of a UiPath organization's group list.
func (c *Client) appendGroups(dst []byte, orgName, partitionID string) ([]byte, error) {
	dst = append(dst, c.before...)
	if c.placeholder {
		if orgName == "" {
			return dst, ErrOrganizationNameRequired
		}
		dst = append(dst, upstream.PathEscape(orgName)...)
		dst = append(dst, c.after...)
	}
	dst = append(dst, "/api/Group/"...)
	return append(dst, upstream.PathEscape(partitionID)...), nil
}

// Groups reads all local and built-in groups of UiPath organizations; a
// partition that does not exist is a Result with Found false. The endpoint
// has no paging.
// https://docs.uipath.com/automation-cloud/automation-cloud/latest/api-guide/get-all-groups
func (c *Client) Groups(ctx context.Context, keys []PartitionKey) []upstream.Result[[]Group] {
	return upstream.GetMany(ctx, c.http, c.groups, keys)
}

// GroupsByID reads single groups of UiPath organizations.
// https://docs.uipath.com/automation-cloud/automation-cloud/latest/api-guide/get-specific-group
func (c *Client) GroupsByID(ctx context.Context, keys []GroupKey) []upstream.Result[*Group] {
	return upstream.GetMany(ctx, c.http, c.group, keys)
}

// PeekGroups is Groups for one partition whose list the in-process tier
// holds, and reports whether it could: no round trip, no lock, no wait.
func (c *Client) PeekGroups(ctx context.Context, key PartitionKey) (upstream.Result[[]Group], bool) {
	return upstream.Peek(ctx, c.http, c.groups, key)
}

// PeekGroup is GroupsByID for one cached group.
func (c *Client) PeekGroup(ctx context.Context, key GroupKey) (upstream.Result[*Group], bool) {
	return upstream.Peek(ctx, c.http, c.group, key)
}
