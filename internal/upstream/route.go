package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"go.opentelemetry.io/otel/trace"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/tracing/calls"
)

// A Route is one upstream endpoint seen as a function from keys to decoded
// values: where a key lives (its URL) and how a body becomes a value. The
// loaders ask for many keys at once (GetMany) and never see a URL.
//
// A lookup of many keys costs, in order:
//
//  1. one pass over the in-process tier of decoded values: a hit decodes
//     nothing and takes no exclusive lock; a stale hit is served and
//     refreshed in the background;
//  2. one Redis round trip for the misses; each body found is decoded once
//     and kept decoded in-process;
//  3. the rest fetched at most Client.Concurrency at a time (in URL order
//     when there are more, so identical lookups side by side send the same
//     requests at the same moments), each shared with identical calls in
//     flight or just finished (share.go), through the rate governor;
//  4. one pipelined Redis write of what was fetched.
//
// Values are shared by every request that reads them: a Route's decode
// returns a fresh value, and nobody writes to it after.
type Route[K comparable, V any] struct {
	url func(dst []byte, k K) ([]byte, error)
	dec decoder
}

// Related is another cache entry that a fetched value also answers: an
// organization fetched by id answers by name too. Value must be what the
// other route decodes to; Body is what Redis keeps for it.
type Related struct {
	URL   string
	Value any
	Body  []byte
	Tags  []string // what the entry is built from (internal/purge)
}

// decoder is a route's untyped side, for the client's flights and refreshes.
type decoder struct {
	route string
	// decode makes a fresh value of a 200 body, and the related entries
	// when asked for them (only what is cached needs them).
	decode func(body []byte, related bool) (any, []Related, error)
	is     func(v any) bool // whether v has the route's value type
	// tags names what an entry of the route was built from, by its URL
	// and its value (nil for a 404); nil: the route has no tags.
	tags func(rawURL string, v any) []string
}

// entryTags are the tags of an entry of d at rawURL holding v.
func (d *decoder) entryTags(rawURL string, v any) []string {
	if d.tags == nil {
		return nil
	}
	return d.tags(rawURL, v)
}

// NewRoute returns the route named name (a template such as
// "GET /api/v2/organizations/{id}", used in errors, metrics and spans, never
// a raw URL). url appends a key's request URL to dst, or returns an error
// that refuses the key before any call: appending lets a lookup build the
// cache key of a warm key in a buffer, with no allocation. decode turns a
// 200 body into a fresh value. related, when not nil, names the other
// entries a fetched value answers.
func NewRoute[K comparable, V any](name string, url func(dst []byte, k K) ([]byte, error), decode func(body []byte) (V, error),
	related func(v V, body []byte) []Related) *Route[K, V] {
	r := &Route[K, V]{url: url}
	r.dec = decoder{
		route: name,
		decode: func(body []byte, withRelated bool) (any, []Related, error) {
			v, err := decode(body)
			if err != nil {
				return nil, nil, err
			}
			var rel []Related
			if related != nil && withRelated {
				rel = related(v, body)
			}
			return v, rel, nil
		},
		is: func(v any) bool { _, ok := v.(V); return ok },
	}
	return r
}

// WithTags gives the route's entries tags (internal/purge): what an entry
// at a URL holding a value (the zero V for a remembered 404) was built
// from, so that an event purges it. It returns r.
func (r *Route[K, V]) WithTags(tags func(rawURL string, v V, found bool) []string) *Route[K, V] {
	r.dec.tags = func(rawURL string, v any) []string {
		tv, ok := v.(V)
		return tags(rawURL, tv, ok && v != nil)
	}
	return r
}

// Name is the route's template.
func (r *Route[K, V]) Name() string { return r.dec.route }

// Result is the answer for one key: the value, or Found false for an
// upstream 404, or the error that stopped it.
type Result[V any] struct {
	Value V
	Found bool
	Err   error
}

// lookup is one key's way through Client.many.
type lookup struct {
	url, key string       // made only for what is not fresh in-process; key is "" when caching is off
	local    *cache.Entry // the usable in-process entry prepare found
	ctx      context.Context
	span     trace.Span
	entry    *cache.Entry
	err      error
}

// GetMany answers keys in key order, one Result each, as the Route type
// describes.
func GetMany[K comparable, V any](ctx context.Context, c *Client, r *Route[K, V], keys []K) []Result[V] {
	ls := make([]lookup, len(keys))
	prepare(c, ctx, ls, keys, r.url, &r.dec)
	c.many(ctx, &r.dec, ls)
	out := make([]Result[V], len(keys))
	for i := range ls {
		out[i] = resultOf[V](&ls[i])
	}
	return out
}

// Get is GetMany for one key.
func Get[K comparable, V any](ctx context.Context, c *Client, r *Route[K, V], key K) Result[V] {
	return GetMany(ctx, c, r, []K{key})[0]
}

// Peek answers key from the in-process tier alone, when it holds a fresh or
// stale entry (a stale one is refreshed in the background), and reports
// whether it could. It costs no round trip and no lock, so a loader asks it
// first and batches only the misses.
func Peek[K comparable, V any](ctx context.Context, c *Client, r *Route[K, V], key K) (Result[V], bool) {
	if !c.Cache.Enabled() {
		return Result[V]{}, false
	}
	var l [1]lookup
	prepare(c, ctx, l[:], []K{key}, r.url, &r.dec)
	if l[0].local == nil {
		return Result[V]{}, false
	}
	l[0].ctx = ctx
	if c.Tracer != nil {
		l[0].ctx, l[0].span = calls.Start(ctx, c.Tracer, c.Service, r.dec.route)
	}
	var t lookupTally
	c.hit(ctx, &r.dec, &l[0], l[0].local, &t)
	c.recordLookups(r.dec.route, t)
	c.endLookup(&l[0])
	return resultOf[V](&l[0]), true
}

func resultOf[V any](l *lookup) Result[V] {
	switch {
	case l.err != nil:
		return Result[V]{Err: l.err}
	case l.entry == nil || l.entry.Status == 404:
		return Result[V]{}
	}
	v, ok := l.entry.Value.(V)
	if !ok {
		return Result[V]{Err: fmt.Errorf("upstream: cached value is %T, not %T", l.entry.Value, v)}
	}
	return Result[V]{Value: v, Found: true}
}

// prepare builds each key's cache key in a buffer and looks it up in the
// in-process tier there, without allocating: a fresh hit needs no strings.
// Only keys that are not fresh in-process get their URL and cache key made
// (the URL is the key's tail, so one string each).
func prepare[K any](c *Client, ctx context.Context, ls []lookup, keys []K, url func([]byte, K) ([]byte, error), d *decoder) {
	on := c.Cache.Enabled()
	prefix := ""
	if on {
		prefix = c.Cache.Key(c.Service, c.scope(ctx), "")
	}
	buf := make([]byte, 0, 256)
	for i, k := range keys {
		var err error
		buf, err = url(append(buf[:0], prefix...), k)
		if err != nil {
			ls[i].err = err
			continue
		}
		if on {
			// The key is a view of buf: Local keeps nothing of it.
			if e := c.Cache.Local(unsafe.String(unsafe.SliceData(buf), len(buf))); e != nil && (e.Status == 404 || d.is(e.Value)) {
				ls[i].local = e
				if e.StateAt(c.now()) == cache.Fresh {
					continue
				}
			}
		}
		key := string(buf)
		ls[i].url = key[len(prefix):]
		if on {
			ls[i].key = key
		}
	}
}

// many runs the lookups of one route (see Route for the order).
func (c *Client) many(ctx context.Context, d *decoder, ls []lookup) {
	rq := RequestFrom(ctx)
	rq.countBatch()
	if c.Tracer != nil {
		bctx := calls.WithBatchSize(ctx, len(ls))
		for i := range ls {
			ls[i].ctx, ls[i].span = calls.Start(bctx, c.Tracer, c.Service, d.route)
		}
		defer func() {
			for i := range ls {
				c.endLookup(&ls[i])
			}
		}()
	} else {
		for i := range ls {
			ls[i].ctx = ctx
		}
	}

	var t lookupTally
	defer func() { c.recordLookups(d.route, t) }()
	var misses []int
	for i := range ls {
		l := &ls[i]
		if l.err != nil {
			continue
		}
		if l.local != nil {
			c.hit(ctx, d, l, l.local, &t)
			continue
		}
		misses = append(misses, i)
	}
	if len(misses) == 0 {
		return
	}
	if c.Cache.Enabled() && c.Cache.Shared() {
		misses = c.remote(ctx, d, ls, misses, &t)
	}
	for _, i := range misses {
		if ls[i].key != "" {
			t.miss++
			calls.CacheOutcome(ls[i].ctx, "miss")
		}
	}
	// At most Concurrency at once: more misses than that go in rounds, in
	// URL order, so identical lookups side by side send the same requests
	// at the same moments and share them.
	round := max(c.Concurrency, 1)
	if len(misses) > round {
		slices.SortFunc(misses, func(a, b int) int { return strings.Compare(ls[a].url, ls[b].url) })
	}
	w := &writeBatch{}
	flights := make([]*flight, min(len(misses), round))
	for len(misses) > 0 {
		batch := misses[:min(len(misses), round)]
		misses = misses[len(batch):]
		for j, i := range batch {
			flights[j] = c.join(ls[i].ctx, d, ls[i].url, ls[i].key, w)
		}
		for j, i := range batch {
			l := &ls[i]
			l.entry, l.err = c.wait(l.ctx, d, flights[j], l.url, l.key, w)
			if l.entry != nil {
				rq.used(l.entry.FreshUntil)
				rq.usedTags(l.entry)
			}
		}
	}
	w.flush(ctx, c.Cache)
}

// remote reads the misses from Redis in one round trip, decodes what it
// finds once and keeps it in-process, and returns the keys still missing.
func (c *Client) remote(ctx context.Context, d *decoder, ls []lookup, misses []int, t *lookupTally) []int {
	keys := make([]string, len(misses))
	for j, i := range misses {
		keys[j] = ls[i].key
	}
	stored := c.Cache.Remote(ctx, keys)
	rest := misses[:0]
	for j, s := range stored {
		i := misses[j]
		if s == nil {
			rest = append(rest, i)
			continue
		}
		e := s.Entry
		if e.Status != 404 {
			v, _, err := d.decode(s.Body, false)
			c.recordDecode(d.route, "redis")
			if err != nil {
				// An entry no longer decodable (another version's shape):
				// fetched again and overwritten.
				rest = append(rest, i)
				continue
			}
			e.Value, e.Size = v, weight(v, len(s.Body))
		}
		e.Tags = d.entryTags(ls[i].url, e.Value)
		if c.Cache.PurgedRemote(e) {
			// An event changed what it was built from: fetched again.
			rest = append(rest, i)
			continue
		}
		c.Cache.SetLocal(ls[i].key, e)
		c.hit(ctx, d, &ls[i], e, t)
	}
	return rest
}

// hit answers a lookup from a cached entry, refreshing a stale one.
func (c *Client) hit(ctx context.Context, d *decoder, l *lookup, e *cache.Entry, t *lookupTally) {
	l.entry = e
	rq := RequestFrom(ctx)
	rq.countHit()
	rq.used(e.FreshUntil)
	rq.usedTags(e)
	if e.StateAt(c.now()) == cache.Stale {
		t.stale++
		calls.CacheOutcome(l.ctx, "stale")
		c.refresh(ctx, d, l.url, l.key)
		return
	}
	t.hit++
	calls.CacheOutcome(l.ctx, "hit")
}

func (c *Client) endLookup(l *lookup) {
	if l.span != nil {
		c.endSpan(l.span, l.err)
		l.span = nil
	}
}

// writeBatch collects the Redis writes of one many-key lookup, to send them
// in one pipeline at its end. A shared call that outlives the lookup that
// led it (whose caller stopped waiting) writes its own entries.
type writeBatch struct {
	mu      sync.Mutex
	writes  []cache.Write
	flushed bool
	// held are bodies whose bytes stay taken from their BodyMemory until
	// the writes that may hold them went out.
	held   [][]byte
	bodies *BodyMemory
}

// release gives a decoded body's bytes back to m: at once, or, while w
// collects writes for a shared cache (which may hold the body), when w is
// flushed.
func (w *writeBatch) release(c *cache.Cache, m *BodyMemory, body []byte) {
	if w != nil && body != nil && c.Shared() {
		w.mu.Lock()
		if !w.flushed {
			w.held, w.bodies = append(w.held, body), m
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
	m.Release(body)
}

func (w *writeBatch) add(ctx context.Context, c *cache.Cache, wr cache.Write) {
	if !c.Shared() {
		return
	}
	if w != nil {
		w.mu.Lock()
		if !w.flushed {
			w.writes = append(w.writes, wr)
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
	c.SetRemote(ctx, []cache.Write{wr})
}

func (w *writeBatch) flush(ctx context.Context, c *cache.Cache) {
	w.mu.Lock()
	writes, held := w.writes, w.held
	w.writes, w.held, w.flushed = nil, nil, true
	w.mu.Unlock()
	c.SetRemote(ctx, writes)
	for _, body := range held {
		w.bodies.Release(body)
	}
}

// rawJSON is the untyped route of GetJSON: any URL, the body kept as it came.
var rawJSON = NewRoute("", func(dst []byte, u string) ([]byte, error) { return append(dst, u...), nil },
	func(body []byte) (json.RawMessage, error) {
		if !json.Valid(body) {
			return nil, errInvalidJSON
		}
		return json.RawMessage(body), nil
	}, nil)

var errInvalidJSON = fmt.Errorf("the body is not JSON")

// ErrMalformed is what a route's decode wraps when a body is JSON of the
// right types but not an answer: null, an empty object, or an item
// without the fields that identify it. Like a body that does not decode, it
// is an upstream error (code malformed) and is never cached.
var ErrMalformed = errors.New("upstream: malformed answer")

// decodeError is the upstream error of a 200 body that did not decode.
func decodeError(service, route string, err error) *Error {
	code := codeInvalidJSON
	if errors.Is(err, ErrMalformed) {
		code = codeMalformed
	}
	return &Error{Service: service, Route: route, Status: http.StatusOK, Kind: KindOther, Code: code, Err: err}
}

// GetJSON fetches rawURL through the cache and sharing like any route, and
// decodes the body into out on every call. It is for callers without a
// typed route (tests, tools): the loaders use typed routes, which decode
// once per process. route names the endpoint in errors and metrics; a 404 is
// an error of KindNotFound.
func (c *Client) GetJSON(ctx context.Context, route, rawURL string, out any) error {
	r := &Route[string, json.RawMessage]{url: rawJSON.url, dec: rawJSON.dec}
	r.dec.route = route
	res := Get(ctx, c, r, rawURL)
	switch {
	case res.Err != nil:
		return res.Err
	case !res.Found:
		return &Error{Service: c.Service, Route: route, Status: 404, Kind: KindNotFound, Code: "not_found"}
	}
	if err := json.Unmarshal(res.Value, out); err != nil {
		return decodeError(c.Service, route, err)
	}
	return nil
}
