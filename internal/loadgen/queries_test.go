package loadgen

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBuiltInQueries(t *testing.T) {
	want := []string{"orgs-connections", "orgs-groups-members", "user-orgs-connections", "organization", "org-by-id-name-user", "groups"}
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
		b, err := q.Body()
		if err != nil {
			t.Fatal(err)
		}
		var back requestBody
		if err := json.Unmarshal(b, &back); err != nil || back.Query != q.Document || back.OperationName != q.OperationName {
			t.Fatalf("%s: body %s does not round-trip: %v", q.Name, b, err)
		}
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
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup found an unknown name")
	}
}
