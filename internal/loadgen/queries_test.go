package loadgen

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestBuiltInQueries(t *testing.T) {
	want := []string{"orgs-connections", "orgs-groups-members", "user-orgs-connections", "organization", "org-by-id-name-user", "groups", "org-by-name-spread"}
	qs := Queries()
	if len(qs) != len(want) {
		t.Fatalf("%d queries, want %d", len(qs), len(want))
	}
	for i, q := range qs {
		if q.Name != want[i] {
			t.Fatalf("query %d = %s, want %s", i, q.Name, want[i])
		}
		if !strings.Contains(q.Document, "query "+q.OperationName+" ") && !strings.Contains(q.Document, "query "+q.OperationName+"(") {
			t.Errorf("%s: document does not define operation %s", q.Name, q.OperationName)
		}
		for k := range q.Variables {
			if !strings.Contains(q.Document, "$"+k+":") {
				t.Errorf("%s: variable %s is not declared", q.Name, k)
			}
		}
		for i, set := range q.Spread {
			for k := range set {
				if !strings.Contains(q.Document, "$"+k+":") {
					t.Errorf("%s: variable %s of set %d is not declared", q.Name, k, i)
				}
			}
		}
		b, err := q.Body()
		if err != nil {
			t.Fatal(err)
		}
		var back requestBody
		if err := json.Unmarshal(b, &back); err != nil || back.Query != q.Document || back.OperationName != q.OperationName {
			t.Fatalf("%s: body %s does not round-trip: %v", q.Name, b, err)
		}
		bodies, err := q.Bodies()
		if err != nil {
			t.Fatal(err)
		}
		vs := q.Variants()
		if len(bodies) != len(vs) || len(vs) != max(1, len(q.Spread)) {
			t.Fatalf("%s: %d bodies, %d variants, %d spread sets", q.Name, len(bodies), len(vs), len(q.Spread))
		}
		for i, b := range bodies {
			var back requestBody
			if err := json.Unmarshal(b, &back); err != nil || back.Query != q.Document || back.OperationName != q.OperationName ||
				fmt.Sprint(back.Variables) != fmt.Sprint(vs[i]) {
				t.Fatalf("%s: body %d %s does not round-trip to %v: %v", q.Name, i, b, vs[i], err)
			}
		}
	}
}

// TestOrgByNameSpread pins the spread query to the simulator's generated
// organization names: 200 distinct ones in order, gen-org-00000 first, and
// its Body (what a caller that ignores Spread sends) asks for the first.
func TestOrgByNameSpread(t *testing.T) {
	q, ok := Lookup("org-by-name-spread")
	if !ok {
		t.Fatal("org-by-name-spread is not a built-in")
	}
	vs := q.Variants()
	if len(vs) != 200 {
		t.Fatalf("%d variable sets, want 200", len(vs))
	}
	seen := map[any]bool{}
	for i, v := range vs {
		if want := fmt.Sprintf("gen-org-%05d", i); len(v) != 1 || v["name"] != want {
			t.Fatalf("set %d = %v, want name %s only", i, v, want)
		}
		seen[v["name"]] = true
	}
	if len(seen) != 200 {
		t.Fatalf("%d distinct names", len(seen))
	}
	b, err := q.Body()
	if err != nil {
		t.Fatal(err)
	}
	var back requestBody
	if err := json.Unmarshal(b, &back); err != nil || back.Variables["name"] != "gen-org-00000" {
		t.Fatalf("body %s: %v", b, err)
	}
}

func TestVariantsOverlayVariables(t *testing.T) {
	tests := []struct {
		name string
		q    Query
		want []map[string]any
	}{
		{"no variables", Query{}, []map[string]any{nil}},
		{"fixed", Query{Variables: map[string]any{"a": 1}}, []map[string]any{{"a": 1}}},
		{"spread replaces and adds", Query{
			Variables: map[string]any{"a": 1, "b": 2},
			Spread:    []map[string]any{{"a": 10}, {"c": 3}, {}},
		}, []map[string]any{{"a": 10, "b": 2}, {"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2}}},
		{"spread without defaults", Query{Spread: []map[string]any{{"a": 1}, {"a": 2}}},
			[]map[string]any{{"a": 1}, {"a": 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.q.Variants()
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("variants = %v, want %v", got, tc.want)
			}
			if len(tc.q.Spread) > 0 {
				got[0]["x"] = true
				if _, ok := tc.q.Variables["x"]; ok {
					t.Fatal("a variant shares its map with Variables")
				}
			}
		})
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	q, ok := Lookup("organization")
	if !ok || q.Variables["id"] != demoOrganizationID {
		t.Fatalf("Lookup = %+v, %v", q, ok)
	}
	q.Variables["id"] = "changed"
	if again, _ := Lookup("organization"); again.Variables["id"] != demoOrganizationID {
		t.Fatal("mutating a looked-up query changed the built-in")
	}
	s, _ := Lookup("org-by-name-spread")
	s.Spread[0]["name"] = "changed"
	if again, _ := Lookup("org-by-name-spread"); again.Spread[0]["name"] != "gen-org-00000" {
		t.Fatal("mutating a looked-up spread changed the built-in")
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup found an unknown name")
	}
}
