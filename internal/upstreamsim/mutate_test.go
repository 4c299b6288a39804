package upstreamsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestChangeDeliversTheEvent: a change through the simulator's HTTP API
// changes what the Auth0 routes serve and delivers the matching CloudEvent
// to the webhook, with its authorization, before the change is answered.
func TestChangeDeliversTheEvent(t *testing.T) {
	s := New(Config{})
	type delivered struct {
		auth string
		body map[string]any
	}
	got := make(chan delivered, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		got <- delivered{r.Header.Get("Authorization"), body}
	}))
	defer hook.Close()
	s.SetWebhook(hook.URL, func(h http.Header) { h.Set("Authorization", "Bearer hook-secret") })
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPatch, srv.URL+"/_sim/organizations/"+OrgHogwartsID, strings.NewReader(`{"name":"hogwarts-2"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"type":"organization.updated","status":200`) {
		t.Fatalf("change answered %d %s", resp.StatusCode, b)
	}
	var d delivered
	select {
	case d = <-got:
	default:
		t.Fatal("the change was answered before its event was delivered")
	}
	obj, _ := d.body["data"].(map[string]any)["object"].(map[string]any)
	if d.auth != "Bearer hook-secret" || d.body["specversion"] != "1.0" || !strings.HasPrefix(d.body["id"].(string), "evt_") ||
		obj["id"] != OrgHogwartsID || obj["name"] != "hogwarts-2" {
		t.Fatalf("delivered %+v", d)
	}
	if _, ok := s.Dataset().OrganizationByName("hogwarts-2"); !ok {
		t.Fatal("the new name is not served")
	}
	if _, ok := s.Dataset().OrganizationByName("hogwarts"); ok {
		t.Fatal("the old name is still served")
	}
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPatch, "/_sim/organizations/org_missing", `{"name":"x"}`, 404},
		{http.MethodPost, "/_sim/organizations", `{"id":"` + OrgHogwartsID + `","name":"dup"}`, 409},
		{http.MethodPost, "/_sim/organizations/" + OrgHogwartsID + "/members", `not json`, 400},
		{http.MethodGet, "/_sim/users/x", ``, 404},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}
