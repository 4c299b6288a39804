// Package marshal holds what the gateway adds to gqlgen's executor to write
// a response with less work than gqlgen's general path, where the query
// allows it. cmd/gqlgen generates the calls into it; nothing else uses it.
//
// Two things cost most when gqlgen marshals a large warm answer:
//
//   - a goroutine per list element (graphql.MarshalSliceConcurrently), so
//     that elements whose fields call loaders wait together. List decides
//     at run time, from the selection, whether anything under a list's
//     elements can wait; when nothing can, the elements are marshalled one
//     after another on the caller's goroutine.
//   - per object and per field, a field context, a field set, a deferred
//     group with its path, closures and a map, even for fields that only
//     read a struct field. For "plain" object types, whose every field is a
//     value read without a resolver, a directive, an argument or an error,
//     the generator writes a function that writes the JSON of the selected
//     fields straight away (String, Bool, … below); Plain says whether a
//     selection may take that way.
//
// Measured on 20 organizations with their groups and members (about 1,300
// objects), the two together took the executed query from 12.7 to under
// 2 ms of CPU, most of it from allocations the garbage collector no longer
// sees. Batch fields (batch.go) find their list's parents and the group's
// one result without allocating per parent.
package marshal

import (
	"context"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Mode says how gqlgen resolves a field that can wait for I/O.
type Mode uint8

// Field modes. A field not in Fields resolves inline and never waits.
const (
	// Concurrent: a resolver (or a method taking a context), run on its own
	// goroutine per object.
	Concurrent Mode = iota + 1
	// Batch: a batch resolver, called once for every parent of a list.
	Batch
)

// Fields lists the fields of a schema that can wait, by "Type.field". The
// code generator writes it from gqlgen's own view of the schema.
type Fields map[string]Mode

// Inline reports whether a list of elem objects with selection sel can be
// marshalled element by element without serialising any waiting: below the
// elements, the only fields that can wait are batch fields of the element
// type itself (one call for the whole list, made by the first element),
// and nothing under those can wait. Deferred fragments keep gqlgen's path.
func (f Fields) Inline(elem string, sel ast.SelectionSet) bool {
	return f.walk(elem, sel, true)
}

// walk checks a selection on objects of type typ; top means the objects are
// the list's elements.
func (f Fields) walk(typ string, sel ast.SelectionSet, top bool) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if deferred(s.Directives) {
				return false
			}
			mode, waits := f[typ+"."+s.Name]
			if waits && !(top && mode == Batch) {
				return false
			}
			if len(s.SelectionSet) > 0 && (s.Definition == nil || !f.walk(s.Definition.Type.Name(), s.SelectionSet, false)) {
				return false
			}
		case *ast.InlineFragment:
			if deferred(s.Directives) || !f.walk(fragmentType(s.TypeCondition, typ), s.SelectionSet, top) {
				return false
			}
		case *ast.FragmentSpread:
			if deferred(s.Directives) || s.Definition == nil ||
				!f.walk(fragmentType(s.Definition.TypeCondition, typ), s.Definition.SelectionSet, top) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func fragmentType(condition, typ string) string {
	if condition == "" {
		return typ
	}
	return condition
}

// deferred: incremental delivery keeps gqlgen's own path.
func deferred(dirs ast.DirectiveList) bool { return dirs.ForName("defer") != nil }

// Plain reports whether a selection may be written by a plain type's
// writer: nothing under it is deferred. (Whether a type is plain is decided
// when the code is generated.)
func Plain(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if deferred(s.Directives) || !Plain(s.SelectionSet) {
				return false
			}
		case *ast.InlineFragment:
			if deferred(s.Directives) || !Plain(s.SelectionSet) {
				return false
			}
		case *ast.FragmentSpread:
			if deferred(s.Directives) || s.Definition == nil || !Plain(s.Definition.SelectionSet) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// List marshals the n elements of a list: one after another when fields
// says the selection allows it, else as gqlgen does, a goroutine each. Each
// element gets the field context gqlgen would give it (its index, for paths
// and batch parents), and a panic in one becomes an error and a null, as in
// graphql.MarshalSliceConcurrently.
func List(ctx context.Context, fields Fields, elem string, sel ast.SelectionSet, n int,
	workerLimit int64, omitPanicHandler bool, element func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	if n <= 1 || !fields.Inline(elem, sel) {
		return graphql.MarshalSliceConcurrently(ctx, n, workerLimit, omitPanicHandler, element)
	}
	ret := make(graphql.Array, n)
	for i := range n {
		childCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		if omitPanicHandler {
			ret[i] = element(childCtx, i)
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					graphql.AddError(childCtx, graphql.Recover(childCtx, r))
					ret[i] = graphql.Null
				}
			}()
			ret[i] = element(childCtx, i)
		}()
	}
	return ret
}

const hex = "0123456789ABCDEF" // as gqlgen writes \u escapes

// String writes s as a JSON string, byte for byte as gqlgen's
// graphql.MarshalString does.
func String(w io.Writer, s string) {
	start := 0
	_, _ = io.WriteString(w, `"`)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		_, _ = io.WriteString(w, s[start:i])
		switch c {
		case '\t':
			_, _ = io.WriteString(w, `\t`)
		case '\r':
			_, _ = io.WriteString(w, `\r`)
		case '\n':
			_, _ = io.WriteString(w, `\n`)
		case '\\':
			_, _ = io.WriteString(w, `\\`)
		case '"':
			_, _ = io.WriteString(w, `\"`)
		default:
			_, _ = w.Write([]byte{'\\', 'u', '0', '0', hex[c>>4], hex[c&0xf]})
		}
		start = i + 1
	}
	_, _ = io.WriteString(w, s[start:])
	_, _ = io.WriteString(w, `"`)
}

// StringPtr writes *s as a JSON string, or null.
func StringPtr(w io.Writer, s *string) {
	if s == nil {
		Null(w)
		return
	}
	String(w, *s)
}

// Bool writes b.
func Bool(w io.Writer, b bool) {
	_, _ = io.WriteString(w, strconv.FormatBool(b))
}

// BoolPtr writes *b, or null.
func BoolPtr(w io.Writer, b *bool) {
	if b == nil {
		Null(w)
		return
	}
	Bool(w, *b)
}

// Null writes null.
func Null(w io.Writer) { _, _ = io.WriteString(w, "null") }

// Raw writes a piece of JSON syntax: a brace, a bracket, a comma or a colon.
func Raw(w io.Writer, s string) { _, _ = io.WriteString(w, s) }

// Deferred is graphql.NewDeferredGroup(ctx) when one of fields is deferred,
// and an empty group otherwise: gqlgen makes one per object, with the
// object's whole path, a field set and a map, and uses it only for deferred
// fields.
func Deferred(ctx context.Context, fields []graphql.CollectedField) graphql.DeferredGroup {
	for i := range fields {
		if fields[i].IsDeferred() {
			return graphql.NewDeferredGroup(ctx)
		}
	}
	return graphql.DeferredGroup{}
}

// StringValue is a string field's value as a graphql.Marshaler, written as
// graphql.MarshalString writes it.
type StringValue string

// MarshalGQL implements graphql.Marshaler.
func (s StringValue) MarshalGQL(w io.Writer) { String(w, string(s)) }

// StringPtrValue is a nullable string field's value: graphql.Null for nil.
func StringPtrValue(s *string) graphql.Marshaler {
	if s == nil {
		return graphql.Null
	}
	return StringValue(*s)
}

// BoolValue is a boolean field's value as a graphql.Marshaler.
type BoolValue bool

// MarshalGQL implements graphql.Marshaler.
func (b BoolValue) MarshalGQL(w io.Writer) { Bool(w, bool(b)) }

// BoolPtrValue is a nullable boolean field's value: graphql.Null for nil.
func BoolPtrValue(b *bool) graphql.Marshaler {
	if b == nil {
		return graphql.Null
	}
	return BoolValue(*b)
}

// Selected counts the fields of typ in sel (fragments included) that can
// wait: a marshaller that resolves fields one after another takes over from
// gqlgen only when there is at most one, so that two relations of one
// object still resolve in parallel.
func (f Fields) Selected(typ string, sel ast.SelectionSet) int {
	n := 0
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if _, waits := f[typ+"."+s.Name]; waits {
				n++
			}
		case *ast.InlineFragment:
			n += f.Selected(fragmentType(s.TypeCondition, typ), s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				n += f.Selected(fragmentType(s.Definition.TypeCondition, typ), s.Definition.SelectionSet)
			}
		}
	}
	return n
}
