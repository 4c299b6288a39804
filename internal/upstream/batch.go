package upstream

import (
	"context"
	"sync"

	"github.com/orgraph/orgraph/internal/cache"
)

// A batch groups the cache traffic of one loader batch: its keys are read
// from Redis in one MGET before any is fetched (Prefetch), and what the
// batch fetched is written to Redis in one pipeline at its end (Flush).
type batch struct {
	mu      sync.Mutex
	checked map[string]struct{} // keys whose Redis entry was already read
	writes  []cache.Write
	cache   *cache.Cache
}

type batchKey struct{}

// StartBatch returns a context that collects the cache reads and writes of
// one loader batch, and the function that writes them out at its end.
func StartBatch(ctx context.Context) (context.Context, func()) {
	b := &batch{}
	return context.WithValue(ctx, batchKey{}, b), func() {
		b.mu.Lock()
		writes, c := b.writes, b.cache
		b.writes = nil
		b.mu.Unlock()
		if c != nil {
			c.SetRemote(ctx, writes)
		}
	}
}

func batchOf(ctx context.Context) *batch {
	b, _ := ctx.Value(batchKey{}).(*batch)
	return b
}

// Prefetch reads the cache entries of rawURLs in one round trip, so the
// fetches of the batch that follow find them in-process.
func (c *Client) Prefetch(ctx context.Context, rawURLs []string) {
	b := batchOf(ctx)
	if b == nil || !c.Cache.Enabled() || len(rawURLs) == 0 {
		return
	}
	keys := make([]string, len(rawURLs))
	for i, u := range rawURLs {
		keys[i] = c.cacheKey(ctx, u)
	}
	c.Cache.GetMany(ctx, keys)
	b.mu.Lock()
	if b.checked == nil {
		b.checked = make(map[string]struct{}, len(keys))
	}
	for _, k := range keys {
		b.checked[k] = struct{}{}
	}
	b.mu.Unlock()
}

// lookup reads one entry, from the in-process tier only when the batch has
// already read Redis for it.
func (c *Client) lookup(ctx context.Context, key string) *cache.Entry {
	if b := batchOf(ctx); b != nil {
		b.mu.Lock()
		_, done := b.checked[key]
		b.mu.Unlock()
		if done {
			return c.Cache.GetLocal(key)
		}
	}
	return c.Cache.Get(ctx, key)
}

// store keeps a fetched entry: in-process at once, and in Redis at the end
// of the batch (or at once outside one).
func (c *Client) store(ctx context.Context, key string, e *cache.Entry) {
	b := batchOf(ctx)
	if b == nil {
		c.Cache.Set(ctx, key, e)
		return
	}
	c.Cache.SetLocal(key, e)
	b.mu.Lock()
	b.cache = c.Cache
	b.writes = append(b.writes, cache.Write{Key: key, Entry: e})
	b.mu.Unlock()
}
