package server

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/metrics"
	"github.com/orgraph/orgraph/internal/purge"
	"github.com/orgraph/orgraph/internal/respcache"
	"github.com/orgraph/orgraph/internal/upstream"
)

// Response cache outcomes, in the access log and the metrics.
const (
	responseHit    = "hit"    // answered with stored bytes
	responseShared = "shared" // answered with the bytes of an identical operation that was running
	responseMiss   = "miss"   // executed; stored when it could be
	responseBypass = "bypass" // the caller asked for a fresh answer (Cache-Control: no-cache)
)

// responseCache answers an operation seen before with the bytes it was
// answered with, before gqlgen parses anything, and lets identical
// operations that arrive while one of them runs share that one's answer
// (request coalescing, as a caching proxy does for one URL). The key is the
// request as sent (the body of a POST, the query string of a GET: document,
// operation name, variables and extensions) and what the caller is allowed
// to see: the scopes of the schema it holds and, when calls go upstream
// with the caller's own token, that token's fingerprint. It runs after
// caller authentication and the body limit, so a hit skips neither; the
// access log and the operation metrics count hits like any operation.
//
// A response is stored only when it ran without errors and is not
// incremental (execute marks it, see requestInfo.storable), for no longer
// than the soonest freshUntil of the upstream entries it was built from, and
// never longer than CACHE_TTL. Only such a response is shared, too: when
// the running one fails, each waiting request runs on its own.
type responseCache struct {
	cache    *respcache.Cache // nil: nothing is stored (RESPONSE_CACHE=false or CACHE_TTL=0)
	ttl      time.Duration
	coalesce bool     // RESPONSE_COALESCING
	scopes   []string // the scopes the schema asks for, sorted
	m        *metrics.Metrics
	next     http.Handler
	// purges, when set (an event stream is configured), is what events
	// purged: a stored or shared response built from purged data is not
	// served, and each executed request records what it was built from.
	purges *purge.Table

	mu      sync.Mutex
	running map[string]*runningOperation // by key, while coalesce
}

// runningOperation is an operation being executed that identical ones wait
// for. entry is set, when the response may be shared, before done closes.
type runningOperation struct {
	done    chan struct{}
	entry   *respcache.Entry
	waiters int // identical requests waiting for it; under responseCache.mu
}

func (rc *responseCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	info := requestInfoFrom(ctx)
	bufp := keyBuffers.Get().(*[]byte)
	defer putKeyBuffer(bufp)
	buf, prefix, err := rc.key((*bufp)[:0], r)
	*bufp = buf
	if err != nil {
		// The transport tells the caller (413, 400); nothing to cache.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(buf[prefix:]), errReader{err}))
		rc.next.ServeHTTP(w, r)
		return
	}
	outcome := responseMiss
	var leading *runningOperation
	if strings.Contains(r.Header.Get("Cache-Control"), "no-cache") {
		outcome = responseBypass
	} else if e := rc.cache.Get(unsafe.String(unsafe.SliceData(buf), len(buf))); e != nil && !rc.purged(e, buf) {
		// The key is a view of buf: Get keeps nothing of it.
		rc.serve(w, r, e, responseHit)
		return
	} else if rc.coalesce && !bytes.Contains(buf[prefix:], deferDirective) {
		rc.mu.Lock()
		run := rc.running[string(buf)] // no allocation: the conversion is only a lookup
		if run == nil {
			leading = &runningOperation{done: make(chan struct{})}
			rc.running[string(buf)] = leading
		} else {
			run.waiters++
		}
		rc.mu.Unlock()
		if run != nil {
			select {
			case <-run.done:
			case <-ctx.Done():
				return // the caller is gone; nobody reads an answer
			}
			if run.entry != nil && !run.entry.Purged(rc.purges) {
				rc.serve(w, r, run.entry, responseShared)
				return
			}
			// It failed: run this one, without leading others.
		}
	}
	if rc.cache != nil {
		rc.record(outcome)
	}
	if rc.purges != nil {
		upstream.RequestFrom(ctx).TrackTags()
	}
	if r.Method == http.MethodPost {
		r.Body = io.NopCloser(bytes.NewReader(buf[prefix:]))
	}
	if rc.cache == nil && leading == nil {
		rc.next.ServeHTTP(w, r) // nothing to keep
		return
	}
	rec := &recordingWriter{ResponseWriter: w, status: http.StatusOK}
	var e *respcache.Entry
	if leading != nil {
		defer func() { // also when a resolver panic unwinds through here
			rc.mu.Lock()
			delete(rc.running, string(buf))
			rc.mu.Unlock()
			leading.entry = e
			close(leading.done)
		}()
	}
	rc.next.ServeHTTP(rec, r)
	if info == nil {
		return
	}
	if rc.cache != nil {
		info.responseCache = outcome
	}
	if !info.storable || rec.status != http.StatusOK || rec.body == nil {
		return
	}
	// The operation name is a view of the request's whole document: a copy
	// keeps only the name alive.
	e = &respcache.Entry{Body: rec.body, Operation: strings.Clone(info.operation),
		ContentLength: []string{strconv.Itoa(len(rec.body))}}
	if rc.m != nil {
		e.Count = rc.m.OperationCounter(info.operation, "ok")
	}
	if rc.purges != nil {
		tags, ok := upstream.RequestFrom(ctx).Tags()
		if !ok {
			return // built from too much to say what: neither stored nor shared
		}
		e.Tags = tags
	}
	if rc.cache == nil {
		return // shared with the waiting requests only
	}
	e.Expires = time.Now().Add(rc.ttl)
	if fresh, ok := upstream.RequestFrom(ctx).FreshUntil(); ok && fresh.Before(e.Expires) {
		e.Expires = fresh
	}
	rc.cache.Set(string(buf), e)
}

// purged reports whether an event purged what e was built from, and then
// drops it.
func (rc *responseCache) purged(e *respcache.Entry, key []byte) bool {
	if !e.Purged(rc.purges) {
		return false
	}
	rc.cache.Delete(string(key))
	if rc.m != nil {
		rc.m.EntryPurged("response")
	}
	return true
}

// deferDirective in a request marks an operation that is likely to defer
// something: its answer is never shared, so an identical request does not
// wait for it (a client reading parts would get none until the first
// request had all of its own) but runs at once. A document that only
// mentions it in a string loses coalescing, nothing else.
var deferDirective = []byte("@defer")

// serve answers r with e, a stored or shared response.
func (rc *responseCache) serve(w http.ResponseWriter, r *http.Request, e *respcache.Entry, outcome string) {
	if info := requestInfoFrom(r.Context()); info != nil {
		info.operation, info.outcome, info.responseCache = e.Operation, "ok", outcome
	}
	rc.record(outcome)
	if e.Count != nil {
		e.Count(time.Since(upstream.RequestFrom(r.Context()).Began()))
	}
	negotiate(w, r)
	w.Header()["Content-Length"] = e.ContentLength
	_, _ = w.Write(e.Body)
}

func (rc *responseCache) record(outcome string) {
	if rc.m != nil {
		rc.m.ResponseCacheLookup(outcome)
	}
}

// key appends the response cache key of r to buf: the caller's view ("G" or
// "P", a bit for each of the schema's scopes the caller holds, and the
// credential scope in forward mode), then the request as sent: a POST's
// body (already bounded by limitBody) or a GET's query string. prefix is
// where the request bytes start.
func (rc *responseCache) key(buf []byte, r *http.Request) (_ []byte, prefix int, err error) {
	caller := auth.CallerFrom(r.Context())
	buf = append(buf, r.Method[0])
	for _, s := range rc.scopes {
		if caller.Has(s) {
			buf = append(buf, '1')
		} else {
			buf = append(buf, '0')
		}
	}
	buf = append(buf, 0)
	buf = append(buf, upstream.RequestFrom(r.Context()).CredentialScope()...)
	buf = append(buf, 0)
	prefix = len(buf)
	if r.Method != http.MethodPost {
		return append(buf, r.URL.RawQuery...), prefix, nil
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, prefix, nil
		}
		if err != nil {
			return buf, prefix, err
		}
	}
}

// keyBuffers hold keys while a request looks itself up, so a hit allocates
// no key.
var keyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func putKeyBuffer(b *[]byte) {
	if cap(*b) <= 64<<10 { // a rare large body does not stay pinned in the pool
		keyBuffers.Put(b)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// recordingWriter passes a response through and keeps a copy of its body.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *recordingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.status == http.StatusOK {
		w.body = append(w.body, p...)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// schemaScopes are the scopes the schema's @requiresScope directives ask
// for, sorted: what a caller may see depends on these alone.
func schemaScopes(s *ast.Schema) []string {
	var out []string
	for _, def := range s.Types {
		for _, f := range def.Fields {
			for _, d := range f.Directives.ForNames("requiresScope") {
				if a := d.Arguments.ForName("scope"); a != nil && a.Value != nil && !slices.Contains(out, a.Value.Raw) {
					out = append(out, a.Value.Raw)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}
