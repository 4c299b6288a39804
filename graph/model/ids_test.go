package model

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/identity"
)

// TestConnectionIDsArePerOrganization: a connection's id is its
// organization's id and the upstream's, so one Auth0 connection enabled by
// two organizations is two objects to a normalizing client; its upstream id
// and per-organization flags (nullable) are the upstream's, unchanged.
func TestConnectionIDsArePerOrganization(t *testing.T) {
	yes := true
	tests := []struct {
		org          string
		upstream     auth0.EnabledConnection
		id           string
		showAsButton *bool
	}{
		{"org_Hg7bQ2mN4pLk9TzA", auth0.EnabledConnection{ConnectionID: "con_AbC123", ShowAsButton: &yes}, "org_Hg7bQ2mN4pLk9TzA:con_AbC123", &yes},
		{"org_Other000000000", auth0.EnabledConnection{ConnectionID: "con_AbC123"}, "org_Other000000000:con_AbC123", nil},
	}
	for _, tt := range tests {
		list := []auth0.EnabledConnection{tt.upstream}
		got := ConnectionsOf(tt.org, list)
		if len(got) != 1 {
			t.Fatalf("%d connections for 1", len(got))
		}
		c := got[0]
		if c.ID() != tt.id || c.ConnectionID != tt.upstream.ConnectionID || c.OrganizationID != tt.org {
			t.Errorf("%s/%s: id %q, connection id %q, organization %q; want %q", tt.org, tt.upstream.ConnectionID, c.ID(), c.ConnectionID, c.OrganizationID, tt.id)
		}
		if c.ShowAsButton != tt.showAsButton || c.IsSignupEnabled != nil {
			t.Errorf("%s: flags %v %v, want the upstream's", tt.id, c.ShowAsButton, c.IsSignupEnabled)
		}
		if c.EnabledConnection != &list[0] {
			t.Errorf("%s: the connection is a copy, not the decoded answer", tt.id)
		}
	}
}

// TestGroupsMapFromTheUpstream: a UiPath group decoded from the upstream's
// JSON gets the id "<partition>:<group>" in lower case whatever case either
// part came in (a partition named in two cases is one partition), keeps the
// upstream's group id as sent, and its times are RFC 3339 in UTC, or null
// when the upstream sent none.
func TestGroupsMapFromTheUpstream(t *testing.T) {
	tests := []struct {
		name, partition, body string
		id, groupID           string
		created, modified     string // as the DateTime scalar writes them
	}{
		{
			name:      "upper-case partition and group, offset-less times",
			partition: "6F1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
			body:      `{"id":"ABCDEF01-2345-4678-9ABC-DEF012345678","name":"Administrators","type":0,"creationTime":"2024-01-02T03:04:05.1234567","lastModificationTime":null}`,
			id:        "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d:abcdef01-2345-4678-9abc-def012345678",
			groupID:   "ABCDEF01-2345-4678-9ABC-DEF012345678",
			created:   `"2024-01-02T03:04:05.1234567Z"`, modified: "null",
		},
		{
			name:      "lower case, a time with an offset",
			partition: "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
			body:      `{"id":"abcdef01-2345-4678-9abc-def012345678","name":"Everyone","type":1,"creationTime":"2024-01-02T03:04:05+02:00","lastModificationTime":"2024-06-30T23:59:59.5-01:00"}`,
			id:        "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d:abcdef01-2345-4678-9abc-def012345678",
			groupID:   "abcdef01-2345-4678-9abc-def012345678",
			created:   `"2024-01-02T01:04:05Z"`, modified: `"2024-07-01T00:59:59.5Z"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g identity.Group
			if err := json.Unmarshal([]byte(tt.body), &g); err != nil {
				t.Fatal(err)
			}
			got := GroupsOf(tt.partition, []identity.Group{g})
			if len(got) != 1 {
				t.Fatalf("%d groups for 1", len(got))
			}
			if id := got[0].ID(); id != tt.id {
				t.Errorf("id %q, want %q", id, tt.id)
			}
			if id := got[0].GroupID(); id != tt.groupID {
				t.Errorf("groupId %q, want the upstream's %q", id, tt.groupID)
			}
			if s := dateTime(got[0].CreationTime); s != tt.created {
				t.Errorf("creationTime %s, want %s", s, tt.created)
			}
			if s := dateTime(got[0].LastModificationTime); s != tt.modified {
				t.Errorf("lastModificationTime %s, want %s", s, tt.modified)
			}
		})
	}
}

// TestUserProfileFieldsAreNullWithoutAProfile: a user known by id only has
// null profile fields; with a profile, each field is the profile's, null
// where the upstream sent none.
func TestUserProfileFieldsAreNullWithoutAProfile(t *testing.T) {
	email, name := "hermione@hogwarts.example", "Hermione"
	tests := []struct {
		user                 User
		email, name, picture *string
	}{
		{User{ID: "auth0|1"}, nil, nil, nil},
		{User{ID: "auth0|2", Profile: &auth0.User{UserID: "auth0|2", Email: &email, Name: &name}}, &email, &name, nil},
	}
	for _, tt := range tests {
		if tt.user.Email() != tt.email || tt.user.Name() != tt.name || tt.user.Picture() != tt.picture {
			t.Errorf("%s: email %v, name %v, picture %v; want %v %v %v", tt.user.ID,
				tt.user.Email(), tt.user.Name(), tt.user.Picture(), tt.email, tt.name, tt.picture)
		}
	}
}

func dateTime(at identity.Time) string {
	var b bytes.Buffer
	MarshalDateTime(at).MarshalGQL(&b)
	return b.String()
}
