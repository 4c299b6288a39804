// Package loaders holds the per-request loaders through which every resolver
// reaches an upstream. A GraphQL query fans out into many sibling fields (50
// organizations, each asking for its connections); the loaders hand each
// level's keys to the upstream clients in one many-key call, and answer a key
// asked for again within the request from the request's own memo, so a query
// costs one upstream call per distinct resource it touches and one cache
// round trip per level.
//
// Two ways in, one way down:
//
//   - a whole level at once (ConnectionsOfOrganizations, …): what gqlgen's
//     batch resolvers ask with all the parents of a list; the keys are
//     deduplicated and go to the client in one call, whatever the scheduler
//     does;
//   - one key (OrganizationByID, …): what root fields and single parents
//     ask; github.com/graph-gophers/dataloader/v7 memoizes the key for the
//     request and batches the keys that siblings running at the same moment
//     ask for.
//
// Either way the client call is one many-key lookup (internal/upstream):
// in-process tier, one Redis round trip for its misses, bounded fetches of
// the rest, one pipelined write. Loaders are created for each request and
// never shared, because their batches run with the first caller's context
// and their memo must not outlive one request's view of the data.
package loaders

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/upstream"
)

// batchWait is how long a single-key loader collects the keys of siblings
// before it asks the client. Only single parents and root fields use it (a
// list's children are asked for a whole level at once), and only for keys
// the in-process tier does not hold, so the wait is paid on the way to a
// Redis round trip or an upstream call, never on a warm answer. Go's timers
// round a sub-millisecond wait up to about a millisecond when the process
// is idle (measured: 50 µs, 200 µs and 1 ms all took 1.1 ms); a shorter wait
// than that buys nothing.
const batchWait = time.Millisecond

// A page of the tenant's organizations, or their count, is asked for by a
// root field alone: there are no siblings to wait for, and the wait would
// only delay every cold query that starts with a page (1.1 ms of a 50 ms
// one at 20 ms upstream latency).
const rootOnlyWait = 0

// batchCapacity caps one single-key batch at the upstreams' largest page
// size, so a batch never holds more keys than one page of parents can
// produce.
const batchCapacity = 100

// Upstreams are the clients the loaders fetch with. They are shared by all
// requests; only the Loaders built from them are per request.
type Upstreams struct {
	Auth0    *auth0.Client
	Identity *identity.Client // nil when groups are disabled
}

// OrganizationKey asks for one organization by id or, when ID is empty, by
// name. Both kinds share one loader so that a batch holding both can answer a
// name from an organization it fetched by id.
type OrganizationKey struct {
	ID   string
	Name string
}

// Loaders are one request's loaders, one per upstream edge. Their methods are
// named for what they load and return the value itself: a 404 is a zero
// value (nil or empty) with no error. Values are shared with other requests
// through the cache: never write to one.
type Loaders struct {
	up Upstreams

	organizationsPage     lazy[auth0.PageKey, *auth0.OrganizationsPage]
	organizationCount     lazy[struct{}, int]
	organization          lazy[OrganizationKey, *auth0.Organization]
	connectionsByOrg      lazy[string, []auth0.EnabledConnection]
	organizationsByUser   lazy[string, []auth0.Organization]
	membersByOrganization lazy[auth0.MembersKey, *auth0.MembersPage]
	userProfile           lazy[string, *auth0.User]
	groupsByPartition     lazy[identity.PartitionKey, []identity.Group]
	groupByID             lazy[identity.GroupKey, *identity.Group]

	// orgs is the request's record of the organizations it has received, by
	// id and by name, and of their fetches in flight (organizations.go).
	orgs organizationTracker
}

// lazy is a dataloader made on its first use: most requests touch two or
// three of the nine edges.
type lazy[K comparable, V any] struct {
	once   sync.Once
	loader *dataloader.Loader[K, V]
}

func (z *lazy[K, V]) get(batch dataloader.BatchFunc[K, V]) *dataloader.Loader[K, V] {
	return z.getWaiting(batch, batchWait)
}

func (z *lazy[K, V]) getWaiting(batch dataloader.BatchFunc[K, V], wait time.Duration) *dataloader.Loader[K, V] {
	z.once.Do(func() {
		z.loader = dataloader.NewBatchedLoader(batch,
			dataloader.WithWait[K, V](wait),
			dataloader.WithBatchCapacity[K, V](batchCapacity),
			dataloader.WithInputCapacity[K, V](batchCapacity),
		)
	})
	return z.loader
}

// ErrGroupsDisabled means no identity upstream is configured.
var ErrGroupsDisabled = errors.New("loaders: groups are disabled (IDENTITY_BASE_URL is not set)")

// New builds a fresh set of loaders for one request.
func New(up Upstreams) *Loaders {
	return &Loaders{up: up}
}

// batchOf turns a client's many-key call into a dataloader batch function:
// exactly one result per key, in key order, and a 404 turned into a zero
// value (null) rather than an error.
func batchOf[K comparable, V any](many func(context.Context, []K) []upstream.Result[V]) dataloader.BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*dataloader.Result[V] {
		res := many(ctx, keys)
		out := make([]*dataloader.Result[V], len(keys))
		for i, r := range res {
			out[i] = &dataloader.Result[V]{Data: r.Value, Error: r.Err}
		}
		return out
	}
}

// single loads one key: from the in-process tier when it holds the key
// (peek: no batching, no wait), else through the request's dataloader, which
// memoizes it and batches it with the keys siblings ask for at the same
// moment.
func single[K comparable, V any](ctx context.Context, key K, peek func(context.Context, K) (upstream.Result[V], bool), loader func() *dataloader.Loader[K, V]) (V, error) {
	if r, ok := peek(ctx, key); ok {
		return r.Value, r.Err
	}
	return loader().Load(ctx, key)()
}

// level answers a whole level of keys in one client call: repeated keys are
// asked once, and each result goes back to every position that asked for it.
// errs is nil when nothing failed.
func level[K comparable, V any](ctx context.Context, keys []K, many func(context.Context, []K) []upstream.Result[V]) (values []V, errs []error) {
	unique := make([]K, 0, len(keys))
	pos := make([]int, len(keys))
	seen := make(map[K]int, len(keys))
	for i, k := range keys {
		j, ok := seen[k]
		if !ok {
			j = len(unique)
			seen[k] = j
			unique = append(unique, k)
		}
		pos[i] = j
	}
	res := many(ctx, unique)
	values = make([]V, len(keys))
	for i, j := range pos {
		r := res[j]
		if r.Err != nil {
			if errs == nil {
				errs = make([]error, len(keys))
			}
			errs[i] = r.Err
			continue
		}
		values[i] = r.Value
	}
	return values, errs
}

func (l *Loaders) organizationsPageLoader() *dataloader.Loader[auth0.PageKey, *auth0.OrganizationsPage] {
	return l.organizationsPage.getWaiting(batchOf(func(ctx context.Context, keys []auth0.PageKey) []upstream.Result[*auth0.OrganizationsPage] {
		res := l.up.Auth0.OrganizationsPages(ctx, keys)
		for _, r := range res {
			if r.Value != nil {
				l.recordOrganizations(r.Value.Organizations)
			}
		}
		return res
	}), rootOnlyWait)
}

// OrganizationsPage loads one checkpoint page of the tenant's organizations
// and records its items for the organization lookups; an empty page when the
// upstream has none.
func (l *Loaders) OrganizationsPage(ctx context.Context, key auth0.PageKey) (*auth0.OrganizationsPage, error) {
	p, err := single(ctx, key, l.up.Auth0.PeekOrganizationsPage, l.organizationsPageLoader)
	if p == nil && err == nil {
		p = &auth0.OrganizationsPage{}
	}
	return p, err
}

// OrganizationCount loads the tenant's organization count.
func (l *Loaders) OrganizationCount(ctx context.Context) (int, error) {
	loader := l.organizationCount.getWaiting(func(ctx context.Context, keys []struct{}) []*dataloader.Result[int] {
		n, err := l.up.Auth0.CountOrganizations(ctx)
		out := make([]*dataloader.Result[int], len(keys))
		for i := range out {
			out[i] = &dataloader.Result[int]{Data: n, Error: err}
		}
		return out
	}, rootOnlyWait)
	return loader.Load(ctx, struct{}{})()
}

// OrganizationByID loads one organization by id; nil when there is none.
func (l *Loaders) OrganizationByID(ctx context.Context, id string) (*auth0.Organization, error) {
	if r, ok := l.up.Auth0.PeekOrganizationByID(ctx, id); ok {
		return r.Value, r.Err
	}
	return l.organizationByKey(ctx, lookupByID, id)
}

// OrganizationsByIDs loads a level of organizations by id (federation's
// _entities) in one client call, not through the dataloader, whose timer
// could split a long level in two. It shares OrganizationByID's record of
// the request's organizations: an id seen before in the request costs
// nothing, and what it fetches answers later lookups. nil where there is none.
func (l *Loaders) OrganizationsByIDs(ctx context.Context, ids []string) ([]*auth0.Organization, []error) {
	return level(ctx, ids, func(ctx context.Context, unique []string) []upstream.Result[*auth0.Organization] {
		keys := make([]OrganizationKey, len(unique))
		for i, id := range unique {
			keys[i] = OrganizationKey{ID: id}
		}
		res := l.fetchOrganizations(ctx, keys)
		out := make([]upstream.Result[*auth0.Organization], len(res))
		for i, r := range res {
			out[i] = upstream.Result[*auth0.Organization]{Value: r.Data, Err: r.Error}
		}
		return out
	})
}

// OrganizationByName loads one organization by name; nil when there is none.
func (l *Loaders) OrganizationByName(ctx context.Context, name string) (*auth0.Organization, error) {
	if r, ok := l.up.Auth0.PeekOrganizationByName(ctx, name); ok {
		return r.Value, r.Err
	}
	return l.organizationByKey(ctx, lookupByName, name)
}

// ConnectionsByOrganizationID loads one organization's enabled connections.
func (l *Loaders) ConnectionsByOrganizationID(ctx context.Context, orgID string) ([]auth0.EnabledConnection, error) {
	return single(ctx, orgID, l.up.Auth0.PeekEnabledConnections, func() *dataloader.Loader[string, []auth0.EnabledConnection] {
		return l.connectionsByOrg.get(batchOf(l.up.Auth0.EnabledConnections))
	})
}

// ConnectionsOfOrganizations loads the enabled connections of a level of
// organizations in one call.
func (l *Loaders) ConnectionsOfOrganizations(ctx context.Context, orgIDs []string) ([][]auth0.EnabledConnection, []error) {
	return level(ctx, orgIDs, l.up.Auth0.EnabledConnections)
}

func (l *Loaders) userOrganizations(ctx context.Context, userIDs []string) []upstream.Result[[]auth0.Organization] {
	res := l.up.Auth0.UserOrganizations(ctx, userIDs)
	for _, r := range res {
		l.recordOrganizations(r.Value)
	}
	return res
}

// OrganizationsByUserID loads the organizations a user belongs to and records
// them for the organization lookups.
func (l *Loaders) OrganizationsByUserID(ctx context.Context, userID string) ([]auth0.Organization, error) {
	return single(ctx, userID, l.up.Auth0.PeekUserOrganizations, func() *dataloader.Loader[string, []auth0.Organization] {
		return l.organizationsByUser.get(batchOf(l.userOrganizations))
	})
}

// OrganizationsOfUsers loads the organizations of a level of users in one
// call and records them for the organization lookups.
func (l *Loaders) OrganizationsOfUsers(ctx context.Context, userIDs []string) ([][]auth0.Organization, []error) {
	return level(ctx, userIDs, l.userOrganizations)
}

func (l *Loaders) membersLoader() *dataloader.Loader[auth0.MembersKey, *auth0.MembersPage] {
	return l.membersByOrganization.get(batchOf(l.up.Auth0.MembersPages))
}

// MembersPage loads one page of an organization's members; an empty page
// when the organization does not exist.
func (l *Loaders) MembersPage(ctx context.Context, k auth0.MembersKey) (*auth0.MembersPage, error) {
	p, err := single(ctx, k, l.up.Auth0.PeekMembersPage, l.membersLoader)
	if p == nil && err == nil {
		p = &auth0.MembersPage{}
	}
	return p, err
}

// PrimeMembersPages loads a level of members pages in one call and keeps
// them for the request, so MembersPage answers them without a call: the
// first page of every organization of a list, before each is paged.
func (l *Loaders) PrimeMembersPages(ctx context.Context, keys []auth0.MembersKey) {
	pages, errs := level(ctx, keys, l.up.Auth0.MembersPages)
	loader := l.membersLoader()
	for i, k := range keys {
		if errs == nil || errs[i] == nil {
			loader.Prime(ctx, k, pages[i])
		}
	}
}

// UserProfileByID loads a user's profile; nil when the user does not exist.
func (l *Loaders) UserProfileByID(ctx context.Context, userID string) (*auth0.User, error) {
	return single(ctx, userID, l.up.Auth0.PeekUser, func() *dataloader.Loader[string, *auth0.User] {
		return l.userProfile.get(batchOf(l.up.Auth0.Users))
	})
}

// UserProfilesByIDs loads the profiles of a level of users in one call;
// nil where a user does not exist.
func (l *Loaders) UserProfilesByIDs(ctx context.Context, userIDs []string) ([]*auth0.User, []error) {
	return level(ctx, userIDs, l.up.Auth0.Users)
}

// GroupsByPartition loads all groups of a UiPath organization; nil when the
// partition does not exist.
func (l *Loaders) GroupsByPartition(ctx context.Context, k identity.PartitionKey) ([]identity.Group, error) {
	if l.up.Identity == nil {
		return nil, ErrGroupsDisabled
	}
	return single(ctx, k, l.up.Identity.PeekGroups, func() *dataloader.Loader[identity.PartitionKey, []identity.Group] {
		return l.groupsByPartition.get(batchOf(l.up.Identity.Groups))
	})
}

// GroupsOfPartitions loads the groups of a level of UiPath organizations in
// one call; organizations of a list often share a partition, which is
// asked for once.
func (l *Loaders) GroupsOfPartitions(ctx context.Context, keys []identity.PartitionKey) ([][]identity.Group, []error) {
	if l.up.Identity == nil {
		errs := make([]error, len(keys))
		for i := range errs {
			errs[i] = ErrGroupsDisabled
		}
		return make([][]identity.Group, len(keys)), errs
	}
	return level(ctx, keys, l.up.Identity.Groups)
}

// GroupByID loads one group; nil when there is none.
func (l *Loaders) GroupByID(ctx context.Context, k identity.GroupKey) (*identity.Group, error) {
	if l.up.Identity == nil {
		return nil, ErrGroupsDisabled
	}
	return single(ctx, k, l.up.Identity.PeekGroup, func() *dataloader.Loader[identity.GroupKey, *identity.Group] {
		return l.groupByID.get(batchOf(l.up.Identity.GroupsByID))
	})
}

// GroupsEnabled reports whether an identity upstream is configured.
func (l *Loaders) GroupsEnabled() bool { return l.up.Identity != nil }

// GroupsNeedOrganizationName reports whether identity calls must name the
// UiPath organization (the base URL is per organization).
func (l *Loaders) GroupsNeedOrganizationName() bool {
	return l.up.Identity != nil && l.up.Identity.NeedsOrganizationName()
}

type ctxKey struct{}

// Middleware gives every request its own Loaders.
func Middleware(up Upstreams, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(WithLoaders(r.Context(), New(up))))
	})
}

// WithLoaders returns ctx carrying l.
func WithLoaders(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// ErrNoLoaders means a resolver ran outside Middleware: a wiring bug.
var ErrNoLoaders = errors.New("loaders: none in context (request did not pass loaders.Middleware)")

// For returns the request's loaders.
func For(ctx context.Context) (*Loaders, error) {
	l, ok := ctx.Value(ctxKey{}).(*Loaders)
	if !ok {
		return nil, ErrNoLoaders
	}
	return l, nil
}
