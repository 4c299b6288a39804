package marshal

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// The batch parents of a list, as graphql.WithBatchParentValues and
// graphql.BatchParentsFor keep them, without their cost per parent: gqlgen
// copies a map of groups for every list, finds a parent's index by building
// the field's whole path, and allocates a result with its channel for every
// parent of every batch field before it learns that the field was already
// resolved for the group. Here a list adds one group to a chain, a
// parent's index is the nearest list element up the field context chain,
// and a batch field's result is made once per group.

type batchKey struct{}

// batchGroup is the parents of one list of typeName; outer is the group of
// the list around it, so a nested list of another type still sees the
// groups outside it, and the nearest group of a type wins.
type batchGroup struct {
	typeName string
	parents  any
	indexMap map[int]int // list index to place in parents; nil when they are the list
	outer    *batchGroup

	mu     sync.Mutex
	fields []*batchField // by response key; a type has a handful of batch fields
}

// batchField is one batch field resolved for the whole group, once.
type batchField struct {
	key    string
	once   sync.Once
	result graphql.BatchFieldResult
}

// WithBatchParentValues is graphql.WithBatchParentValues: it registers v's
// elements, by address, as the parents the batch fields of typeName are
// resolved for together. v must not change while ctx is in use.
func WithBatchParentValues[T any](ctx context.Context, typeName string, v []T) context.Context {
	parents := make([]*T, len(v))
	for i := range v {
		parents[i] = &v[i]
	}
	outer, _ := ctx.Value(batchKey{}).(*batchGroup)
	return context.WithValue(ctx, batchKey{}, &batchGroup{typeName: typeName, parents: parents, outer: outer})
}

// WithBatchParents is graphql.WithBatchParents, for a list of an interface
// or union (federation's _entities): parents (a []P) are the elements of one
// type among the list's, and indexMap maps an element's list index to its
// place in parents, so a batch field of that type is resolved once for all
// of them. parents must not change while ctx is in use.
func WithBatchParents(ctx context.Context, typeName string, parents any, indexMap map[int]int) context.Context {
	outer, _ := ctx.Value(batchKey{}).(*batchGroup)
	return context.WithValue(ctx, batchKey{}, &batchGroup{typeName: typeName, parents: parents, indexMap: indexMap, outer: outer})
}

// BatchParents is graphql.BatchParents: the sibling parents being resolved
// together, and the place among them of the parent this call is for. The
// fields are those the generated code reads.
type BatchParents[P any] struct {
	Parents  []P
	Index    ast.PathIndex
	IndexMap map[int]int // nil unless the parents are one type among a list of an interface or union

	group *batchGroup
}

// BatchParentsFor is graphql.BatchParentsFor: the parents of typeName
// registered for the nearest list of that type, and this parent's place in
// it. ok is false when the field is not resolved as part of a list; the
// caller then resolves the one parent it was handed.
func BatchParentsFor[P any](ctx context.Context, typeName string) (BatchParents[P], bool) {
	group, _ := ctx.Value(batchKey{}).(*batchGroup)
	for group != nil && group.typeName != typeName {
		group = group.outer
	}
	if group == nil {
		return BatchParents[P]{}, false
	}
	parents, ok := group.parents.([]P)
	if !ok {
		return BatchParents[P]{}, false
	}
	idx, ok := parentIndex(graphql.GetFieldContext(ctx))
	if !ok {
		return BatchParents[P]{}, false
	}
	return BatchParents[P]{Parents: parents, Index: idx, IndexMap: group.indexMap, group: group}, true
}

// FieldResult resolves field once for the whole group, keyed by its
// response key (an alias asks again), and gives every parent that result.
func (b BatchParents[P]) FieldResult(field graphql.CollectedField, resolve func() (any, error)) *graphql.BatchFieldResult {
	key := field.Alias
	if key == "" {
		key = field.Name
	}
	g := b.group
	g.mu.Lock()
	var f *batchField
	for _, it := range g.fields {
		if it.key == key {
			f = it
			break
		}
	}
	if f == nil {
		f = &batchField{key: key}
		g.fields = append(g.fields, f)
	}
	g.mu.Unlock()
	f.once.Do(func() { f.result.Results, f.result.Err = resolve() })
	return &f.result
}

// parentIndex is the second-to-last element of fc's path when it is an
// index, as graphql.BatchParentIndex reads it, without building the path:
// the elements are the field contexts up the chain that have an index or a
// field.
func parentIndex(fc *graphql.FieldContext) (ast.PathIndex, bool) {
	seen := 0
	for it := fc; it != nil; it = it.Parent {
		if it.Index == nil && it.Field.Field == nil {
			continue
		}
		seen++
		if seen == 2 {
			if it.Index != nil {
				return ast.PathIndex(*it.Index), true
			}
			return 0, false
		}
	}
	return 0, false
}
