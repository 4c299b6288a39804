package loaders

import (
	"context"
	"sync"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/orgraph/orgraph/internal/auth0"
)

// organizationTracker records the organizations a request has received, by
// id and by name, and how many fetches of each kind are in flight. A batch
// waits while fetches of the other kind are in flight, answers what they
// returned, and only then fetches the rest; whichever kind goes first, the
// other is answered from it. In-flight fetches never wait, so two batches
// cannot wait on each other; a waiting batch whose request is cancelled stops
// waiting at once, which a sync.Cond could not do.
type organizationTracker struct {
	once     sync.Once
	mu       sync.Mutex
	fetching [2]int // batches fetching by id, by name
	// idle[kind] is closed when the fetches of kind in flight are all done;
	// a new one is made when the first of a new round starts.
	idle   [2]chan struct{}
	byID   map[string]*auth0.Organization
	byName map[string]*auth0.Organization
}

func (t *organizationTracker) init() {
	t.once.Do(func() {
		t.byID = make(map[string]*auth0.Organization)
		t.byName = make(map[string]*auth0.Organization)
	})
}

// begin records a fetch of kind in flight; t.mu is held.
func (t *organizationTracker) begin(kind int) {
	if t.fetching[kind] == 0 {
		t.idle[kind] = make(chan struct{})
	}
	t.fetching[kind]++
}

// end records a fetch of kind done, and wakes the waiters once none is left;
// t.mu is held.
func (t *organizationTracker) end(kind int) {
	t.fetching[kind]--
	if t.fetching[kind] == 0 {
		close(t.idle[kind])
	}
}

// awaitIdle returns, with t.mu held, once no fetch of kind is in flight, or
// with ctx's error (and t.mu released) when ctx ends first. t.mu is held on
// entry. The wait is bounded by UPSTREAM_TIMEOUT of the fetches awaited.
func (t *organizationTracker) awaitIdle(ctx context.Context, kind int) error {
	for t.fetching[kind] > 0 {
		idle := t.idle[kind]
		t.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
		t.mu.Lock()
	}
	return nil
}

const (
	lookupByID = iota
	lookupByName
)

// primeOrganizations records organizations that arrived inside a list, so
// asking for one of them again by id or by name in this request costs
// nothing, cached or not. The values are the list's own, shared ones.
func (l *Loaders) primeOrganizations(ctx context.Context, orgs []auth0.Organization) {
	for i := range orgs {
		l.primeOrganization(ctx, &orgs[i])
	}
}

func (l *Loaders) primeOrganization(ctx context.Context, o *auth0.Organization) {
	t := &l.orgs
	t.init()
	loader := l.organization.get(l.fetchOrganizations)
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.ID != "" {
		t.byID[o.ID] = o
		loader.Prime(ctx, OrganizationKey{ID: o.ID}, o)
	}
	if o.Name != "" {
		t.byName[o.Name] = o
		loader.Prime(ctx, OrganizationKey{Name: o.Name}, o)
	}
}

// fetchOrganizations is the organization loader's batch function: the ids,
// then the names, each kind in one client call. Waiting for the other kind
// costs one round trip of latency, but only when a query asks for
// organizations by id and by name at once, and it never spends an upstream
// call twice on one organization.
func (l *Loaders) fetchOrganizations(ctx context.Context, keys []OrganizationKey) []*dataloader.Result[*auth0.Organization] {
	results := make([]*dataloader.Result[*auth0.Organization], len(keys))
	var ids, names []int
	for i, k := range keys {
		if k.ID != "" {
			ids = append(ids, i)
		} else {
			names = append(names, i)
		}
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
	t.init()
	t.mu.Lock()
	if err := t.awaitIdle(ctx, 1-kind); err != nil {
		for _, i := range idx {
			results[i] = &dataloader.Result[*auth0.Organization]{Error: err}
		}
		return
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
	t.begin(kind)
	t.mu.Unlock()

	asked := make([]string, len(rest))
	for j, i := range rest {
		asked[j] = keys[i].ID
		if kind == lookupByName {
			asked[j] = keys[i].Name
		}
	}
	got := l.up.Auth0.OrganizationsByID
	if kind == lookupByName {
		got = l.up.Auth0.OrganizationsByName
	}
	for j, r := range got(ctx, asked) {
		results[rest[j]] = &dataloader.Result[*auth0.Organization]{Data: r.Value, Error: r.Err}
		if r.Value != nil {
			l.primeOrganization(ctx, r.Value)
		}
	}
	t.mu.Lock()
	t.end(kind)
	t.mu.Unlock()
}
