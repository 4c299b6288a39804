// Package respcache keeps whole GraphQL responses, so that an operation seen
// again (the same request body or query string, from a caller with the same
// authorization) is answered with the stored bytes, without parsing,
// validating or executing it: the most a gateway can do for the fixed
// queries of frontends and BFFs.
//
// What may be stored and for how long is decided by the gateway's HTTP layer
// (internal/server): only responses without errors and not incremental, for
// no longer than the soonest freshUntil of the upstream entries they were
// built from (upstream.Request.FreshUntil), so a stored response is never
// staler than the data cache it came from. The tier is per process, bounded
// in bytes (github.com/maypok86/otter/v2): the data cache below it is
// already shared through Redis, and a response is cheap to rebuild from it.
package respcache

import (
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/orgraph/orgraph/internal/purge"
)

// Entry is one stored response.
type Entry struct {
	Body      []byte    // the response, as it was sent
	Operation string    // the operation's name, for metrics and the access log
	Expires   time.Time // when it may no longer be served
	// ContentLength is the Content-Length header's value, made once.
	ContentLength []string
	// Count, when set, counts one answer of the operation in the metrics;
	// resolved when the entry is stored, so a hit looks no label up.
	Count func(d time.Duration)
	// Tags are what the response was built from, each with the earliest
	// fetch time of the upstream entries of that tag it used: an event
	// that purges one of them purges the response (internal/purge).
	Tags []purge.Stamp

	checked atomic.Uint64 // the purge generation at which it was last found unpurged
}

// Purged reports whether an event purged what e was built from (p nil: no
// events). The entry remembers a negative answer until the table changes.
func (e *Entry) Purged(p *purge.Table) bool {
	if p == nil || len(e.Tags) == 0 {
		return false
	}
	g := p.Gen()
	if g != 0 && e.checked.Load() == g {
		return false
	}
	if p.PurgedStamps(e.Tags) {
		return true
	}
	e.checked.Store(g)
	return false
}

// entryOverhead is what an entry weighs beyond its key and body.
const entryOverhead = 128

// Cache is the in-process response cache. The zero value is not usable;
// a nil *Cache stores nothing.
type Cache struct {
	lru *otter.Cache[string, *Entry]
	now func() time.Time
}

// New returns a cache holding at most maxBytes of keys and bodies.
func New(maxBytes int64, now func() time.Time) (*Cache, error) {
	if now == nil {
		now = time.Now
	}
	lru, err := otter.New(&otter.Options[string, *Entry]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(key string, e *Entry) uint32 {
			w := int64(len(key) + len(e.Body) + len(e.Operation) + entryOverhead)
			for _, t := range e.Tags {
				w += int64(len(t.Tag)) + 24
			}
			return uint32(min(w, 1<<31))
		},
		// Entries leave when they expire, not only when room is needed.
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[string, *Entry]) time.Duration {
			return e.Value.Expires.Sub(now())
		}),
	})
	if err != nil {
		return nil, err
	}
	return &Cache{lru: lru, now: now}, nil
}

// Get returns the entry stored under key while it may be served, else nil.
// It keeps nothing of key, which may be a view of a buffer its caller
// reuses.
func (c *Cache) Get(key string) *Entry {
	if c == nil {
		return nil
	}
	e, ok := c.lru.GetIfPresent(key)
	if !ok || !c.now().Before(e.Expires) {
		return nil
	}
	return e
}

// Delete drops the entry under key (one an event purged).
func (c *Cache) Delete(key string) {
	if c != nil {
		c.lru.Invalidate(key)
	}
}

// Set stores e under key, unless it has already expired.
func (c *Cache) Set(key string, e *Entry) {
	if c == nil || !c.now().Before(e.Expires) {
		return
	}
	c.lru.Set(key, e)
}

// Close stops the cache's background maintenance.
func (c *Cache) Close() {
	if c != nil {
		c.lru.StopAllGoroutines()
	}
}
