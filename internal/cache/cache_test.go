package cache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	. "github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
)

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
	rdb, prefix := redistest.Client(t)
	counter := redistest.CountCommands(rdb)
	clk := &clock{t: time.Now()}
	writer := newTestCache(t, rdb, prefix, clk)

	var writes []Write
	var keys []string
	for i := 0; i < 25; i++ {
		k := writer.Key("auth0", "static-abc", fmt.Sprintf("https://tenant.example/api/v2/organizations/org_%d", i))
		keys = append(keys, k)
		body := []byte(fmt.Sprintf(`{"id":"org_%d"}`, i))
		writes = append(writes, Write{Key: k, Entry: writer.NewEntry(200, "decoded", len(body)), Body: body})
	}
	counter.Reset()
	writer.SetRemote(context.Background(), writes)
	if n := counter.Load(); n != 1 {
		t.Fatalf("writing 25 entries took %d round trips, want 1", n)
	}

	// Another replica: nothing in-process, everything in one MGET.
	reader := newTestCache(t, rdb, prefix, clk)
	counter.Reset()
	got := reader.Remote(context.Background(), append(keys, reader.Key("auth0", "static-abc", "https://tenant.example/missing")))
	if n := counter.Load(); n != 1 {
		t.Fatalf("reading 26 keys took %d round trips, want 1", n)
	}
	for i, s := range got[:25] {
		if s == nil || string(s.Body) != fmt.Sprintf(`{"id":"org_%d"}`, i) || s.Entry.Status != 200 || s.Entry.Value != nil {
			t.Fatalf("entry %d: %+v", i, s)
		}
		if s.Entry.FreshUntil.Sub(writes[i].Entry.FreshUntil).Abs() > time.Millisecond {
			t.Fatalf("entry %d: fresh until %v, written %v", i, s.Entry.FreshUntil, writes[i].Entry.FreshUntil)
		}
	}
	if got[25] != nil {
		t.Fatal("missing key should be a miss")
	}
	if reader.Local(keys[0]) != nil {
		t.Fatal("a Redis read is not decoded, so it is not kept in-process until the reader decodes it")
	}
}

// TestLocalTierKeepsDecodedValuesAndTakesNoRoundTrip: what SetLocal keeps,
// Local returns as it is, the same value, with no Redis command.
func TestLocalTierKeepsDecodedValuesAndTakesNoRoundTrip(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	counter := redistest.CountCommands(rdb)
	c := newTestCache(t, rdb, prefix, &clock{t: time.Now()})
	value := &struct{ ID string }{"org_1"}
	key := c.Key("auth0", "s", "https://t/org_1")
	c.SetLocal(key, c.NewEntry(200, value, 16))
	e := c.Local(key)
	if e == nil || e.Value != any(value) {
		t.Fatalf("Local: %+v", e)
	}
	if n := counter.Load(); n != 0 {
		t.Fatalf("%d Redis commands for in-process use", n)
	}
}

func TestEntriesAreReadableJSONUnderVersionedKeysWithTTL(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	clk := &clock{t: time.Now()}
	c := newTestCache(t, rdb, prefix, clk)
	key := c.Key("identity", "client-123", "https://cloud.example/acme/identity_/api/Group/p1")
	if !strings.HasPrefix(key, prefix+"v1:identity:client-123:https://cloud.example/acme/") {
		t.Fatalf("key %q lacks version, upstream, scope or tenant", key)
	}
	body := []byte(`[{"name":"Everyone"}]`)
	c.Set(context.Background(), key, c.NewEntry(200, "decoded", len(body)), body)
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
	ok := c.NewEntry(200, "v", 2)
	missing := c.NewEntry(404, nil, 0)
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
		d := c.NewEntry(200, nil, 0).FreshUntil.Sub(clk.t)
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
	rdb, prefix := redistest.Client(t)
	counter := redistest.CountCommands(rdb)
	c, _ := New(Config{Redis: rdb, Prefix: prefix, TTL: 0, StaleTTL: time.Hour})
	key := c.Key("auth0", "s", "https://t/x")
	c.Set(context.Background(), key, c.NewEntry(200, "v", 2), []byte(`{}`))
	if got, remote := c.Local(key), c.Remote(context.Background(), []string{key}); got != nil || remote[0] != nil || counter.Load() != 0 {
		t.Fatalf("CACHE_TTL=0 cached or called Redis: %v, %d commands", got, counter.Load())
	}
}

func TestLeaseIsHeldByOneReplica(t *testing.T) {
	rdb, prefix := redistest.Client(t)
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

// TestRedisDownServesInProcessAndRecovers: with Redis stopped, an
// in-process hit takes no Redis call (so it does not notice the outage), a
// miss marks the cache degraded, writes still land in-process, and once
// Redis is back the next probe recovers.
//
// The set-up makes no call under the cache's RedisTimeout: the entry is put
// in-process with SetLocal (what a Redis write would add is lost with the
// stopped server anyway), and before the recovery probe the client's
// connection is re-made with a call that has no deadline. A timed write on a
// new connection before the stop used to miss its 100 ms on a loaded machine
// and mark the cache degraded before the test began.
func TestRedisDownServesInProcessAndRecovers(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb := srv.Client()
	clk := &clock{t: time.Now()}
	c := newTestCache(t, rdb, "orgraph-test:down:", clk)
	ctx := context.Background()
	key := c.Key("auth0", "s", "https://t/org")
	c.SetLocal(key, c.NewEntry(200, "org", 12))
	if c.Degraded() {
		t.Fatal("degraded before Redis was stopped")
	}

	srv.Stop()
	if e := c.Local(key); e == nil || c.Degraded() {
		t.Fatalf("in-process hit should not touch Redis: entry %s, degraded=%v", describeEntry(e), c.Degraded())
	}
	if s := c.Remote(ctx, []string{c.Key("auth0", "s", "https://t/other")}); s[0] != nil || !c.Degraded() {
		t.Fatalf("a miss with Redis down: %s, degraded=%v", describeStored(s[0]), c.Degraded())
	}
	c.Set(ctx, c.Key("auth0", "s", "https://t/new"), c.NewEntry(200, "new", 2), []byte(`{}`))
	if c.Local(c.Key("auth0", "s", "https://t/new")) == nil {
		t.Fatal("writes while degraded should still land in-process")
	}

	srv.Start()
	// go-redis re-dials on the next command; do that without a deadline so
	// the probe below is one round trip on a live connection.
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis restarted but does not answer: %v", err)
	}
	clk.t = clk.t.Add(2 * time.Second) // past the probe interval: the next call tries Redis
	if err := c.Ping(ctx); err != nil || c.Degraded() {
		t.Fatalf("not recovered: %v degraded=%v", err, c.Degraded())
	}
}

// describeEntry and describeStored make failure messages readable: the
// value and the body as text, not as a struct of bytes.
func describeEntry(e *Entry) string {
	if e == nil {
		return "none"
	}
	return fmt.Sprintf("status %d value %v", e.Status, e.Value)
}

func describeStored(s *Stored) string {
	if s == nil {
		return "none"
	}
	return fmt.Sprintf("status %d body %q", s.Entry.Status, s.Body)
}
