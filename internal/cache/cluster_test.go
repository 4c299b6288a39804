package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	. "github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
)

// TestClusterBatchIsOneRoundTripPerNode: on a 3-master Redis Cluster, a
// batch of keys spread over the slots is written and read with one round
// trip per master holding some of them, with no CROSSSLOT refusal (an MGET
// of keys in several slots is refused) and without the cache calling Redis
// degraded. Keys are not hash-tagged, so the entries spread over every
// master instead of piling onto one.
//
// What is counted is the batch's own round trips, nothing a loaded machine
// adds: a connection to every master is made before counting (a node hook
// counts a round trip around its connection's dial and handshake, and a
// dial that outlasted the cache's 100 ms Redis timeout under load failed the
// write and was retried), and the caches get a Redis timeout far beyond
// any scheduling delay, since slowness is failure_test.go's subject, not
// this one's.
func TestClusterBatchIsOneRoundTripPerNode(t *testing.T) {
	cluster := redistest.StartCluster(t)
	rdb := cluster.Client()
	perNode := redistest.CountNodeRoundTrips(rdb)
	clk := &clock{t: time.Now()}
	newCache := func() *Cache {
		c, err := New(Config{Redis: rdb, Prefix: "orgraph:", TTL: time.Minute, StaleTTL: time.Hour, NotFoundTTL: 10 * time.Second,
			Now: clk.now, RedisTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	writer := newCache()

	var writes []Write
	var keys []string
	nodes := map[int]bool{}
	for i := range 25 {
		k := writer.Key("auth0", "static-abc", fmt.Sprintf("https://tenant.example/api/v2/organizations/org_%d", i))
		keys = append(keys, k)
		nodes[cluster.NodeOf(k)] = true
		body := fmt.Appendf(nil, `{"id":"org_%d"}`, i)
		writes = append(writes, Write{Key: k, Entry: writer.NewEntry(200, "decoded", len(body)), Body: body})
	}
	if len(nodes) != 3 {
		t.Fatalf("25 keys landed on %d masters, want all 3", len(nodes))
	}
	// Learns the slots, and dials every master, before counting.
	if err := rdb.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		return m.Ping(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}

	perNode.Reset()
	writer.SetRemote(context.Background(), writes)
	if n := perNode.Load(); n != 3 {
		t.Fatalf("writing 25 entries over 3 masters took %d round trips, want 3", n)
	}

	reader := newCache()
	perNode.Reset()
	got := reader.Remote(context.Background(), append(keys, reader.Key("auth0", "static-abc", "https://tenant.example/missing")))
	if n := perNode.Load(); n != 3 {
		t.Fatalf("reading 26 keys over 3 masters took %d round trips, want 3", n)
	}
	for i, s := range got[:25] {
		if s == nil || string(s.Body) != fmt.Sprintf(`{"id":"org_%d"}`, i) || s.Entry.Status != 200 {
			t.Fatalf("entry %d: %+v", i, s)
		}
	}
	if got[25] != nil {
		t.Fatal("missing key should be a miss")
	}
	if writer.Degraded() || reader.Degraded() {
		t.Fatal("the cache called the Cluster degraded")
	}
	for i := range cluster.Nodes {
		if n, err := cluster.Nodes[i].Client().DBSize(context.Background()).Result(); err != nil || n == 0 {
			t.Fatalf("master %d holds %d keys (%v): the entries did not spread", i, n, err)
		}
	}
}
