package server

import (
	"context"
	"encoding/json"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// strictVariables is the gqlgen extension that refuses the variable values
// GraphQL's input coercion refuses and gqlparser lets through: a JSON string
// for an Int or a Float ("5"), a JSON number for a String, an Int outside 32
// bits. gqlparser looks only at the reflect kind of a value, and the JSON
// numbers the transports decode (json.Number) are strings to reflect.
//
// It runs after gqlparser has coerced the variables, where an Int or a Float
// at the top level is already an int64 or a float64, and a JSON number
// inside a list or an input object is still a json.Number; a JSON string is
// a string everywhere. Its refusals are gqlgen's own variable errors:
// GRAPHQL_VALIDATION_FAILED, HTTP 200 with application/json (400 with
// graphql-response+json).
type strictVariables struct{}

var (
	_ graphql.HandlerExtension        = strictVariables{}
	_ graphql.OperationContextMutator = strictVariables{}
)

func (strictVariables) ExtensionName() string                   { return "StrictVariables" }
func (strictVariables) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (strictVariables) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	for _, def := range rc.Operation.VariableDefinitions {
		v, ok := rc.Variables[def.Variable]
		if !ok {
			continue
		}
		path := ast.Path{ast.PathName("variable"), ast.PathName(def.Variable)}
		if msg := coercible(def.Type, v); msg != "" {
			err := gqlerror.ErrorPathf(path, "variable $%s: %s", def.Variable, msg)
			errcode.Set(err, errcode.ValidationFailed)
			return err
		}
	}
	return nil
}

// coercible checks v against t and says what is wrong, "" when nothing is.
// The schema has no input objects, so scalars and lists of them are all a
// variable can be.
func coercible(t *ast.Type, v any) string {
	if v == nil {
		return "" // gqlparser has checked nullability
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return coercible(t.Elem, v) // a single value stands for a list of one
		}
		for _, item := range list {
			if msg := coercible(t.Elem, item); msg != "" {
				return msg
			}
		}
		return ""
	}
	switch t.NamedType {
	case "Int":
		switch n := v.(type) {
		case string:
			return "cannot use a string as Int"
		case int64:
			return int32Range(float64(n))
		case float64:
			return int32Range(n)
		case json.Number:
			f, err := n.Float64()
			if err != nil || f != math.Trunc(f) {
				return "cannot use a non-integer number as Int"
			}
			return int32Range(f)
		}
	case "Float":
		if _, ok := v.(string); ok {
			return "cannot use a string as Float"
		}
	case "String":
		if _, ok := v.(json.Number); ok {
			return "cannot use a number as String"
		}
	}
	return ""
}

func int32Range(f float64) string {
	if f < math.MinInt32 || f > math.MaxInt32 {
		return "cannot use a number outside 32 bits as Int"
	}
	return ""
}
