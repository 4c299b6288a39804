// Package model holds the GraphQL types that are not upstream payloads: pages,
// edges and the lazily-resolved User, plus the scalar and enum marshalers.
// Upstream payload types (auth0.Organization, …) are bound into the schema
// directly so a response is decoded once and never copied; connections and
// groups are bound through thin wrappers that add their parent's id and
// point into the payload (ids.go).
package model

import (
	"github.com/orgraph/orgraph/internal/auth0"
)

// User is a user as far as the gateway knows it. Profile holds the profile
// fields when a query asks for them: user(id) reads the profile before it
// returns the user, and a member arrives with the fields the member list
// carries, so the fields themselves never call anything and resolve inline.
type User struct {
	ID      string
	Profile *auth0.User
}

// Email is the user's email address; nil when unknown.
func (u *User) Email() *string {
	if u.Profile == nil {
		return nil
	}
	return u.Profile.Email
}

// Name is the user's name; nil when unknown.
func (u *User) Name() *string {
	if u.Profile == nil {
		return nil
	}
	return u.Profile.Name
}

// Picture is the URL of the user's picture; nil when unknown.
func (u *User) Picture() *string {
	if u.Profile == nil {
		return nil
	}
	return u.Profile.Picture
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
