package marshal

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

type org struct{ id string }
type user struct{ id string }

// element is the field context of element i of a list under field, then of
// field name on it: what a batch resolver sees.
func element(ctx context.Context, list string, i int, name string) context.Context {
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: list, Name: list}}})
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: name, Name: name}}})
}

// TestBatchParentsNearestListOfTheType: a batch field finds the parents of
// the nearest list of its type, through lists of other types in between,
// and its parent's index there; outside any list it is not batched.
func TestBatchParentsNearestListOfTheType(t *testing.T) {
	outer := []org{{"o1"}, {"o2"}}
	users := []user{{"u1"}, {"u2"}, {"u3"}}
	inner := []org{{"o3"}}
	ctx := WithBatchParentValues(context.Background(), "Organization", outer)
	ctx = WithBatchParentValues(ctx, "User", users)

	b, ok := BatchParentsFor[*org](element(ctx, "orgs", 1, "connections"), "Organization")
	if !ok || len(b.Parents) != 2 || b.Parents[b.Index] != &outer[1] {
		t.Fatalf("through a user list: %v %+v", ok, b)
	}
	u, ok := BatchParentsFor[*user](element(ctx, "members", 2, "organizations"), "User")
	if !ok || u.Parents[u.Index] != &users[2] {
		t.Fatalf("users: %v %+v", ok, u)
	}
	b, ok = BatchParentsFor[*org](element(WithBatchParentValues(ctx, "Organization", inner), "orgs", 0, "connections"), "Organization")
	if !ok || len(b.Parents) != 1 || b.Parents[0] != &inner[0] {
		t.Fatalf("nested list of the same type: %v %+v", ok, b)
	}
	if _, ok := BatchParentsFor[*org](context.Background(), "Organization"); ok {
		t.Fatal("batched with no list registered")
	}
	if _, ok := BatchParentsFor[*user](element(ctx, "orgs", 0, "connections"), "Organization"); ok {
		t.Fatal("batched with parents of another Go type")
	}
}

// TestBatchFieldResolvedOncePerGroupAndKey: every parent of a group gets
// the result of one resolution per response key, also when they ask at
// once; an alias is resolved on its own, and another group resolves again.
func TestBatchFieldResolvedOncePerGroupAndKey(t *testing.T) {
	orgs := make([]org, 50)
	ctx := WithBatchParentValues(context.Background(), "Organization", orgs)
	var calls atomic.Int32
	resolve := func() (any, error) { calls.Add(1); return []string{"a"}, nil }
	field := func(alias string) graphql.CollectedField {
		return graphql.CollectedField{Field: &ast.Field{Alias: alias, Name: "connections"}}
	}
	var wg sync.WaitGroup
	results := make([]*graphql.BatchFieldResult, len(orgs))
	for i := range orgs {
		wg.Go(func() {
			b, ok := BatchParentsFor[*org](element(ctx, "orgs", i, "connections"), "Organization")
			if !ok {
				t.Error("not batched")
				return
			}
			results[i] = b.FieldResult(field("connections"), resolve)
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d resolutions for one field of 50 parents, want 1", n)
	}
	for _, r := range results {
		if r != results[0] || r.Results.([]string)[0] != "a" {
			t.Fatalf("parents got different results: %p %p", r, results[0])
		}
	}
	b, _ := BatchParentsFor[*org](element(ctx, "orgs", 0, "connections"), "Organization")
	b.FieldResult(field("other"), resolve)
	b, _ = BatchParentsFor[*org](element(WithBatchParentValues(ctx, "Organization", orgs[:1]), "orgs", 0, "connections"), "Organization")
	b.FieldResult(field("connections"), resolve)
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d resolutions, want 3 (one more for the alias, one for the other group)", n)
	}
}
