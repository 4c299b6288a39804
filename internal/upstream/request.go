package upstream

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/purge"
)

// Request is what one gateway request carries down to the upstream client,
// in one value on its context: when it began (for sharing results after the
// fact, share.go), the caller's token in forward mode, the operation's call
// budget (budget.go), whether it may wait for rate budget, and what it cost,
// for the access log, the benchmark and the response cache.
//
// The server puts one on each request's context (WithRequest); work that is
// not the request's own (a background refresh) runs under a detached copy.
// A context without one, or one whose start is unknown, shares results only
// while they are in flight; it has no budget and no forwarded token.
type Request struct {
	began     time.Time
	forwarded string // the caller's bearer token (UPSTREAM_AUTH_MODE=forward)
	scope     string // "caller-" + fingerprint(forwarded), computed once
	budget    *callBudget
	noWait    bool

	calls      atomic.Int64 // requests sent upstream, retries included
	cacheHits  atomic.Int64 // fresh and stale cache answers
	batches    atomic.Int64 // many-key lookups (GetMany calls)
	freshUntil atomic.Int64 // unix nanos: the soonest FreshUntil of the entries used; 0: none yet

	// What the entries used were built from, for the response cache to
	// store with the answer so that events purge it: only when TrackTags
	// asked for it (an event stream is configured).
	trackTags bool
	tagMu     sync.Mutex
	tags      map[string]int64 // tag → earliest FetchedAt (unix nanos)
	tagsOver  bool             // more than MaxRequestTags
}

// MaxRequestTags bounds the tags one request records: an answer built from
// more is not stored by the response cache, so a huge query cannot make the
// record grow without bound.
const MaxRequestTags = 4096

// TrackTags makes the request record the tags of the entries it uses.
func (r *Request) TrackTags() {
	if r != nil {
		r.trackTags = true
	}
}

// Tags returns the tags of the entries the request used, each with the
// earliest fetch time, and false when there were more than MaxRequestTags
// (or the request did not track them).
func (r *Request) Tags() ([]purge.Stamp, bool) {
	if r == nil || !r.trackTags {
		return nil, false
	}
	r.tagMu.Lock()
	defer r.tagMu.Unlock()
	if r.tagsOver {
		return nil, false
	}
	out := make([]purge.Stamp, 0, len(r.tags))
	for t, at := range r.tags {
		out = append(out, purge.Stamp{Tag: t, At: at})
	}
	return out, true
}

// usedTags records the tags of an entry that went into the answer.
func (r *Request) usedTags(e *cache.Entry) {
	if r == nil || !r.trackTags || len(e.Tags) == 0 {
		return
	}
	at := e.FetchedAt.UnixNano()
	r.tagMu.Lock()
	defer r.tagMu.Unlock()
	if r.tagsOver {
		return
	}
	if r.tags == nil {
		r.tags = make(map[string]int64, len(e.Tags))
	}
	for _, t := range e.Tags {
		if cur, ok := r.tags[t]; !ok || at < cur {
			if !ok && len(r.tags) >= MaxRequestTags {
				r.tagsOver, r.tags = true, nil
				return
			}
			r.tags[t] = at
		}
	}
}

// NewRequest returns the scope of a request that began at began.
func NewRequest(began time.Time) *Request { return &Request{began: began} }

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request scope on ctx, nil when there is none.
// Every method of *Request works on nil.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// SetForwardedToken records the caller's bearer token, which ForwardedToken
// sends upstream, and its fingerprint, which keys the caller's cache entries.
func (r *Request) SetForwardedToken(token string) {
	if r == nil {
		return
	}
	r.forwarded = token
	r.scope = "caller-" + fingerprint(token)
}

// CredentialScope names the credentials the request's upstream calls use
// when they are the caller's own (forward mode: "caller-" and a hash of the
// token), "" when they are the gateway's.
func (r *Request) CredentialScope() string {
	if r == nil {
		return ""
	}
	return r.scope
}

// Began is when the request began; the zero time without a request.
func (r *Request) Began() time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.began
}

// Calls is how many requests this request's calls sent upstream.
func (r *Request) Calls() int64 {
	if r == nil {
		return 0
	}
	return r.calls.Load()
}

// CacheHits is how many answers came from the cache, fresh or stale.
func (r *Request) CacheHits() int64 {
	if r == nil {
		return 0
	}
	return r.cacheHits.Load()
}

// Batches is how many many-key lookups the request made: one per loader
// batch or batch resolver, whatever the number of keys.
func (r *Request) Batches() int64 {
	if r == nil {
		return 0
	}
	return r.batches.Load()
}

// FreshUntil is the soonest time until which every upstream entry the
// request used is fresh, and false when it used none. An answer built from
// those entries is as fresh as this and no longer.
func (r *Request) FreshUntil() (time.Time, bool) {
	if r == nil {
		return time.Time{}, false
	}
	n := r.freshUntil.Load()
	if n == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// used records that an entry fresh until t went into the answer.
func (r *Request) used(t time.Time) {
	if r == nil {
		return
	}
	n := t.UnixNano()
	if n <= 0 {
		n = 1 // before the epoch: already stale, and must still count
	}
	for {
		cur := r.freshUntil.Load()
		if cur != 0 && cur <= n {
			return
		}
		if r.freshUntil.CompareAndSwap(cur, n) {
			return
		}
	}
}

func (r *Request) countCall() {
	if r != nil {
		r.calls.Add(1)
	}
}

func (r *Request) countHit() {
	if r != nil {
		r.cacheHits.Add(1)
	}
}

func (r *Request) countBatch() {
	if r != nil {
		r.batches.Add(1)
	}
}

// detached is the scope of work started by r that is not its own (a
// background refresh of a stale entry): the same credentials, no budget,
// and no waiting for rate budget.
func (r *Request) detached(now time.Time) *Request {
	d := &Request{began: now, noWait: true}
	if r != nil {
		d.forwarded, d.scope = r.forwarded, r.scope
	}
	return d
}

// NoWaiting reports whether the request behind ctx may only spend rate
// budget that is free right now (a background refresh): the governor then
// refuses at once instead of waiting.
func NoWaiting(ctx context.Context) bool {
	r := RequestFrom(ctx)
	return r != nil && r.noWait
}

// WithoutWaiting returns ctx under a copy of its request that may not wait
// for rate budget (see NoWaiting).
func WithoutWaiting(ctx context.Context) context.Context {
	r := RequestFrom(ctx)
	d := &Request{noWait: true}
	if r != nil {
		d.began, d.forwarded, d.scope, d.budget = r.began, r.forwarded, r.scope, r.budget
	}
	return WithRequest(ctx, d)
}
