// Package graph holds the GraphQL schema's generated executor and its thin
// resolvers: a resolver validates its arguments, asks a per-request loader,
// and maps the answer. It never builds an upstream URL.
package graph

//go:generate go run ../cmd/gqlgen

// Resolver is the root resolver; it carries configuration only. Per-request
// state (the loaders) travels in the context.
type Resolver struct {
	// PartitionMetadataKey is the organization metadata entry holding the
	// UiPath partition id (IDENTITY_PARTITION_METADATA_KEY).
	PartitionMetadataKey string
	// OrganizationMetadataKey is the entry holding the UiPath organization
	// name (IDENTITY_ORGANIZATION_METADATA_KEY); the Auth0 name stands in
	// when it is absent.
	OrganizationMetadataKey string
}
