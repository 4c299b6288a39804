// Package cache is the two-tier cache under the upstream client: a bounded
// in-process tier of decoded values in front of Redis, shared by every
// replica. It stores upstream answers, so Auth0's and UiPath's small rate
// limits are spent once per resource per TTL across the whole fleet instead
// of once per query.
//
// The in-process tier holds what the upstream client decoded, never the raw
// body: a hit costs a lock-free lookup (github.com/maypok86/otter/v2) and no
// JSON decoding. It is bounded in bytes, weighing each entry by what its
// decoded value holds in memory (MemSize), never less than its body. Values in it are shared by every request
// that reads them and must never be written to.
//
// Redis holds readable JSON (redis-cli GET shows the upstream body) under
// versioned keys that name the upstream, the tenant and the credentials
// scope, so two tenants or two sets of credentials never share an entry. A
// replica decodes an entry it reads from Redis once and keeps it decoded.
// Each entry knows until when it is fresh and until when it may still be
// served stale (design §4). Reads of many keys are one round trip, writes one
// pipeline. Redis failing is not an outage: the in-process tier carries on,
// Degraded reports it, and Redis is probed again after a second
// (redisconn.Health).
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"

	"github.com/orgraph/orgraph/internal/purge"
	"github.com/orgraph/orgraph/internal/redisconn"
)

// KeyVersion is part of every key; bump it when the stored shape changes so
// old replicas and new ones never read each other's entries.
const KeyVersion = "v1"

// Entry is one cached upstream answer, decoded.
type Entry struct {
	// Status is 200 for a value, 404 for a cached "not found".
	Status int
	// Value is the decoded upstream body (nil for a 404). It is shared by
	// every request that reads the entry: nobody may write to it.
	Value any
	// Size is the entry's weight in the in-process tier: what Value holds
	// in memory (MemSize), or the length of the body it was decoded from
	// when that is more.
	Size int
	// FetchedAt is when the request that got the answer began: an event
	// purges entries fetched before it (internal/purge), and a request begun
	// before the change may have got the old answer.
	FetchedAt  time.Time
	FreshUntil time.Time
	StaleUntil time.Time
	// Tags name what the entry was built from (internal/purge), set by the
	// route that decoded it; events purge by them.
	Tags []string
	// checked is the purge table's generation at which the entry was last
	// found unpurged, so a hit looks its tags up only after an event.
	checked atomic.Uint64
}

// Purged reports whether an event purged e (p may be nil: no events).
// The entry remembers a negative answer until the table changes.
func (e *Entry) Purged(p *purge.Table) bool {
	if p == nil || len(e.Tags) == 0 {
		return false
	}
	g := p.Gen() // before the look-up: an event applied meanwhile changes it
	if e.checked.Load() == g && g != 0 {
		return false
	}
	if p.Purged(e.Tags, e.FetchedAt) {
		return true
	}
	e.checked.Store(g)
	return false
}

// State is what an entry may be used for at a given time.
type State int

// Entry states.
const (
	Expired State = iota // not to be served
	Stale                // served, and refreshed in the background
	Fresh                // served
)

// StateAt classifies the entry at now.
func (e *Entry) StateAt(now time.Time) State {
	switch {
	case e == nil || !now.Before(e.StaleUntil):
		return Expired
	case now.Before(e.FreshUntil):
		return Fresh
	default:
		return Stale
	}
}

// Stored is an entry as Redis holds it: its times and status, and the
// upstream body as it came, not yet decoded.
type Stored struct {
	Entry *Entry // Value is nil until the reader decodes Body
	Body  []byte
}

// Write is one entry to store in Redis, with the body it was decoded from.
type Write struct {
	Key   string
	Entry *Entry
	Body  []byte
}

// Config shapes a Cache.
type Config struct {
	// Redis is the shared tier; nil keeps everything in-process (the
	// embedded default). The cache does not own it and never flushes it.
	Redis redis.UniversalClient
	// Prefix starts every Redis key, e.g. "orgraph:".
	Prefix string
	// TTL is how long an entry is fresh (CACHE_TTL); 0 turns caching off.
	TTL time.Duration
	// StaleTTL is how long after that it may still be served stale.
	StaleTTL time.Duration
	// NotFoundTTL is how long a 404 is remembered.
	NotFoundTTL time.Duration
	// LocalBytes bounds the in-process tier by the summed weight (Entry.Size)
	// of its entries (default 64 MiB).
	LocalBytes int64
	// RedisTimeout bounds one Redis round trip, so a slow Redis costs a
	// request at most this much before the in-process tier answers alone.
	RedisTimeout time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
	// Purges, when set, is what events purged: an entry it purged is a miss
	// in both tiers (nil: no event stream, nothing is ever purged).
	Purges *purge.Table
	// OnPurged, when set, counts entries found purged, by tier
	// ("local", "redis").
	OnPurged func(tier string)
}

// DefaultLocalBytes bounds the in-process tier when Config.LocalBytes is 0.
const DefaultLocalBytes = 64 << 20

// entryOverhead is what an entry weighs beyond its body: key, struct and the
// tier's own bookkeeping, so that many tiny entries are bounded too.
const entryOverhead = 256

// Cache is the two-tier cache. Its zero value is not usable; use New.
type Cache struct {
	cfg   Config
	local *otter.Cache[string, *Entry]
	now   func() time.Time

	health    *redisconn.Health
	leaseMu   sync.Mutex
	leaseTill map[string]time.Time // in-process leases, when there is no Redis
}

// New returns a cache for cfg. Close releases the in-process tier's
// maintenance goroutine.
func New(cfg Config) (*Cache, error) {
	if cfg.LocalBytes <= 0 {
		cfg.LocalBytes = DefaultLocalBytes
	}
	if cfg.RedisTimeout <= 0 {
		cfg.RedisTimeout = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c := &Cache{cfg: cfg, now: now, leaseTill: make(map[string]time.Time)}
	c.health = redisconn.NewHealth(redisconn.HealthConfig{
		Degraded:  "cache degraded: Redis unavailable, serving from the in-process tier",
		Recovered: "cache recovered: Redis is back",
		Logger:    cfg.Logger, Now: now,
	})
	if cfg.TTL > 0 {
		local, err := otter.New(&otter.Options[string, *Entry]{
			MaximumWeight: uint64(cfg.LocalBytes),
			Weigher: func(key string, e *Entry) uint32 {
				return uint32(min(int64(len(key)+e.Size+entryOverhead), 1<<31))
			},
		})
		if err != nil {
			return nil, err
		}
		c.local = local
	}
	return c, nil
}

// Close stops the in-process tier's background maintenance.
func (c *Cache) Close() {
	if c != nil && c.local != nil {
		c.local.StopAllGoroutines()
	}
}

// Enabled reports whether anything is cached at all (CACHE_TTL > 0).
func (c *Cache) Enabled() bool { return c != nil && c.cfg.TTL > 0 }

// TTL is how long a fetched entry stays fresh (CACHE_TTL).
func (c *Cache) TTL() time.Duration {
	if c == nil {
		return 0
	}
	return c.cfg.TTL
}

// Shared reports whether the cache has a Redis tier.
func (c *Cache) Shared() bool { return c != nil && c.cfg.Redis != nil }

// Degraded reports whether the Redis tier is configured but unusable.
func (c *Cache) Degraded() bool { return c.Shared() && c.health.Degraded() }

// Key is the key of an upstream response: the service, the credentials
// scope (a fingerprint, never the credentials) and the request URL, whose
// host names the tenant.
func (c *Cache) Key(service, scope, rawURL string) string {
	return c.cfg.Prefix + KeyVersion + ":" + service + ":" + scope + ":" + rawURL
}

// NewEntry builds the entry of an answer fetched now: NewEntryAt for a
// request that began now.
func (c *Cache) NewEntry(status int, value any, size int) *Entry {
	return c.NewEntryAt(status, value, size, time.Time{})
}

// NewEntryAt builds the entry of an answer fetched now by a request that
// began at began (the zero time: now), which is its FetchedAt: fresh for TTL (a 404
// for NotFoundTTL) with ±10% jitter so keys written together do not all
// expire together, then stale for StaleTTL (404s are never served stale).
// size is the length of the body value was decoded from.
func (c *Cache) NewEntryAt(status int, value any, size int, began time.Time) *Entry {
	if c == nil { // no cache at all: the entry only carries the value
		now := time.Now()
		return &Entry{Status: status, Value: value, Size: size, FetchedAt: now, FreshUntil: now, StaleUntil: now}
	}
	now := c.now()
	if began.IsZero() || began.After(now) {
		began = now
	}
	e := &Entry{Status: status, Value: value, Size: size, FetchedAt: began}
	if status == 404 {
		e.FreshUntil = now.Add(jitter(c.cfg.NotFoundTTL))
		e.StaleUntil = e.FreshUntil
		return e
	}
	e.FreshUntil = now.Add(jitter(c.cfg.TTL))
	e.StaleUntil = e.FreshUntil.Add(c.cfg.StaleTTL)
	return e
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	spread := int64(d) / 10
	if spread == 0 {
		return d
	}
	return d - time.Duration(spread) + time.Duration(rand.Int64N(2*spread+1))
}

// Now is the cache's clock.
func (c *Cache) Now() time.Time { return c.now() }

// Local returns the usable (fresh or stale) in-process entry of key, nil
// when there is none. It takes no exclusive lock and decodes nothing.
func (c *Cache) Local(key string) *Entry {
	if !c.Enabled() {
		return nil
	}
	if e, ok := c.local.GetIfPresent(key); ok && e.StateAt(c.now()) != Expired {
		if e.Purged(c.cfg.Purges) {
			c.local.Invalidate(strings.Clone(key)) // key may be a view of its caller's buffer
			c.purged("local")
			return nil
		}
		return e
	}
	return nil
}

// Purges is the table of what events purged; nil without an event stream.
func (c *Cache) Purges() *purge.Table {
	if c == nil {
		return nil
	}
	return c.cfg.Purges
}

// purged counts an entry found purged in tier.
func (c *Cache) purged(tier string) {
	if c.cfg.OnPurged != nil {
		c.cfg.OnPurged(tier)
	}
}

// PurgedRemote tells whether an entry read from Redis (and decoded, so its
// tags are known) was purged, counting it when it was.
func (c *Cache) PurgedRemote(e *Entry) bool {
	if c == nil || !e.Purged(c.cfg.Purges) {
		return false
	}
	c.purged("redis")
	return true
}

// SetLocal keeps a decoded entry in the in-process tier.
func (c *Cache) SetLocal(key string, e *Entry) {
	if c.Enabled() && e.StateAt(c.now()) != Expired {
		c.local.Set(key, e)
	}
}

// Remote reads keys from Redis in one round trip (one per node of a
// Cluster) and returns, for each, the stored entry still usable now, or nil.
// The entries are not decoded: the caller decodes each body once and keeps
// the result with SetLocal.
func (c *Cache) Remote(ctx context.Context, keys []string) []*Stored {
	out := make([]*Stored, len(keys))
	if !c.Enabled() || len(keys) == 0 {
		return out
	}
	use, probe := c.redisUsable()
	if !use {
		return out
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
	defer cancel()
	vals, err := c.readMany(rctx, keys)
	if err != nil {
		c.redisFailed(err)
		return out
	}
	c.health.Worked(probe)
	now := c.now()
	for i, v := range vals {
		if v == "" {
			continue
		}
		s, err := parseStored(v)
		if err != nil || s.Entry.StateAt(now) == Expired {
			continue
		}
		out[i] = s
	}
	return out
}

// readMany is one MGET on a single node. A Cluster refuses an MGET whose
// keys lie in different slots, so there the reads are a pipeline of GETs,
// which go-redis sends as one round trip per node.
func (c *Cache) readMany(ctx context.Context, keys []string) ([]string, error) {
	out := make([]string, len(keys))
	if _, cluster := c.cfg.Redis.(*redis.ClusterClient); !cluster {
		vals, err := c.cfg.Redis.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if s, ok := v.(string); ok {
				out[i] = s
			}
		}
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := c.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, cmd := range cmds {
		out[i] = cmd.Val()
	}
	return out, nil
}

// record is the stored shape: readable JSON with the body last.
type record struct {
	Status     int             `json:"status"`
	FetchedAt  time.Time       `json:"fetchedAt"`
	FreshUntil time.Time       `json:"freshUntil"`
	StaleUntil time.Time       `json:"staleUntil"`
	Body       json.RawMessage `json:"body,omitempty"`
}

func parseStored(v string) (*Stored, error) {
	var r record
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, err
	}
	return &Stored{
		Entry: &Entry{Status: r.Status, Size: len(r.Body), FetchedAt: r.FetchedAt, FreshUntil: r.FreshUntil, StaleUntil: r.StaleUntil},
		Body:  r.Body,
	}, nil
}

// appendRecord encodes w as its record by hand: the body was decoded
// successfully before it got here, so it is valid JSON and goes in as it
// is, without a second pass over it.
func appendRecord(b []byte, w Write) []byte {
	e := w.Entry
	b = append(b, `{"status":`...)
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, `,"fetchedAt":"`...)
	b = e.FetchedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","freshUntil":"`...)
	b = e.FreshUntil.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","staleUntil":"`...)
	b = e.StaleUntil.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if len(w.Body) > 0 {
		b = append(b, `,"body":`...)
		b = append(b, w.Body...)
	}
	return append(b, '}')
}

// SetRemote writes entries to Redis in one pipeline, each expiring when it
// may no longer be served.
func (c *Cache) SetRemote(ctx context.Context, writes []Write) {
	if !c.Enabled() || len(writes) == 0 {
		return
	}
	use, probe := c.redisUsable()
	if !use {
		return
	}
	now := c.now()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
	defer cancel()
	cmds, err := c.cfg.Redis.Pipelined(rctx, func(p redis.Pipeliner) error {
		for _, w := range writes {
			ttl := w.Entry.StaleUntil.Sub(now)
			if ttl <= 0 {
				continue
			}
			p.Set(rctx, w.Key, appendRecord(make([]byte, 0, len(w.Body)+160), w), ttl)
		}
		return nil
	})
	if err != nil && !refusedOnly(cmds) {
		c.redisFailed(err)
		return
	}
	if err != nil {
		// Redis answered, and said no to these values (full under
		// noeviction, an ACL, a size limit): their entries stay
		// in-process only. Redis is not down, so reads and the other
		// writes go on; marking it degraded would skip them for nothing.
		c.cfg.Logger.Warn("cache: Redis refused a write; the entry is kept in-process only", slog.String("error", err.Error()))
	}
	c.health.Worked(probe)
}

// refusedOnly reports whether every failed command of a pipeline failed
// with an error reply from Redis (which answered, so it is up) rather than
// a connection error or a timeout.
func refusedOnly(cmds []redis.Cmder) bool {
	failed := false
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			var reply redis.Error
			if !errors.As(err, &reply) {
				return false
			}
			failed = true
		}
	}
	return failed
}

// Set keeps one entry in both tiers (tests and single writes).
func (c *Cache) Set(ctx context.Context, key string, e *Entry, body []byte) {
	c.SetLocal(key, e)
	c.SetRemote(ctx, []Write{{Key: key, Entry: e, Body: body}})
}

// leaseTTL bounds one background refresh; a replica that dies mid-refresh
// holds the key no longer than this.
const leaseTTL = 10 * time.Second

// Lease claims the right to refresh key in the background, so that only one
// replica (or, without Redis, one goroutine) refreshes a stale entry at a
// time. It returns false when someone else holds it.
func (c *Cache) Lease(ctx context.Context, key string) bool {
	if use, probe := c.redisUsable(); use {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
		defer cancel()
		ok, err := c.cfg.Redis.SetNX(rctx, c.cfg.Prefix+"lease:"+key, "1", leaseTTL).Result()
		if err == nil {
			c.health.Worked(probe)
			return ok
		}
		c.redisFailed(err)
	}
	now := c.now()
	c.leaseMu.Lock()
	defer c.leaseMu.Unlock()
	if till, held := c.leaseTill[key]; held && now.Before(till) {
		return false
	}
	for k, till := range c.leaseTill {
		if !now.Before(till) {
			delete(c.leaseTill, k)
		}
	}
	c.leaseTill[key] = now.Add(leaseTTL)
	return true
}

// Release gives a lease back once the refresh is done.
func (c *Cache) Release(ctx context.Context, key string) {
	c.leaseMu.Lock()
	delete(c.leaseTill, key)
	c.leaseMu.Unlock()
	if use, probe := c.redisUsable(); use {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
		defer cancel()
		if err := c.cfg.Redis.Del(rctx, c.cfg.Prefix+"lease:"+key).Err(); err == nil {
			c.health.Worked(probe)
		}
	}
}

// redisUsable reports whether a call may go to Redis now (there is one, and
// it is healthy or this call is the probe of a degraded one), and whether
// the call is that probe.
func (c *Cache) redisUsable() (use, probe bool) {
	if c.cfg.Redis == nil {
		return false, false
	}
	return c.health.Use()
}

// redisFailed marks Redis degraded after a failed call; redis.Nil is an
// answer (no such key), not a failure.
func (c *Cache) redisFailed(err error) {
	if errors.Is(err, redis.Nil) {
		return
	}
	c.health.Failed(err)
}

// Ping checks Redis for /readyz.
func (c *Cache) Ping(ctx context.Context) error {
	if !c.Shared() {
		return nil
	}
	return c.health.Check(ctx, c.cfg.Redis, c.cfg.RedisTimeout*5)
}
