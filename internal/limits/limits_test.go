package limits_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/orgraph/orgraph"
	"github.com/orgraph/orgraph/internal/limits"
	"github.com/orgraph/orgraph/internal/loadgen"
	"github.com/orgraph/orgraph/internal/pager"
	"github.com/orgraph/orgraph/internal/testutil"
)

// schema is the schema the gateway serves.
var schema = gqlparser.MustLoadSchema(&ast.Source{Name: "schema.graphqls", Input: orgraph.Schema})

// operation builds what gqlgen hands an OperationContextMutator: a parsed
// and validated document, its operation and coerced variables. JSON numbers
// arrive as json.Number, as gqlgen's transports decode them.
func operation(t testing.TB, query string, vars map[string]any) *graphql.OperationContext {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(schema, query, nil) // nil: the default rules
	if errs != nil {
		t.Fatalf("invalid test query: %v", errs)
	}
	return opContext(t, doc, vars)
}

func opContext(t testing.TB, doc *ast.QueryDocument, vars map[string]any) *graphql.OperationContext {
	t.Helper()
	op := doc.Operations.ForName("")
	if op == nil {
		t.Fatalf("test query must hold one operation")
	}
	if vars != nil {
		b, _ := json.Marshal(vars)
		vars = nil
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(&vars); err != nil {
			t.Fatal(err)
		}
	}
	coerced, err := validator.VariableValues(schema, op, vars)
	if err != nil {
		t.Fatalf("variables: %v", err)
	}
	return &graphql.OperationContext{Doc: doc, Operation: op, Variables: coerced}
}

func measure(t testing.TB, query string, vars map[string]any) limits.Stats {
	t.Helper()
	oc := operation(t, query, vars)
	return limits.Measure(oc.Doc, oc.Operation, oc.Variables)
}

// TestReadmeExamplesMeasureAndPass: the defaults let every example the
// README offers run, and the figures below are the ones Defaults' comment
// cites.
func TestReadmeExamplesMeasureAndPass(t *testing.T) {
	want := []limits.Stats{
		// user: profile 1; organizations 1 + 20 × (connections 1 + groups 1).
		{Depth: 5, Aliases: 0, Complexity: 42},
		// organizations page 1 + totalCount 1; 20 nodes cost nothing more.
		{Depth: 5, Aliases: 0, Complexity: 2},
		// organization 1 + members page 1 + groups 1; by name 1 + connections 1.
		{Depth: 4, Aliases: 0, Complexity: 5},
		// groups 1, group 1.
		{Depth: 3, Aliases: 0, Complexity: 2},
	}
	qs := testutil.ReadmeQueries(t)
	if len(qs) != len(want) {
		t.Fatalf("README has %d GraphQL examples, this test knows %d: update it", len(qs), len(want))
	}
	ext := limits.New(limits.Config{})
	for i, q := range qs {
		if err := ext.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: q}); err != nil {
			t.Errorf("README example %d refused: %v", i+1, err)
		}
		oc := operation(t, q, nil)
		if err := ext.MutateOperationContext(context.Background(), oc); err != nil {
			t.Errorf("README example %d refused: %v", i+1, err)
		}
		if got := limits.Measure(oc.Doc, oc.Operation, oc.Variables); got != want[i] {
			t.Errorf("README example %d: %+v, want %+v", i+1, got, want[i])
		}
	}
}

// TestBuiltInQueriesPass: the load driver's queries and the IDE's
// introspection run under the defaults.
func TestBuiltInQueriesPass(t *testing.T) {
	ext := limits.New(limits.Config{})
	for _, q := range loadgen.Queries() {
		for _, vars := range q.Variants()[:1] {
			doc, errs := gqlparser.LoadQueryWithRules(schema, q.Document, nil) // nil: the default rules
			if errs != nil {
				t.Fatalf("%s: %v", q.Name, errs)
			}
			if err := ext.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: q.Document}); err != nil {
				t.Errorf("%s refused: %v", q.Name, err)
			}
			if err := ext.MutateOperationContext(context.Background(), opContext(t, doc, vars)); err != nil {
				t.Errorf("%s refused: %v", q.Name, err)
			}
		}
	}
	s := measure(t, introspection.Query, nil)
	if s.Depth != 15 || s.Complexity != 0 || s.Aliases != 0 {
		t.Errorf("introspection: %+v, want depth 15 (GraphiQL's), nothing else", s)
	}
	if err := ext.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: introspection.Query}); err != nil {
		t.Errorf("introspection refused: %v", err)
	}
	if err := ext.MutateOperationContext(context.Background(), operation(t, introspection.Query, nil)); err != nil {
		t.Errorf("introspection refused: %v", err)
	}
}

// nest wraps inner n times in members → nodes → organizations.
func nest(n int, inner string) string {
	for range n {
		inner = "members(first: 1) { nodes { organizations { " + inner + " } } }"
	}
	return inner
}

// nestCost is what nest(n, a free field) costs: each level a page of one
// member (1 call) whose organizations (1 call) fan out 20 times.
func nestCost(n int) int {
	c := 0
	for range n {
		c = 1 + 1*(1+20*c)
	}
	return c
}

func aliases(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

func TestMeasure(t *testing.T) {
	cases := []struct {
		name  string
		query string
		vars  map[string]any
		want  limits.Stats
	}{
		{"one lookup", `{ organization(id: "o") { id name } }`, nil, limits.Stats{Depth: 2, Complexity: 1}},
		{"user without profile costs nothing", `{ user(id: "u") { id } }`, nil, limits.Stats{Depth: 2}},
		{"user profile once, however many fields", `{ user(id: "u") { email name picture } }`, nil, limits.Stats{Depth: 2, Complexity: 1}},
		{"user profile through a fragment", `{ user(id: "u") { ...P } } fragment P on User { email }`, nil, limits.Stats{Depth: 2, Complexity: 1}},
		{"members' profiles come with the page", `{ organization(id: "o") { members(first: 10) { nodes { email name } } } }`, nil,
			limits.Stats{Depth: 4, Complexity: 2}},
		{"default page is the schema's 50", `{ organizations { nodes { connections { id } } } }`, nil,
			limits.Stats{Depth: 4, Complexity: 51}},
		{"first: null means the default", `{ organizations(first: null) { nodes { connections { id } } } }`, nil,
			limits.Stats{Depth: 4, Complexity: 51}},
		{"page multiplies edges and nodes, not pageInfo or totalCount",
			`{ organizations(first: 10) { totalCount pageInfo { hasNextPage } edges { node { groups { id } } } nodes { connections { id } } } }`, nil,
			limits.Stats{Depth: 5, Complexity: 1 + 1 + 10*1 + 10*1}},
		{"a list the upstream returns whole fans out by its assumed length",
			`{ user(id: "u") { organizations { connections { id } members(first: 5) { nodes { id } } } } }`, nil,
			limits.Stats{Depth: 5, Complexity: 1 + 20*(1+1)}},
		{"free lists cost nothing", `{ groups(partitionGlobalId: "p") { members { displayName } } }`, nil,
			limits.Stats{Depth: 3, Complexity: 1}},
		{"huge first multiplied", `{ organizations(first: 100) { nodes { members(first: 100) { nodes { organizations { id } } } } } }`, nil,
			limits.Stats{Depth: 6, Complexity: 1 + 100*(1+100*1)}},
		{"first beyond what resolvers accept counts as their maximum", `{ organizations(first: 100000) { nodes { connections { id } } } }`, nil,
			limits.Stats{Depth: 4, Complexity: 1 + pager.MaxTake}},
		{"negative first counts no items", `{ organizations(first: -5) { nodes { connections { id } } } }`, nil,
			limits.Stats{Depth: 4, Complexity: 1}},
		{"first from a variable", `query($n: Int) { organizations(first: $n) { nodes { connections { id } groups { id } } } }`,
			map[string]any{"n": 100}, limits.Stats{Depth: 4, Complexity: 201}},
		{"first from a variable's default", `query($n: Int = 5) { organizations(first: $n) { nodes { connections { id } } } }`, nil,
			limits.Stats{Depth: 4, Complexity: 6}},
		{"nested variables", `query($n: Int!, $m: Int!) { organizations(first: $n) { nodes { members(first: $m) { nodes { organizations { id } } } } } }`,
			map[string]any{"n": 3, "m": 4}, limits.Stats{Depth: 6, Complexity: 1 + 3*(1+4*1)}},
		{"one field selected twice is one call", `{ organizations(first: 10) { nodes { connections { id } ...C } } } fragment C on Organization { connections { name } }`, nil,
			limits.Stats{Depth: 4, Complexity: 11}},
		{"the same fragment under two page sizes", `{ a: organizations(first: 10) { ...N } b: organizations(first: 100) { ...N } } fragment N on OrganizationPage { nodes { connections { id } } }`, nil,
			limits.Stats{Depth: 4, Aliases: 2, Complexity: 11 + 101}},
		{"inline fragments", `{ organization(id: "o") { ... on Organization { connections { id } ... { groups { id } } } } }`, nil,
			limits.Stats{Depth: 3, Complexity: 3}},
		{"@skip and @include", `query($yes: Boolean!) { organizations(first: 100) { nodes { connections @skip(if: true) { id } groups @include(if: $yes) { id } } } }`,
			map[string]any{"yes": false}, limits.Stats{Depth: 2, Complexity: 1}},
		{"aliases count where they appear in the response",
			`{ x: organization(id: "a") { ...F } y: organization(id: "b") { ...F } } fragment F on Organization { n: name i: id }`, nil,
			limits.Stats{Depth: 2, Aliases: 2 + 2*2, Complexity: 2}},
		{"deep nesting", `{ organization(id: "o") { ` + nest(5, "id") + ` } }`, nil,
			limits.Stats{Depth: 1 + 5*3 + 1, Complexity: 1 + nestCost(5)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := measure(t, tc.query, tc.vars); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRefusals: each limit refuses what is over it and accepts what is at
// it, with BAD_USER_INPUT and extensions.limit naming it.
func TestRefusals(t *testing.T) {
	cfg := limits.Defaults()
	cases := []struct {
		name   string
		query  string
		vars   map[string]any
		limit  string // "" accepted
		actual int
	}{
		{"depth at the limit", `{ __type(name: "Query") { ` + strings.Repeat("ofType { ", 13) + "name" + strings.Repeat(" }", 13) + ` } }`, nil, "", 0},
		{"depth over", `{ organization(id: "o") { ` + nest(5, "id") + ` } }`, nil, "depth", 17},
		{"deep free introspection", `{ __type(name: "Query") { ` + strings.Repeat("ofType { ", 15) + "name" + strings.Repeat(" }", 15) + ` } }`, nil, "depth", 17},
		{"aliases at the limit", `{ ` + aliases(cfg.MaxAliases, "__typename") + ` }`, nil, "", 0},
		{"alias flood", `{ ` + aliases(cfg.MaxAliases+1, "__typename") + ` }`, nil, "aliases", cfg.MaxAliases + 1},
		{"aliased introspection flood", `{ ` + aliases(100, "__schema { queryType { name } }") + ` }`, nil, "aliases", 100},
		{"aliases multiplied by fragments", `{ organization(id: "o") { ...F ...G } } fragment F on Organization { ` + aliases(15, "name") + ` }
			fragment G on Organization { m: members(first: 1) { nodes { organizations { ...F } } } }`, nil, "aliases", 31},
		{"complexity at the limit", `query($n: Int) { organizations(first: $n) { nodes { connections { id } groups { id } members(first: 1) { nodes { id } } } } }`,
			map[string]any{"n": 83}, "", 0}, // 1 + 83 × 3 = 250
		{"complexity over", `query($n: Int) { organizations(first: $n) { nodes { connections { id } groups { id } members(first: 1) { nodes { id } } } } }`,
			map[string]any{"n": 84}, "complexity", 253},
		{"huge pages multiplied", `{ organizations(first: 100) { nodes { members(first: 100) { nodes { organizations { id } } } } } }`, nil,
			"complexity", 10101},
		{"lookups side by side", `{ ` + aliases(20, `organizationByName(name: "n") { connections { id } groups { id } members(first: 10) { nodes { organizations { id } } } }`) + ` }`, nil,
			"complexity", 20 * (1 + 1 + 1 + 1 + 10)},
	}
	ext := limits.New(cfg)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oc := operation(t, tc.query, tc.vars)
			err := ext.MutateOperationContext(context.Background(), oc)
			if tc.limit == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			checkRefusal(t, err, tc.limit, tc.actual)
		})
	}
}

func checkRefusal(t *testing.T, err *gqlerror.Error, limit string, actual int) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want refused by %s", limit)
	}
	if err.Extensions["code"] != "BAD_USER_INPUT" {
		t.Fatalf("code %v, want BAD_USER_INPUT", err.Extensions["code"])
	}
	l, _ := err.Extensions["limit"].(map[string]any)
	max := map[string]int{"depth": 15, "aliases": 30, "complexity": 250}[limit]
	if l["name"] != limit || l["max"] != max || l["actual"] != actual {
		t.Fatalf("extensions.limit %v, want {name %s, max %d, actual %d}", l, limit, max, actual)
	}
	if !strings.Contains(err.Message, fmt.Sprint(max)) || !strings.Contains(err.Message, fmt.Sprint(actual)) {
		t.Fatalf("message does not give the figures: %q", err.Message)
	}
}

// TestFragmentBombIsMeasuredQuickly: fragments that each spread the next
// twice describe 2^40 selections; the walk shares identical subtrees, so it
// measures them without visiting each, and refuses the result.
func TestFragmentBombIsMeasuredQuickly(t *testing.T) {
	const n = 40
	var b strings.Builder
	b.WriteString(`{ __type(name: "Query") { ...T0 } }`)
	for i := range n {
		fmt.Fprintf(&b, " fragment T%d on __Type { a: ofType { ...T%d } b: ofType { ...T%d } }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment T%d on __Type { name }", n)
	doc, errs := gqlparser.LoadQueryWithRules(schema, b.String(), nil) // nil: the default rules
	if errs != nil {
		t.Fatal(errs)
	}
	start := time.Now()
	oc := opContext(t, doc, nil)
	s := limits.Measure(oc.Doc, oc.Operation, oc.Variables)
	if s.Aliases != (1<<31)-1 || s.Depth != n+2 {
		t.Fatalf("%+v, want saturated aliases and depth %d", s, n+2)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("measuring took %v", d)
	}
	checkRefusal(t, limits.New(limits.Config{MaxDepth: -1}).MutateOperationContext(context.Background(), oc), "aliases", (1<<31)-1)
}

// TestFragmentCycleEnds: gqlparser refuses fragment cycles; measured
// anyway, the spread that closes one counts as nothing.
func TestFragmentCycleEnds(t *testing.T) {
	doc, errs := gqlparser.LoadQueryWithRules(schema,
		`{ organization(id: "o") { ...F } } fragment F on Organization { id members(first: 1) { nodes { organizations { ...F } } } }`,
		withoutRule("NoFragmentCycles"))
	if errs != nil {
		t.Fatal(errs)
	}
	oc := opContext(t, doc, nil)
	s := limits.Measure(oc.Doc, oc.Operation, oc.Variables)
	if want := (limits.Stats{Depth: 4, Complexity: 1 + 1 + 1}); s != want {
		t.Fatalf("%+v, want %+v", s, want)
	}
}

func withoutRule(name string) *rules.Rules {
	r := rules.NewDefaultRules()
	r.RemoveRule(name)
	return r
}

// TestZeroConfigIsDefaultsAndNegativeTurnsOff: a zero field takes its
// default, a negative one lifts that limit.
func TestZeroConfigIsDefaultsAndNegativeTurnsOff(t *testing.T) {
	if got := limits.New(limits.Config{}).Config(); got != limits.Defaults() {
		t.Fatalf("%+v, want %+v", got, limits.Defaults())
	}
	deep := `{ organization(id: "o") { ` + nest(5, "id") + ` } }`
	off := limits.New(limits.Config{MaxDepth: -1, MaxComplexity: -1})
	if err := off.MutateOperationContext(context.Background(), operation(t, deep, nil)); err != nil {
		t.Fatalf("limits off, refused: %v", err)
	}
}

// TestCostTableFitsSchema: every field the cost table names exists, with
// the arguments and list types the table assumes (the extension's Validate
// panics at start-up otherwise).
func TestCostTableFitsSchema(t *testing.T) {
	if err := limits.New(limits.Config{}).Validate(fakeSchema{schema}); err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(orgraph.Schema, "connections:", "enabledConnections:", 1)
	s := gqlparser.MustLoadSchema(&ast.Source{Input: renamed})
	if err := limits.New(limits.Config{}).Validate(fakeSchema{s}); err == nil || !strings.Contains(err.Error(), "Organization.connections") {
		t.Fatalf("renamed field not reported: %v", err)
	}
}

// TestStatsAreRecorded: what an accepted operation measured is in its
// stats, for access logs.
func TestStatsAreRecorded(t *testing.T) {
	oc := operation(t, `{ organization(id: "o") { connections { id } } }`, nil)
	if err := limits.New(limits.Config{}).MutateOperationContext(context.Background(), oc); err != nil {
		t.Fatal(err)
	}
	ctx := graphql.WithOperationContext(context.Background(), oc)
	if s := limits.GetStats(ctx); s == nil || *s != (limits.Stats{Depth: 3, Complexity: 2}) {
		t.Fatalf("stats %+v", s)
	}
	if limits.GetStats(context.Background()) != nil {
		t.Fatal("stats without an operation")
	}
}

// TestMeasureIsKeptOnlyWhereNoVariableDecides: the same parsed document,
// asked again with a page size in a variable, is measured again each time
// (a small page first cannot let a huge one through later); a document no
// variable changes is measured once and keeps its answer, refusal included.
func TestMeasureIsKeptOnlyWhereNoVariableDecides(t *testing.T) {
	ext := limits.New(limits.Defaults())
	byVariable, errs := gqlparser.LoadQueryWithRules(schema, `query($n: Int) { organizations(first: $n) { nodes { connections { id } groups { id } members(first: 1) { nodes { id } } } } }`, nil) // nil: the default rules
	if errs != nil {
		t.Fatal(errs)
	}
	for _, tc := range []struct {
		n     int
		limit string
	}{{10, ""}, {84, "complexity"}, {10, ""}, {84, "complexity"}} {
		err := ext.MutateOperationContext(context.Background(), opContext(t, byVariable, map[string]any{"n": tc.n}))
		if tc.limit == "" && err != nil {
			t.Fatalf("first %d refused: %v", tc.n, err)
		}
		if tc.limit != "" {
			checkRefusal(t, err, tc.limit, 1+tc.n*3)
		}
	}
	fixed, errs := gqlparser.LoadQueryWithRules(schema, `{ organizations(first: 100) { nodes { members(first: 100) { nodes { organizations { id } } } } } }`, nil) // nil: the default rules
	if errs != nil {
		t.Fatal(errs)
	}
	for range 2 {
		checkRefusal(t, ext.MutateOperationContext(context.Background(), opContext(t, fixed, nil)), "complexity", 10101)
	}
}
