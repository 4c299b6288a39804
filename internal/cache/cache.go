// Package cache is the two-tier cache under the loaders: a bounded
// in-process LRU in front of Redis, shared by every replica. It stores
// upstream responses, so Auth0's and UiPath's small rate limits are spent
// once per resource per TTL across the whole fleet instead of once per query.
//
// Entries are readable JSON (redis-cli GET shows the upstream body) under
// versioned keys that name the upstream, the tenant and the credentials
// scope, so two tenants or two sets of credentials never share an entry.
// Each entry knows until when it is fresh and until when it may still be
// served stale (design §4). Reads of many keys are one MGET, writes one
// pipeline. Redis failing is not an outage: the in-process tier carries on,
// Degraded reports it, and Redis is probed again after a second.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
)

// KeyVersion is part of every key; bump it when Entry's shape changes so
// old replicas and new ones never read each other's entries.
const KeyVersion = "v1"

// Entry is one cached upstream response.
type Entry struct {
	// Status is 200 for a body, 404 for a cached "not found".
	Status int `json:"status"`
	// Body is the upstream's JSON response, stored as it came.
	Body       json.RawMessage `json:"body,omitempty"`
	FetchedAt  time.Time       `json:"fetchedAt"`
	FreshUntil time.Time       `json:"freshUntil"`
	StaleUntil time.Time       `json:"staleUntil"`
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
	// LocalEntries bounds the in-process tier.
	LocalEntries int
	// RedisTimeout bounds one Redis round trip, so a slow Redis costs a
	// request at most this much before the in-process tier answers alone.
	RedisTimeout time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

// Cache is the two-tier cache. Its zero value is not usable; use New.
type Cache struct {
	cfg   Config
	local *lru.Cache[string, *Entry]
	now   func() time.Time

	degraded  atomic.Bool
	probeAt   atomic.Int64 // unix nanos after which a degraded cache tries Redis again
	leaseMu   sync.Mutex
	leaseTill map[string]time.Time // in-process leases, when there is no Redis
}

// New returns a cache for cfg.
func New(cfg Config) (*Cache, error) {
	if cfg.LocalEntries <= 0 {
		cfg.LocalEntries = 10000
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
	local, err := lru.New[string, *Entry](cfg.LocalEntries)
	if err != nil {
		return nil, err
	}
	return &Cache{cfg: cfg, local: local, now: now, leaseTill: make(map[string]time.Time)}, nil
}

// Enabled reports whether anything is cached at all (CACHE_TTL > 0).
func (c *Cache) Enabled() bool { return c != nil && c.cfg.TTL > 0 }

// Shared reports whether the cache has a Redis tier.
func (c *Cache) Shared() bool { return c != nil && c.cfg.Redis != nil }

// Degraded reports whether the Redis tier is configured but unusable.
func (c *Cache) Degraded() bool { return c.Shared() && c.degraded.Load() }

// Key is the Redis key of an upstream response: the service, the
// credentials scope (a fingerprint, never the credentials) and the request
// URL, whose host names the tenant.
func (c *Cache) Key(service, scope, rawURL string) string {
	return c.cfg.Prefix + KeyVersion + ":" + service + ":" + scope + ":" + rawURL
}

// NewEntry builds the entry for a response fetched now: fresh for TTL (a
// 404 for NotFoundTTL) with ±10% jitter so keys written together do not all
// expire together, then stale for StaleTTL (404s are never served stale).
func (c *Cache) NewEntry(status int, body []byte) *Entry {
	now := c.now()
	e := &Entry{Status: status, Body: body, FetchedAt: now}
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

// GetMany returns the usable entry for each key (nil for a miss), reading
// the in-process tier first and fetching all its misses from Redis in one
// MGET. Entries found in Redis are kept in-process too.
func (c *Cache) GetMany(ctx context.Context, keys []string) []*Entry {
	out := make([]*Entry, len(keys))
	if !c.Enabled() {
		return out
	}
	now := c.now()
	var remote []int
	for i, k := range keys {
		if e, ok := c.local.Get(k); ok && e.StateAt(now) != Expired {
			out[i] = e
			continue
		}
		remote = append(remote, i)
	}
	if len(remote) == 0 || !c.redisUsable() {
		return out
	}
	rkeys := make([]string, len(remote))
	for j, i := range remote {
		rkeys[j] = keys[i]
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
	defer cancel()
	vals, err := c.cfg.Redis.MGet(rctx, rkeys...).Result()
	if err != nil {
		c.redisFailed(err)
		return out
	}
	c.redisWorked()
	for j, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var e Entry
		if json.Unmarshal([]byte(s), &e) != nil || e.StateAt(now) == Expired {
			continue
		}
		out[remote[j]] = &e
		c.local.Add(rkeys[j], &e)
	}
	return out
}

// GetLocal reads the in-process tier only.
func (c *Cache) GetLocal(key string) *Entry {
	if !c.Enabled() {
		return nil
	}
	if e, ok := c.local.Get(key); ok && e.StateAt(c.now()) != Expired {
		return e
	}
	return nil
}

// Get is GetMany for one key.
func (c *Cache) Get(ctx context.Context, key string) *Entry {
	return c.GetMany(ctx, []string{key})[0]
}

// Write is one entry to store.
type Write struct {
	Key   string
	Entry *Entry
}

// SetMany stores entries in-process at once and in Redis in one pipeline,
// each expiring when it may no longer be served.
func (c *Cache) SetMany(ctx context.Context, writes []Write) {
	for _, w := range writes {
		c.SetLocal(w.Key, w.Entry)
	}
	c.SetRemote(ctx, writes)
}

// SetLocal stores an entry in the in-process tier only; a loader batch does
// this as each response arrives and writes the batch to Redis at its end.
func (c *Cache) SetLocal(key string, e *Entry) {
	if c.Enabled() {
		c.local.Add(key, e)
	}
}

// SetRemote writes entries to Redis in one pipeline.
func (c *Cache) SetRemote(ctx context.Context, writes []Write) {
	if !c.Enabled() || len(writes) == 0 || !c.redisUsable() {
		return
	}
	now := c.now()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
	defer cancel()
	_, err := c.cfg.Redis.Pipelined(rctx, func(p redis.Pipeliner) error {
		for _, w := range writes {
			ttl := w.Entry.StaleUntil.Sub(now)
			if ttl <= 0 {
				continue
			}
			b, err := json.Marshal(w.Entry)
			if err != nil {
				return err
			}
			p.Set(rctx, w.Key, b, ttl)
		}
		return nil
	})
	if err != nil {
		c.redisFailed(err)
		return
	}
	c.redisWorked()
}

// Set is SetMany for one entry.
func (c *Cache) Set(ctx context.Context, key string, e *Entry) {
	c.SetMany(ctx, []Write{{Key: key, Entry: e}})
}

// leaseTTL bounds one background refresh; a replica that dies mid-refresh
// holds the key no longer than this.
const leaseTTL = 10 * time.Second

// Lease claims the right to refresh key in the background, so that only one
// replica (or, without Redis, one goroutine) refreshes a stale entry at a
// time. It returns false when someone else holds it.
func (c *Cache) Lease(ctx context.Context, key string) bool {
	if c.redisUsable() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
		defer cancel()
		ok, err := c.cfg.Redis.SetNX(rctx, c.cfg.Prefix+"lease:"+key, "1", leaseTTL).Result()
		if err == nil {
			c.redisWorked()
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
	if c.redisUsable() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.RedisTimeout)
		defer cancel()
		_ = c.cfg.Redis.Del(rctx, c.cfg.Prefix+"lease:"+key).Err()
	}
}

// probeInterval is how long a degraded cache leaves Redis alone before it
// tries again; go-redis reconnects by itself once Redis is back.
const probeInterval = time.Second

func (c *Cache) redisUsable() bool {
	if c.cfg.Redis == nil {
		return false
	}
	if !c.degraded.Load() {
		return true
	}
	// Let one caller through per interval as a probe.
	at := c.probeAt.Load()
	now := c.now().UnixNano()
	return now >= at && c.probeAt.CompareAndSwap(at, now+int64(probeInterval))
}

func (c *Cache) redisFailed(err error) {
	if errors.Is(err, redis.Nil) {
		return
	}
	c.probeAt.Store(c.now().Add(probeInterval).UnixNano())
	if !c.degraded.Swap(true) {
		c.cfg.Logger.Warn("cache degraded: Redis unavailable, serving from the in-process tier", slog.String("error", err.Error()))
	}
}

func (c *Cache) redisWorked() {
	if c.degraded.Swap(false) {
		c.cfg.Logger.Info("cache recovered: Redis is back")
	}
}

// Ping checks Redis for /readyz.
func (c *Cache) Ping(ctx context.Context) error {
	if !c.Shared() {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RedisTimeout*5)
	defer cancel()
	if err := c.cfg.Redis.Ping(rctx).Err(); err != nil {
		c.redisFailed(err)
		return err
	}
	c.redisWorked()
	return nil
}
