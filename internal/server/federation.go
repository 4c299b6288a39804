package server

import (
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orgraph/orgraph"
)

// publicSchema is schema.graphqls alone: the schema without the Apollo
// Federation subgraph part (federation.graphqls, and the _service,
// _entities, _Any, _Entity and Entity that gqlgen adds for it). The
// generated executor carries both; handing it this one makes validation and
// introspection see exactly the public schema, so with FEDERATION unset
// nothing a client sees changes, and _entities is an unknown field
// (GRAPHQL_VALIDATION_FAILED) rather than a lookup path that is merely refused.
var publicSchema = gqlparser.MustLoadSchema(&ast.Source{Name: "schema.graphqls", Input: orgraph.Schema})

// servedSchema is the schema the handler validates and introspects against:
// nil (the executor's own, subgraph fields included) with federation on.
func servedSchema(federation bool) *ast.Schema {
	if federation {
		return nil
	}
	return publicSchema
}
