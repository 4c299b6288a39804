package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	. "github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/testutil"
)

// commandCounter counts Redis round trips: one per command or pipeline.
// The handshake of a newly dialled connection (HELLO, CLIENT SETINFO) also
// passes through hooks; it is the pool's cost, not the cache's, so it is
// not counted.
type commandCounter struct{ n atomic.Int64 }

func isHandshake(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isHandshake(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && !isHandshake(cmds[0]) {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestCache(t *testing.T, rdb redis.UniversalClient, prefix string, clk *clock) *Cache {
	t.Helper()
	c, err := New(Config{Redis: rdb, Prefix: prefix, TTL: time.Minute, StaleTTL: time.Hour, NotFoundTTL: 10 * time.Second, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBatchReadsAndWritesAreOneRoundTripEach(t *testing.T) {
	rdb, prefix := testutil.Redis(t)
	counter := &commandCounter{}
	rdb.AddHook(counter)
	clk := &clock{t: time.Now()}
	writer := newTestCache(t, rdb, prefix, clk)

	var writes []Write
	var keys []string
	for i := 0; i < 25; i++ {
		k := writer.Key("auth0", "static-abc", fmt.Sprintf("https://tenant.example/api/v2/organizations/org_%d", i))
		keys = append(keys, k)
		writes = append(writes, Write{Key: k, Entry: writer.NewEntry(200, []byte(fmt.Sprintf(`{"id":"org_%d"}`, i)))})
	}
	counter.n.Store(0)
	writer.SetMany(context.Background(), writes)
	if n := counter.n.Load(); n != 1 {
		t.Fatalf("writing 25 entries took %d round trips, want 1", n)
	}

	// Another replica: nothing in-process, everything in one MGET.
	reader := newTestCache(t, rdb, prefix, clk)
	counter.n.Store(0)
	got := reader.GetMany(context.Background(), append(keys, reader.Key("auth0", "static-abc", "https://tenant.example/missing")))
	if n := counter.n.Load(); n != 1 {
		t.Fatalf("reading 26 keys took %d round trips, want 1", n)
	}
	for i, e := range got[:25] {
		if e == nil || string(e.Body) != fmt.Sprintf(`{"id":"org_%d"}`, i) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if got[25] != nil {
		t.Fatal("missing key should be a miss")
	}
	// Now they are in-process: no round trip at all.
	counter.n.Store(0)
	reader.GetMany(context.Background(), keys)
	if n := counter.n.Load(); n != 0 {
		t.Fatalf("in-process hits took %d round trips", n)
	}
}

func TestEntriesAreReadableJSONUnderVersionedKeysWithTTL(t *testing.T) {
	rdb, prefix := testutil.Redis(t)
	clk := &clock{t: time.Now()}
	c := newTestCache(t, rdb, prefix, clk)
	key := c.Key("identity", "client-123", "https://cloud.example/acme/identity_/api/Group/p1")
	if !strings.HasPrefix(key, prefix+"v1:identity:client-123:https://cloud.example/acme/") {
		t.Fatalf("key %q lacks version, upstream, scope or tenant", key)
	}
	c.Set(context.Background(), key, c.NewEntry(200, []byte(`[{"name":"Everyone"}]`)))
	raw, err := rdb.Get(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		Status int
		Body   []map[string]string
	}
	if err := json.Unmarshal([]byte(raw), &stored); err != nil || stored.Status != 200 || stored.Body[0]["name"] != "Everyone" {
		t.Fatalf("stored value is not the readable entry: %s", raw)
	}
	ttl := rdb.TTL(context.Background(), key).Val()
	if ttl < time.Hour || ttl > time.Hour+2*time.Minute {
		t.Fatalf("Redis TTL %v, want about CACHE_TTL+CACHE_STALE_TTL", ttl)
	}
}

func TestFreshStaleExpiredAndNotFound(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c, _ := New(Config{TTL: time.Minute, StaleTTL: time.Hour, NotFoundTTL: 10 * time.Second, Now: clk.now})
	ok := c.NewEntry(200, []byte(`{}`))
	missing := c.NewEntry(404, nil)
	cases := []struct {
		after        time.Duration
		ok, notFound State
	}{
		{0, Fresh, Fresh},
		{9 * time.Second, Fresh, Fresh},
		{12 * time.Second, Fresh, Expired}, // 404s: NotFoundTTL (+10% jitter at most), never stale
		{67 * time.Second, Stale, Expired}, // past CACHE_TTL (+10% jitter at most)
		{time.Hour + 53*time.Second, Stale, Expired},
		{time.Hour + 67*time.Second, Expired, Expired},
	}
	for _, tc := range cases {
		now := clk.t.Add(tc.after)
		if got := ok.StateAt(now); got != tc.ok {
			t.Errorf("200 after %v: %v, want %v", tc.after, got, tc.ok)
		}
		if got := missing.StateAt(now); got != tc.notFound {
			t.Errorf("404 after %v: %v, want %v", tc.after, got, tc.notFound)
		}
	}
}

func TestJitterStaysWithinTenPercent(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c, _ := New(Config{TTL: time.Minute, Now: clk.now})
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		d := c.NewEntry(200, nil).FreshUntil.Sub(clk.t)
		if d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jitter %v outside ±10%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Fatal("TTLs are not jittered")
	}
}

func TestDisabledCacheTouchesNothing(t *testing.T) {
	rdb, prefix := testutil.Redis(t)
	counter := &commandCounter{}
	rdb.AddHook(counter)
	c, _ := New(Config{Redis: rdb, Prefix: prefix, TTL: 0, StaleTTL: time.Hour})
	key := c.Key("auth0", "s", "https://t/x")
	c.Set(context.Background(), key, c.NewEntry(200, []byte(`{}`)))
	if got := c.Get(context.Background(), key); got != nil || counter.n.Load() != 0 {
		t.Fatalf("CACHE_TTL=0 cached or called Redis: %v, %d commands", got, counter.n.Load())
	}
}

func TestLeaseIsHeldByOneReplica(t *testing.T) {
	rdb, prefix := testutil.Redis(t)
	clk := &clock{t: time.Now()}
	a, b := newTestCache(t, rdb, prefix, clk), newTestCache(t, rdb, prefix, clk)
	ctx := context.Background()
	if !a.Lease(ctx, "k") {
		t.Fatal("first lease refused")
	}
	if b.Lease(ctx, "k") || a.Lease(ctx, "k") {
		t.Fatal("second lease granted while the first is held")
	}
	a.Release(ctx, "k")
	if !b.Lease(ctx, "k") {
		t.Fatal("lease not granted after release")
	}
	// Without Redis the lease is per process.
	local, _ := New(Config{TTL: time.Minute, Now: clk.now})
	if !local.Lease(ctx, "k") || local.Lease(ctx, "k") {
		t.Fatal("in-process lease")
	}
}

func TestRedisDownServesInProcessAndRecovers(t *testing.T) {
	srv := testutil.StartRedisServer(t)
	rdb := srv.Client()
	clk := &clock{t: time.Now()}
	c := newTestCache(t, rdb, "orgraph-test:down:", clk)
	ctx := context.Background()
	key := c.Key("auth0", "s", "https://t/org")
	c.Set(ctx, key, c.NewEntry(200, []byte(`{"id":"org"}`)))

	srv.Stop()
	if e := c.Get(ctx, key); e == nil || c.Degraded() {
		t.Fatalf("in-process hit should not touch Redis: %v degraded=%v", e, c.Degraded())
	}
	if e := c.Get(ctx, c.Key("auth0", "s", "https://t/other")); e != nil || !c.Degraded() {
		t.Fatalf("a miss with Redis down: %v degraded=%v", e, c.Degraded())
	}
	c.Set(ctx, c.Key("auth0", "s", "https://t/new"), c.NewEntry(200, []byte(`{}`)))
	if c.Get(ctx, c.Key("auth0", "s", "https://t/new")) == nil {
		t.Fatal("writes while degraded should still land in-process")
	}

	srv.Start()
	clk.t = clk.t.Add(2 * time.Second) // past the probe interval: the next call tries Redis
	if err := c.Ping(ctx); err != nil || c.Degraded() {
		t.Fatalf("not recovered: %v degraded=%v", err, c.Degraded())
	}
}
