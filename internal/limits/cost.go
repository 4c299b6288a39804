package limits

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// The cost model: an operation's complexity is the number of upstream
// requests it could need, uncached, in the worst case the model can see
// before execution. A field's cost is
//
//	calls + items × (the cost of its selection)
//
// where calls is what one resolution of the field sends upstream (0 for the
// fields the parent's payload already holds) and items is how many times its
// selection is resolved: 1 for an object, the page size for the items of a
// page, an assumed fan-out for a list the upstream does not page for the
// caller. Loaders and caches make the real cost lower (repeated keys are
// fetched once, cached responses are free); the call budget
// (upstream.WithCallBudget) catches the cases where it is higher (paging
// through more than 100 connections, a user in more organizations than the
// fan-out assumes, retries).
//
// costs is the one table of what fields cost, keyed by "Type.field", and
// mirrors the README's "Query → upstream endpoint" table. A field not listed
// costs nothing and, when it is a list, multiplies by defaultFanOut.
var costs = map[string]cost{
	// GET /api/v2/organizations?take=&from=: one call per page of `first`.
	"Query.organizations": {calls: 1, pageArg: "first", defaultPage: 50},
	// GET /api/v2/organizations?include_totals=true&per_page=1.
	"OrganizationPage.totalCount": {calls: 1},
	"OrganizationPage.edges":      {perPage: true},
	"OrganizationPage.nodes":      {perPage: true},
	// GET /api/v2/organizations/{id}, /organizations/name/{name}.
	"Query.organization":       {calls: 1},
	"Query.organizationByName": {calls: 1},
	// GET /api/v2/users/{id}, only when a profile field is selected. Users
	// that arrive as members carry their profile, so User.email and the like
	// cost nothing themselves: the call is charged here, once per user.
	"Query.user": {calls: 1, onlyIf: []string{"email", "name", "picture"}},
	// GET /api/v2/users/{id}/organizations?per_page=100 (pages until a short
	// page; one page assumed). Each organization can fan out further.
	"User.organizations": {calls: 1, fanOut: 20},
	// GET /api/v2/organizations/{id}/enabled_connections?per_page=100.
	"Organization.connections": {calls: 1, fanOut: 10},
	// GET {identity}/api/Group/{partitionGlobalId}; members come in the payload.
	"Organization.groups": {calls: 1, fanOut: 10},
	"Query.groups":        {calls: 1, fanOut: 10},
	// GET {identity}/api/Group/{partitionGlobalId}/{id}.
	"Query.group": {calls: 1},
	// GET /api/v2/organizations/{id}/members?take=&from=: one call per page.
	"Organization.members": {calls: 1, pageArg: "first", defaultPage: 50},
	"UserPage.edges":       {perPage: true},
	"UserPage.nodes":       {perPage: true},
	// Federation (FEDERATION=true): each representation is one lookup by
	// key, GET /api/v2/organizations/{id} or /users/{id} (charged whether
	// or not a profile field is selected: the model sees no types here), and
	// its selection is resolved once per representation.
	"Query._entities": {itemCalls: 1, itemsArg: "representations", optional: true},
}

// cost is what one field costs; see costs.
type cost struct {
	// calls is the upstream requests one resolution of the field sends.
	calls int
	// onlyIf, when set, makes calls due only when the field's selection asks
	// for one of these subfields.
	onlyIf []string
	// pageArg names the argument that sets the page size of the page type
	// the field returns, defaultPage its value when absent or null. The page
	// size multiplies the fields of the page marked perPage.
	pageArg     string
	defaultPage int
	// perPage marks a page's list of items (edges, nodes): as many items as
	// the page size of the field that returned the page.
	perPage bool
	// fanOut is the assumed length of a list the upstream returns whole.
	fanOut int
	// itemsArg names a list argument whose length is the list's length,
	// each item costing itemCalls and its selection.
	itemsArg  string
	itemCalls int
	// optional marks a field only some schemas served have (the federation
	// fields): checkCosts does not require it.
	optional bool
}

// defaultFanOut is the assumed length of a list field the table does not
// describe. Today those are lists whose items cost nothing (metadata, a
// group's members), so it only matters for fields added later.
const defaultFanOut = 10

// maxPage is the largest `first` the resolvers accept (pager.MaxTake). A
// larger one is refused there with BAD_USER_INPUT before any upstream call,
// so the model counts it as maxPage: the caller then gets that error, which
// names the argument, rather than a complexity figure no request would reach.
const maxPage = 100

// checkCosts reports a cost table that does not fit schema: a field that
// does not exist, a page argument it does not take, a per-page or fan-out
// field that is not a list.
func checkCosts(schema *ast.Schema) error {
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(costs)) {
		c := costs[key]
		typ, field, _ := strings.Cut(key, ".")
		def := schema.Types[typ]
		if def == nil || def.Fields.ForName(field) == nil {
			if c.optional {
				continue
			}
			errs = append(errs, fmt.Errorf("limits: cost table names %s, which the schema does not have", key))
			continue
		}
		f := def.Fields.ForName(field)
		if c.pageArg != "" && f.Arguments.ForName(c.pageArg) == nil {
			errs = append(errs, fmt.Errorf("limits: cost table pages %s by %q, which it does not take", key, c.pageArg))
		}
		if c.itemsArg != "" && f.Arguments.ForName(c.itemsArg) == nil {
			errs = append(errs, fmt.Errorf("limits: cost table counts %s by %q, which it does not take", key, c.itemsArg))
		}
		if (c.perPage || c.fanOut > 0 || c.itemsArg != "") && f.Type.Elem == nil {
			errs = append(errs, fmt.Errorf("limits: cost table multiplies %s, which is not a list", key))
		}
	}
	return errors.Join(errs...)
}
