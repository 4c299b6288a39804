package loaders

import (
	"context"
	"sync"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/orgraph/orgraph/internal/auth0"
)

// organizationTracker is the request's one record of "the organization by id
// is the organization by name". Every organization the request receives, in
// a list or from a fetch either way, is kept under both keys, and a lookup
// either way is answered from it before it joins a batch. Root fields resolve
// concurrently, so the same organization can be asked for both ways in
// different batches, in either order: the tracker counts the fetches of each
// kind in flight, and a batch waits while fetches of the other kind are in
// flight, answers what they returned, and only then fetches the rest. In-flight
// fetches never wait, so two batches cannot wait on each other; a waiting batch
// whose request is cancelled stops waiting at once, which a sync.Cond could
// not do.
//
// Across requests the cache does the same with its related entries
// (internal/auth0): this record is what holds with caching off and while a
// fetch is still in flight.
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

// knownLocked is the organization the request has received under key, asked
// for by kind; t.mu is held.
func (t *organizationTracker) knownLocked(kind int, key string) (*auth0.Organization, bool) {
	if kind == lookupByName {
		o, ok := t.byName[key]
		return o, ok
	}
	o, ok := t.byID[key]
	return o, ok
}

// known is knownLocked for a lookup that has not joined a batch yet: an
// organization the request has received costs no batch wait, cached or not.
func (t *organizationTracker) known(kind int, key string) (*auth0.Organization, bool) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.knownLocked(kind, key)
}

// record keeps o under both its keys for the rest of the request.
func (t *organizationTracker) record(o *auth0.Organization) {
	t.init()
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.ID != "" {
		t.byID[o.ID] = o
	}
	if o.Name != "" {
		t.byName[o.Name] = o
	}
}

const (
	lookupByID = iota
	lookupByName
)

// recordOrganizations records organizations that arrived inside a list, so
// asking for one of them again by id or by name in this request costs
// nothing, cached or not. The values are the list's own, shared ones.
func (l *Loaders) recordOrganizations(orgs []auth0.Organization) {
	for i := range orgs {
		l.orgs.record(&orgs[i])
	}
}

// organizationByKey answers a lookup of kind from the tracker, else through
// the request's dataloader.
func (l *Loaders) organizationByKey(ctx context.Context, kind int, key string) (*auth0.Organization, error) {
	if o, ok := l.orgs.known(kind, key); ok {
		return o, nil
	}
	k := OrganizationKey{ID: key}
	if kind == lookupByName {
		k = OrganizationKey{Name: key}
	}
	return l.organization.get(l.fetchOrganizations).Load(ctx, k)()
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
	asked := make([]string, 0, len(idx))
	rest := make([]int, 0, len(idx))
	for _, i := range idx {
		key := keys[i].ID
		if kind == lookupByName {
			key = keys[i].Name
		}
		if known, ok := t.knownLocked(kind, key); ok {
			results[i] = &dataloader.Result[*auth0.Organization]{Data: known}
		} else {
			asked = append(asked, key)
			rest = append(rest, i)
		}
	}
	if len(rest) == 0 {
		t.mu.Unlock()
		return
	}
	t.begin(kind)
	t.mu.Unlock()

	got := l.up.Auth0.OrganizationsByID
	if kind == lookupByName {
		got = l.up.Auth0.OrganizationsByName
	}
	for j, r := range got(ctx, asked) {
		results[rest[j]] = &dataloader.Result[*auth0.Organization]{Data: r.Value, Error: r.Err}
		if r.Value != nil {
			t.record(r.Value)
		}
	}
	t.mu.Lock()
	t.end(kind)
	t.mu.Unlock()
}
