package main

import (
	"strings"
	"testing"
)

// listSource is the shape of gqlgen's output the rewrites look for: one
// list marshaller, one object marshaller with a direct field and a deferred
// group, one batch resolver.
const listSource = `package graph

import (
	"context"
)

func (ec *executionContext) marshalNGroup2ᚕgithubᚗcomᚋxᚐGroupᚄ(ctx context.Context, sel ast.SelectionSet, v []x.Group) graphql.Marshaler {
	ctx = graphql.WithBatchParentValues(ctx, "Group", v)
	ret := graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		return ec.marshalNGroup2githubᚗcomᚋxᚐGroup(ctx, sel, v[i])
	})
	return ret
}

func (ec *executionContext) _Group(ctx context.Context, sel ast.SelectionSet, obj *x.Group) graphql.Marshaler {
	fields := graphql.CollectFields(ec.OperationContext, sel, groupImplementors)
	deferred := graphql.NewDeferredGroup(ctx)
	for i, field := range fields {
		switch field.Name {
		case "name":
			out.Values[i] = ec._Group_name(ctx, field, obj)
		}
	}
	_ = deferred
	return out
}

func (ec *executionContext) resolveBatch_Org_groups(ctx context.Context) {
	if batch, ok := graphql.BatchParentsFor[*x.Org](ctx, "Org"); ok {
		_ = batch
	}
}
`

func TestRewritesFindGqlgensShapes(t *testing.T) {
	out, err := rewriteLists([]byte(listSource))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.Contains(s, `marshal.List(ctx, waitingFields, "Group", sel, len(v), 0, false, func`) ||
		strings.Contains(s, "MarshalSliceConcurrently") || !strings.Contains(s, `"github.com/orgraph/orgraph/internal/marshal"`) {
		t.Fatalf("list marshaller not rewritten:\n%s", s)
	}
	out, err = rewriteDeferred(out)
	if err != nil || !strings.Contains(string(out), "deferred := marshal.Deferred(ctx, fields)") {
		t.Fatalf("deferred group not rewritten (%v):\n%s", err, out)
	}
	out, err = rewriteDirectFields(out, []directField{{object: "Group", field: "name", value: "marshal.StringValue(obj.Name)"}})
	if err != nil || !strings.Contains(string(out), "out.Values[i] = marshal.StringValue(obj.Name)") {
		t.Fatalf("direct field not rewritten (%v):\n%s", err, out)
	}
	out, err = rewriteBatchParents(out)
	if err != nil || !strings.Contains(string(out), "marshal.BatchParentsFor[*x.Org](ctx, \"Org\")") ||
		!strings.Contains(string(out), "ctx = marshal.WithBatchParentValues(ctx, \"Group\", v)") {
		t.Fatalf("batch parents not rewritten (%v):\n%s", err, out)
	}
}

// TestRewritesRefuseAChangedShape: where gqlgen's output no longer has the
// shape a rewrite expects, generation stops instead of skipping.
func TestRewritesRefuseAChangedShape(t *testing.T) {
	stray := listSource + `
func elsewhere(ctx context.Context, v []int) {
	graphql.MarshalSliceConcurrently(ctx, len(v), 0, false, nil)
}
`
	if _, err := rewriteLists([]byte(stray)); err == nil {
		t.Error("a MarshalSliceConcurrently call outside a list marshaller was skipped")
	}
	if _, err := rewriteLists([]byte("package graph\n")); err == nil {
		t.Error("an executor without list marshallers was accepted")
	}
	if _, err := rewriteDirectFields([]byte(listSource), []directField{{object: "Group", field: "id", value: "x"}}); err == nil {
		t.Error("a direct field whose resolver call is missing was skipped")
	}
	if _, err := rewriteDeferred([]byte("package graph\n")); err == nil {
		t.Error("an executor without deferred groups was accepted")
	}
	// A list of a union or interface (federation's _entities) registers its
	// parents of each type through internal/marshal too; left to gqlgen, its
	// batch fields would find no group and resolve each parent alone.
	if out, err := rewriteBatchParents([]byte(listSource + "\nvar _ = graphql.WithBatchParents(ctx, \"Node\", nodes, index)\n")); err != nil ||
		!strings.Contains(string(out), "marshal.WithBatchParents(ctx, \"Node\", nodes, index)") || strings.Contains(string(out), "graphql.WithBatchParents(") {
		t.Errorf("batch parents of an interface list were not moved to internal/marshal: %v", err)
	}
}
