package server_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// The shared state of several replicas (cache, rate budget, persisted
// queries) on a real 3-master Redis Cluster: what the single-node tests
// show, shown again on it, plus a master killed mid-run.

// TestClusterSecondReplicaCostsNoUpstreamCalls: a query one replica ran
// costs another replica no upstream call, the cache's entries spread over
// the Cluster's slots, and a query registered as persisted on one replica is
// known to two others. No command is refused with CROSSSLOT, as an MGET
// over several slots is.
func TestClusterSecondReplicaCostsNoUpstreamCalls(t *testing.T) {
	cluster := redistest.StartCluster(t)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := with(testutil.UpstreamEnv(base), map[string]string{"REDIS_URL": cluster.URL()})
	a, b, c := testutil.StartGateway(t, env), testutil.StartGateway(t, env), testutil.StartGateway(t, env)

	cold := flagship(t, a)
	coldCalls := sim.Total()
	if coldCalls == 0 {
		t.Fatal("the cold query made no upstream call")
	}
	sim.Reset()
	if again := flagship(t, b); again != cold {
		t.Fatalf("the second replica's answer differs:\n%s\n%s", again, cold)
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("the same query on a second replica: %d upstream calls, want 0: %v\nRedis in the logs:\n%s%s",
			n, sim.Counts(), redisLines(a.Logs.String()), redisLines(b.Logs.String()))
	}
	// The keys hold the simulator's random port, so which master owns each
	// one changes from run to run, and a dozen keys leave a master empty
	// now and then. What must hold every time: no hash tag pins the entries
	// to one slot (and so to one master).
	slots := map[int64]bool{}
	for i, node := range cluster.Nodes {
		keys, err := node.Client().Keys(t.Context(), "*").Result()
		if err != nil {
			t.Fatalf("master %d: %v", i, err)
		}
		for _, k := range keys {
			slots[node.Client().ClusterKeySlot(t.Context(), k).Val()] = true
		}
	}
	if len(slots) < 2 {
		t.Fatalf("the entries use %d slot(s): they cannot spread over the masters", len(slots))
	}

	query := `query APQ { organization(id: "` + hogwartsID + `") { name } }`
	if r := persistedRequest(t, a, query, true); len(r.Errors) > 0 || string(r.Data) != `{"organization":{"name":"hogwarts"}}` {
		t.Fatalf("register: %s", r.Raw)
	}
	for _, gw := range []*testutil.Gateway{b, c} {
		if r := persistedRequest(t, gw, query, false); len(r.Errors) > 0 || string(r.Data) != `{"organization":{"name":"hogwarts"}}` {
			t.Fatalf("hash only on another replica: %s", r.Raw)
		}
	}
	for _, gw := range []*testutil.Gateway{a, b, c} {
		if status, body := readyz(t, gw); status != http.StatusOK || mentionsRedis(body) {
			t.Fatalf("readyz: %d %v", status, body)
		}
		if strings.Contains(gw.Logs.String(), "CROSSSLOT") {
			t.Fatalf("Redis refused a command over several slots:\n%s", gw.Logs.String())
		}
	}
	testutil.Figures(t, "3-master Cluster: flagship query cold %d upstream calls, on a second replica 0; persisted query registered on 1 replica, run by hash on 2 others", coldCalls)
}

// TestClusterThreeReplicasShareOneBudget: three replicas on the Cluster
// send never-seen queries (each a cache miss) as fast as they can to one
// simulator allowing simRate requests/s per upstream. The simulator never
// answers 429: the governor's budget, one key in one slot, is shared, not
// three local budgets of 18/s each.
func TestClusterThreeReplicasShareOneBudget(t *testing.T) {
	const (
		simRate  = 20.0
		budget   = "18"
		clients  = 6
		requests = 45 // in all; each asks for two organizations never asked for
	)
	cluster := redistest.StartCluster(t)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Organizations: 2*requests + 3, Users: 2, MembershipsPerUser: 1, ConnectionsPerOrg: 1,
		RatePerSecond: simRate,
	})
	env := with(testutil.UpstreamEnv(base), map[string]string{
		"REDIS_URL":           cluster.URL(),
		"UPSTREAM_RATE_LIMIT": budget,
		"REQUEST_TIMEOUT":     "1s",
	})
	var replicas []*testutil.Gateway
	for range 3 {
		replicas = append(replicas, testutil.StartGateway(t, env))
	}
	waitCountEachOther(t, replicas)
	orgs := sim.Dataset().Organizations
	// One query per replica first: a replica's first reservation also
	// learns the cluster's slots, dials the budget's master and loads the
	// script, which under a loaded machine can outlast the governor's 100ms
	// Redis timeout and send it to its local limiter for a second.
	for i, gw := range replicas {
		if resp := gw.Query(t, `query($id: ID!) { organization(id: $id) { id } }`, map[string]any{"id": orgs[2*requests+i].ID}); len(resp.Errors) > 0 {
			t.Fatalf("warming replica %d: %s", i, resp.Raw)
		}
	}
	sim.Reset()

	var served, limited, other atomic.Int64
	var failure sync.Map
	next := atomic.Int64{}
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			gw := replicas[c%3]
			for n := next.Add(1) - 1; n < requests; n = next.Add(1) - 1 {
				resp := gw.Query(t, `query($a: ID!, $b: ID!) { a: organization(id: $a) { id } b: organization(id: $b) { id } }`,
					map[string]any{"a": orgs[2*n].ID, "b": orgs[2*n+1].ID})
				switch {
				case len(resp.Errors) == 0:
					served.Add(1)
				case allCodes(resp, "RATE_LIMITED"):
					limited.Add(1)
				default:
					other.Add(1)
					failure.LoadOrStore("other", string(resp.Raw))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	calls := sim.Total()
	testutil.Figures(t, "3 replicas on a 3-master Cluster, budget %s/s of the upstream's %.0f/s: %d requests in %v: %d served, %d RATE_LIMITED, %d other errors; %d upstream calls (%.1f/s), %d upstream 429s",
		budget, simRate, requests, elapsed.Round(time.Millisecond), served.Load(), limited.Load(), other.Load(), calls, float64(calls)/elapsed.Seconds(), sim.RateLimited())

	failure.Range(func(_, raw any) bool {
		t.Errorf("unexpected answer: %s", raw)
		return true
	})
	if sim.RateLimited() != 0 {
		t.Errorf("the simulator sent %d 429s: the replicas did not share one budget", sim.RateLimited())
	}
	if served.Load() == 0 {
		t.Error("no request was served")
	}
	// A replica whose reservation outlasted the governor's 100 ms Redis
	// timeout on a loaded machine falls back to its local limiter until a
	// probe succeeds, and then spends its third of the budget, not all of
	// it: the upstream's own verdict (no 429, calls within its limit) is
	// what is checked, and a fallback is only reported.
	if limit := int64(simRate*elapsed.Seconds()) + int64(simRate); int64(calls) > limit {
		t.Errorf("%d upstream calls in %v; the upstream allows %d", calls, elapsed, limit)
	}
	for i, gw := range replicas {
		if strings.Contains(gw.Logs.String(), "rate governor degraded") {
			t.Logf("replica %d fell back to its local limiter during the run", i)
		}
	}
}

// TestClusterMasterKilledServesWarmedData: two replicas warmed by the same
// queries answer a bounded run of them while one master is killed and
// restarted in the middle: no error, no upstream call, /readyz 200 degraded
// (naming Redis) on both while the master is down and ready again once it is
// back. Data never seen is fetched during the outage; afterwards the
// replicas share the cache again.
func TestClusterMasterKilledServesWarmedData(t *testing.T) {
	const requests = 90 // the master dies after a third and is back after two thirds
	cluster := redistest.StartCluster(t)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{Organizations: 8})
	// No response cache: each request goes through the data cache's tiers.
	env := with(testutil.UpstreamEnv(base), map[string]string{"REDIS_URL": cluster.URL(), "RESPONSE_CACHE": "false"})
	replicas := []*testutil.Gateway{testutil.StartGateway(t, env), testutil.StartGateway(t, env)}
	warmed := flagship(t, replicas[0])
	sim.Reset()
	if got := flagship(t, replicas[1]); got != warmed || sim.Total() != 0 {
		t.Fatalf("warming the second replica: %d upstream calls, answer %s", sim.Total(), got)
	}
	// The master holding the auth0 rate budget, so new data in the outage
	// is fetched under the local limiter.
	victim := cluster.NodeOf("orgraph:rl:auth0")

	var errorsSeen, upstreamInOutage int
	ds := sim.Dataset()
	for n := range requests {
		switch n {
		case requests / 3:
			cluster.Kill(victim)
			for _, gw := range replicas {
				if status, body := readyz(t, gw); status != http.StatusOK || body["status"] != "degraded" || !mentionsRedis(body) {
					t.Fatalf("readyz with master %d down: %d %v, want 200 degraded naming redis", victim, status, body)
				}
			}
			sim.Reset()
			unseen := ds.Organizations[len(ds.Organizations)-1]
			resp := replicas[0].Query(t, `query($id: ID!) { organization(id: $id) { id } }`, map[string]any{"id": unseen.ID})
			if len(resp.Errors) > 0 || !strings.Contains(string(resp.Data), unseen.ID) {
				t.Fatalf("new data with a master down: %s", resp.Raw)
			}
			upstreamInOutage = int(sim.Total())
			sim.Reset()
		case 2 * requests / 3:
			cluster.Restart(victim)
		}
		resp := replicas[n%2].Query(t, flagshipQuery, map[string]any{"id": demoUserID})
		if resp.Status != http.StatusOK || len(resp.Errors) > 0 || string(resp.Data) != warmed {
			errorsSeen++
			t.Errorf("request %d: status %d: %s", n, resp.Status, resp.Raw)
		}
	}
	warmedCalls := sim.Total()
	for _, gw := range replicas {
		waitReady(t, gw)
	}
	testutil.Figures(t, "2 replicas, 3-master Cluster, master %d killed after request %d and back after %d: %d requests, %d errors, %d upstream calls for warmed data; 1 never-seen query in the outage: %d upstream calls",
		victim, requests/3, 2*requests/3, requests, errorsSeen, warmedCalls, upstreamInOutage)
	if warmedCalls != 0 {
		t.Errorf("warmed data with a master down: %d upstream calls, want 0: %v", warmedCalls, sim.Counts())
	}

	// Shared again: what one replica fetches now, the other reads.
	unseen := ds.Organizations[len(ds.Organizations)-2]
	q := `query($id: ID!) { organization(id: $id) { id connections { id } } }`
	if resp := replicas[0].Query(t, q, map[string]any{"id": unseen.ID}); len(resp.Errors) > 0 {
		t.Fatalf("after the restart: %s", resp.Raw)
	}
	sim.Reset()
	if resp := replicas[1].Query(t, q, map[string]any{"id": unseen.ID}); len(resp.Errors) > 0 || sim.Total() != 0 {
		t.Fatalf("after the restart the second replica made %d upstream calls (want 0): %s", sim.Total(), resp.Raw)
	}
}

// waitReady sends traffic (which is what lets the cache and the governor
// probe Redis) until /readyz no longer names Redis, for up to 10s.
func waitReady(t *testing.T, gw *testutil.Gateway) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		gw.Query(t, `{ __typename }`, nil)
		status, body := readyz(t, gw)
		if status == http.StatusOK && !mentionsRedis(body) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d %v 10s after Redis came back", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// redisLines keeps the log lines about Redis (a degradation and its
// error), to say why a test that counts on Redis failed.
func redisLines(logs string) string {
	var out strings.Builder
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "degraded") || strings.Contains(line, "Redis") {
			out.WriteString(line + "\n")
		}
	}
	return out.String()
}
