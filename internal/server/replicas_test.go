package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/testutil/wait"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestThreeReplicasStayWithinTheUpstreamLimit: three gateways share one
// Redis in front of one simulator that allows simRate requests/s per
// upstream. Clients drive a mix of warmed and never-seen queries at all
// three for a bounded time. The simulator never sends a 429 (the replicas
// share one budget, set a little under the upstream's limit to leave room
// for network jitter), warmed data is always answered in full, and data
// that cannot get budget before the deadline is RATE_LIMITED, nothing else.
//
// go test -v -run TestThreeReplicas ./internal/server prints the figures.
func TestThreeReplicasStayWithinTheUpstreamLimit(t *testing.T) {
	const (
		simRate  = 20.0
		budget   = "18" // UPSTREAM_RATE_LIMIT: 90% of the upstream's limit
		clients  = 9
		duration = 3 * time.Second
	)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Organizations: 60, Users: 12, MembershipsPerUser: 2, ConnectionsPerOrg: 2,
		Partitions: 3, GroupsPerPartition: 1, MembersPerGroup: 2,
		RatePerSecond: simRate,
	})
	redisEnv, _ := redistest.Env(t)
	env := with(with(testutil.UpstreamEnv(base), redisEnv), map[string]string{
		"UPSTREAM_RATE_LIMIT": budget,
		"REQUEST_TIMEOUT":     "1s",
	})
	var replicas []*testutil.Gateway
	for range 3 {
		replicas = append(replicas, testutil.StartGateway(t, env))
	}
	waitCountEachOther(t, replicas)

	type query struct {
		doc  string
		vars map[string]any
	}
	ds := sim.Dataset()
	var warmed, cold []query
	for _, u := range ds.Users[len(ds.Users)-4:] {
		warmed = append(warmed, query{flagshipQuery, map[string]any{"id": u.UserID}})
	}
	for _, o := range ds.Organizations[:6] {
		warmed = append(warmed, query{`query($id: ID!, $name: String!) { organization(id: $id) { id name connections { id } } organizationByName(name: $name) { displayName } }`,
			map[string]any{"id": o.ID, "name": o.Name}})
	}
	for _, o := range ds.Organizations[len(ds.Organizations)-40:] {
		cold = append(cold, query{`query($id: ID!) { organization(id: $id) { id connections { id } } }`, map[string]any{"id": o.ID}})
	}

	// Warm through each replica in turn (the first fetches, the others
	// mostly read what it wrote to Redis), retrying slowly when the budget
	// says no. Every replica then holds the warmed data in-process too, so a
	// Redis write lost to a slow moment cannot turn warmed data cold.
	answers := map[int]string{}
	for _, gw := range replicas {
		for i, q := range warmed {
			var resp testutil.Response
			for try := 0; try < 20; try++ {
				if resp = gw.Query(t, q.doc, q.vars); len(resp.Errors) == 0 {
					break
				}
				time.Sleep(250 * time.Millisecond) // RATE_LIMITED while warming: try again
			}
			if len(resp.Errors) > 0 {
				t.Fatalf("warming query %d: %s", i, resp.Raw)
			}
			if prev, ok := answers[i]; ok && prev != string(resp.Data) {
				t.Fatalf("replicas disagree on query %d:\n%s\n%s", i, prev, resp.Data)
			}
			answers[i] = string(resp.Data)
		}
	}
	if sim.RateLimited() != 0 {
		t.Fatalf("the simulator sent %d 429s while warming", sim.RateLimited())
	}

	sim.Reset()
	var (
		warmServed, coldServed, coldLimited atomic.Int64
		perReplica                          [3]atomic.Int64
		failures                            sync.Map // first unexpected answer per kind
		wg                                  sync.WaitGroup
	)
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			gw := replicas[c%3]
			for n := c; time.Since(start) < duration; n += clients {
				perReplica[c%3].Add(1)
				if n%4 == 3 { // a quarter of the load asks for data never seen
					q := cold[(n/4)%len(cold)]
					resp, err := gw.QueryErr(q.doc, q.vars)
					switch {
					case err != nil:
						failures.LoadOrStore("cold", err.Error())
					case len(resp.Errors) == 0:
						coldServed.Add(1)
					case allCodes(resp, "RATE_LIMITED"):
						coldLimited.Add(1)
					default:
						failures.LoadOrStore("cold", string(resp.Raw))
					}
					continue
				}
				i := n % len(warmed)
				resp, err := gw.QueryErr(warmed[i].doc, warmed[i].vars)
				if err != nil {
					failures.LoadOrStore("warmed", err.Error())
					continue
				}
				if resp.Status != http.StatusOK || len(resp.Errors) > 0 || string(resp.Data) != answers[i] {
					failures.LoadOrStore("warmed", fmt.Sprintf("status %d: %s", resp.Status, resp.Raw))
					continue
				}
				warmServed.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	counts := sim.Counts()
	var auth0Calls, identityCalls int64
	for route, n := range counts {
		if strings.HasPrefix(route, "identity ") {
			identityCalls += n
		} else {
			auth0Calls += n
		}
	}
	requests := perReplica[0].Load() + perReplica[1].Load() + perReplica[2].Load()
	t.Logf("%d clients on 3 replicas for %v: %d requests (%d/%d/%d per replica, %.0f/s)",
		clients, elapsed.Round(time.Millisecond), requests, perReplica[0].Load(), perReplica[1].Load(), perReplica[2].Load(),
		float64(requests)/elapsed.Seconds())
	t.Logf("warmed: %d served in full; never seen: %d served, %d RATE_LIMITED", warmServed.Load(), coldServed.Load(), coldLimited.Load())
	t.Logf("upstream (limit %.0f/s each): auth0 %d calls (%.1f/s), identity %d calls (%.1f/s), 429s %d",
		simRate, auth0Calls, float64(auth0Calls)/elapsed.Seconds(), identityCalls, float64(identityCalls)/elapsed.Seconds(), sim.RateLimited())

	failures.Range(func(kind, raw any) bool {
		t.Errorf("unexpected %s answer: %s", kind, raw)
		return true
	})
	if sim.RateLimited() != 0 {
		t.Errorf("the simulator sent %d 429s: the replicas overran its limit", sim.RateLimited())
	}
	limit := int64(simRate*elapsed.Seconds()) + int64(simRate) // sustained rate plus one full bucket
	if auth0Calls > limit || identityCalls > limit {
		t.Errorf("upstream calls auth0 %d, identity %d in %v; the limit allows %d each", auth0Calls, identityCalls, elapsed, limit)
	}
	if warmServed.Load() == 0 || coldServed.Load() == 0 {
		t.Errorf("the run did not exercise both kinds: warmed %d, cold served %d", warmServed.Load(), coldServed.Load())
	}
}

// waitCountEachOther waits until every replica's governor counts them all
// (orgraph_governor_replicas), so that one falling back to its local limiter
// under load spends its share of the budget, not the whole of it, however
// the replicas' first heartbeats were ordered.
func waitCountEachOther(t *testing.T, replicas []*testutil.Gateway) {
	t.Helper()
	want := fmt.Sprintf("\norgraph_governor_replicas %d\n", len(replicas))
	wait.Until(t, func() bool {
		for _, gw := range replicas {
			if !strings.Contains(scrapeText(t, gw), want) {
				return false
			}
		}
		return true
	})
}

// allCodes reports whether every error of resp has extensions.code code.
func allCodes(resp testutil.Response, code string) bool {
	for _, e := range resp.Errors {
		if e.Code() != code {
			return false
		}
	}
	return len(resp.Errors) > 0
}
