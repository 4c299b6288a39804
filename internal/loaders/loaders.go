// Package loaders holds the per-request dataloaders through which every
// resolver reaches an upstream. A GraphQL query fans out into many sibling
// resolvers (50 organizations, each asking for its connections); the loaders
// collect their keys, answer repeated keys from the request's own memo, and
// fetch the rest together, so a query costs one upstream call per distinct
// resource it touches.
//
// Neither upstream can fetch many ids in one call, so a batch here is: the
// distinct keys of one tick, fetched concurrently up to a bound, each result
// returned in key order. Loaders are created for each request and never
// shared, because their batches run with the first caller's context and
// their memo must not outlive one request's view of the data.
package loaders

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/tracing/calls"
	"github.com/orgraph/orgraph/internal/upstream"
)

// batchWait is how long a loader collects keys before it fetches: not at
// all beyond the moment its batch goroutine is scheduled. gqlgen resolves the
// siblings of a list in goroutines that reach Load within microseconds, so a
// batch still gathers most of a level. Any non-zero wait is rounded up by Go's
// timers to about a millisecond, which measured as 1.1 ms added per level of
// nesting (a one-call query: 1.46 ms with a 50 µs wait, 0.30 ms with none;
// BenchmarkNestedQueries). Nothing needs fuller batches: neither upstream can
// fetch many ids in one call, and deduplication comes from the per-request
// memo, not from the batch.
const batchWait = 0

// batchCapacity caps one batch at the upstreams' largest page size, so a
// batch never holds more keys than one page of parents can produce and a
// cache multi-get stays bounded.
const batchCapacity = 100

// Upstreams are the clients and limits the loaders fetch with. They are
// shared by all requests; only the Loaders built from them are per request.
type Upstreams struct {
	Auth0    *auth0.Client
	Identity *identity.Client // nil when groups are disabled
	// Concurrency bounds the parallel upstream calls of one batch
	// (UPSTREAM_CONCURRENCY).
	Concurrency int
}

// PageKey identifies one checkpoint page of a list.
type PageKey struct {
	From string
	Take int
}

// MembersKey identifies one page of an organization's members; the paging
// arguments are part of the key because different pages are different data.
type MembersKey struct {
	OrganizationID string
	From           string
	Take           int
}

// PartitionKey identifies a UiPath organization's group list.
type PartitionKey struct {
	OrganizationName string
	PartitionID      string
}

// GroupKey identifies one group of a UiPath organization.
type GroupKey struct {
	OrganizationName string
	PartitionID      string
	GroupID          string
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
// value (nil or empty) with no error.
type Loaders struct {
	up Upstreams

	organizationsPage     *dataloader.Loader[PageKey, auth0.OrganizationsPage]
	organizationCount     *dataloader.Loader[struct{}, int]
	organization          *dataloader.Loader[OrganizationKey, *auth0.Organization]
	connectionsByOrg      *dataloader.Loader[string, []auth0.EnabledConnection]
	organizationsByUser   *dataloader.Loader[string, []auth0.Organization]
	membersByOrganization *dataloader.Loader[MembersKey, auth0.MembersPage]
	userProfile           *dataloader.Loader[string, *auth0.User]
	groupsByPartition     *dataloader.Loader[PartitionKey, []identity.Group]
	groupByID             *dataloader.Loader[GroupKey, *identity.Group]

	// orgs lets by-id and by-name lookups of one request answer each other:
	// root fields resolve concurrently, so the same organization can be asked
	// for both ways in different batches, in either order.
	orgs organizationTracker
}

// organizationTracker records the organizations a request has received, by
// id and by name, and how many fetches of each kind are in flight. A batch
// waits while fetches of the other kind are in flight, answers what they
// returned, and only then fetches the rest; whichever kind goes first, the
// other is answered from it. In-flight fetches never wait, so two batches
// cannot wait on each other.
type organizationTracker struct {
	mu       sync.Mutex
	changed  *sync.Cond
	fetching [2]int // batches fetching by id, by name
	byID     map[string]*auth0.Organization
	byName   map[string]*auth0.Organization
}

const (
	lookupByID = iota
	lookupByName
)

// ErrGroupsDisabled means no identity upstream is configured.
var ErrGroupsDisabled = errors.New("loaders: groups are disabled (IDENTITY_BASE_URL is not set)")

// New builds a fresh set of loaders for one request.
func New(up Upstreams) *Loaders {
	if up.Concurrency < 1 {
		up.Concurrency = 1
	}
	n := up.Concurrency
	a := up.Auth0
	l := &Loaders{up: up}
	l.orgs.byID = make(map[string]*auth0.Organization)
	l.orgs.byName = make(map[string]*auth0.Organization)
	l.orgs.changed = sync.NewCond(&l.orgs.mu)
	id := up.Identity
	l.organizationsPage = newLoader(n, edge[PageKey, auth0.OrganizationsPage]{
		compare:  comparePage,
		url:      func(k PageKey) string { return a.OrganizationsURL(k.From, k.Take) },
		prefetch: a.Prefetch,
		fetch: func(ctx context.Context, k PageKey) (auth0.OrganizationsPage, error) {
			page, err := a.Organizations(ctx, k.From, k.Take)
			if err == nil {
				l.primeOrganizations(ctx, page.Organizations)
			}
			return page, err
		},
	})
	l.organizationCount = newLoader(n, edge[struct{}, int]{
		compare: func(struct{}, struct{}) int { return 0 },
		fetch:   func(ctx context.Context, _ struct{}) (int, error) { return a.CountOrganizations(ctx) },
	})
	l.organization = dataloader.NewBatchedLoader(l.fetchOrganizations,
		dataloader.WithWait[OrganizationKey, *auth0.Organization](batchWait),
		dataloader.WithBatchCapacity[OrganizationKey, *auth0.Organization](batchCapacity),
	)
	l.connectionsByOrg = newLoader(n, edge[string, []auth0.EnabledConnection]{
		compare: strings.Compare, url: a.EnabledConnectionsURL, prefetch: a.Prefetch, fetch: a.EnabledConnections,
	})
	l.organizationsByUser = newLoader(n, edge[string, []auth0.Organization]{
		compare: strings.Compare, url: a.UserOrganizationsURL, prefetch: a.Prefetch,
		fetch: func(ctx context.Context, userID string) ([]auth0.Organization, error) {
			orgs, err := a.UserOrganizations(ctx, userID)
			if err == nil {
				l.primeOrganizations(ctx, orgs)
			}
			return orgs, err
		},
	})
	l.membersByOrganization = newLoader(n, edge[MembersKey, auth0.MembersPage]{
		compare:  compareMembers,
		url:      func(k MembersKey) string { return a.MembersURL(k.OrganizationID, k.From, k.Take) },
		prefetch: a.Prefetch,
		fetch: func(ctx context.Context, k MembersKey) (auth0.MembersPage, error) {
			return a.Members(ctx, k.OrganizationID, k.From, k.Take)
		},
	})
	l.userProfile = newLoader(n, edge[string, *auth0.User]{
		compare: strings.Compare, url: a.UserURL, prefetch: a.Prefetch, fetch: a.User,
	})
	if id != nil {
		l.groupsByPartition = newLoader(n, edge[PartitionKey, []identity.Group]{
			compare: comparePartition,
			url: func(k PartitionKey) string {
				u, _ := id.GroupsURL(k.OrganizationName, k.PartitionID)
				return u
			},
			prefetch: id.Prefetch,
			fetch: func(ctx context.Context, k PartitionKey) ([]identity.Group, error) {
				return id.Groups(ctx, k.OrganizationName, k.PartitionID)
			},
		})
		l.groupByID = newLoader(n, edge[GroupKey, *identity.Group]{
			compare: compareGroup,
			url: func(k GroupKey) string {
				u, _ := id.GroupURL(k.OrganizationName, k.PartitionID, k.GroupID)
				return u
			},
			prefetch: id.Prefetch,
			fetch: func(ctx context.Context, k GroupKey) (*identity.Group, error) {
				return id.Group(ctx, k.OrganizationName, k.PartitionID, k.GroupID)
			},
		})
	}
	return l
}

// OrganizationsPage loads one checkpoint page of the tenant's organizations
// and primes the organization lookups with its items.
func (l *Loaders) OrganizationsPage(ctx context.Context, from string, take int) (auth0.OrganizationsPage, error) {
	return l.organizationsPage.Load(ctx, PageKey{From: from, Take: take})()
}

// OrganizationCount loads the tenant's organization count.
func (l *Loaders) OrganizationCount(ctx context.Context) (int, error) {
	return l.organizationCount.Load(ctx, struct{}{})()
}

// OrganizationByID loads one organization by id; nil when there is none.
func (l *Loaders) OrganizationByID(ctx context.Context, id string) (*auth0.Organization, error) {
	return l.organization.Load(ctx, OrganizationKey{ID: id})()
}

// OrganizationByName loads one organization by name; nil when there is none.
func (l *Loaders) OrganizationByName(ctx context.Context, name string) (*auth0.Organization, error) {
	return l.organization.Load(ctx, OrganizationKey{Name: name})()
}

// ConnectionsByOrganizationID loads an organization's enabled connections.
func (l *Loaders) ConnectionsByOrganizationID(ctx context.Context, orgID string) ([]auth0.EnabledConnection, error) {
	return l.connectionsByOrg.Load(ctx, orgID)()
}

// OrganizationsByUserID loads the organizations a user belongs to and primes
// the organization lookups with them.
func (l *Loaders) OrganizationsByUserID(ctx context.Context, userID string) ([]auth0.Organization, error) {
	return l.organizationsByUser.Load(ctx, userID)()
}

// MembersByOrganization loads one page of an organization's members.
func (l *Loaders) MembersByOrganization(ctx context.Context, k MembersKey) (auth0.MembersPage, error) {
	return l.membersByOrganization.Load(ctx, k)()
}

// UserProfileByID loads a user's profile; nil when the user does not exist.
func (l *Loaders) UserProfileByID(ctx context.Context, userID string) (*auth0.User, error) {
	return l.userProfile.Load(ctx, userID)()
}

// GroupsByPartition loads all groups of a UiPath organization; nil when the
// partition does not exist.
func (l *Loaders) GroupsByPartition(ctx context.Context, k PartitionKey) ([]identity.Group, error) {
	if l.up.Identity == nil {
		return nil, ErrGroupsDisabled
	}
	return l.groupsByPartition.Load(ctx, k)()
}

// GroupByID loads one group; nil when there is none.
func (l *Loaders) GroupByID(ctx context.Context, k GroupKey) (*identity.Group, error) {
	if l.up.Identity == nil {
		return nil, ErrGroupsDisabled
	}
	return l.groupByID.Load(ctx, k)()
}

// GroupsEnabled reports whether an identity upstream is configured.
func (l *Loaders) GroupsEnabled() bool { return l.up.Identity != nil }

// GroupsNeedOrganizationName reports whether identity calls must name the
// UiPath organization (the base URL is per organization).
func (l *Loaders) GroupsNeedOrganizationName() bool {
	return l.up.Identity != nil && l.up.Identity.NeedsOrganizationName()
}

// primeOrganizations records organizations that arrived inside a list, so
// asking for one of them again by id or by name costs nothing.
func (l *Loaders) primeOrganizations(ctx context.Context, orgs []auth0.Organization) {
	for i := range orgs {
		l.primeOrganization(ctx, &orgs[i])
	}
}

func (l *Loaders) primeOrganization(ctx context.Context, o *auth0.Organization) {
	l.orgs.mu.Lock()
	defer l.orgs.mu.Unlock()
	if o.ID != "" {
		l.orgs.byID[o.ID] = o
		l.organization.Prime(ctx, OrganizationKey{ID: o.ID}, o)
	}
	if o.Name != "" {
		l.orgs.byName[o.Name] = o
		l.organization.Prime(ctx, OrganizationKey{Name: o.Name}, o)
	}
}

// fetchOrganizations is the organization loader's batch function: the ids,
// then the names, each through fetchOrganizationsBy. Waiting for the other
// kind costs one round trip of latency, but only when a query asks for
// organizations by id and by name at once, and it never spends an upstream
// call twice on one organization.
func (l *Loaders) fetchOrganizations(ctx context.Context, keys []OrganizationKey) []*dataloader.Result[*auth0.Organization] {
	ctx, flush := upstream.StartBatch(ctx)
	defer flush()
	ctx = calls.WithBatchSize(ctx, len(keys))
	urls := make([]string, len(keys))
	for i, k := range keys {
		if k.ID != "" {
			urls[i] = l.up.Auth0.OrganizationURL(k.ID)
		} else {
			urls[i] = l.up.Auth0.OrganizationByNameURL(k.Name)
		}
	}
	l.up.Auth0.Prefetch(ctx, urls)
	results := make([]*dataloader.Result[*auth0.Organization], len(keys))
	var ids, names []int
	for i, k := range keys {
		if k.ID != "" {
			ids = append(ids, i)
		} else {
			names = append(names, i)
		}
	}
	if len(keys) > l.up.Concurrency {
		byKey := func(a, b int) int {
			return cmp.Or(strings.Compare(keys[a].ID, keys[b].ID), strings.Compare(keys[a].Name, keys[b].Name))
		}
		slices.SortFunc(ids, byKey)
		slices.SortFunc(names, byKey)
	}
	l.fetchOrganizationsBy(ctx, lookupByID, keys, ids, results)
	l.fetchOrganizationsBy(ctx, lookupByName, keys, names, results)
	return results
}

func (l *Loaders) fetchOrganizationsBy(ctx context.Context, kind int, keys []OrganizationKey, idx []int, results []*dataloader.Result[*auth0.Organization]) {
	if len(idx) == 0 {
		return
	}
	t := &l.orgs
	t.mu.Lock()
	for t.fetching[1-kind] > 0 {
		t.changed.Wait() // bounded by UPSTREAM_TIMEOUT of the fetches awaited
	}
	rest := make([]int, 0, len(idx))
	for _, i := range idx {
		known, ok := t.byID[keys[i].ID]
		if kind == lookupByName {
			known, ok = t.byName[keys[i].Name]
		}
		if ok {
			results[i] = &dataloader.Result[*auth0.Organization]{Data: known}
		} else {
			rest = append(rest, i)
		}
	}
	if len(rest) == 0 {
		t.mu.Unlock()
		return
	}
	t.fetching[kind]++
	t.mu.Unlock()

	each(l.up.Concurrency, rest, func(i int) {
		if kind == lookupByID {
			results[i] = result(l.up.Auth0.Organization(ctx, keys[i].ID))
		} else {
			results[i] = result(l.up.Auth0.OrganizationByName(ctx, keys[i].Name))
		}
	})
	for _, i := range rest {
		if o := results[i].Data; o != nil {
			l.primeOrganization(ctx, o)
		}
	}
	t.mu.Lock()
	t.fetching[kind]--
	t.changed.Broadcast()
	t.mu.Unlock()
}

// edge describes one upstream edge to newLoader: how to fetch one key, the
// canonical order of keys, and, for the cache, each key's URL and the
// client that reads many cached URLs in one round trip.
type edge[K comparable, V any] struct {
	fetch    func(context.Context, K) (V, error)
	compare  func(a, b K) int
	url      func(K) string
	prefetch func(context.Context, []string)
}

func newLoader[K comparable, V any](concurrency int, e edge[K, V]) *dataloader.Loader[K, V] {
	return dataloader.NewBatchedLoader(batchFunc(concurrency, e),
		dataloader.WithWait[K, V](batchWait),
		dataloader.WithBatchCapacity[K, V](batchCapacity),
	)
}

// batchFunc turns a fetch of one key into a batch function: exactly one
// result per key, in key order, at most concurrency fetches at once, and a
// 404 turned into a zero value (null) rather than an error. The loader's memo
// has already removed repeated keys. The batch reads its keys' cached
// responses in one round trip first and writes what it fetched in one
// round trip at its end.
//
// When a batch holds more keys than may run at once, they are fetched in the
// order compare gives rather than the order resolvers happened to ask in, so
// identical queries running side by side issue the same calls at the same
// moments and share them in flight.
func batchFunc[K comparable, V any](concurrency int, e edge[K, V]) dataloader.BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*dataloader.Result[V] {
		ctx, flush := upstream.StartBatch(ctx)
		defer flush()
		ctx = calls.WithBatchSize(ctx, len(keys))
		if e.url != nil && e.prefetch != nil {
			urls := make([]string, 0, len(keys))
			for _, k := range keys {
				if u := e.url(k); u != "" {
					urls = append(urls, u)
				}
			}
			e.prefetch(ctx, urls)
		}
		results := make([]*dataloader.Result[V], len(keys))
		idx := make([]int, len(keys))
		for i := range idx {
			idx[i] = i
		}
		if len(keys) > concurrency {
			slices.SortFunc(idx, func(a, b int) int { return e.compare(keys[a], keys[b]) })
		}
		each(concurrency, idx, func(i int) { results[i] = result(e.fetch(ctx, keys[i])) })
		return results
	}
}

func comparePage(a, b PageKey) int {
	return cmp.Or(strings.Compare(a.From, b.From), cmp.Compare(a.Take, b.Take))
}

func compareMembers(a, b MembersKey) int {
	return cmp.Or(strings.Compare(a.OrganizationID, b.OrganizationID), strings.Compare(a.From, b.From), cmp.Compare(a.Take, b.Take))
}

func comparePartition(a, b PartitionKey) int {
	return cmp.Or(strings.Compare(a.PartitionID, b.PartitionID), strings.Compare(a.OrganizationName, b.OrganizationName))
}

func compareGroup(a, b GroupKey) int {
	return cmp.Or(comparePartition(PartitionKey{a.OrganizationName, a.PartitionID}, PartitionKey{b.OrganizationName, b.PartitionID}), strings.Compare(a.GroupID, b.GroupID))
}

// each calls f for every index, at most concurrency at a time; a single
// index runs on the caller's goroutine.
func each(concurrency int, idx []int, f func(i int)) {
	switch len(idx) {
	case 0:
		return
	case 1:
		f(idx[0])
		return
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, i := range idx {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	wg.Wait()
}

func result[V any](v V, err error) *dataloader.Result[V] {
	if err != nil && upstream.IsNotFound(err) {
		var zero V
		return &dataloader.Result[V]{Data: zero}
	}
	return &dataloader.Result[V]{Data: v, Error: err}
}

type ctxKey struct{}

// Middleware gives every request its own Loaders.
func Middleware(up Upstreams, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := upstream.WithRequestStart(r.Context(), time.Now())
		next.ServeHTTP(w, r.WithContext(WithLoaders(ctx, New(up))))
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
