package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
)

// patientCache is a cache whose Redis calls may take 5 s: these tests are
// about what Redis answers, and the default timeout, which a loaded machine
// can exceed, would turn a slow answer into an outage.
func patientCache(t *testing.T, rdb redis.UniversalClient, prefix string) *cache.Cache {
	t.Helper()
	c, err := cache.New(cache.Config{Redis: rdb, Prefix: prefix, TTL: time.Minute, StaleTTL: time.Hour,
		NotFoundTTL: 10 * time.Second, RedisTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCorruptRedisValuesAreMisses: a value in Redis that is not a record
// (another program's, a cut write) is a miss, next to a good entry in the
// same round trip, and does not make Redis count as down.
func TestCorruptRedisValuesAreMisses(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	c := patientCache(t, rdb, prefix)
	ctx := context.Background()
	good, bad, cut := c.Key("auth0", "s", "https://t/good"), c.Key("auth0", "s", "https://t/bad"), c.Key("auth0", "s", "https://t/cut")
	c.SetRemote(ctx, []cache.Write{{Key: good, Entry: c.NewEntry(200, nil, 2), Body: []byte(`{"id":"o"}`)}})
	if err := rdb.Set(ctx, bad, "not a record", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, cut, `{"status":200,"fetchedAt":"`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got := c.Remote(ctx, []string{bad, good, cut})
	if got[0] != nil || got[2] != nil {
		t.Fatalf("corrupt values read as %s and %s, want misses", describeStored(got[0]), describeStored(got[2]))
	}
	if got[1] == nil || string(got[1].Body) != `{"id":"o"}` {
		t.Fatalf("the good entry beside them: %s", describeStored(got[1]))
	}
	if c.Degraded() {
		t.Fatal("a corrupt value marked Redis degraded")
	}
}

// TestCancelledCallerDoesNotMarkRedisDegraded: Redis calls run detached from
// the caller's cancellation (within RedisTimeout), so a client that goes
// away mid-request neither loses the write nor makes the cache think Redis
// is down, which would send every other request past Redis for a second.
func TestCancelledCallerDoesNotMarkRedisDegraded(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	c := patientCache(t, rdb, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := c.Key("auth0", "s", "https://t/org")
	c.SetRemote(ctx, []cache.Write{{Key: key, Entry: c.NewEntry(200, nil, 2), Body: []byte(`{}`)}})
	if got := c.Remote(ctx, []string{key}); got[0] == nil {
		t.Fatal("the write or the read of a cancelled caller was dropped")
	}
	if c.Degraded() {
		t.Fatal("a cancelled caller marked Redis degraded")
	}
}

// TestRefusedWriteIsNotAnOutage: Redis answering a write with an error
// (here: full, under noeviction) is up: the entry stays in-process, and
// reads still go to Redis.
func TestRefusedWriteIsNotAnOutage(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	c := patientCache(t, rdb, "orgraph-test:refused:")
	key := c.Key("auth0", "s", "https://t/org")
	c.Set(ctx, key, c.NewEntry(200, "org", 2), []byte(`{}`))
	if c.Degraded() {
		t.Fatal("a refused write marked Redis degraded")
	}
	if c.Local(key) == nil {
		t.Fatal("the refused entry is not kept in-process")
	}
	if n, err := rdb.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS = %d, %v: want the write refused", n, err)
	}
}
