package auth0

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
// offset list (bare array, envelope) decode to the same items, a decoded list
// is never nil, and a decoded organization's metadata entries are its
// metadata, sorted by key.
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
		cp, err := decodeJSON[OrganizationsPage](body)
		if okOrgs && err == nil {
			for i := range cp.Organizations {
				normalizeOrg(&cp.Organizations[i])
			}
			if len(cp.Organizations) != 0 || len(orgs) != 0 {
				if !reflect.DeepEqual(cp.Organizations, orgs) {
					t.Fatalf("checkpoint page and offset page disagree:\n%#v\n%#v", cp.Organizations, orgs)
				}
			}
		}

		for i := range orgs {
			checkEntries(t, &orgs[i])
		}
	})
}

// normalizeOrg forgets the one difference encoding may make on purpose: an
// empty metadata object is omitted (omitempty) and comes back as nil.
func normalizeOrg(o *Organization) {
	if len(o.Metadata) == 0 {
		o.Metadata = nil
	}
	o.entries = nil // derived from Metadata, checked by checkEntries
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
	items, err := decodeOffsetPage[T, E](body)
	if err != nil {
		return nil, false
	}
	if items == nil {
		t.Fatalf("%s: %q decoded to a nil list", name, body)
	}
	for i := range items {
		normalize(&items[i])
	}
	for shape, v := range map[string]any{"array": items, "envelope": wrap(items)} {
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s %s: encode: %v", name, shape, err)
		}
		// Leading whitespace must not change which shape is read.
		for _, in := range [][]byte{enc, append([]byte(" \n\t\r"), enc...)} {
			again, err := decodeOffsetPage[T, E](in)
			if err != nil {
				t.Fatalf("%s %s: decode of own encoding %s: %v", name, shape, in, err)
			}
			for i := range again {
				normalize(&again[i])
			}
			if len(items) != 0 || len(again) != 0 {
				if !reflect.DeepEqual(items, again) {
					t.Fatalf("%s %s: round trip changed the items\n body %q\n enc  %s\n got  %#v\n want %#v", name, shape, body, in, again, items)
				}
			}
		}
	}
	return items, true
}

// checkEntries: the entries are the metadata, each key once, sorted.
func checkEntries(t *testing.T, o *Organization) {
	t.Helper()
	entries := o.MetadataEntries()
	if len(entries) != len(o.Metadata) {
		t.Fatalf("%d entries for %d metadata keys", len(entries), len(o.Metadata))
	}
	for i, e := range entries {
		if v, ok := o.Metadata[e.Key]; !ok || v != e.Value {
			t.Fatalf("entry %q is not the metadata's", e.Key)
		}
		if i > 0 && entries[i-1].Key >= e.Key {
			t.Fatalf("entries not sorted: %q before %q", entries[i-1].Key, e.Key)
		}
	}
}

// FuzzRelated feeds arbitrary bodies to what each organization route caches
// besides its own answer. It never panics; every related URL is the client's
// by-id or by-name URL of an organization the body holds, with that id or
// name escaped into a single path segment that unescapes back to it, and
// its value is that very organization.
func FuzzRelated(f *testing.F) {
	for _, b := range recordedAuth0Bodies(f) {
		for r := range 4 {
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
		var rel []upstream.Related
		var orgs []*Organization
		byName, byID := false, false
		switch r % 4 {
		case 0: // fetched by id: related by name
			o, err := decodeJSON[Organization](body)
			if err != nil {
				return
			}
			rel, orgs, byID = c.alsoByName(o, body), []*Organization{o}, true
		case 1: // fetched by name: related by id
			o, err := decodeJSON[Organization](body)
			if err != nil {
				return
			}
			rel, orgs, byName = c.alsoByID(o, body), []*Organization{o}, true
		case 2: // a page of the tenant's organizations
			p, err := decodeJSON[OrganizationsPage](body)
			if err != nil {
				return
			}
			rel = c.relatedOrganizations(p.Organizations)
			for i := range p.Organizations {
				orgs = append(orgs, &p.Organizations[i])
			}
		case 3: // a user's organizations
			items, err := decodeOffsetPage[Organization, organizationsEnvelope](body)
			if err != nil {
				return
			}
			rel = c.relatedOrganizations(items)
			for i := range items {
				orgs = append(orgs, &items[i])
			}
		}
		// Exactly the other ways to read each organization: its id and
		// its name for a list, the way it was not read for a single one.
		want := 0
		for _, o := range orgs {
			if o.ID != "" && !byID {
				want++
			}
			if o.Name != "" && !byName {
				want++
			}
		}
		if len(rel) != want {
			t.Fatalf("%d related entries for %d organizations, want %d", len(rel), len(orgs), want)
		}
		for _, re := range rel {
			o, ok := re.Value.(*Organization)
			if !ok || !slices.Contains(orgs, o) {
				t.Fatalf("related value %#v is not an organization of the body", re.Value)
			}
			if (byID || byName) && !bytes.Equal(re.Body, body) {
				t.Fatalf("related body %q is not the response %q", re.Body, body)
			}
			var back Organization
			if err := json.Unmarshal(re.Body, &back); err != nil || back.ID != o.ID || back.Name != o.Name {
				t.Fatalf("related body %q does not decode to the organization (%v)", re.Body, err)
			}
			rest, ok := strings.CutPrefix(re.URL, base+"/organizations/")
			if !ok {
				t.Fatalf("related URL %q is not under %s/organizations/", re.URL, base)
			}
			want, isByName := o.ID, false
			if seg, ok := strings.CutPrefix(rest, "name/"); ok {
				rest, want, isByName = seg, o.Name, true
			}
			if (byID && !isByName) || (byName && isByName) {
				t.Fatalf("related URL %q is the way the organization was read", re.URL)
			}
			if rest == "" || strings.ContainsAny(rest, "/?#") || rest == "." || rest == ".." {
				t.Fatalf("related URL %q: segment %q is not one escaped path segment", re.URL, rest)
			}
			got, err := url.PathUnescape(rest)
			if err != nil || got != want {
				t.Fatalf("related URL %q: segment unescapes to %q (%v), want %q", re.URL, got, err, want)
			}
			u, err := url.Parse(re.URL)
			if err != nil || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("related URL %q does not parse as a plain URL: %v", re.URL, err)
			}
		}
	})
}
