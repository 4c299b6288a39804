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

// Client calls the UiPath Identity API.
type Client struct {
	http        *upstream.Client
	base        string
	placeholder bool
}

// New returns a client for baseURL, which may contain Placeholder.
func New(baseURL string, http *upstream.Client) *Client {
	base := strings.TrimRight(baseURL, "/")
	return &Client{http: http, base: base, placeholder: strings.Contains(base, Placeholder)}
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

func (c *Client) apiBase(orgName string) (string, error) {
	if !c.placeholder {
		return c.base, nil
	}
	if orgName == "" {
		return "", ErrOrganizationNameRequired
	}
	return strings.Replace(c.base, Placeholder, upstream.PathEscape(orgName), 1), nil
}

// Groups reads all local and built-in groups of a UiPath organization. The
// endpoint has no paging.
// https://docs.uipath.com/automation-cloud/automation-cloud/latest/api-guide/get-all-groups
func (c *Client) Groups(ctx context.Context, orgName, partitionID string) ([]Group, error) {
	u, err := c.GroupsURL(orgName, partitionID)
	if err != nil {
		return nil, err
	}
	var groups []Group
	if err := c.http.GetJSON(ctx, RouteGroups, u, &groups); err != nil {
		return nil, err
	}
	if groups == nil {
		groups = []Group{}
	}
	return groups, nil
}

// Group reads one group of a UiPath organization.
// https://docs.uipath.com/automation-cloud/automation-cloud/latest/api-guide/get-specific-group
func (c *Client) Group(ctx context.Context, orgName, partitionID, groupID string) (*Group, error) {
	u, err := c.GroupURL(orgName, partitionID, groupID)
	if err != nil {
		return nil, err
	}
	var g Group
	if err := c.http.GetJSON(ctx, RouteGroup, u, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// GroupsURL is the URL of a UiPath organization's group list.
func (c *Client) GroupsURL(orgName, partitionID string) (string, error) {
	base, err := c.apiBase(orgName)
	if err != nil {
		return "", err
	}
	return base + "/api/Group/" + upstream.PathEscape(partitionID), nil
}

// GroupURL is the URL of one group.
func (c *Client) GroupURL(orgName, partitionID, groupID string) (string, error) {
	u, err := c.GroupsURL(orgName, partitionID)
	if err != nil {
		return "", err
	}
	return u + "/" + upstream.PathEscape(groupID), nil
}

// Prefetch reads the cached responses of urls in one round trip, for a
// loader batch about to fetch them.
func (c *Client) Prefetch(ctx context.Context, urls []string) { c.http.Prefetch(ctx, urls) }
