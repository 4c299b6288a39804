package server_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/orgraph/orgraph"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// federationOn is the setting that serves the subgraph fields.
var federationOn = map[string]string{"FEDERATION": "true"}

// entitiesQuery asks for organizations by representation, as a federation
// router does when another subgraph's list leads to them.
const entitiesQuery = `query($reps: [_Any!]!) {
	_entities(representations: $reps) { ... on Organization { id name connections { name } } }
}`

// orgEntity is one Organization as the queries here select it.
type orgEntity struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Connections []struct {
		Name string `json:"name"`
	} `json:"connections"`
}

func organizationReps(ds *upstreamsim.Dataset, n int) []map[string]any {
	reps := make([]map[string]any, n)
	for i := range reps {
		reps[i] = map[string]any{"__typename": "Organization", "id": ds.Organizations[i].ID}
	}
	return reps
}

// TestFederationOffServesThePublicSchema: without FEDERATION the subgraph
// fields are unknown fields and the federation types are not in
// introspection, so nothing a client sees differs from the public schema.
func TestFederationOffServesThePublicSchema(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	for _, q := range []string{
		`{ _service { sdl } }`,
		`{ _entities(representations: [{__typename: "Organization", id: "` + hogwartsID + `"}]) { __typename } }`,
	} {
		resp := gw.Query(t, q, nil)
		if e := resp.OnlyError(t); e.Code() != "GRAPHQL_VALIDATION_FAILED" || resp.Data != nil {
			t.Fatalf("%s: %s, want GRAPHQL_VALIDATION_FAILED", q, resp.Raw)
		}
	}
	var data struct{ Entity, Any, Service any }
	gw.Query(t, `{ Entity: __type(name: "_Entity") { name } Any: __type(name: "_Any") { name } Service: __type(name: "_Service") { name } }`, nil).Decode(t, &data)
	if data.Entity != nil || data.Any != nil || data.Service != nil {
		t.Fatalf("federation types in introspection: %+v", data)
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("%d upstream calls", n)
	}
}

// TestServiceSDLIsTheSubgraphSchema: what a router composes from _service
// is what `orgraph schema --federation` prints.
func TestServiceSDLIsTheSubgraphSchema(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, federationOn)
	var data struct{ Service struct{ SDL string } }
	gw.Query(t, `{ service: _service { sdl } }`, nil).Decode(t, &data)
	if data.Service.SDL != orgraph.SubgraphSchema {
		t.Fatalf("_service { sdl } differs from orgraph.SubgraphSchema:\n%s", data.Service.SDL)
	}
}

// TestFiftyEntitiesCostWhatFiftyOrganizationsCost: fifty Organization
// representations with their connections cost exactly what the same fifty
// organizations asked by id in one query cost (one lookup each, then one
// connections list each), in two batches, and answer the same; the page
// that lists them costs one call instead of the fifty lookups.
func TestFiftyEntitiesCostWhatFiftyOrganizationsCost(t *testing.T) {
	sim := upstreamsim.Config{Organizations: 60, ConnectionsPerOrg: 2}
	noCache := map[string]string{"FEDERATION": "true", "RESPONSE_CACHE": "false", "MAX_QUERY_ALIASES": "50"}

	gw, s := testutil.StartGatewayOnSimulator(t, sim, noCache)
	ds := s.Dataset()
	var entities struct{ Entities []orgEntity }
	resp := gw.Query(t, strings.Replace(entitiesQuery, "_entities", "entities: _entities", 1), map[string]any{"reps": organizationReps(ds, 50)})
	resp.Decode(t, &entities)
	want := map[string]int64{upstreamsim.RouteOrganization: 50, upstreamsim.RouteEnabledConnections: 50}
	assertCalls(t, s, want)
	t.Logf("_entities, 50 organizations with connections: %v", s.Counts())
	if got := gw.AccessLogLines()[0]["upstream_batches"]; got != 2.0 {
		t.Fatalf("_entities made %v batches, want 2 (the lookups, then the connections)", got)
	}

	gw, s = testutil.StartGatewayOnSimulator(t, sim, noCache)
	var q strings.Builder
	q.WriteString("{")
	for i := range 50 {
		fmt.Fprintf(&q, " o%d: organization(id: %q) { id name connections { name } }", i, ds.Organizations[i].ID)
	}
	q.WriteString(" }")
	var byID map[string]orgEntity
	gw.Query(t, q.String(), nil).Decode(t, &byID)
	assertCalls(t, s, want)

	gw, s = testutil.StartGatewayOnSimulator(t, sim, noCache)
	var page struct{ Organizations struct{ Nodes []orgEntity } }
	gw.Query(t, `{ organizations(first: 50) { nodes { id name connections { name } } } }`, nil).Decode(t, &page)
	assertCalls(t, s, map[string]int64{upstreamsim.RouteOrganizations: 1, upstreamsim.RouteEnabledConnections: 50})

	if len(entities.Entities) != 50 {
		t.Fatalf("%d entities, want 50", len(entities.Entities))
	}
	for i, e := range entities.Entities {
		other := byID[fmt.Sprintf("o%d", i)]
		if e.ID != ds.Organizations[i].ID || len(e.Connections) != len(ds.Connections[e.ID]) ||
			!reflect.DeepEqual(e, other) || !reflect.DeepEqual(e, page.Organizations.Nodes[i]) {
			t.Fatalf("entity %d %+v differs from organization(id) %+v or the page's %+v", i, e, other, page.Organizations.Nodes[i])
		}
	}
}

// TestEntitiesAnswerPerRepresentation: a representation that names no
// organization is null without an error; an id the gateway refuses is
// BAD_USER_INPUT on its own index, with no upstream call for it; users are
// answered without a profile call unless a profile field is selected.
func TestEntitiesAnswerPerRepresentation(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, federationOn)
	resp := gw.Query(t, `query($reps: [_Any!]!) {
		_entities(representations: $reps) { __typename ... on Organization { id name } ... on User { id organizations { id } } }
	}`, map[string]any{"reps": []map[string]any{
		{"__typename": "Organization", "id": hogwartsID},
		{"__typename": "Organization", "id": "org_doesNotExist00"},
		{"__typename": "Organization", "id": "../users"},
		{"__typename": "User", "id": demoUserID},
	}})
	var data struct {
		Entities []*struct {
			Typename      string `json:"__typename"`
			ID, Name      string
			Organizations []struct{ ID string }
		} `json:"_entities"`
	}
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		t.Fatalf("%v: %s", err, resp.Raw)
	}
	e := resp.OnlyError(t)
	if e.Code() != "BAD_USER_INPUT" || e.PathString() != "_entities.2" {
		t.Fatalf("error %+v, want BAD_USER_INPUT at _entities.2", e)
	}
	d := data.Entities
	if len(d) != 4 || d[0] == nil || d[0].ID != hogwartsID || d[0].Name != "hogwarts" || d[1] != nil || d[2] != nil ||
		d[3] == nil || d[3].Typename != "User" || d[3].ID != demoUserID || len(d[3].Organizations) == 0 {
		t.Fatalf("answer %s", resp.Raw)
	}
	assertCalls(t, sim, map[string]int64{upstreamsim.RouteOrganization: 2, upstreamsim.RouteUserOrganizations: 1})
}

// TestEntitiesNeedTheScopeOfTheirLookup: an Organization representation
// needs read:organizations, as organization(id) does: without it the
// entities are null with FORBIDDEN and nothing is read; a field of the
// entity keeps its own @requiresScope.
func TestEntitiesNeedTheScopeOfTheirLookup(t *testing.T) {
	is := testutil.StartIssuer(t)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := testutil.UpstreamEnv(base)
	delete(env, "AUTH_DISABLED")
	env["AUTH_ISSUER"], env["AUTH_AUDIENCE"], env["FEDERATION"] = is.URL, callerAudience, "true"
	gw := testutil.StartGateway(t, env)
	reps := map[string]any{"reps": []map[string]any{{"__typename": "Organization", "id": hogwartsID}}}

	noOrgs := is.Token(callerAudience, testutil.Claims{Scope: "read:organization_connections read:users"})
	resp := gw.QueryAs(t, noOrgs, entitiesQuery, reps)
	if e := resp.OnlyError(t); e.Code() != "FORBIDDEN" || !strings.Contains(e.Message, "read:organizations") ||
		string(resp.Data) != `{"_entities":[null]}` {
		t.Fatalf("without read:organizations: %s", resp.Raw)
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("a forbidden entity made %d upstream calls", n)
	}

	orgsOnly := is.Token(callerAudience, testutil.Claims{Scope: "read:organizations"})
	resp = gw.QueryAs(t, orgsOnly, entitiesQuery, reps)
	if e := resp.OnlyError(t); e.Code() != "FORBIDDEN" || e.PathString() != "_entities.0.connections" ||
		!strings.Contains(string(resp.Data), `"name":"hogwarts","connections":null`) {
		t.Fatalf("without read:organization_connections: %s", resp.Raw)
	}
	assertCalls(t, sim, map[string]int64{upstreamsim.RouteOrganization: 1})
}

// TestEntitiesCountTowardTheLimits: the predicted cost counts every
// representation (a lookup each, and its selection), so a list too long is
// refused before it runs; the call budget stops the calls it cannot pay for.
func TestEntitiesCountTowardTheLimits(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 200, ConnectionsPerOrg: 1}, federationOn)
	ds := sim.Dataset()
	// 126 × (1 lookup + 1 connections list) = 252 > 250.
	resp := gw.Query(t, entitiesQuery, map[string]any{"reps": organizationReps(ds, 126)})
	e := resp.OnlyError(t)
	limit, _ := e.Extensions["limit"].(map[string]any)
	if e.Code() != "BAD_USER_INPUT" || limit["name"] != "complexity" || limit["actual"] != 252.0 || resp.Data != nil {
		t.Fatalf("126 representations: %s, want the complexity limit with actual 252", resp.Raw)
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("a refused operation made %d upstream calls", n)
	}

	gw, sim = testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 20, ConnectionsPerOrg: 1},
		map[string]string{"FEDERATION": "true", "MAX_UPSTREAM_CALLS": "15", "UPSTREAM_CONCURRENCY": "1"})
	resp = gw.Query(t, entitiesQuery, map[string]any{"reps": organizationReps(sim.Dataset(), 10)})
	if n := sim.Total(); n != 15 {
		t.Fatalf("%d upstream calls, want 15 (the budget)", n)
	}
	if len(resp.Errors) != 5 {
		t.Fatalf("%d errors, want 5 (connections of 10, 5 paid for): %s", len(resp.Errors), resp.Raw)
	}
	for _, e := range resp.Errors {
		limit, _ := e.Extensions["limit"].(map[string]any)
		if e.Code() != "BAD_USER_INPUT" || limit["name"] != "upstreamCalls" || !strings.HasSuffix(e.PathString(), ".connections") {
			t.Fatalf("error %+v", e)
		}
	}
}

// TestUserEntitiesReadProfilesInOneBatch: User representations selecting a
// profile field read the profiles as one level, as user(id) does for one;
// a user that does not exist is then null.
func TestUserEntitiesReadProfilesInOneBatch(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Users: 5}, map[string]string{"FEDERATION": "true", "RESPONSE_CACHE": "false"})
	ds := sim.Dataset()
	reps := []map[string]any{{"__typename": "User", "id": "auth0|nobody"}}
	for _, u := range ds.Users[:4] {
		reps = append(reps, map[string]any{"__typename": "User", "id": u.UserID})
	}
	var data struct {
		Entities []*struct{ ID, Email string } `json:"_entities"`
	}
	gw.Query(t, `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id email } } }`, map[string]any{"reps": reps}).Decode(t, &data)
	if len(data.Entities) != 5 || data.Entities[0] != nil {
		t.Fatalf("entities %+v, want a null first", data.Entities)
	}
	for i, e := range data.Entities[1:] {
		if e == nil || e.ID != ds.Users[i].UserID || e.Email != ds.Users[i].Email {
			t.Fatalf("entity %d: %+v, want %+v", i+1, e, ds.Users[i])
		}
	}
	assertCalls(t, sim, map[string]int64{upstreamsim.RouteUser: 5})
	if got := gw.AccessLogLines()[0]["upstream_batches"]; got != 1.0 {
		t.Fatalf("%v batches, want 1", got)
	}
}
