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

// TestSentinelFailoverUnderLoad: two replicas on a Sentinel-managed Redis
// (REDIS_SENTINEL_*: a master, a replica, three sentinels) serve warmed
// data to clients that never stop while the master is killed and the
// sentinels promote the replica: no request fails and none costs an
// upstream call. Afterwards both replicas use the new master: what one
// fetches, the other reads, and /readyz no longer names Redis.
func TestSentinelFailoverUnderLoad(t *testing.T) {
	const (
		clients = 4
		phase   = 40 // requests before the kill, and again after the failover
	)
	sentinel := redistest.StartSentinel(t, 3)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{Organizations: 8})
	env := with(testutil.UpstreamEnv(base), map[string]string{
		"REDIS_SENTINEL_MASTER": redistest.SentinelMaster,
		"REDIS_SENTINEL_ADDRS":  strings.Join(sentinel.Addrs(), ","),
		"RESPONSE_CACHE":        "false", // every request goes through the data cache's tiers
	})
	replicas := []*testutil.Gateway{testutil.StartGateway(t, env), testutil.StartGateway(t, env)}
	warmed := flagship(t, replicas[0])
	sim.Reset()
	if got := flagship(t, replicas[1]); got != warmed || sim.Total() != 0 {
		t.Fatalf("the second replica, through the master: %d upstream calls, answer %s", sim.Total(), got)
	}
	oldMaster := sentinel.MasterAddr()

	var (
		done, failed atomic.Int64
		firstFailure sync.Map
		stop         = make(chan struct{})
		reached      = make(chan struct{}, 1) // done passed the current mark
		mark         atomic.Int64
		wg           sync.WaitGroup
	)
	mark.Store(phase)
	for c := range clients {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp := replicas[c%2].Query(t, flagshipQuery, map[string]any{"id": demoUserID})
				if resp.Status != http.StatusOK || len(resp.Errors) > 0 || string(resp.Data) != warmed {
					failed.Add(1)
					firstFailure.LoadOrStore("failure", string(resp.Raw))
				}
				if done.Add(1) >= mark.Load() {
					select {
					case reached <- struct{}{}:
					default:
					}
				}
			}
		})
	}
	// waitMark lets the clients run until they have done target requests
	// in all; a signal sent for an earlier mark only loops.
	waitMark := func(target int64) {
		mark.Store(target)
		deadline := time.After(30 * time.Second)
		for done.Load() < target {
			select {
			case <-reached:
			case <-deadline:
				close(stop)
				t.Fatalf("the clients did not reach %d requests within 30s", target)
			}
		}
	}
	waitMark(phase)
	beforeKill := done.Load()
	sentinel.Failover() // kills the master; returns once the replica is promoted
	during := done.Load() - beforeKill
	waitMark(done.Load() + phase)
	close(stop)
	wg.Wait()
	upstreamCalls := sim.Total()
	firstFailure.Range(func(_, raw any) bool {
		t.Errorf("a request failed: %s", raw)
		return false
	})
	testutil.Figures(t, "2 replicas, Sentinel (3 sentinels), master %s killed and replica %s promoted under load from %d clients: %d requests (%d before the kill, %d during the failover), %d failed, %d upstream calls",
		oldMaster, sentinel.MasterAddr(), clients, done.Load(), beforeKill, during, failed.Load(), upstreamCalls)
	if failed.Load() != 0 || upstreamCalls != 0 {
		t.Fatalf("warmed data during a failover: %d failed requests, %d upstream calls (want 0 and 0): %v", failed.Load(), upstreamCalls, sim.Counts())
	}

	for _, gw := range replicas {
		waitReady(t, gw)
	}
	unseen := sim.Dataset().Organizations[len(sim.Dataset().Organizations)-1]
	q := `query($id: ID!) { organization(id: $id) { id connections { id } } }`
	if resp := replicas[0].Query(t, q, map[string]any{"id": unseen.ID}); len(resp.Errors) > 0 {
		t.Fatalf("after the failover: %s", resp.Raw)
	}
	sim.Reset()
	if resp := replicas[1].Query(t, q, map[string]any{"id": unseen.ID}); len(resp.Errors) > 0 || sim.Total() != 0 {
		t.Fatalf("after the failover the second replica made %d upstream calls (want 0): %s", sim.Total(), resp.Raw)
	}
}
