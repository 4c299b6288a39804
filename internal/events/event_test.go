package events

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
)

func event(typ string, object string) *Event {
	return &Event{SpecVersion: "1.0", ID: "evt_1", Type: typ, Data: json.RawMessage(`{"object":` + object + `}`)}
}

// TestTags: each event type purges what it can change, and no more.
func TestTags(t *testing.T) {
	org := `{"organization":{"id":"org_1","name":"one"},"user":{"user_id":"auth0|u"},"connection":{"id":"con_1"}}`
	for _, tc := range []struct {
		typ, object string
		want        []string
	}{
		{OrganizationCreated, `{"id":"org_1","name":"one"}`, []string{"org:org_1", "orgname:one", "orgs"}},
		{OrganizationUpdated, `{"id":"org_1","name":"new"}`, []string{"org:org_1", "orgname:new"}},
		{OrganizationDeleted, `{"id":"org_1","name":"one"}`, []string{"org:org_1", "orgname:one", "orgs", "conns:org_1", "members:org_1"}},
		{OrganizationMemberAdded, org, []string{"members:org_1", "userorgs:auth0|u"}},
		{OrganizationMemberDeleted, org, []string{"members:org_1", "userorgs:auth0|u"}},
		{OrganizationConnectionAdded, org, []string{"conns:org_1"}},
		{OrganizationConnectionUpdated, org, []string{"conns:org_1"}},
		{OrganizationConnectionRemoved, org, []string{"conns:org_1"}},
		{UserUpdated, `{"user_id":"auth0|u","email":"a@b.c"}`, []string{"user:auth0|u"}},
		{UserDeleted, `{"user_id":"auth0|u"}`, []string{"user:auth0|u", "userorgs:auth0|u"}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			got, known, err := Tags(event(tc.typ, tc.object))
			if err != nil || !known || !slices.Equal(got, tc.want) {
				t.Fatalf("Tags = %v, %v, %v; want %v", got, known, err, tc.want)
			}
		})
	}
	// A rename with the previous object purges the old name too.
	ev := &Event{Type: OrganizationUpdated, Data: json.RawMessage(`{"object":{"id":"org_1","name":"new"},"previous_object":{"name":"old"}}`)}
	if got, _, _ := Tags(ev); !slices.Contains(got, "orgname:old") {
		t.Errorf("a rename's tags %v lack the old name", got)
	}
	if _, known, err := Tags(event("user.created", `{"user_id":"auth0|u"}`)); known || err != nil {
		t.Errorf("an unknown type: known %v, err %v", known, err)
	}
	for _, tc := range []struct{ typ, object string }{
		{OrganizationUpdated, `{}`},
		{OrganizationMemberAdded, `{"organization":{"id":"org_1"}}`},
		{OrganizationConnectionAdded, `{"connection":{"id":"con_1"}}`},
		{UserUpdated, `{"user_id":""}`},
		{UserDeleted, `{"user_id":"a\u0000b"}`},
		{UserUpdated, `[]`},
	} {
		if _, _, err := Tags(event(tc.typ, tc.object)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s %s: err %v, want ErrMalformed", tc.typ, tc.object, err)
		}
	}
}

// TestDecode: only a structured-mode CloudEvent 1.0 with an id, a type, a
// time and an object as data is an event.
func TestDecode(t *testing.T) {
	good := `{"specversion":"1.0","id":"evt_abc","type":"user.updated","time":"2025-02-01T12:34:56Z","data":{"object":{}}}`
	if ev, err := Decode([]byte(good)); err != nil || ev.ID != "evt_abc" {
		t.Fatalf("Decode(good) = %+v, %v", ev, err)
	}
	for _, bad := range []string{
		``, `null`, `[]`, `<html>`, good + `{}`,
		`{"id":"evt_abc","type":"user.updated","time":"2025-02-01T12:34:56Z","data":{}}`,
		`{"specversion":"0.3","id":"evt_abc","type":"user.updated","time":"2025-02-01T12:34:56Z","data":{}}`,
		`{"specversion":"1.0","type":"user.updated","time":"2025-02-01T12:34:56Z","data":{}}`,
		`{"specversion":"1.0","id":"evt abc","type":"user.updated","time":"2025-02-01T12:34:56Z","data":{}}`,
		`{"specversion":"1.0","id":"evt_abc","time":"2025-02-01T12:34:56Z","data":{}}`,
		`{"specversion":"1.0","id":"evt_abc","type":"user.updated","data":{}}`,
		`{"specversion":"1.0","id":"evt_abc","type":"user.updated","time":"yesterday","data":{}}`,
		`{"specversion":"1.0","id":"evt_abc","type":"user.updated","time":"2025-02-01T12:34:56Z"}`,
		`{"specversion":"1.0","id":"evt_abc","type":"user.updated","time":"2025-02-01T12:34:56Z","data":"x"}`,
	} {
		if _, err := Decode([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Decode(%q): err %v, want ErrMalformed", bad, err)
		}
	}
}

// TestAuthCheck: exactly the configured header and secret pass.
func TestAuthCheck(t *testing.T) {
	const secret = "s3cret-s3cret-s3cret"
	for _, tc := range []struct {
		name string
		auth Auth
		h    http.Header
		ok   bool
	}{
		{"bearer", Auth{Method: AuthBearer, Secret: secret}, http.Header{"Authorization": {"Bearer " + secret}}, true},
		{"bearer, wrong", Auth{Method: AuthBearer, Secret: secret}, http.Header{"Authorization": {"Bearer " + secret + "x"}}, false},
		{"bearer, missing", Auth{Method: AuthBearer, Secret: secret}, http.Header{}, false},
		{"bearer, twice", Auth{Method: AuthBearer, Secret: secret}, http.Header{"Authorization": {"Bearer " + secret, "Bearer " + secret}}, false},
		{"bearer, sent as basic", Auth{Method: AuthBearer, Secret: secret}, http.Header{"Authorization": {"Basic " + secret}}, false},
		{"basic", Auth{Method: AuthBasic, Secret: "user:" + secret}, http.Header{"Authorization": {"Basic dXNlcjpzM2NyZXQtczNjcmV0LXMzY3JldA=="}}, true},
		{"basic, wrong", Auth{Method: AuthBasic, Secret: "user:" + secret}, http.Header{"Authorization": {"Basic dXNlcjp4"}}, false},
		{"header", Auth{Method: AuthHeader, Secret: secret, Header: "X-Events"}, http.Header{"X-Events": {secret}}, true},
		{"header, in Authorization", Auth{Method: AuthHeader, Secret: secret, Header: "X-Events"}, http.Header{"Authorization": {secret}}, false},
		{"no secret configured", Auth{Method: AuthBearer}, http.Header{"Authorization": {"Bearer "}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.auth.Check(tc.h); got != tc.ok {
				t.Fatalf("Check = %v, want %v", got, tc.ok)
			}
		})
	}
}
