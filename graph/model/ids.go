package model

import (
	"strings"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/identity"
)

// Normalizing client caches (Apollo's InMemoryCache, Relay, urql's
// graphcache) keep one object per __typename and id, so an id must name one
// object with one set of field values. The upstreams' own ids do not: an
// Auth0 connection id is tenant-wide while its flags are per organization,
// and UiPath's built-in groups keep one id in every partition while their
// members differ. The types below give such objects an id made of their
// parent's id and the upstream's, and keep the upstream's id in a field of
// its own. They point into the decoded upstream answer instead of copying it.

// IDSeparator joins a parent's id and an upstream id into an object's id.
// Auth0 organization ids (org_…) and GUIDs never contain it, so the parts of
// an id can be told apart.
const IDSeparator = ":"

// Connection is an Auth0 connection as one organization enables it: its
// flags are that organization's, its name and strategy the tenant's.
type Connection struct {
	// OrganizationID is the Auth0 organization that enables the connection.
	OrganizationID string
	*auth0.EnabledConnection
}

// ID is unique to the organization's use of the connection:
// "<organization id>:<connection id>".
func (c *Connection) ID() string {
	return c.OrganizationID + IDSeparator + c.ConnectionID
}

// ConnectionsOf wraps the connections one organization enables.
func ConnectionsOf(organizationID string, list []auth0.EnabledConnection) []Connection {
	out := make([]Connection, len(list))
	for i := range list {
		out[i] = Connection{OrganizationID: organizationID, EnabledConnection: &list[i]}
	}
	return out
}

// Group is a UiPath group of one partition (UiPath organization).
type Group struct {
	// PartitionGlobalID is the partition's GUID, in lower case, so a
	// partition named in upper and in lower case gives one id.
	PartitionGlobalID string
	*identity.Group
}

// ID is unique across partitions: "<partition GUID>:<group GUID>", both in
// lower case.
func (g *Group) ID() string {
	return g.PartitionGlobalID + IDSeparator + strings.ToLower(g.Group.ID)
}

// GroupID is the UiPath group id, as the upstream sends it; built-in groups
// have the same one in every partition.
func (g *Group) GroupID() string { return g.Group.ID }

// GroupsOf wraps the groups of one partition.
func GroupsOf(partitionGlobalID string, list []identity.Group) []Group {
	pid := strings.ToLower(partitionGlobalID)
	out := make([]Group, len(list))
	for i := range list {
		out[i] = Group{PartitionGlobalID: pid, Group: &list[i]}
	}
	return out
}
