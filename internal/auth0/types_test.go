package auth0

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestWireFieldsSurviveDecoding: every field the gateway reads from Auth0,
// given its wire name, decodes into its type and encodes back (the form
// kept in Redis) under the same name with the same value. A wrong JSON tag
// silently loses a field (null in every answer) without failing a decode.
func TestWireFieldsSurviveDecoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		into any
		wire string
	}{
		{"organization", &Organization{}, `{"id":"org_1","name":"hogwarts","display_name":"Hogwarts",
			"branding":{"logo_url":"https://l","colors":{"primary":"#000000","page_background":"#ffffff"}},
			"metadata":{"partitionGlobalId":"3fa85f64-5717-4562-b3fc-2c963f66afa6"}}`},
		{"enabled connection", &EnabledConnection{}, `{"connection_id":"con_1","assign_membership_on_login":true,
			"show_as_button":false,"is_signup_enabled":true,"connection":{"name":"db","strategy":"auth0"}}`},
		{"members page", &MembersPage{}, `{"members":[{"user_id":"auth0|1","email":"a@b.c","picture":"https://p","name":"A"}],"next":"n"}`},
		{"user", &User{}, `{"user_id":"auth0|1","email":"a@b.c","name":"A","picture":"https://p"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := json.Unmarshal([]byte(tc.wire), tc.into); err != nil {
				t.Fatal(err)
			}
			back, err := json.Marshal(tc.into)
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := json.Unmarshal([]byte(tc.wire), &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(back, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded and encoded again:\n%s\nwant the wire's fields:\n%s", back, tc.wire)
			}
		})
	}
}
