package loadgen

import "encoding/json"

// Identifiers of the simulator's built-in data that the queries name. They are
// literals rather than imports from upstreamsim because the driver is a client
// of any gateway and must not depend on the simulator's package.
const (
	demoUserID         = "auth0|6410784d38b3e02b77fdd660"
	demoOrganizationID = "org_Hg7bQ2mN4pLk9TzA"
	demoOrganization   = "hogwarts"
	demoPartitionID    = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
)

// Query is one named GraphQL request of the built-in mix: the document, the
// operation to run and its variables.
type Query struct {
	// Name is the key used by -mix and [Lookup], e.g. "orgs-connections".
	Name string
	// OperationName is the operation in Document to execute; it is sent as
	// operationName so gateway logs and traces can tell the mix apart.
	OperationName string
	// Document is the GraphQL document.
	Document string
	// Variables are the operation's variables; nil when it takes none.
	Variables map[string]any
}

// requestBody is the wire shape of a GraphQL POST.
type requestBody struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables,omitempty"`
	OperationName string         `json:"operationName,omitempty"`
}

// Body returns the JSON request body for q. The driver marshals each query
// once and reuses the bytes, so encoding cost never shows up in a run.
func (q Query) Body() ([]byte, error) {
	return json.Marshal(requestBody{Query: q.Document, Variables: q.Variables, OperationName: q.OperationName})
}

// builtins returns fresh copies of the built-in queries so no caller can
// mutate another caller's variables. The order is the default mix order.
func builtins() []Query {
	return []Query{
		{
			Name:          "orgs-connections",
			OperationName: "OrgsConnections",
			// One organizations page fanning out into one connections call per
			// organization: the classic N+1 that batching and caching target.
			Document: `query OrgsConnections {
  organizations(first: 50) {
    nodes { id name connections { id name strategy } }
  }
}`,
		},
		{
			Name:          "orgs-groups-members",
			OperationName: "OrgsGroupsMembers",
			// Crosses from Auth0 into the Identity API for every organization.
			Document: `query OrgsGroupsMembers {
  organizations(first: 20) {
    nodes { id groups { id name members { identifier displayName } } }
  }
}`,
		},
		{
			Name:          "user-orgs-connections",
			OperationName: "UserOrgsConnections",
			Document: `query UserOrgsConnections($userId: ID!) {
  user(id: $userId) {
    id
    organizations { id name connections { id name } }
  }
}`,
			Variables: map[string]any{"userId": demoUserID},
		},
		{
			Name:          "organization",
			OperationName: "Organization",
			// The cheapest query: one upstream call at most, a baseline for the
			// gateway's own overhead.
			Document: `query Organization($id: ID!) {
  organization(id: $id) { id name displayName branding { logoUrl } }
}`,
			Variables: map[string]any{"id": demoOrganizationID},
		},
		{
			Name:          "org-by-id-name-user",
			OperationName: "OrgByIdNameUser",
			// The same organization reached three ways in one request, which a
			// per-request cache keyed by organization id should deduplicate.
			Document: `query OrgByIdNameUser($id: ID!, $name: String!, $userId: ID!) {
  byId: organization(id: $id) { id name displayName }
  byName: organizationByName(name: $name) { id name displayName }
  user(id: $userId) { id organizations { id name displayName } }
}`,
			Variables: map[string]any{"id": demoOrganizationID, "name": demoOrganization, "userId": demoUserID},
		},
		{
			Name:          "groups",
			OperationName: "Groups",
			Document: `query Groups($partitionGlobalId: ID!, $organizationName: String) {
  groups(partitionGlobalId: $partitionGlobalId, organizationName: $organizationName) {
    id name type members { displayName }
  }
}`,
			Variables: map[string]any{"partitionGlobalId": demoPartitionID, "organizationName": demoOrganization},
		},
	}
}

// Queries returns the built-in queries in their default order. Each call
// returns new values, so callers may modify the result.
func Queries() []Query { return builtins() }

// Lookup returns the built-in query with the given name.
func Lookup(name string) (Query, bool) {
	for _, q := range builtins() {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}
