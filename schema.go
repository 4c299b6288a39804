// Package orgraph embeds the GraphQL schema, so the binary can print the SDL
// it serves (`orgraph schema`) for client code generation, and the subgraph
// SDL a federation router composes (`orgraph schema --federation`).
package orgraph

import _ "embed"

// Schema is the SDL of schema.graphqls.
//
//go:embed schema.graphqls
var Schema string

//go:embed federation.graphqls
var federation string

// SubgraphSchema is the Apollo Federation v2 subgraph SDL: the schema with
// federation.graphqls (the @link and the entities' @key), exactly what
// `_service { sdl }` answers with FEDERATION=true, for composing a
// supergraph without a running gateway.
var SubgraphSchema = Schema + "\n" + federation
