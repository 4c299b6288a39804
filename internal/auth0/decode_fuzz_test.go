package auth0

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/upstream"
)

// recordedAuth0Bodies are the real Auth0 response bodies the other packages'
// tests replay (../testutil/testdata/recordings), used as fuzz seeds.
func recordedAuth0Bodies(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob("../testutil/testdata/recordings/auth0-*.json")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no recorded Auth0 bodies (%v)", err)
	}
	bodies := make([][]byte, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	return bodies
}

// edgeBodies are shapes the recordings do not show: both list shapes, nulls,
// empty containers, wrong types, odd whitespace and hostile names.
var edgeBodies = []string{
	``, `null`, `[]`, `{}`, `[null]`, `"x"`, `0`, `true`, ` [ ] `, "\t\r\n[{}]",
	`{"organizations":null,"next":""}`,
	`{"organizations":[],"next":"abc"}`,
	`{"organizations":[{"id":"org_1","name":"a","metadata":{}}],"start":0,"limit":1,"total":0}`,
	`{"organizations":[{"id":"org_1","name":"a","metadata":{"k":null,"":""},"display_name":"","branding":{}}]}`,
	`[{"id":"..","name":"."},{"id":"a/b?c#d%2F","name":"x y;z"},{"id":"","name":""},{"id":5},null,"str"]`,
	`{"enabled_connections":[{"connection_id":"con_1","assign_membership_on_login":true,"show_as_button":null,"connection":{"name":"db","strategy":"auth0"}}],"start":0,"limit":1,"total":1}`,
	`[{"connection_id":"con_1","is_signup_enabled":false,"connection":null}]`,
	`{"members":[{"user_id":"auth0|1","email":null,"picture":"p","name":"\u00e9\ud800"}],"next":"n"}`,
	`{"members":[]}`,
	`{"user_id":"auth0|1","email":"a@b","name":"<>&","picture":null,"identities":[{}]}`,
	`{"id":"org_1","name":"n","branding":{"logo_url":"u","colors":{"primary":"#000","page_background":"#fff"}},"metadata":{"partitionGlobalId":"3fa85f64-5717-4562-b3fc-2c963f66afa6"}}`,
	`{"ID":"upper","Name":"case","Organizations":[{"Id":"x"}]}`,
	`{"organizations":[{"id":"a"}],"organizations":[{"id":"b"}]}`,
	`{"orgAniZAtions":[{"id":"0"}],"orgAniZAtions":[{}]}`,
	`{"organizations":{"id":"not a list"}}`,
	`{"next":5}`,
	"[\x00]", `{"id":"\xff\xfe"}`,
}

// FuzzDecodeResponses decodes arbitrary bytes as every response type the
// client reads. Decoding never panics, and whatever decodes survives a round
// trip: encoding it and decoding again gives an equal value. Both shapes of an
// offset list (bare array, envelope) decode to the same items, and the raw
// items the companions read agree with the typed ones.
func FuzzDecodeResponses(f *testing.F) {
	for _, b := range recordedAuth0Bodies(f) {
		f.Add(b)
	}
	for _, s := range edgeBodies {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		roundTrip(t, "OrganizationsPage", body, func(p *OrganizationsPage) {
			for i := range p.Organizations {
				normalizeOrg(&p.Organizations[i])
			}
		})
		roundTrip(t, "MembersPage", body, func(*MembersPage) {})
		roundTrip(t, "User", body, func(*User) {})
		roundTrip(t, "Organization", body, normalizeOrg)

		orgs, okOrgs := offsetRoundTrip[Organization, organizationsEnvelope](t, "organizations", body,
			func(items []Organization) organizationsEnvelope { return organizationsEnvelope{Organizations: items} },
			normalizeOrg)
		offsetRoundTrip[EnabledConnection, connectionsEnvelope](t, "enabled_connections", body,
			func(items []EnabledConnection) connectionsEnvelope {
				return connectionsEnvelope{EnabledConnections: items}
			},
			func(*EnabledConnection) {})

		// The checkpoint page and an offset envelope share the key
		// "organizations": where both read a body they read the same list.
		var cp OrganizationsPage
		if okOrgs && json.Unmarshal(body, &cp) == nil {
			for i := range cp.Organizations {
				normalizeOrg(&cp.Organizations[i])
			}
			if len(cp.Organizations) != 0 || len(orgs) != 0 {
				if !reflect.DeepEqual(cp.Organizations, orgs) {
					t.Fatalf("checkpoint page and offset page disagree:\n%#v\n%#v", cp.Organizations, orgs)
				}
			}
		}

		// What companions caches (raw items) is what the typed decoding
		// reads, item by item. Not for a repeated "organizations" key:
		// encoding/json then decodes the second list into the first one's
		// elements, keeping fields the second one lacks (golang/go#21092),
		// which only typed items have; no upstream repeats a key.
		var raw offsetPage[json.RawMessage, rawOrganizationsEnvelope]
		if okOrgs && !repeatsKey(body, "organizations") && json.Unmarshal(body, &raw) == nil {
			if len(raw.items) != len(orgs) {
				t.Fatalf("raw page has %d items, typed page %d", len(raw.items), len(orgs))
			}
			for i, item := range raw.items {
				var o Organization
				if err := json.Unmarshal(item, &o); err != nil {
					t.Fatalf("raw item %d %s does not decode alone: %v", i, item, err)
				}
				normalizeOrg(&o)
				if !reflect.DeepEqual(o, orgs[i]) {
					t.Fatalf("raw item %d decodes to %#v, typed %#v", i, o, orgs[i])
				}
			}
		}
	})
}

// repeatsKey reports whether body is an object with key more than once, in
// the case-insensitive way encoding/json matches field names.
func repeatsKey(body []byte, key string) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return false
	}
	seen := 0
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := k.(string); ok && strings.EqualFold(s, key) {
			seen++
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return seen > 1
}

// normalizeOrg forgets the one difference encoding may make on purpose: an
// empty metadata object is omitted (omitempty) and comes back as nil.
func normalizeOrg(o *Organization) {
	if len(o.Metadata) == 0 {
		o.Metadata = nil
	}
}

// roundTrip decodes body as T; if that succeeds, encoding and decoding again
// must succeed and give an equal value (after normalize).
func roundTrip[T any](t *testing.T, name string, body []byte, normalize func(*T)) {
	t.Helper()
	var v1 T
	if json.Unmarshal(body, &v1) != nil {
		return
	}
	enc, err := json.Marshal(v1)
	if err != nil {
		t.Fatalf("%s: encode %#v: %v", name, v1, err)
	}
	var v2 T
	if err := json.Unmarshal(enc, &v2); err != nil {
		t.Fatalf("%s: decode of own encoding %s: %v", name, enc, err)
	}
	normalize(&v1)
	normalize(&v2)
	if !reflect.DeepEqual(v1, v2) {
		t.Fatalf("%s: round trip changed the value\n body %q\n enc  %s\n v1   %#v\n v2   %#v", name, body, enc, v1, v2)
	}
}

// offsetRoundTrip decodes body as an offset page; if that succeeds, the items
// encoded as a bare array and as the envelope both decode to the same items.
func offsetRoundTrip[T any, E envelope[T]](t *testing.T, name string, body []byte, wrap func([]T) E, normalize func(*T)) ([]T, bool) {
	t.Helper()
	var p offsetPage[T, E]
	if json.Unmarshal(body, &p) != nil {
		return nil, false
	}
	for i := range p.items {
		normalize(&p.items[i])
	}
	for shape, v := range map[string]any{"array": p.items, "envelope": wrap(p.items)} {
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s %s: encode: %v", name, shape, err)
		}
		// Leading whitespace must not change which shape is read.
		for _, in := range [][]byte{enc, append([]byte(" \n\t\r"), enc...)} {
			var q offsetPage[T, E]
			if err := json.Unmarshal(in, &q); err != nil {
				t.Fatalf("%s %s: decode of own encoding %s: %v", name, shape, in, err)
			}
			for i := range q.items {
				normalize(&q.items[i])
			}
			if len(p.items) != 0 || len(q.items) != 0 {
				if !reflect.DeepEqual(p.items, q.items) {
					t.Fatalf("%s %s: round trip changed the items\n body %q\n enc  %s\n got  %#v\n want %#v", name, shape, body, in, q.items, p.items)
				}
			}
		}
	}
	return p.items, true
}

var companionRoutes = []string{
	RouteOrganization, RouteOrganizationByName, RouteOrganizations, RouteUserOrganizations,
	RouteMembers, RouteEnabledConnections, RouteUser, "",
}

// FuzzCompanions feeds arbitrary bodies to companions under every route.
// It never panics; every companion URL is the client's by-id or by-name URL
// of an organization the body holds, with that id or name escaped into a
// single path segment that unescapes back to it.
func FuzzCompanions(f *testing.F) {
	for _, b := range recordedAuth0Bodies(f) {
		for r := range companionRoutes {
			f.Add(uint8(r), b)
		}
	}
	for _, s := range edgeBodies {
		f.Add(uint8(2), []byte(s))
		f.Add(uint8(0), []byte(s))
	}
	f.Add(uint8(0), []byte(`{"id":"org_1","name":"a/b"}`))
	f.Add(uint8(1), []byte(`{"id":"../x","name":"a"}`))
	f.Add(uint8(1), []byte(`{"id":"..","name":"a"}`))
	f.Add(uint8(3), []byte(`{"organizations":[{"id":"%2e%2E","name":"?#[]@!$&'()*+,;= "}],"total":0}`))

	c := New("https://tenant.example.com/", &upstream.Client{})
	const base = "https://tenant.example.com/api/v2"
	if c.base != base {
		f.Fatalf("base %q", c.base)
	}
	f.Fuzz(func(t *testing.T, r uint8, body []byte) {
		route := companionRoutes[int(r)%len(companionRoutes)]
		comps := c.companions(route, body)
		switch route {
		case RouteOrganization, RouteOrganizationByName, RouteOrganizations, RouteUserOrganizations:
		default:
			if comps != nil {
				t.Fatalf("route %q has companions %v", route, comps)
			}
			return
		}
		single := route == RouteOrganization || route == RouteOrganizationByName
		if single && len(comps) > 1 {
			t.Fatalf("route %q: %d companions for one organization", route, len(comps))
		}
		for _, cp := range comps {
			if single && !bytes.Equal(cp.Body, body) {
				t.Fatalf("companion body %q is not the response %q", cp.Body, body)
			}
			var o orgRef
			if err := json.Unmarshal(cp.Body, &o); err != nil {
				t.Fatalf("companion body %q does not decode: %v", cp.Body, err)
			}
			rest, ok := strings.CutPrefix(cp.URL, base+"/organizations/")
			if !ok {
				t.Fatalf("companion URL %q is not under %s/organizations/", cp.URL, base)
			}
			want, byName := o.ID, false
			if seg, ok := strings.CutPrefix(rest, "name/"); ok {
				rest, want, byName = seg, o.Name, true
			}
			switch {
			case route == RouteOrganization && !byName, route == RouteOrganizationByName && byName:
				t.Fatalf("route %q gave a companion the same way it was read: %q", route, cp.URL)
			}
			if rest == "" || strings.ContainsAny(rest, "/?#") || rest == "." || rest == ".." {
				t.Fatalf("companion URL %q: segment %q is not one escaped path segment", cp.URL, rest)
			}
			got, err := url.PathUnescape(rest)
			if err != nil || got != want {
				t.Fatalf("companion URL %q: segment unescapes to %q (%v), want %q", cp.URL, got, err, want)
			}
			u, err := url.Parse(cp.URL)
			if err != nil || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("companion URL %q does not parse as a plain URL: %v", cp.URL, err)
			}
		}
	})
}
