package limits

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Stats is what an operation measures, after fragments are expanded and
// @skip/@include applied.
type Stats struct {
	// Depth is the number of fields on the longest path from the operation
	// to a leaf: `{ user(id: "…") { email } }` is 2.
	Depth int
	// Aliases is the number of aliased fields in the response the
	// operation asks for: a fragment spread in two places counts twice.
	Aliases int
	// Complexity is the upstream calls the operation could need (see costs).
	Complexity int
	// TooLarge is set when the operation expands to more than maxWork
	// selections; Aliases and Complexity are then lower bounds.
	TooLarge bool
}

// saturated caps every count, so that a fragment multiplied by huge pages
// or spread a billion times over cannot overflow.
const saturated = math.MaxInt32

// maxWork bounds the selections the walk visits after fragment expansion.
// A 1 MiB body holds about 500,000 selections at most; fragments spread
// inside fragments can multiply that, but the walk shares the work of
// identical subtrees, so only a document built to defeat it gets here.
const maxWork = 1 << 20

// Measure measures op, a validated operation of doc (fields know their
// definitions), with the operation's coerced variables.
func Measure(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) Stats {
	s, _ := measure(doc, op, vars)
	return s
}

// measure is Measure, and whether the answer depended on the variables (a
// page size or an @skip/@include condition given by one).
func measure(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) (Stats, bool) {
	w := &walker{doc: doc, vars: vars, memo: map[memoKey]Stats{}, ids: map[*ast.Field]int{},
		fragDepth: map[string]int{}, inProgress: map[string]bool{}}
	depth := w.depth(op.SelectionSet)
	w.maxPath = depth
	var s Stats
	for _, g := range w.collect([]ast.SelectionSet{op.SelectionSet}) {
		s = s.plus(w.group(g, noPage, 1))
	}
	s.Depth = depth
	s.TooLarge = w.work > maxWork
	return s, w.usedVars
}

// plus adds a sibling's counts: the deeper depth, the sum of the rest.
func (s Stats) plus(o Stats) Stats {
	return Stats{Depth: max(s.Depth, o.Depth), Aliases: add(s.Aliases, o.Aliases), Complexity: add(s.Complexity, o.Complexity)}
}

func add(a, b int) int { return min(a+b, saturated) } // both ≤ saturated: no overflow on 64-bit int

func mul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > saturated/b {
		return saturated
	}
	return a * b
}

type walker struct {
	doc  *ast.QueryDocument
	vars map[string]any

	fragDepth  map[string]int  // depth of each fragment's selection, computed once
	inProgress map[string]bool // fragments being measured: a cycle is ignored

	memo    map[memoKey]Stats
	ids     map[*ast.Field]int // see fieldsKey
	maxPath int                // no response path is longer than the document's depth
	work    int

	usedVars bool // a variable's value decided something
}

// value reads an argument value, noting when a variable gives it.
func (w *walker) value(v *ast.Value) (any, error) {
	if v.Kind == ast.Variable {
		w.usedVars = true
	}
	return v.Value(w.vars)
}

// memoKey identifies the fields merged under one response key and the page
// size of their parent: every path that reaches the same fields costs the
// same, so a fragment spread in many places is walked once per page size.
type memoKey struct {
	fields string
	page   int
}

// depth is the longest path of fields below set, with each fragment's depth
// computed once. gqlparser's validation refuses fragment cycles; should one
// get here anyway, the spread that closes it counts as nothing.
func (w *walker) depth(set ast.SelectionSet) int {
	d := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if w.included(sel.Directives) {
				d = max(d, 1+w.depth(sel.SelectionSet))
			}
		case *ast.InlineFragment:
			if w.included(sel.Directives) {
				d = max(d, w.depth(sel.SelectionSet))
			}
		case *ast.FragmentSpread:
			if !w.included(sel.Directives) {
				continue
			}
			if fd, ok := w.fragDepth[sel.Name]; ok {
				d = max(d, fd)
				continue
			}
			def := w.fragment(sel)
			if def == nil || w.inProgress[sel.Name] {
				continue
			}
			w.inProgress[sel.Name] = true
			fd := w.depth(def.SelectionSet)
			delete(w.inProgress, sel.Name)
			w.fragDepth[sel.Name] = fd
			d = max(d, fd)
		}
	}
	return d
}

func (w *walker) fragment(s *ast.FragmentSpread) *ast.FragmentDefinition {
	if s.Definition != nil {
		return s.Definition
	}
	return w.doc.Fragments.ForName(s.Name)
}

// A group is the fields of one selection level that share a response key:
// GraphQL executes them as one field with their selections merged, so
// `connections { id }` in one fragment and `connections { name }` in
// another cost one call, not two.
type group struct {
	key    string
	fields []*ast.Field
}

// collect merges the selection sets of one response path into groups, in
// document order, expanding inline fragments and fragment spreads (each
// fragment once per level, as GraphQL's CollectFields does) and leaving out
// what @skip and @include exclude.
func (w *walker) collect(sets []ast.SelectionSet) []group {
	var groups []group
	index := map[string]int{}
	visited := map[string]bool{}
	var visit func(ast.SelectionSet)
	visit = func(set ast.SelectionSet) {
		for _, sel := range set {
			w.work++
			if w.work > maxWork {
				return
			}
			switch sel := sel.(type) {
			case *ast.Field:
				if !w.included(sel.Directives) {
					continue
				}
				key := sel.Alias
				if key == "" {
					key = sel.Name
				}
				if i, ok := index[key]; ok {
					groups[i].fields = append(groups[i].fields, sel)
					continue
				}
				index[key] = len(groups)
				groups = append(groups, group{key: key, fields: []*ast.Field{sel}})
			case *ast.InlineFragment:
				if w.included(sel.Directives) {
					visit(sel.SelectionSet)
				}
			case *ast.FragmentSpread:
				if visited[sel.Name] || !w.included(sel.Directives) {
					continue
				}
				visited[sel.Name] = true
				if def := w.fragment(sel); def != nil {
					visit(def.SelectionSet)
				}
			}
		}
	}
	for _, set := range sets {
		visit(set)
	}
	return groups
}

// noPage is the page size outside a page object.
const noPage = -1

// group measures one response key at path length depth: its own calls, its
// items times its merged selection, and its aliases. page is the page size
// of the field that returned the enclosing page object, noPage outside one.
func (w *walker) group(g group, page, depth int) Stats {
	if depth > w.maxPath || w.work > maxWork {
		return Stats{}
	}
	key := memoKey{fields: w.fieldsKey(g.fields), page: page}
	if s, ok := w.memo[key]; ok {
		return s
	}
	f := g.fields[0]
	c := costs[typeName(f)+"."+f.Name]

	sets := make([]ast.SelectionSet, 0, len(g.fields))
	for _, gf := range g.fields {
		if len(gf.SelectionSet) > 0 {
			sets = append(sets, gf.SelectionSet)
		}
	}
	var children []group
	if len(sets) > 0 {
		children = w.collect(sets)
	}
	childPage := noPage
	if c.pageArg != "" {
		childPage = w.pageSize(f, c)
	}
	var sub Stats
	for _, child := range children {
		sub = sub.plus(w.group(child, childPage, depth+1))
	}

	calls := c.calls
	if len(c.onlyIf) > 0 && !selectsAny(children, c.onlyIf) {
		calls = 0
	}
	items := 1
	if f.Definition != nil && f.Definition.Type.Elem != nil {
		switch {
		case c.itemsArg != "":
			items = w.listLen(f, c.itemsArg)
			sub.Complexity = add(c.itemCalls, sub.Complexity)
		case c.perPage && page != noPage:
			items = page
		case c.fanOut > 0:
			items = c.fanOut
		default:
			items = defaultFanOut
		}
	}
	aliases := sub.Aliases
	if f.Alias != "" && f.Alias != f.Name {
		aliases = add(aliases, 1)
	}
	s := Stats{
		Depth:      1 + sub.Depth,
		Aliases:    aliases,
		Complexity: add(calls, mul(items, sub.Complexity)),
	}
	w.memo[key] = s
	return s
}

func typeName(f *ast.Field) string {
	if f.ObjectDefinition != nil {
		return f.ObjectDefinition.Name
	}
	return ""
}

// fieldsKey names a list of field nodes by their identities: the same
// nodes, reached along different paths, give the same key.
func (w *walker) fieldsKey(fields []*ast.Field) string {
	var b strings.Builder
	for _, f := range fields {
		id, ok := w.ids[f]
		if !ok {
			id = len(w.ids)
			w.ids[f] = id
		}
		b.WriteString(strconv.Itoa(id))
		b.WriteByte(',')
	}
	return b.String()
}

func selectsAny(groups []group, names []string) bool {
	for _, g := range groups {
		for _, f := range g.fields {
			for _, n := range names {
				if f.Name == n {
					return true
				}
			}
		}
	}
	return false
}

// pageSize is the value of the field's page argument: a literal, a variable
// (its value, else its default), else the argument's default in the schema,
// else the table's; clamped to what the resolvers accept (see maxPage).
func (w *walker) pageSize(f *ast.Field, c cost) int {
	var v any
	if arg := f.Arguments.ForName(c.pageArg); arg != nil {
		v, _ = w.value(arg.Value)
	} else if f.Definition != nil {
		if def := f.Definition.Arguments.ForName(c.pageArg); def != nil && def.DefaultValue != nil {
			v, _ = w.value(def.DefaultValue)
		}
	}
	n, ok := toInt(v)
	if !ok {
		n = c.defaultPage
	}
	return min(max(n, 0), maxPage)
}

// listLen is the length of a list argument: a literal, or a variable's
// value. An absent or unreadable one counts as empty (validation refuses a
// missing required list; a list of the wrong type fails before it runs).
func (w *walker) listLen(f *ast.Field, name string) int {
	arg := f.Arguments.ForName(name)
	if arg == nil {
		return 0
	}
	v, _ := w.value(arg.Value)
	l, _ := v.([]any)
	return min(len(l), saturated)
}

// toInt reads an Int argument in any form gqlgen or gqlparser may hold it:
// literals parse as int64; JSON variables arrive as json.Number (gqlgen's
// transports decode with UseNumber) or float64.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int32:
		return int(n), true
	case int64:
		return int(max(min(n, saturated), -saturated)), true
	case float64:
		return int(max(min(n, saturated), -saturated)), true
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return toInt(i)
		}
		if fl, err := n.Float64(); err == nil {
			return toInt(fl)
		}
	}
	return 0, false
}

// included applies @skip(if:) and @include(if:), as execution will. An
// argument that cannot be read leaves the selection in: it is counted.
func (w *walker) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		arg := d.Arguments.ForName("if")
		if arg == nil {
			continue
		}
		v, err := w.value(arg.Value)
		b, ok := v.(bool)
		if err != nil || !ok {
			continue
		}
		if d.Name == "skip" && b || d.Name == "include" && !b {
			return false
		}
	}
	return true
}
