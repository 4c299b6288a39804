// Package model holds the GraphQL types that are not upstream payloads: pages,
// edges and the lazily-resolved User, plus the scalar and enum marshalers.
// Upstream payload types (auth0.Organization, identity.Group, …) are bound
// into the schema directly so a response is decoded once and never copied.
package model

import (
	"github.com/orgraph/orgraph/internal/auth0"
)

// User is a user as far as the gateway knows it. Profile is nil until a
// profile field is asked for; a user listed as a member arrives with the
// profile fields the member list carries, so they cost no extra call.
type User struct {
	ID      string
	Profile *auth0.User
}

// OrganizationPage is a page of organizations.
type OrganizationPage struct {
	Edges    []OrganizationEdge
	Nodes    []auth0.Organization
	PageInfo PageInfo
}

// OrganizationEdge is an organization and the cursor just after it.
type OrganizationEdge struct {
	Cursor string
	Node   *auth0.Organization
}

// UserPage is a page of users.
type UserPage struct {
	Edges    []UserEdge
	Nodes    []User
	PageInfo PageInfo
}

// UserEdge is a user and the cursor just after it.
type UserEdge struct {
	Cursor string
	Node   *User
}

// PageInfo is Relay-style page information.
type PageInfo struct {
	HasNextPage bool
	EndCursor   *string
}
