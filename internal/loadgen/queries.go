package loadgen

import (
	"encoding/json"
	"fmt"
	"maps"
)

// Identifiers of the simulator's built-in data that the queries name. They are
// literals rather than imports from upstreamsim because the driver is a client
// of any gateway and must not depend on the simulator's package.
const (
	demoUserID         = "auth0|6410784d38b3e02b77fdd660"
	demoOrganizationID = "org_Hg7bQ2mN4pLk9TzA"
	demoOrganization   = "hogwarts"
	demoPartitionID    = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
)

// spreadOrganizations is how many of the simulator's generated organizations
// the spread queries walk: gen-org-00000 .. gen-org-00199, all of which exist
// when the simulator runs with -orgs 200 or more, as scripts/load and
// scripts/load-replicas run it. The names are the one part of the generated
// data a client can derive: the simulator names generated organization i
// fmt.Sprintf("gen-org-%05d", i), while their ids, the generated users' ids
// and the generated partitions' ids are drawn from its seeded random source.
const spreadOrganizations = 200

// generatedOrgName is the simulator's name of generated organization i.
func generatedOrgName(i int) string { return fmt.Sprintf("gen-org-%05d", i) }

// Query is one named GraphQL request of the built-in mix: the document, the
// operation to run and its variables, or a spread of variable sets.
//
// A query with fixed variables is, after its first request, a cache hit in
// the gateway, however many requests a run sends. A query with a Spread
// stands for many users asking for different resources: the driver sends its
// variable sets in turn (see [Query.Variants]), so a run keeps reaching
// resources that are cold in the gateway's cache and spends upstream budget.
type Query struct {
	// Name is the key used by -mix and [Lookup], e.g. "orgs-connections".
	Name string
	// OperationName is the operation in Document to execute; it is sent as
	// operationName so gateway logs and traces can tell the mix apart.
	OperationName string
	// Document is the GraphQL document.
	Document string
	// Variables are the operation's variables; nil when it takes none. With a
	// Spread they are the defaults every set starts from, and complete on
	// their own, so that [Query.Body] is still a valid request.
	Variables map[string]any
	// Spread, when not empty, makes the query send len(Spread) different
	// variable sets: set i is Variables with the keys of Spread[i] put over
	// them. The driver sends the sets in turn, per mix entry: the k-th request
	// (counting from 0, within a phase) of an entry with this query carries
	// set k % len(Spread), so consecutive requests of that entry walk through
	// every set in order, whatever the other entries of the mix and however
	// many workers send them. Each set is marshalled once when a run starts.
	Spread []map[string]any
}

// requestBody is the wire shape of a GraphQL POST.
type requestBody struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables,omitempty"`
	OperationName string         `json:"operationName,omitempty"`
}

// Body returns the JSON request body for q with its Variables, ignoring any
// Spread: one valid request for callers that send a query the same way every
// time. The driver marshals each query once and reuses the bytes, so
// encoding cost never shows up in a run.
func (q Query) Body() ([]byte, error) {
	return json.Marshal(requestBody{Query: q.Document, Variables: q.Variables, OperationName: q.OperationName})
}

// Variants returns the variable sets the driver sends for q, in the order it
// sends them: just Variables without a Spread, else one set per Spread entry,
// each a new map of Variables overlaid with that entry.
func (q Query) Variants() []map[string]any {
	if len(q.Spread) == 0 {
		return []map[string]any{q.Variables}
	}
	vs := make([]map[string]any, len(q.Spread))
	for i, over := range q.Spread {
		v := make(map[string]any, len(q.Variables)+len(over))
		maps.Copy(v, q.Variables)
		maps.Copy(v, over)
		vs[i] = v
	}
	return vs
}

// Bodies returns the JSON request body of each of q's [Query.Variants], in
// order; the driver marshals them all before the first request.
func (q Query) Bodies() ([][]byte, error) {
	vs := q.Variants()
	bodies := make([][]byte, len(vs))
	for i, v := range vs {
		b, err := json.Marshal(requestBody{Query: q.Document, Variables: v, OperationName: q.OperationName})
		if err != nil {
			return nil, fmt.Errorf("variable set %d: %w", i, err)
		}
		bodies[i] = b
	}
	return bodies, nil
}

// orgNameSpread is one variable set {"name": name} per spread organization.
func orgNameSpread() []map[string]any {
	s := make([]map[string]any, spreadOrganizations)
	for i := range s {
		s[i] = map[string]any{"name": generatedOrgName(i)}
	}
	return s
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
		{
			Name:          "org-by-name-spread",
			OperationName: "OrgByNameSpread",
			// Many users, each looking up their own organization: 200
			// different names in turn, each costing two upstream calls while
			// cold (the organization by name, its enabled connections), so the
			// cache cannot absorb the load and the rate governor has work.
			Document: `query OrgByNameSpread($name: String!) {
  organizationByName(name: $name) { id name displayName connections { id name } }
}`,
			Variables: map[string]any{"name": generatedOrgName(0)},
			Spread:    orgNameSpread(),
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
