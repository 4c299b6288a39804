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

// batchWait is how long a loader collects keys before it fetches. gqlgen
// resolves the siblings of a list in parallel goroutines that reach Load
// within microseconds of each other, so a millisecond catches a whole level;
// v7's 16 ms default would add 16 ms per level of nesting to every query for
// no gain, since there is no batch endpoint to fill.
const batchWait = time.Millisecond

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

// Loaders are one request's loaders, one per upstream edge, named for what
// they load.
type Loaders struct {
	OrganizationsPage           *dataloader.Loader[PageKey, auth0.OrganizationsPage]
	OrganizationCount           *dataloader.Loader[struct{}, int]
	OrganizationByID            *dataloader.Loader[string, *auth0.Organization]
	OrganizationByName          *dataloader.Loader[string, *auth0.Organization]
	ConnectionsByOrganizationID *dataloader.Loader[string, []auth0.EnabledConnection]
	OrganizationsByUserID       *dataloader.Loader[string, []auth0.Organization]
	MembersByOrganization       *dataloader.Loader[MembersKey, auth0.MembersPage]
	UserProfileByID             *dataloader.Loader[string, *auth0.User]
	GroupsByPartition           *dataloader.Loader[PartitionKey, []identity.Group]
	GroupByID                   *dataloader.Loader[GroupKey, *identity.Group]

	// Identity is the UiPath client, exposed so resolvers can tell whether
	// groups are enabled and whether calls must name an organization.
	Identity *identity.Client
}

// ErrGroupsDisabled means no identity upstream is configured.
var ErrGroupsDisabled = errors.New("loaders: groups are disabled (IDENTITY_BASE_URL is not set)")

// New builds a fresh set of loaders for one request.
func New(up Upstreams) *Loaders {
	n := up.Concurrency
	if n < 1 {
		n = 1
	}
	a := up.Auth0
	l := &Loaders{Identity: up.Identity}
	l.OrganizationsPage = newLoader(n, func(ctx context.Context, k PageKey) (auth0.OrganizationsPage, error) {
		page, err := a.Organizations(ctx, k.From, k.Take)
		if err == nil {
			l.primeOrganizations(ctx, page.Organizations)
		}
		return page, err
	})
	l.OrganizationCount = newLoader(n, func(ctx context.Context, _ struct{}) (int, error) {
		return a.CountOrganizations(ctx)
	})
	l.OrganizationByID = newLoader(n, a.Organization)
	l.OrganizationByName = newLoader(n, a.OrganizationByName)
	l.ConnectionsByOrganizationID = newLoader(n, a.EnabledConnections)
	l.OrganizationsByUserID = newLoader(n, func(ctx context.Context, userID string) ([]auth0.Organization, error) {
		orgs, err := a.UserOrganizations(ctx, userID)
		if err == nil {
			l.primeOrganizations(ctx, orgs)
		}
		return orgs, err
	})
	l.MembersByOrganization = newLoader(n, func(ctx context.Context, k MembersKey) (auth0.MembersPage, error) {
		return a.Members(ctx, k.OrganizationID, k.From, k.Take)
	})
	l.UserProfileByID = newLoader(n, a.User)
	l.GroupsByPartition = newLoader(n, func(ctx context.Context, k PartitionKey) ([]identity.Group, error) {
		if up.Identity == nil {
			return nil, ErrGroupsDisabled
		}
		return up.Identity.Groups(ctx, k.OrganizationName, k.PartitionID)
	})
	l.GroupByID = newLoader(n, func(ctx context.Context, k GroupKey) (*identity.Group, error) {
		if up.Identity == nil {
			return nil, ErrGroupsDisabled
		}
		return up.Identity.Group(ctx, k.OrganizationName, k.PartitionID, k.GroupID)
	})
	return l
}

// primeOrganizations records organizations that arrived inside a list, so
// asking for one of them again by id or by name costs nothing.
func (l *Loaders) primeOrganizations(ctx context.Context, orgs []auth0.Organization) {
	for i := range orgs {
		o := &orgs[i]
		if o.ID != "" {
			l.OrganizationByID.Prime(ctx, o.ID, o)
		}
		if o.Name != "" {
			l.OrganizationByName.Prime(ctx, o.Name, o)
		}
	}
}

func newLoader[K comparable, V any](concurrency int, fetch func(context.Context, K) (V, error)) *dataloader.Loader[K, V] {
	return dataloader.NewBatchedLoader(batchFunc(concurrency, fetch),
		dataloader.WithWait[K, V](batchWait),
		dataloader.WithBatchCapacity[K, V](batchCapacity),
	)
}

// batchFunc turns a fetch of one key into a batch function: exactly one
// result per key, in key order, at most concurrency fetches at once, and a
// 404 turned into a zero value (null) rather than an error. The loader's memo
// has already removed repeated keys.
func batchFunc[K comparable, V any](concurrency int, fetch func(context.Context, K) (V, error)) dataloader.BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*dataloader.Result[V] {
		results := make([]*dataloader.Result[V], len(keys))
		if len(keys) == 1 {
			results[0] = result(fetch(ctx, keys[0]))
			return results
		}
		sem := make(chan struct{}, concurrency)
		var wg sync.WaitGroup
		for i, k := range keys {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				results[i] = result(fetch(ctx, k))
			}()
		}
		wg.Wait()
		return results
	}
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
