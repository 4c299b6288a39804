// Package orgraph embeds the GraphQL schema, so the binary can print the SDL
// it serves (`orgraph schema`) for client code generation.
package orgraph

import _ "embed"

// Schema is the SDL of schema.graphqls.
//
//go:embed schema.graphqls
var Schema string
