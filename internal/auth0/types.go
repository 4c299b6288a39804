package auth0

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/orgraph/orgraph/internal/upstream"
)

// Organization is an Auth0 organization as the Management API sends it. Every
// field may be omitted by the upstream; unknown fields are ignored.
//
// The gateway binds this type directly into the GraphQL schema so a response
// is decoded once and never copied into a second model. Decoded values are
// shared by every request that reads them: never write to one.
type Organization struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	DisplayName *string            `json:"display_name,omitempty"`
	Branding    *Branding          `json:"branding,omitempty"`
	Metadata    map[string]*string `json:"metadata,omitempty"`

	// entries are Metadata sorted by key, made once when decoded.
	entries []MetadataEntry
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

// MetadataEntry is one metadata key and its value (nil when the upstream
// stores null).
type MetadataEntry struct {
	Key   string
	Value *string
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

// MetadataEntries returns the metadata sorted by key, because JSON objects
// have no order and GraphQL lists do. The list is made when the organization
// is decoded and shared: never write to it.
func (o *Organization) MetadataEntries() []MetadataEntry {
	if o.entries == nil && len(o.Metadata) > 0 {
		return sortedEntries(o.Metadata) // an organization not made by decoding
	}
	if o.entries == nil {
		return []MetadataEntry{}
	}
	return o.entries
}

func sortedEntries(m map[string]*string) []MetadataEntry {
	out := make([]MetadataEntry, 0, len(m))
	for k, v := range m {
		out = append(out, MetadataEntry{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// finish makes what an organization derives from its fields, once, before
// it is shared.
func (o *Organization) finish() {
	o.entries = sortedEntries(o.Metadata)
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

// Name is the connection's own name (the schema flattens it).
func (c *EnabledConnection) Name() string { return c.Connection.Name }

// Strategy is the connection's identity provider strategy.
func (c *EnabledConnection) Strategy() string { return c.Connection.Strategy }

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

// finisher is a decoded value that derives something from its fields once.
type finisher interface{ finish() }

// checker is a decoded value that knows which of its fields identify it:
// an answer without them is not one (a 200 with null, or an organization
// without id, would be a phantom with id ""), so decoding fails, and
// nothing of it is cached.
type checker interface{ check() error }

func (o *Organization) check() error {
	if o.ID == "" {
		return fmt.Errorf("%w: an organization without id", upstream.ErrMalformed)
	}
	return nil
}

func (c *EnabledConnection) check() error {
	if c.ConnectionID == "" {
		return fmt.Errorf("%w: an enabled connection without connection_id", upstream.ErrMalformed)
	}
	return nil
}

func (m *Member) check() error {
	if m.UserID == "" {
		return fmt.Errorf("%w: a member without user_id", upstream.ErrMalformed)
	}
	return nil
}

func (u *User) check() error {
	if u.UserID == "" {
		return fmt.Errorf("%w: a user without user_id", upstream.ErrMalformed)
	}
	return nil
}

func (p *OrganizationsPage) check() error {
	if p.Organizations == nil { // absent or null; [] is an empty page
		return fmt.Errorf("%w: a page without organizations", upstream.ErrMalformed)
	}
	return checkAll(p.Organizations)
}

func (p *MembersPage) check() error {
	if p.Members == nil {
		return fmt.Errorf("%w: a page without members", upstream.ErrMalformed)
	}
	return checkAll(p.Members)
}

// checkAll checks every item of a list.
func checkAll[T any](items []T) error {
	for i := range items {
		if c, ok := any(&items[i]).(checker); ok {
			if err := c.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

var errNotJSON = errors.New("the body is not JSON")

// startsWith reports whether body's first non-space byte is b: a JSON null
// decodes into a struct or a slice without error and without changing it.
func startsWith(body []byte, b byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == b
}

func (p *OrganizationsPage) finish() { finishAll(p.Organizations) }

func finishAll(orgs []Organization) {
	for i := range orgs {
		orgs[i].finish()
	}
}

// decodeJSON decodes one object into a fresh *T, which must pass its
// check.
func decodeJSON[T any](body []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		return nil, err
	}
	if !startsWith(body, '{') { // null: the one other value that decodes
		return nil, fmt.Errorf("%w: not a JSON object", upstream.ErrMalformed)
	}
	if c, ok := any(v).(checker); ok {
		if err := c.check(); err != nil {
			return nil, err
		}
	}
	if f, ok := any(v).(finisher); ok {
		f.finish()
	}
	return v, nil
}

// envelope is the include_totals shape of an offset list, named per endpoint.
type envelope[T any] interface {
	list() []T
}

type organizationsEnvelope struct {
	Organizations []Organization `json:"organizations"`
}

func (e organizationsEnvelope) list() []Organization { return e.Organizations }

type connectionsEnvelope struct {
	EnabledConnections []EnabledConnection `json:"enabled_connections"`
}

func (e connectionsEnvelope) list() []EnabledConnection { return e.EnabledConnections }

// decodeOffsetPage decodes either shape an offset list can come in, choosing
// by the first byte so the body is decoded in one pass: a bare array
// (without include_totals) or the envelope E, whose list must be there. Every
// item must pass its check. The result is never nil.
func decodeOffsetPage[T any, E envelope[T]](body []byte) ([]T, error) {
	var items []T
	switch {
	case startsWith(body, '['):
		if err := json.Unmarshal(body, &items); err != nil {
			return nil, err
		}
	case startsWith(body, '{'):
		var env E
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, err
		}
		if items = env.list(); items == nil { // absent or null
			return nil, fmt.Errorf("%w: an envelope without its list", upstream.ErrMalformed)
		}
	default:
		if !json.Valid(body) {
			return nil, errNotJSON
		}
		return nil, fmt.Errorf("%w: neither a JSON array nor an object", upstream.ErrMalformed)
	}
	if err := checkAll(items); err != nil {
		return nil, err
	}
	if items == nil {
		items = []T{}
	}
	if orgs, ok := any(items).([]Organization); ok {
		finishAll(orgs)
	}
	return items, nil
}
