// Package events receives Auth0 Event Streams deliveries (CloudEvents over
// a webhook) and purges exactly the cached data each event changed, on
// every replica: the organization by id and by name, the organization list
// pages, its connections, its members pages, a user's organizations and
// profile, and every whole response built from them (internal/purge has
// the tags; internal/cache and the response cache check them on each hit).
//
// A delivery is checked (authorization in constant time, a bounded body, a
// CloudEvent of a known type), claimed by its event id (Redis SET NX, so a
// retried or duplicated delivery purges once across replicas), recorded
// (the cut-offs in Redis, published to every replica, which apply and
// acknowledge it) and then answered 200. A replica whose subscription
// drops reloads every cut-off when it subscribes again, so it never keeps
// serving what was purged while it was away.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orgraph/orgraph/internal/purge"
)

// Event is the part of a CloudEvent the gateway reads.
type Event struct {
	SpecVersion string          `json:"specversion"`
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	Time        time.Time       `json:"time"`
	Data        json.RawMessage `json:"data"`
}

// maxIDLength bounds an event id (Auth0's are evt_ and 22 characters); it
// is part of a Redis key.
const maxIDLength = 128

// ErrMalformed is what Decode and Tags wrap when a delivery is not a
// CloudEvent the gateway can act on: answered 400, since resending the same
// bytes cannot help, and counted as refused.
var ErrMalformed = errors.New("events: malformed event")

// Decode reads one CloudEvent (structured mode, JSON): one object with
// specversion 1.0, an id, a type, a time and data.
func Decode(body []byte) (*Event, error) {
	var ev Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("%w: not a JSON CloudEvent", ErrMalformed)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrMalformed)
	}
	switch {
	case ev.SpecVersion != "1.0":
		return nil, fmt.Errorf("%w: specversion must be 1.0", ErrMalformed)
	case ev.ID == "" || len(ev.ID) > maxIDLength || !printable(ev.ID):
		return nil, fmt.Errorf("%w: id must be 1 to %d printable characters", ErrMalformed, maxIDLength)
	case ev.Type == "" || len(ev.Type) > 128:
		return nil, fmt.Errorf("%w: type is missing", ErrMalformed)
	case ev.Time.IsZero():
		return nil, fmt.Errorf("%w: time is missing", ErrMalformed)
	case len(ev.Data) == 0 || ev.Data[0] != '{':
		return nil, fmt.Errorf("%w: data must be an object", ErrMalformed)
	}
	return &ev, nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// The event types the gateway acts on (Auth0's event-types page); any other
// type is acknowledged and ignored, since a retry could never change that.
const (
	OrganizationCreated           = "organization.created"
	OrganizationUpdated           = "organization.updated"
	OrganizationDeleted           = "organization.deleted"
	OrganizationMemberAdded       = "organization.member.added"
	OrganizationMemberDeleted     = "organization.member.deleted"
	OrganizationConnectionAdded   = "organization.connection.added"
	OrganizationConnectionUpdated = "organization.connection.updated"
	OrganizationConnectionRemoved = "organization.connection.removed"
	UserUpdated                   = "user.updated"
	UserDeleted                   = "user.deleted"
)

// Types lists the event types the gateway acts on, for the stream's
// subscription.
var Types = []string{
	OrganizationCreated, OrganizationUpdated, OrganizationDeleted,
	OrganizationMemberAdded, OrganizationMemberDeleted,
	OrganizationConnectionAdded, OrganizationConnectionUpdated, OrganizationConnectionRemoved,
	UserUpdated, UserDeleted,
}

type orgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userRef struct {
	UserID string `json:"user_id"`
}

// payload is data's object (and previous_object, when Auth0 sends it) in
// every shape the types above use.
type payload struct {
	Object struct {
		orgRef
		userRef
		Organization orgRef  `json:"organization"`
		User         userRef `json:"user"`
	} `json:"object"`
	Previous *struct {
		Name string `json:"name"`
	} `json:"previous_object"`
}

// Tags maps an event to the tags (internal/purge) of what it can change.
// known is false for a type the gateway does not act on; an event of a
// known type without the ids it needs is ErrMalformed.
func Tags(ev *Event) (tags []string, known bool, err error) {
	var p payload
	if !isKnown(ev.Type) {
		return nil, false, nil
	}
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		return nil, true, fmt.Errorf("%w: data does not match %s", ErrMalformed, ev.Type)
	}
	o := p.Object
	need := func(what, v string) error {
		if v == "" || !printable(v) || len(v) > 256 {
			return fmt.Errorf("%w: %s needs data.object.%s", ErrMalformed, ev.Type, what)
		}
		return nil
	}
	switch ev.Type {
	case OrganizationCreated, OrganizationUpdated, OrganizationDeleted:
		if err := need("id", o.ID); err != nil {
			return nil, true, err
		}
		tags = []string{purge.Org(o.ID)}
		if o.Name != "" {
			tags = append(tags, purge.OrgName(o.Name))
		}
		if p.Previous != nil && p.Previous.Name != "" && p.Previous.Name != o.Name {
			tags = append(tags, purge.OrgName(p.Previous.Name))
		}
		if ev.Type != OrganizationUpdated {
			// The lists' membership and count change; a deleted
			// organization's connections and members go with it.
			tags = append(tags, purge.Orgs)
		}
		if ev.Type == OrganizationDeleted {
			tags = append(tags, purge.Conns(o.ID), purge.Members(o.ID))
		}
	case OrganizationMemberAdded, OrganizationMemberDeleted:
		if err := need("organization.id", o.Organization.ID); err != nil {
			return nil, true, err
		}
		if err := need("user.user_id", o.User.UserID); err != nil {
			return nil, true, err
		}
		tags = []string{purge.Members(o.Organization.ID), purge.UserOrgs(o.User.UserID)}
	case OrganizationConnectionAdded, OrganizationConnectionUpdated, OrganizationConnectionRemoved:
		if err := need("organization.id", o.Organization.ID); err != nil {
			return nil, true, err
		}
		tags = []string{purge.Conns(o.Organization.ID)}
	case UserUpdated, UserDeleted:
		if err := need("user_id", o.UserID); err != nil {
			return nil, true, err
		}
		tags = []string{purge.User(o.UserID)}
		if ev.Type == UserDeleted {
			tags = append(tags, purge.UserOrgs(o.UserID))
		}
	}
	return tags, true, nil
}

func isKnown(t string) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// idKey is an event id as a Redis key part: ids are printable already, and
// the length is bounded.
func idKey(id string) string { return strings.ReplaceAll(id, " ", "_") }
