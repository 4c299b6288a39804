// Package upstreamsim is an in-process HTTP imitation of the two REST services orgraph sits on: the
// Auth0 Management API v2 and the UiPath Identity API.
//
// It exists so that the gateway's tests, its demo mode and load tools can run against the real wire
// behaviour of those services (paging quirks, omitted fields, verbatim error bodies, token and scope
// checks, rate-limit headers, 429s) without a tenant or network access, and so that tests can assert
// exactly how many upstream calls the gateway made. Behaviour follows the upstream contract and the
// recorded bodies it cites; where the real services disagree with their own documentation, the
// simulator does what the services do.
//
// One [Simulator] serves both upstreams from one [http.Handler]: Auth0 routes live under /api/v2 and
// /oauth/token at the server root, Identity routes under /{organizationName}/identity_ (or the
// host-level /identity_), and test controls under /_sim.
package upstreamsim

import (
	"context"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config shapes one simulator. The zero value is useful: built-in data only, no latency, no rate
// limit and no token checks, which is what the demo mode and most tests want.
type Config struct {
	// Seed makes generated data reproducible, so a failing load run can be replayed; 0 means 1.
	Seed int64
	// Organizations is the number of generated Auth0 organizations added after the built-in ones,
	// enough of them (more than 1000) to force checkpoint paging.
	Organizations int
	// Users is the number of generated Auth0 users.
	Users int
	// MembershipsPerUser is how many distinct generated organizations each generated user joins.
	MembershipsPerUser int
	// ConnectionsPerOrg is how many enabled connections each generated organization has.
	ConnectionsPerOrg int
	// Partitions is the number of generated UiPath organizations (partitions); generated Auth0
	// organization i points at partition i % Partitions through its metadata. 0 leaves generated
	// organizations without partition metadata.
	Partitions int
	// GroupsPerPartition is the number of custom groups in each generated partition, besides the
	// built-in Everyone and Administrators groups.
	GroupsPerPartition int
	// MembersPerGroup is the number of DirectoryUser members of each generated custom group.
	MembersPerGroup int
	// Latency is added to every upstream response, so timeouts and concurrency can be exercised.
	Latency time.Duration
	// RatePerSecond is the token-bucket refill rate of each upstream (Auth0 and Identity have one
	// bucket each); 0 disables rate limiting and the X-RateLimit-* headers.
	RatePerSecond float64
	// Burst is the bucket size; 0 means max(1, ceil(RatePerSecond)).
	Burst int
	// Auth0Clients are the client credentials POST /oauth/token accepts, keyed by client id.
	Auth0Clients map[string]Client
	// IdentityClients are the client credentials POST .../identity_/connect/token accepts.
	IdentityClients map[string]Client
	// Auth0Tokens are static bearer tokens and their scopes. When both Auth0Tokens and Auth0Clients
	// are nil, Auth0 routes accept requests without any token.
	Auth0Tokens map[string][]string
	// IdentityTokens are static bearer tokens for the Identity API; nil together with
	// IdentityClients means Identity routes need no token.
	IdentityTokens map[string][]string
	// TokenTTL is the expires_in of issued tokens (and when they stop working); 0 means the
	// upstreams' defaults, 86400s for Auth0 and 3600s for Identity.
	TokenTTL time.Duration
}

// Client is one registered machine-to-machine application: its secret and the scopes its grant
// allows, which end up in the issued token.
type Client struct {
	Secret string
	Scopes []string
}

// Route keys name what Count, Counts and /_sim/counters report: "<upstream> <METHOD> <template>".
// They are fixed strings because tests in other packages assert exact upstream call counts by them.
const (
	RouteOrganizations      = "auth0 GET /api/v2/organizations"
	RouteOrganization       = "auth0 GET /api/v2/organizations/{id}"
	RouteOrganizationByName = "auth0 GET /api/v2/organizations/name/{name}"
	RouteEnabledConnections = "auth0 GET /api/v2/organizations/{id}/enabled_connections"
	RouteEnabledConnection  = "auth0 GET /api/v2/organizations/{id}/enabled_connections/{connectionId}"
	RouteMembers            = "auth0 GET /api/v2/organizations/{id}/members"
	RouteUserOrganizations  = "auth0 GET /api/v2/users/{id}/organizations"
	RouteUser               = "auth0 GET /api/v2/users/{id}"
	RouteAuth0Token         = "auth0 POST /oauth/token"
	RouteGroups             = "identity GET /api/Group/{partitionGlobalId}"
	RouteGroup              = "identity GET /api/Group/{partitionGlobalId}/{groupId}"
	RouteGroupMembers       = "identity GET /api/Group/{partitionGlobalId}/{groupId}/Members"
	RouteIdentityUser       = "identity GET /api/User/{userId}"
	RouteIdentityToken      = "identity POST /connect/token"
)

// Simulator is one pair of simulated upstreams with its data, counters and fault switches. All
// methods are safe for concurrent use, including while the handler serves requests.
type Simulator struct {
	// dsp is the data: read-only once published, and replaced whole by a
	// change (mutate.go), so handlers read it without locks.
	dsp     atomic.Pointer[Dataset]
	handler http.Handler

	latency     atomic.Int64 // nanoseconds
	counters    [numRoutes]atomic.Int64
	unknown     sync.Map // unknown route key -> *atomic.Int64
	total       atomic.Int64
	rateLimited atomic.Int64

	faultMu sync.Mutex
	faults  atomic.Pointer[map[string]int]

	auth0Bucket    *bucket
	identityBucket *bucket
	auth0Auth      *tokenStore
	identityAuth   *tokenStore

	mutateMu sync.Mutex // one change at a time
	webhook  atomic.Pointer[webhook]
}

// New builds the dataset (built-in plus generated), indexes it and returns a ready simulator. All
// expensive work happens here so the request path only does map lookups and slicing.
func New(cfg Config) *Simulator {
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	s := &Simulator{}
	s.dsp.Store(buildDataset(cfg))
	s.latency.Store(int64(cfg.Latency))
	if cfg.RatePerSecond > 0 {
		burst := cfg.Burst
		if burst <= 0 {
			burst = max(1, int(math.Ceil(cfg.RatePerSecond)))
		}
		s.auth0Bucket = newBucket(cfg.RatePerSecond, burst)
		s.identityBucket = newBucket(cfg.RatePerSecond, burst)
	}
	auth0TTL, identityTTL := 86400*time.Second, 3600*time.Second
	if cfg.TokenTTL > 0 {
		auth0TTL, identityTTL = cfg.TokenTTL, cfg.TokenTTL
	}
	s.auth0Auth = newTokenStore(cfg.Auth0Tokens, cfg.Auth0Clients, auth0TTL)
	s.identityAuth = newTokenStore(cfg.IdentityTokens, cfg.IdentityClients, identityTTL)
	s.handler = http.HandlerFunc(s.serve)
	return s
}

// Handler returns the single handler for both upstreams and the /_sim control routes, so one
// httptest server (one base URL) stands in for both services.
func (s *Simulator) Handler() http.Handler { return s.handler }

// Dataset returns the simulated data so tests can compute expected answers. It is shared with the
// handler: treat it as read-only. A change through the simulator's own API replaces it: ask again
// after one.
func (s *Simulator) Dataset() *Dataset { return s.dsp.Load() }

// Count reports how many requests a route key (one of the Route* constants, or an
// "<upstream> <METHOD> unknown" key) received since the last Reset.
func (s *Simulator) Count(route string) int64 {
	if id, ok := routeByKey[route]; ok {
		return s.counters[id].Load()
	}
	if c, ok := s.unknown.Load(route); ok {
		return c.(*atomic.Int64).Load()
	}
	return 0
}

// Counts snapshots every route key with a non-zero count, for diagnostics and /_sim/counters.
func (s *Simulator) Counts() map[string]int64 {
	out := make(map[string]int64)
	for id := range s.counters {
		if n := s.counters[id].Load(); n > 0 {
			out[routeKeys[id]] = n
		}
	}
	s.unknown.Range(func(k, v any) bool {
		if n := v.(*atomic.Int64).Load(); n > 0 {
			out[k.(string)] = n
		}
		return true
	})
	return out
}

// Total counts upstream data requests: everything except the two token endpoints and /_sim, so a
// test can assert "no upstream call" without caring how tokens were obtained.
func (s *Simulator) Total() int64 { return s.total.Load() }

// RateLimited counts 429 responses sent (by the buckets or by a 429 fault).
func (s *Simulator) RateLimited() int64 { return s.rateLimited.Load() }

// Reset zeroes all counters so one simulator can serve several test phases.
func (s *Simulator) Reset() {
	for id := range s.counters {
		s.counters[id].Store(0)
	}
	s.unknown.Range(func(_, v any) bool {
		v.(*atomic.Int64).Store(0)
		return true
	})
	s.total.Store(0)
	s.rateLimited.Store(0)
}

// SetFault makes every request whose escaped URL path equals path answer status with that
// upstream's realistic error body, to test the gateway's error mapping. Faulted requests are still
// counted and still pay latency and rate limits.
func (s *Simulator) SetFault(path string, status int) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	next := make(map[string]int)
	if cur := s.faults.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	next[path] = status
	s.faults.Store(&next)
}

// ClearFaults removes every fault set by SetFault.
func (s *Simulator) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults.Store(nil)
}

// RevokeTokens invalidates every token issued so far by both token endpoints (static tokens stay
// valid), to test that the gateway fetches a new token once after a 401.
func (s *Simulator) RevokeTokens() {
	s.auth0Auth.revoke()
	s.identityAuth.revoke()
}

// SetLatency changes the added latency while the simulator runs, e.g. to provoke timeouts midway
// through a test.
func (s *Simulator) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

func (s *Simulator) fault(path string) (int, bool) {
	m := s.faults.Load()
	if m == nil {
		return 0, false
	}
	st, ok := (*m)[path]
	return st, ok
}

func (s *Simulator) count(m *match) {
	if m.id != routeUnknown {
		s.counters[m.id].Add(1)
	} else {
		c, ok := s.unknown.Load(m.key)
		if !ok {
			c, _ = s.unknown.LoadOrStore(m.key, new(atomic.Int64))
		}
		c.(*atomic.Int64).Add(1)
	}
	if m.id != routeAuth0Token && m.id != routeIdentityToken {
		s.total.Add(1)
	}
}

// serve is the whole request pipeline: count, wait, rate-limit, fault, authenticate, answer.
func (s *Simulator) serve(w http.ResponseWriter, r *http.Request) {
	esc := r.URL.EscapedPath()
	if esc == "/_sim" || strings.HasPrefix(esc, "/_sim/") {
		s.control(w, r, esc)
		return
	}
	m := matchRoute(r.Method, esc)
	s.count(&m)

	if !wait(r.Context(), time.Duration(s.latency.Load())) {
		return // the caller is gone; nobody reads an answer
	}

	var b *bucket
	switch m.up {
	case upAuth0:
		b = s.auth0Bucket
	case upIdentity:
		b = s.identityBucket
	}
	if m.id == routeAuth0Token || m.id == routeIdentityToken {
		b = nil // token endpoints have their own, much larger quota upstream
	}
	if b != nil {
		st := b.take(time.Now())
		st.setHeaders(w.Header())
		if !st.ok {
			s.tooMany(w, &m, st.retryAfter)
			return
		}
	}

	if status, ok := s.fault(esc); ok {
		s.writeFault(w, &m, status)
		return
	}

	switch m.up {
	case upAuth0:
		s.serveAuth0(w, r, &m)
	case upIdentity:
		s.serveIdentity(w, r, &m)
	default:
		http.NotFound(w, r)
	}
}

func (s *Simulator) tooMany(w http.ResponseWriter, m *match, retryAfter int64) {
	s.rateLimited.Add(1)
	w.Header().Set("Retry-After", itoa64(retryAfter))
	if m.up == upIdentity {
		writeRaw(w, http.StatusTooManyRequests, bodyIdentityTooManyRequests)
		return
	}
	writeRaw(w, http.StatusTooManyRequests, bodyAuth0TooManyRequests)
}

func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// control serves /_sim: counters for out-of-process load tools, and a reset between phases.
func (s *Simulator) control(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "/_sim/counters" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, struct {
			Total       int64            `json:"total"`
			RateLimited int64            `json:"rateLimited"`
			Routes      map[string]int64 `json:"routes"`
		}{s.Total(), s.RateLimited(), s.Counts()})
	case path == "/_sim/reset" && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "/_sim/organizations/") || strings.HasPrefix(path, "/_sim/users/") || path == "/_sim/organizations":
		s.changeHandler(w, r, path)
	default:
		http.NotFound(w, r)
	}
}

// orgOrder returns organization indexes for an offset-mode sort key, building all orderings on
// first use so simulators that never sort pay nothing.
func (s *Simulator) orgOrder(key string) []int {
	ds := s.Dataset()
	ds.sortOnce.Do(func() {
		orgs := ds.Organizations
		ds.orders = make(map[string][]int)
		build := func(less func(a, b *Organization) bool) []int {
			idx := make([]int, len(orgs))
			for i := range idx {
				idx[i] = i
			}
			sort.SliceStable(idx, func(i, j int) bool { return less(&orgs[idx[i]], &orgs[idx[j]]) })
			return idx
		}
		ds.orders["name"] = build(func(a, b *Organization) bool { return a.Name < b.Name })
		ds.orders["display_name"] = build(func(a, b *Organization) bool { return a.DisplayName < b.DisplayName })
	})
	return ds.orders[key]
}
