package upstreamsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Changes: the simulator's data can be changed through its own API (Go methods, and HTTP under
// /_sim/organizations and /_sim/users, never on the upstreams' paths). After each change it
// delivers the CloudEvent Auth0's Event Streams would send to the configured webhook, with the
// configured authorization, and waits for the answer, so a caller knows the gateway has it.
// Each change publishes a new copy of the data: requests being served keep reading the one they
// started with.

// webhook is where events go.
type webhook struct {
	url       string
	authorize func(http.Header)
	client    *http.Client
}

// SetWebhook makes the simulator deliver an event to url after each change, with the headers
// authorize sets (an Authorization header, as the stream's destination is configured). An empty
// url stops deliveries.
func (s *Simulator) SetWebhook(url string, authorize func(http.Header)) {
	if url == "" {
		s.webhook.Store(nil)
		return
	}
	s.webhook.Store(&webhook{url: url, authorize: authorize, client: &http.Client{Timeout: 10 * time.Second}})
}

// Delivery is what became of the event a change sent.
type Delivery struct {
	EventID string `json:"eventId"`
	Type    string `json:"type"`
	// Status is the webhook's answer; 0 when there is no webhook or it did not answer.
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// ErrNotFound is a change that names an organization, user or connection the data lacks.
var ErrNotFound = errors.New("upstreamsim: not found")

// ErrConflict is a change that would make the data inconsistent (a taken name, a member twice).
var ErrConflict = errors.New("upstreamsim: conflict")

// clone copies what a change may modify; slices and maps a change replaces are copied, the rest
// shared (it is never written).
func (d *Dataset) clone() *Dataset {
	c := &Dataset{
		Organizations:         slices.Clone(d.Organizations),
		Users:                 slices.Clone(d.Users),
		Connections:           make(map[string][]EnabledConnection, len(d.Connections)),
		Members:               make(map[string][]string, len(d.Members)),
		MemberRoles:           maps.Clone(d.MemberRoles),
		Groups:                d.Groups,
		PartitionOrganization: d.PartitionOrganization,
		IdentityUsers:         d.IdentityUsers,
		memberSince:           make(map[string][]time.Time, len(d.memberSince)),
		// The indexes of the old data, read by the change and rebuilt after it.
		orgByID: d.orgByID, orgByName: d.orgByName, userByID: d.userByID, connByID: d.connByID,
		memberPos: d.memberPos, groupByID: d.groupByID,
	}
	for k, v := range d.Connections {
		c.Connections[k] = slices.Clone(v)
	}
	for k, v := range d.Members {
		c.Members[k] = slices.Clone(v)
	}
	for k, v := range d.memberSince {
		c.memberSince[k] = slices.Clone(v)
	}
	return c
}

// change applies fn to a copy of the data, publishes it, and delivers the event fn returns.
func (s *Simulator) change(ctx context.Context, fn func(d *Dataset) (typ string, object any, err error)) (Delivery, error) {
	s.mutateMu.Lock()
	d := s.Dataset().clone()
	typ, object, err := fn(d)
	if err != nil {
		s.mutateMu.Unlock()
		return Delivery{}, err
	}
	d.index()
	s.dsp.Store(d)
	s.mutateMu.Unlock()
	return s.deliver(ctx, typ, object), nil
}

// deliver posts one CloudEvent to the webhook and waits for its answer.
func (s *Simulator) deliver(ctx context.Context, typ string, object any) Delivery {
	del := Delivery{EventID: newEventID(), Type: typ}
	hook := s.webhook.Load()
	if hook == nil {
		return del
	}
	body, err := json.Marshal(map[string]any{
		"specversion": "1.0",
		"id":          del.EventID,
		"type":        typ,
		"source":      "urn:auth0:upstreamsim",
		"time":        time.Now().UTC().Format(time.RFC3339Nano),
		"a0tenant":    "upstreamsim",
		"a0stream":    "est_upstreamsimulator0000000",
		"data":        map[string]any{"object": object},
	})
	if err != nil {
		del.Error = err.Error()
		return del
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		del.Error = err.Error()
		return del
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	if hook.authorize != nil {
		hook.authorize(req.Header)
	}
	resp, err := hook.client.Do(req)
	if err != nil {
		del.Error = "webhook did not answer"
		return del
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	del.Status = resp.StatusCode
	return del
}

// newEventID makes an id shaped like Auth0's: evt_ and 22 letters or digits.
func newEventID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [22]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "evt_" + string(b[:])
}

func orgObject(o Organization) map[string]any {
	return map[string]any{"id": o.ID, "name": o.Name, "display_name": o.DisplayName}
}

func orgRef(o Organization) map[string]any { return map[string]any{"id": o.ID, "name": o.Name} }

// OrganizationChange is what CreateOrganization and UpdateOrganization set; empty fields are
// left as they are.
type OrganizationChange struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// CreateOrganization adds an organization (id and name required) and delivers
// organization.created.
func (s *Simulator) CreateOrganization(ctx context.Context, c OrganizationChange) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		if c.ID == "" || c.Name == "" {
			return "", nil, fmt.Errorf("%w: id and name are required", ErrConflict)
		}
		if _, ok := d.orgByID[c.ID]; ok {
			return "", nil, fmt.Errorf("%w: the id is taken", ErrConflict)
		}
		if _, ok := d.orgByName[c.Name]; ok {
			return "", nil, fmt.Errorf("%w: the name is taken", ErrConflict)
		}
		o := Organization{ID: c.ID, Name: c.Name, DisplayName: c.DisplayName, CreatedAt: time.Now().UTC()}
		d.Organizations = append(d.Organizations, o)
		return "organization.created", orgObject(o), nil
	})
}

// UpdateOrganization renames an organization or changes its display name and delivers
// organization.updated.
func (s *Simulator) UpdateOrganization(ctx context.Context, id string, c OrganizationChange) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.orgByID[id]
		if !ok {
			return "", nil, ErrNotFound
		}
		o := &d.Organizations[i]
		if c.Name != "" && c.Name != o.Name {
			if _, taken := d.orgByName[c.Name]; taken {
				return "", nil, fmt.Errorf("%w: the name is taken", ErrConflict)
			}
			o.Name = c.Name
		}
		if c.DisplayName != "" {
			o.DisplayName = c.DisplayName
		}
		return "organization.updated", orgObject(*o), nil
	})
}

// DeleteOrganization removes an organization, its connections and memberships, and delivers
// organization.deleted.
func (s *Simulator) DeleteOrganization(ctx context.Context, id string) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.orgByID[id]
		if !ok {
			return "", nil, ErrNotFound
		}
		o := d.Organizations[i]
		d.Organizations = slices.Delete(d.Organizations, i, i+1)
		delete(d.Connections, id)
		delete(d.Members, id)
		delete(d.memberSince, id)
		return "organization.deleted", orgObject(o), nil
	})
}

// AddMember makes a user a member of an organization and delivers organization.member.added.
func (s *Simulator) AddMember(ctx context.Context, orgID, userID string) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.orgByID[orgID]
		if !ok {
			return "", nil, ErrNotFound
		}
		if _, ok := d.userByID[userID]; !ok {
			return "", nil, ErrNotFound
		}
		if slices.Contains(d.Members[orgID], userID) {
			return "", nil, fmt.Errorf("%w: already a member", ErrConflict)
		}
		d.Members[orgID] = append(d.Members[orgID], userID)
		d.memberSince[orgID] = append(d.memberSince[orgID], time.Now().UTC())
		return "organization.member.added", map[string]any{"organization": orgRef(d.Organizations[i]), "user": map[string]any{"user_id": userID}}, nil
	})
}

// RemoveMember ends a membership and delivers organization.member.deleted.
func (s *Simulator) RemoveMember(ctx context.Context, orgID, userID string) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.orgByID[orgID]
		if !ok {
			return "", nil, ErrNotFound
		}
		j := slices.Index(d.Members[orgID], userID)
		if j < 0 {
			return "", nil, ErrNotFound
		}
		d.Members[orgID] = slices.Delete(d.Members[orgID], j, j+1)
		d.memberSince[orgID] = slices.Delete(d.memberSince[orgID], j, j+1)
		return "organization.member.deleted", map[string]any{"organization": orgRef(d.Organizations[i]), "user": map[string]any{"user_id": userID}}, nil
	})
}

// ConnectionChange enables or changes an organization's connection.
type ConnectionChange struct {
	ConnectionID            string `json:"connection_id"`
	Name                    string `json:"name,omitempty"`
	Strategy                string `json:"strategy,omitempty"`
	AssignMembershipOnLogin *bool  `json:"assign_membership_on_login,omitempty"`
	ShowAsButton            *bool  `json:"show_as_button,omitempty"`
}

// EnableConnection enables a connection for an organization and delivers
// organization.connection.added.
func (s *Simulator) EnableConnection(ctx context.Context, orgID string, c ConnectionChange) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.orgByID[orgID]
		if !ok {
			return "", nil, ErrNotFound
		}
		if c.ConnectionID == "" || c.Name == "" {
			return "", nil, fmt.Errorf("%w: connection_id and name are required", ErrConflict)
		}
		if _, ok := d.connByID[orgID][c.ConnectionID]; ok {
			return "", nil, fmt.Errorf("%w: already enabled", ErrConflict)
		}
		ec := EnabledConnection{ConnectionID: c.ConnectionID, Connection: ConnectionRef{Name: c.Name, Strategy: c.Strategy},
			ShowAsButton: c.ShowAsButton}
		if c.AssignMembershipOnLogin != nil {
			ec.AssignMembershipOnLogin = *c.AssignMembershipOnLogin
		}
		if ec.Connection.Strategy == "" {
			ec.Connection.Strategy = "auth0"
		}
		d.Connections[orgID] = append(d.Connections[orgID], ec)
		return "organization.connection.added", map[string]any{"organization": orgRef(d.Organizations[i]),
			"connection": map[string]any{"id": c.ConnectionID, "name": c.Name}}, nil
	})
}

// UpdateConnection changes an enabled connection's settings and delivers
// organization.connection.updated.
func (s *Simulator) UpdateConnection(ctx context.Context, orgID, connID string, c ConnectionChange) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.orgByID[orgID]
		if !ok {
			return "", nil, ErrNotFound
		}
		j, ok := d.connByID[orgID][connID]
		if !ok {
			return "", nil, ErrNotFound
		}
		ec := &d.Connections[orgID][j]
		if c.AssignMembershipOnLogin != nil {
			ec.AssignMembershipOnLogin = *c.AssignMembershipOnLogin
		}
		if c.ShowAsButton != nil {
			ec.ShowAsButton = c.ShowAsButton
		}
		return "organization.connection.updated", map[string]any{"organization": orgRef(d.Organizations[i]),
			"connection": map[string]any{"id": connID, "name": ec.Connection.Name}}, nil
	})
}

// RemoveConnection disables a connection for an organization and delivers
// organization.connection.removed.
func (s *Simulator) RemoveConnection(ctx context.Context, orgID, connID string) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.orgByID[orgID]
		if !ok {
			return "", nil, ErrNotFound
		}
		j, ok := d.connByID[orgID][connID]
		if !ok {
			return "", nil, ErrNotFound
		}
		name := d.Connections[orgID][j].Connection.Name
		d.Connections[orgID] = slices.Delete(d.Connections[orgID], j, j+1)
		return "organization.connection.removed", map[string]any{"organization": orgRef(d.Organizations[i]),
			"connection": map[string]any{"id": connID, "name": name}}, nil
	})
}

// UserChange is what UpdateUser sets; empty fields are left as they are.
type UserChange struct {
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	Picture string `json:"picture,omitempty"`
}

// UpdateUser changes a user's profile and delivers user.updated.
func (s *Simulator) UpdateUser(ctx context.Context, id string, c UserChange) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.userByID[id]
		if !ok {
			return "", nil, ErrNotFound
		}
		u := &d.Users[i]
		if c.Name != "" {
			u.Name = c.Name
		}
		if c.Email != "" {
			u.Email = c.Email
		}
		if c.Picture != "" {
			u.Picture = c.Picture
		}
		return "user.updated", map[string]any{"user_id": u.UserID, "email": u.Email, "name": u.Name}, nil
	})
}

// DeleteUser removes a user and their memberships and delivers user.deleted.
func (s *Simulator) DeleteUser(ctx context.Context, id string) (Delivery, error) {
	return s.change(ctx, func(d *Dataset) (string, any, error) {
		i, ok := d.userByID[id]
		if !ok {
			return "", nil, ErrNotFound
		}
		d.Users = slices.Delete(d.Users, i, i+1)
		for org, ms := range d.Members {
			if j := slices.Index(ms, id); j >= 0 {
				d.Members[org] = slices.Delete(ms, j, j+1)
				d.memberSince[org] = slices.Delete(d.memberSince[org], j, j+1)
			}
		}
		return "user.deleted", map[string]any{"user_id": id}, nil
	})
}

// maxChangeBody bounds a change request's body.
const maxChangeBody = 64 << 10

// changeHandler serves the change API:
//
//	POST   /_sim/organizations                                {"id","name","display_name"}
//	PATCH  /_sim/organizations/{id}                           {"name","display_name"}
//	DELETE /_sim/organizations/{id}
//	POST   /_sim/organizations/{id}/members                   {"user_id"}
//	DELETE /_sim/organizations/{id}/members/{userId}
//	POST   /_sim/organizations/{id}/connections               {"connection_id","name","strategy"}
//	PATCH  /_sim/organizations/{id}/connections/{connectionId} {"show_as_button","assign_membership_on_login"}
//	DELETE /_sim/organizations/{id}/connections/{connectionId}
//	PATCH  /_sim/users/{id}                                   {"name","email","picture"}
//	DELETE /_sim/users/{id}
//
// Each answers 200 with the Delivery (the event id and type, and the webhook's status).
func (s *Simulator) changeHandler(w http.ResponseWriter, r *http.Request, path string) {
	var segs []string
	for _, p := range strings.Split(strings.TrimPrefix(path, "/_sim/"), "/") {
		u, err := url.PathUnescape(p)
		if err != nil {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		segs = append(segs, u)
	}
	decode := func(v any) bool {
		if err := json.NewDecoder(io.LimitReader(r.Body, maxChangeBody)).Decode(v); err != nil {
			http.Error(w, "the body must be a JSON object", http.StatusBadRequest)
			return false
		}
		return true
	}
	ctx := r.Context()
	var del Delivery
	var err error
	route := r.Method + " " + segs[0]
	if len(segs) > 2 {
		route += "/{id}/" + segs[2]
	} else if len(segs) == 2 {
		route += "/{id}"
	}
	if len(segs) == 4 {
		route += "/{id}"
	}
	switch route {
	case "POST organizations":
		var c OrganizationChange
		if !decode(&c) {
			return
		}
		del, err = s.CreateOrganization(ctx, c)
	case "PATCH organizations/{id}":
		var c OrganizationChange
		if !decode(&c) {
			return
		}
		del, err = s.UpdateOrganization(ctx, segs[1], c)
	case "DELETE organizations/{id}":
		del, err = s.DeleteOrganization(ctx, segs[1])
	case "POST organizations/{id}/members":
		var c struct {
			UserID string `json:"user_id"`
		}
		if !decode(&c) {
			return
		}
		del, err = s.AddMember(ctx, segs[1], c.UserID)
	case "DELETE organizations/{id}/members/{id}":
		del, err = s.RemoveMember(ctx, segs[1], segs[3])
	case "POST organizations/{id}/connections":
		var c ConnectionChange
		if !decode(&c) {
			return
		}
		del, err = s.EnableConnection(ctx, segs[1], c)
	case "PATCH organizations/{id}/connections/{id}":
		var c ConnectionChange
		if !decode(&c) {
			return
		}
		del, err = s.UpdateConnection(ctx, segs[1], segs[3], c)
	case "DELETE organizations/{id}/connections/{id}":
		del, err = s.RemoveConnection(ctx, segs[1], segs[3])
	case "PATCH users/{id}":
		var c UserChange
		if !decode(&c) {
			return
		}
		del, err = s.UpdateUser(ctx, segs[1], c)
	case "DELETE users/{id}":
		del, err = s.DeleteUser(ctx, segs[1])
	default:
		http.NotFound(w, r)
		return
	}
	switch {
	case errors.Is(err, ErrNotFound):
		http.Error(w, "not found", http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusConflict)
	default:
		writeJSON(w, http.StatusOK, del)
	}
}
