package clients_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
)

// TestApolloCacheMatchesServer runs every example operation of the README
// (the flagship query first) through Apollo Client's normalizing
// InMemoryCache, all in one cache, against the demo gateway, and checks that
// what the cache gives back for each is exactly what the server answered,
// with no Apollo warning. Normalizing caches keep one object per
// __typename and id, so an id the schema gives to two different objects
// makes the cache show one object's fields in the other's place, silently.
// The demo has the data that would collide: hogwarts and durmstrang enable
// the same Auth0 connection with different sign-up flags, and their UiPath
// partitions both have the built-in Administrators group with different
// members; the flagship query reads both organizations.
func TestApolloCacheMatchesServer(t *testing.T) {
	gw := testutil.StartGateway(t, map[string]string{})
	queries := testutil.ReadmeQueries(t)

	type operation struct {
		Query string `json:"query"`
	}
	ops := make([]operation, len(queries))
	want := make([]any, len(queries))
	for i, q := range queries {
		ops[i] = operation{Query: q}
		resp := gw.Query(t, q, nil)
		resp.Decode(t, &want[i])
	}
	input, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}

	out := runNode(t, bytes.NewReader(input), "--conditions=development", "apollo.mjs", gw.URL+"/graphql")
	var got struct {
		Answers   []any    `json:"answers"`
		Refetched []int    `json:"refetched"`
		Warnings  []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("apollo.mjs printed no answer: %v\n%s", err, out)
	}
	if len(got.Answers) != len(queries) {
		t.Fatalf("%d answers from Apollo, want %d: %s", len(got.Answers), len(queries), out)
	}
	for i := range queries {
		if path, diff := firstDifference("data", withoutTypename(got.Answers[i]), want[i]); diff != "" {
			t.Errorf("README example %d: Apollo's cache differs from the server's answer at %s: %s", i+1, path, diff)
		}
	}
	for _, i := range got.Refetched {
		t.Errorf("README example %d: Apollo fetched it again: another example's answer replaced data it had cached", i+1)
	}
	for _, w := range got.Warnings {
		t.Errorf("Apollo warned: %s", w)
	}
}

// TestDemoHasWhatNormalizingCachesWouldMixUp: the demo data the Apollo test
// relies on, so that test cannot pass for want of colliding data: two
// organizations enable one connection with different flags, and one
// built-in group id has different members in their two partitions, while
// the schema's ids tell all four objects apart.
func TestDemoHasWhatNormalizingCachesWouldMixUp(t *testing.T) {
	gw := testutil.StartGateway(t, map[string]string{})
	var data struct {
		User struct {
			Organizations []struct {
				Name        string
				Connections []struct {
					ID, ConnectionID, OrganizationID string
					IsSignupEnabled                  *bool
				}
				Groups []struct {
					ID, GroupID, PartitionGlobalID string
					Type                           string
					Members                        []struct{ Identifier string }
				}
			}
		}
	}
	gw.Query(t, `{ user(id: "auth0|6410784d38b3e02b77fdd660") { organizations { name
		connections { id connectionId organizationId isSignupEnabled }
		groups { id groupId partitionGlobalId type members { identifier } } } } }`, nil).Decode(t, &data)

	type conn struct {
		id, org string
		signup  *bool
	}
	type group struct {
		id, partition string
		members       int
	}
	conns := map[string][]conn{}
	groups := map[string][]group{}
	for _, o := range data.User.Organizations {
		for _, c := range o.Connections {
			conns[c.ConnectionID] = append(conns[c.ConnectionID], conn{c.ID, c.OrganizationID, c.IsSignupEnabled})
		}
		for _, g := range o.Groups {
			if g.Type == "BUILT_IN" {
				groups[g.GroupID] = append(groups[g.GroupID], group{g.ID, g.PartitionGlobalID, len(g.Members)})
			}
		}
	}
	sharedConnection := false
	for cid, cs := range conns {
		for i := 1; i < len(cs); i++ {
			if cs[i].id == cs[0].id {
				t.Errorf("connection %s has id %s in two organizations", cid, cs[0].id)
			}
			if cs[i].org != cs[0].org && !reflect.DeepEqual(cs[i].signup, cs[0].signup) {
				sharedConnection = true
			}
		}
	}
	sharedGroup := false
	for gid, gs := range groups {
		for i := 1; i < len(gs); i++ {
			if gs[i].id == gs[0].id {
				t.Errorf("group %s has id %s in two partitions", gid, gs[0].id)
			}
			if gs[i].partition != gs[0].partition && gs[i].members != gs[0].members {
				sharedGroup = true
			}
		}
	}
	if !sharedConnection || !sharedGroup {
		t.Fatalf("the demo user's organizations share no connection with different flags (%v) or no built-in group with different members (%v): %+v",
			sharedConnection, sharedGroup, data)
	}
}

// withoutTypename drops the __typename fields Apollo adds to every selection
// (the README's operations select none).
func withoutTypename(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if k != "__typename" {
				out[k] = withoutTypename(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = withoutTypename(e)
		}
		return out
	default:
		return v
	}
}

// firstDifference compares decoded JSON values field by field and returns
// the path of the first difference and what differs there ("" when equal).
func firstDifference(path string, got, want any) (string, string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path, fmt.Sprintf("got %v, want an object", got)
		}
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, gok := g[k]
			wv, wok := w[k]
			if gok != wok {
				return path + "." + k, fmt.Sprintf("present in Apollo's answer: %v, in the server's: %v", gok, wok)
			}
			if p, d := firstDifference(path+"."+k, gv, wv); d != "" {
				return p, d
			}
		}
		return "", ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path, fmt.Sprintf("got %v, want %v", got, want)
		}
		for i := range w {
			if p, d := firstDifference(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return p, d
			}
		}
		return "", ""
	default:
		if !reflect.DeepEqual(got, want) {
			return path, fmt.Sprintf("got %v, want %v", got, want)
		}
		return "", ""
	}
}
