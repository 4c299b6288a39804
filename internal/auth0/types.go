package auth0

import "sort"

// Organization is an Auth0 organization as the Management API sends it. Every
// field may be omitted by the upstream; unknown fields are ignored.
//
// The gateway binds this type directly into the GraphQL schema so a response
// is decoded once and never copied into a second model.
type Organization struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	DisplayName *string            `json:"display_name,omitempty"`
	Branding    *Branding          `json:"branding,omitempty"`
	Metadata    map[string]*string `json:"metadata,omitempty"`
}

// Branding is an organization's logo and colours.
type Branding struct {
	LogoURL *string         `json:"logo_url,omitempty"`
	Colors  *BrandingColors `json:"colors,omitempty"`
}

// BrandingColors are the two colours Auth0 requires together.
type BrandingColors struct {
	Primary        string `json:"primary"`
	PageBackground string `json:"page_background"`
}

// MetadataValue returns the metadata entry key, and false when it is absent,
// null or empty. Organizations carry foreign keys into UiPath this way.
func (o *Organization) MetadataValue(key string) (string, bool) {
	v, ok := o.Metadata[key]
	if !ok || v == nil || *v == "" {
		return "", false
	}
	return *v, true
}

// MetadataKeys returns the metadata keys in a stable order, because JSON
// objects have none and GraphQL lists do.
func (o *Organization) MetadataKeys() []string {
	keys := make([]string, 0, len(o.Metadata))
	for k := range o.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EnabledConnection is a connection enabled for an organization. The booleans
// other than AssignMembershipOnLogin are pointers because the upstream omits
// them for some strategies and in older tenants.
type EnabledConnection struct {
	ConnectionID            string         `json:"connection_id"`
	AssignMembershipOnLogin bool           `json:"assign_membership_on_login"`
	ShowAsButton            *bool          `json:"show_as_button,omitempty"`
	IsSignupEnabled         *bool          `json:"is_signup_enabled,omitempty"`
	Connection              ConnectionInfo `json:"connection"`
}

// ConnectionInfo is the connection's own name and strategy.
type ConnectionInfo struct {
	Name     string `json:"name"`
	Strategy string `json:"strategy"`
}

// Member is an organization member as listed by /organizations/{id}/members.
type Member struct {
	UserID  string  `json:"user_id"`
	Email   *string `json:"email,omitempty"`
	Picture *string `json:"picture,omitempty"`
	Name    *string `json:"name,omitempty"`
}

// MembersPage is one checkpoint page of members. Next is empty at the end.
type MembersPage struct {
	Members []Member `json:"members"`
	Next    string   `json:"next,omitempty"`
}

// OrganizationsPage is one checkpoint page of organizations. Next is empty at
// the end.
type OrganizationsPage struct {
	Organizations []Organization `json:"organizations"`
	Next          string         `json:"next,omitempty"`
}

// User is the subset of GET /users/{id} the gateway exposes.
type User struct {
	UserID  string  `json:"user_id"`
	Email   *string `json:"email,omitempty"`
	Name    *string `json:"name,omitempty"`
	Picture *string `json:"picture,omitempty"`
}
