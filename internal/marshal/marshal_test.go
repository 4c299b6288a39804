package marshal

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

const testSchema = `
type Query { orgs: [Org!]! }
type Org { id: ID! conns: [Conn!] members: Page name: String }
type Conn { id: ID! }
type Page { nodes: [User!]! }
type User { id: ID! orgs: [Org!] email: String }
directive @defer(if: Boolean, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT
`

// fields is what cmd/gqlgen would write for testSchema with conns, members
// and User.orgs as batch resolvers.
var fields = Fields{"Query.orgs": Concurrent, "Org.conns": Batch, "Org.members": Batch, "User.orgs": Batch}

// orgsSelection parses query and returns the selection under Query.orgs.
func orgsSelection(t *testing.T, query string) ast.SelectionSet {
	t.Helper()
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: testSchema})
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil) // nil: the default rules
	if len(errs) > 0 {
		t.Fatalf("%s: %v", query, errs)
	}
	return doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
}

// TestInlineOnlyWhenNothingBelowTheElementsWaits: a list of Org goes inline
// when its only waiting fields are Org's own batch fields with nothing
// waiting under them, fragments included; a nested relation, or anything
// deferred, keeps gqlgen's concurrent path.
func TestInlineOnlyWhenNothingBelowTheElementsWaits(t *testing.T) {
	cases := []struct {
		query  string
		inline bool
	}{
		{`{ orgs { id name } }`, true},
		{`{ orgs { id conns { id } } }`, true},
		{`{ orgs { conns { id } members { nodes { id email } } } }`, true},
		{`{ orgs { ...F } } fragment F on Org { conns { id } }`, true},
		{`{ orgs { ... on Org { conns { id } } } }`, true},
		{`{ orgs { members { nodes { orgs { id } } } } }`, false},
		{`{ orgs { ...F } } fragment F on Org { members { nodes { orgs { id } } } }`, false},
		{`{ orgs { ... @defer { conns { id } } } }`, false},
		{`{ orgs { ...F @defer } } fragment F on Org { id }`, false},
	}
	for _, tc := range cases {
		if got := fields.Inline("Org", orgsSelection(t, tc.query)); got != tc.inline {
			t.Errorf("%s: inline %v, want %v", tc.query, got, tc.inline)
		}
	}
}

// TestSelectedCountsTheWaitingFieldsOfOneLevel: fragments count, nested
// levels do not.
func TestSelectedCountsTheWaitingFieldsOfOneLevel(t *testing.T) {
	cases := []struct {
		query string
		n     int
	}{
		{`{ orgs { id name } }`, 0},
		{`{ orgs { conns { id } } }`, 1},
		{`{ orgs { conns { id } ...F } } fragment F on Org { members { nodes { orgs { id } } } }`, 2},
		{`{ orgs { members { nodes { orgs { id } } } } }`, 1},
	}
	for _, tc := range cases {
		if got := fields.Selected("Org", orgsSelection(t, tc.query)); got != tc.n {
			t.Errorf("%s: %d waiting fields, want %d", tc.query, got, tc.n)
		}
	}
}

func TestPlainRefusesDeferredSelections(t *testing.T) {
	if !Plain(orgsSelection(t, `{ orgs { id conns { id } ...F } } fragment F on Org { name }`)) {
		t.Error("a selection without @defer is plain")
	}
	if Plain(orgsSelection(t, `{ orgs { id ... @defer { name } } }`)) {
		t.Error("a deferred fragment is not plain")
	}
}

// TestParentIndexAgreesWithGqlgen: the parent's index found up the field
// context chain is the one gqlgen reads from the whole path, for every
// shape of chain: list elements, plain objects between, roots without a
// field.
func TestParentIndexAgreesWithGqlgen(t *testing.T) {
	field := func(alias string) graphql.CollectedField {
		return graphql.CollectedField{Field: &ast.Field{Alias: alias, Name: alias}}
	}
	index := func(i int) *int { return &i }
	type step struct {
		field string
		index *int
	}
	chains := [][]step{
		{{field: "orgs"}, {index: index(3)}, {field: "conns"}},
		{{field: "page"}, {field: "nodes"}, {index: index(0)}, {field: "conns"}},
		{{field: "org"}, {field: "conns"}},
		{{field: "edges"}, {index: index(7)}, {field: "node"}, {field: "conns"}},
		{{}, {field: "orgs"}, {index: index(2)}, {}, {field: "conns"}},
		{{field: "conns"}},
	}
	for _, chain := range chains {
		ctx := context.Background()
		for _, s := range chain {
			fc := &graphql.FieldContext{Index: s.index}
			if s.field != "" {
				fc.Field = field(s.field)
			}
			ctx = graphql.WithFieldContext(ctx, fc)
		}
		wantIdx, wantOK := graphql.BatchParentIndex(ctx)
		gotIdx, gotOK := parentIndex(graphql.GetFieldContext(ctx))
		if gotIdx != wantIdx || gotOK != wantOK {
			t.Errorf("path %v: parentIndex (%v, %v), gqlgen (%v, %v)", graphql.GetPath(ctx), gotIdx, gotOK, wantIdx, wantOK)
		}
	}
}

// TestListInlineRunsElementsInOrderOneAtATime and keeps gqlgen's element
// contexts (each has its index) and panic handling (a panic is an error and
// a null, the other elements still come back).
func TestListInlineRunsElementsInOrderOneAtATime(t *testing.T) {
	sel := orgsSelection(t, `{ orgs { id conns { id } } }`)
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter,
		func(ctx context.Context, err any) error { return errors.New("internal system error") })
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "orgs"}}})
	var running, peak atomic.Int32
	var order []int
	got := List(ctx, fields, "Org", sel, 5, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		n := running.Add(1)
		defer running.Add(-1)
		if n > peak.Load() {
			peak.Store(n)
		}
		order = append(order, i) // no lock: one at a time, or the race detector says so
		if idx := graphql.GetFieldContext(ctx).Index; idx == nil || *idx != i {
			t.Errorf("element %d has index %v", i, idx)
		}
		if i == 3 {
			panic("boom")
		}
		return graphql.MarshalInt(i)
	})
	if peak.Load() != 1 || len(order) != 5 {
		t.Fatalf("peak %d at once, %v", peak.Load(), order)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("order %v", order)
		}
	}
	var buf bytes.Buffer
	got.MarshalGQL(&buf)
	if buf.String() != "[0,1,2,null,4]" {
		t.Fatalf("marshalled %s", buf.String())
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || errs[0].Path.String() != "orgs[3]" {
		t.Fatalf("errors %v", errs)
	}
	var _ gqlerror.List = errs
}

// TestListKeepsGoroutinesWhereElementsWait: a list whose elements start
// nested relations marshals its elements at the same time, as gqlgen does.
func TestListKeepsGoroutinesWhereElementsWait(t *testing.T) {
	sel := orgsSelection(t, `{ orgs { members { nodes { orgs { id } } } } }`)
	release := make(chan struct{})
	var started atomic.Int32
	done := make(chan graphql.Array)
	go func() {
		done <- List(context.Background(), fields, "Org", sel, 3, 0, true, func(ctx context.Context, i int) graphql.Marshaler {
			if started.Add(1) == 3 {
				close(release)
			}
			select { // each element waits until all three run at once
			case <-release:
			case <-time.After(2 * time.Second):
				t.Errorf("element %d: the others did not start beside it", i)
			}
			return graphql.MarshalInt(i)
		})
	}()
	if got := <-done; len(got) != 3 {
		t.Fatalf("%d elements", len(got))
	}
}

// FuzzString: String writes exactly what gqlgen's graphql.MarshalString
// writes, for any string, valid UTF-8 or not.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", `quo"te\back`, "tab\tnl\ncr\r", "\x00\x1f\x7f", "é ✓ 😀", "\xff\xfe", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want bytes.Buffer
		String(&got, s)
		graphql.MarshalString(s).MarshalGQL(&want)
		if got.String() != want.String() {
			t.Fatalf("%q: wrote %s, gqlgen %s", s, got.String(), want.String())
		}
	})
}
