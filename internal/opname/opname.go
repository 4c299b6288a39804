// Package opname names the GraphQL operation of a request the same way for
// everything that observes it: metric labels, spans and access logs. It is
// its own package so that metrics and tracing, which both observe and
// neither of which should depend on the other, share one rule.
package opname

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// Anonymous names an operation without a name.
const Anonymous = "anonymous"

// Invalid names an operation whose name is not a GraphQL name.
const Invalid = "invalid"

// maxLen bounds a name: callers choose names, and each one may become a
// metric label or a log field.
const maxLen = 64

// Of is the name of the operation in ctx (as requested, else as the
// document names it), bounded by Bound.
func Of(ctx context.Context) string {
	oc := graphql.GetOperationContext(ctx)
	name := oc.OperationName
	if name == "" && oc.Operation != nil {
		name = oc.Operation.Name
	}
	return Bound(name)
}

// Bound bounds a client-chosen name: at most 64 characters of [A-Za-z0-9_]
// (GraphQL names are that already), Anonymous without one, Invalid for
// anything else.
func Bound(name string) string {
	if name == "" {
		return Anonymous
	}
	if len(name) > maxLen {
		name = name[:maxLen]
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return Invalid
		}
	}
	return name
}
