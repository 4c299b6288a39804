package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/tracing/calls"
)

// DefaultMaxBody bounds a successful response body when Client.MaxBody is
// 0 (UPSTREAM_MAX_BODY_MB). The largest answers the gateway asks for are a
// page of 100 Auth0 organizations, each at most 50 characters of name, 255
// of display name, a logo URL and 25 metadata entries of up to 255
// characters: some 15 KB an organization, 1.5 MB a page, with every field at
// its limit (the recorded organizations are under 500 bytes each); and a
// UiPath group by id with its members inline, about 400 bytes a member, so
// 8 MiB is some 20,000 members.
const DefaultMaxBody = 8 << 20

// maxAttempts bounds the tries of one call: the first and two retries, and
// only for 429, 5xx and timeouts, only within the caller's deadline.
const maxAttempts = 3

// Client performs authenticated GETs against one upstream service. It is
// the one place every upstream request passes, so it is where the cache is
// read and written, where identical calls are shared, and where the rate
// governor is asked before each request (route.go has the order).
type Client struct {
	Service string       // "auth0" or "identity": error, metric and key label
	HTTP    *http.Client // shared transport with keep-alive
	Tokens  TokenSource  // nil: requests carry no Authorization header
	Timeout time.Duration
	Cache   *cache.Cache // nil or disabled: nothing cached
	Limiter Limiter      // nil: no governor
	Metrics Recorder     // nil: nothing recorded
	Logger  *slog.Logger
	// Tracer, when set, gives each key of a lookup a client span: cache
	// outcome, batch size, and per HTTP attempt an event with the governor's
	// wait and the status (internal/tracing/calls). nil: no spans, nothing
	// spent.
	Tracer trace.Tracer
	// Concurrency bounds the upstream requests one many-key lookup sends
	// at once (UPSTREAM_CONCURRENCY); below 1, one at a time.
	Concurrency int
	// MaxBody bounds a successful response body in bytes
	// (UPSTREAM_MAX_BODY_MB); 0: DefaultMaxBody. A longer body is an
	// upstream error, read no further than the bound.
	MaxBody int64
	// Bodies bounds the bytes of the bodies this client and others that
	// share it read and decode at once; nil: no bound beyond MaxBody.
	Bodies *BodyMemory

	flight  singleflight.Group
	flights sync.Map // flight key → *flightState, while the flight runs
	recent  recentResults
	now     func() time.Time
}

// flightState is what callers sharing a flight may know of it while it runs.
type flightState struct {
	waitingForBudget atomic.Bool // in the governor's Wait
}

type flightStateKey struct{}

// NewClient returns a Client for service. timeout bounds one upstream call,
// including the token fetch it may need. The client uses httpClient's
// transport but never follows a redirect (see WithoutRedirects).
func NewClient(service string, httpClient *http.Client, tokens TokenSource, timeout time.Duration) *Client {
	return &Client{Service: service, HTTP: WithoutRedirects(httpClient), Tokens: tokens, Timeout: timeout, now: time.Now,
		Logger: slog.New(slog.DiscardHandler), Concurrency: 1}
}

// flightKey names a call for sharing: the same upstream, credentials and
// URL, never across credentials.
func (c *Client) flightKey(ctx context.Context, rawURL string) string {
	return c.Service + "\x00" + c.scope(ctx) + "\x00" + rawURL
}

func (c *Client) cacheKey(ctx context.Context, rawURL string) string {
	return c.Cache.Key(c.Service, c.scope(ctx), rawURL)
}

// A flight is one miss's way to its answer: a result that had just
// finished (share.go), or a call shared with every request that asks for
// the same URL while it runs (singleflight). Identical calls share one
// upstream request, which runs detached from any single caller's
// cancellation but within the leader's deadline, while each caller still
// stops waiting when its own context ends.
//
// The leader's call budget (budget.go) pays for the shared request. When the
// leader's budget was spent, the flight fails for the leader only: a joiner
// tries again, in a new flight it leads or joins, under its own budget.
type flight struct {
	key    string
	ch     <-chan singleflight.Result // nil when a recent result answered
	entry  *cache.Entry               // that result
	source string                     // calls.Source*: written by the leader before ch delivers
}

// join starts or joins the flight of one miss without waiting for it: a
// lookup of many keys joins all its flights first and then waits for them,
// so it needs no goroutine of its own per key (singleflight runs each
// leader's call on one).
func (c *Client) join(ctx context.Context, d *decoder, rawURL, key string, w *writeBatch) *flight {
	f := &flight{key: c.flightKey(ctx, rawURL), source: calls.SourceShared}
	rq := RequestFrom(ctx)
	if rq != nil && rq.began.IsZero() {
		rq = nil // no start known: results are shared only while in flight
	}
	if rq != nil {
		if e, ok := c.recent.get(f.key, rq.began, c.now()); ok {
			f.entry, f.source = e, calls.SourceRecent
			return f
		}
	}
	f.ch = c.flight.DoChan(f.key, func() (any, error) {
		// Checked again here: the result may have been stored between the
		// check above and this flight starting.
		if rq != nil {
			if e, ok := c.recent.get(f.key, rq.began, c.now()); ok {
				f.source = calls.SourceRecent
				return e, nil
			}
		}
		f.source = calls.SourceUpstream
		st := &flightState{}
		c.flights.Store(f.key, st)
		defer c.flights.Delete(f.key)
		fctx := context.WithValue(context.WithoutCancel(ctx), flightStateKey{}, st)
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			fctx, cancel = context.WithDeadline(fctx, deadline)
			defer cancel()
		}
		began := c.now()
		body, err := c.get(fctx, d.route, rawURL)
		e, err := c.keep(fctx, d, key, rawURL, began, body, err, w)
		w.release(c.Cache, c.Bodies, body)
		if err == nil {
			c.recent.put(f.key, e, c.now())
		}
		return e, err
	})
	return f
}

// wait waits for a flight (joining a new one when its leader's budget ran
// out, see above) and answers it, or stops when ctx ends.
func (c *Client) wait(ctx context.Context, d *decoder, f *flight, rawURL, key string, w *writeBatch) (*cache.Entry, error) {
	for {
		if f.ch == nil {
			calls.Source(ctx, f.source)
			return f.entry, nil
		}
		select {
		case <-ctx.Done():
			if v, ok := c.flights.Load(f.key); ok && v.(*flightState).waitingForBudget.Load() &&
				errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// This request joined a call still queued for the rate budget
				// (its leader has a later deadline): out of time for budget.
				return nil, &Error{Service: c.Service, Route: d.route, Kind: KindRateLimited, Code: "gateway_budget",
					RetryAfter: time.Second, Err: ctx.Err()}
			}
			return nil, &Error{Service: c.Service, Route: d.route, Kind: KindUnavailable, Err: ctx.Err()}
		case res := <-f.ch:
			calls.Source(ctx, f.source)
			if res.Err == nil {
				return res.Val.(*cache.Entry), nil
			}
			if !spentByOther(ctx, res.Err) || ctx.Err() != nil {
				return nil, res.Err
			}
			f = c.join(ctx, d, rawURL, key, w)
		}
	}
}

// keep decodes a fetched body once and caches the result, with the other
// entries its value also answers (a route's related entries), in-process at
// once and in Redis through w. A 404 becomes a cached not-found entry;
// other errors, and bodies that do not decode, are never cached. began is
// when the fetch began: the entries' FetchedAt, which events compare with
// (an answer to a request sent before a change may hold the old data).
func (c *Client) keep(ctx context.Context, d *decoder, key, rawURL string, began time.Time, body []byte, err error, w *writeBatch) (*cache.Entry, error) {
	if err != nil {
		if !IsNotFound(err) {
			return nil, err
		}
		e := c.Cache.NewEntryAt(http.StatusNotFound, nil, 0, began)
		e.Tags = d.entryTags(rawURL, nil)
		if key != "" {
			c.Cache.SetLocal(key, e)
			w.add(ctx, c.Cache, cache.Write{Key: key, Entry: e})
		}
		return e, nil
	}
	value, related, derr := d.decode(body, key != "") // with caching off nothing is stored
	c.recordDecode(d.route, "upstream")
	if derr != nil {
		return nil, decodeError(c.Service, d.route, derr)
	}
	if key == "" {
		return c.Cache.NewEntryAt(http.StatusOK, value, len(body), began), nil
	}
	e := c.Cache.NewEntryAt(http.StatusOK, value, weight(value, len(body)), began)
	e.Tags = d.entryTags(rawURL, value)
	c.Cache.SetLocal(key, e)
	w.add(ctx, c.Cache, cache.Write{Key: key, Entry: e, Body: body})
	for _, r := range related {
		re := &cache.Entry{Status: http.StatusOK, Value: r.Value, Size: weight(r.Value, len(r.Body)),
			FetchedAt: e.FetchedAt, FreshUntil: e.FreshUntil, StaleUntil: e.StaleUntil, Tags: r.Tags}
		rk := c.cacheKey(ctx, r.URL)
		c.Cache.SetLocal(rk, re)
		w.add(ctx, c.Cache, cache.Write{Key: rk, Entry: re, Body: r.Body})
	}
	return e, nil
}

// weight is what an entry of value, decoded from a body of bodyLen bytes,
// weighs in the in-process tier: decoded values often hold several times
// their JSON (cache.MemSize), and the tier's bound is on memory.
func weight(value any, bodyLen int) int { return max(bodyLen, cache.MemSize(value)) }

// refresh renews a stale entry in the background, when this replica wins
// the key's lease and the budget has room now: a stale answer has already
// gone out, so the refresh never waits for budget and is not the
// operation's call (a detached request); a later read of the still-stale
// entry tries again.
func (c *Client) refresh(ctx context.Context, d *decoder, rawURL, key string) {
	go func() {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
		defer cancel()
		bg = WithRequest(bg, RequestFrom(ctx).detached(c.now()))
		if !c.Cache.Lease(bg, key) {
			return
		}
		defer c.Cache.Release(bg, key)
		if c.Tracer != nil {
			var span trace.Span
			bg, span = calls.Start(bg, c.Tracer, c.Service, d.route)
			calls.Refresh(bg)
			defer span.End()
		}
		_, _, _ = c.flight.Do(c.flightKey(bg, rawURL), func() (any, error) {
			began := c.now()
			body, err := c.get(bg, d.route, rawURL)
			defer c.Bodies.Release(body)
			return c.keep(bg, d, key, rawURL, began, body, err, nil)
		})
	}()
}

func (c *Client) recordDecode(route, source string) {
	if c.Metrics != nil {
		c.Metrics.Decoded(c.Service, route, source)
	}
}

// lookupTally counts the outcomes of one many-key lookup, for the metrics.
type lookupTally struct{ hit, stale, miss int }

func (c *Client) recordLookups(route string, t lookupTally) {
	if c.Metrics == nil {
		return
	}
	for _, o := range [...]struct {
		name string
		n    int
	}{{"hit", t.hit}, {"stale", t.stale}, {"miss", t.miss}} {
		if o.n > 0 {
			c.Metrics.CacheLookups(c.Service, route, o.name, o.n)
		}
	}
}

func (c *Client) scope(ctx context.Context) string {
	if c.Tokens == nil {
		return "anonymous"
	}
	return c.Tokens.Scope(ctx)
}

// get performs the request: each attempt spends one call of the operation's
// budget, then asks the governor; 429s, 5xx and timeouts are retried with
// jittered backoff while the deadline and the budget allow (a retry the
// budget has no room for leaves the last failure standing); a refused token
// is renewed once (a static token is not retried).
func (c *Client) get(ctx context.Context, route, rawURL string) ([]byte, error) {
	renewed := false
	var failed error // the previous attempt's error
	for attempt := 1; ; attempt++ {
		if err := SpendCall(ctx); err != nil {
			if failed != nil {
				return nil, failed
			}
			return nil, err
		}
		var waited time.Duration // in the governor, for the trace
		if c.Limiter != nil {
			st, _ := ctx.Value(flightStateKey{}).(*flightState)
			if st != nil {
				st.waitingForBudget.Store(true)
			}
			queued := time.Now()
			err := c.Limiter.Wait(ctx, c.Service)
			waited = time.Since(queued)
			if st != nil {
				st.waitingForBudget.Store(false)
			}
			if err != nil {
				refundCall(ctx)
				c.traceAttempt(ctx, attempt, waited, err)
				return nil, err
			}
		}
		token, err := c.token(ctx)
		if err != nil {
			refundCall(ctx)
			var ue *Error
			if c.Limiter != nil && errors.As(err, &ue) && ue.Kind == KindRateLimited && ue.Status == http.StatusTooManyRequests {
				// The token endpoint's 429 pauses the service like any
				// other: every call needs that token.
				ue.RetryAfter = c.Limiter.Observe(ctx, c.Service, Observation{Status: ue.Status, RetryAfter: ue.RetryAfter, At: c.now()})
			}
			return nil, err
		}
		body, err := c.getOnce(ctx, route, rawURL, token)
		c.traceAttempt(ctx, attempt, waited, err)
		if err == nil {
			return body, nil
		}
		var ue *Error
		if !errors.As(err, &ue) {
			return nil, err
		}
		if _, callers := c.Tokens.(ForwardedToken); callers {
			// The caller's own token was refused, or lacks a scope: there is
			// nothing of the gateway's to renew, and the caller must hear it
			// is theirs.
			switch ue.Status {
			case http.StatusUnauthorized:
				ue.Kind = KindCallerUnauthorized
				return nil, err
			case http.StatusForbidden:
				ue.Kind = KindCallerForbidden
				return nil, err
			}
		}
		if ue.Status == http.StatusUnauthorized && c.Tokens != nil && !renewed {
			renewed = true
			c.Tokens.Invalidate(token)
			if fresh, terr := c.token(ctx); terr == nil && fresh != token {
				attempt--
				failed = err
				continue
			}
			return nil, err
		}
		if attempt >= maxAttempts || !retryable(ue) {
			return nil, err
		}
		wait := backoff(attempt, ue.RetryAfter)
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		failed = err
	}
}

// WithoutRedirects returns a copy of hc (http.DefaultClient when nil) that
// never follows a redirect: the 3xx itself is the answer, which
// CheckResponse turns into an upstream error. Go follows redirects to any
// port or scheme of the same host with the Authorization header, and 307/308
// repeat a token request's body, client secret included; neither Auth0 nor
// UiPath redirect their API or token endpoints, so a redirect is a
// misconfigured or hostile upstream, and even a same-origin one is refused
// rather than trusted to stay there.
func WithoutRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// retryable: a GET may be repeated after a 429, a 5xx or no answer at all.
func retryable(e *Error) bool {
	return e.Kind == KindRateLimited && e.Status == http.StatusTooManyRequests ||
		e.Kind == KindUnavailable || e.Status >= 500
}

// backoff waits what the upstream asked plus up to 25% (never less: an
// earlier retry would only meet the governor's pause or another 429), or
// else 100 ms doubling per attempt with ±50%; the jitter keeps replicas from
// retrying in step.
func backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter + time.Duration(rand.Int64N(int64(retryAfter)/4+1))
	}
	base := 100 * time.Millisecond << (attempt - 1)
	return base/2 + time.Duration(rand.Int64N(int64(base)))
}

func (c *Client) token(ctx context.Context) (string, error) {
	if c.Tokens == nil {
		return "", nil
	}
	return c.Tokens.Token(ctx)
}

func (c *Client) getOnce(ctx context.Context, route, rawURL, token string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &Error{Service: c.Service, Route: route, Kind: KindOther, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	calls.Inject(ctx, req.Header) // traceparent, when ctx is traced
	RequestFrom(ctx).countCall()
	sent := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if c.Metrics != nil {
			c.Metrics.UpstreamRequest(c.Service, route, 0, time.Since(sent))
		}
		return nil, &Error{Service: c.Service, Route: route, Kind: KindUnavailable, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	now := c.now()
	var rl RateLimit
	if c.Metrics != nil || c.Limiter != nil {
		rl = ParseRateLimit(resp.Header)
	}
	if c.Metrics != nil {
		c.Metrics.UpstreamRequest(c.Service, route, resp.StatusCode, time.Since(sent))
		if rl.Known {
			c.Metrics.RateLimitRemaining(c.Service, rl.Remaining)
		}
	}
	checkErr := CheckResponse(c.Service, route, resp, now)
	if c.Limiter != nil {
		obs := Observation{Status: resp.StatusCode, RateLimit: rl, At: now}
		var ue *Error
		if errors.As(checkErr, &ue) {
			obs.RetryAfter = ue.RetryAfter
		}
		paused := c.Limiter.Observe(ctx, c.Service, obs)
		if ue != nil && ue.Kind == KindRateLimited && paused > 0 {
			// The caller is told when the gateway will call again, not
			// what the header said (which the governor bounds).
			ue.RetryAfter = paused
		}
	}
	if checkErr != nil {
		return nil, checkErr
	}
	return c.readBody(route, resp)
}

// readBody reads a successful response's body, at most MaxBody bytes, and
// holds its bytes in Bodies until the caller releases them: a declared
// length over the bound is refused before reading, and an undeclared one
// is read to one byte past the bound and no further. Closing the body
// unread then drops the connection instead of draining the rest (the Go
// transport reuses a connection only after its body reached EOF), so an
// upstream that streams gigabytes costs the bound, not its stream.
func (c *Client) readBody(route string, resp *http.Response) ([]byte, error) {
	limit := c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := readBounded(resp.Body, resp.ContentLength, limit, c.Bodies)
	var be boundError
	switch {
	case errors.As(err, &be) && be.overBudget:
		return nil, &Error{Service: c.Service, Route: route, Status: resp.StatusCode, Kind: KindOther, Code: codeBodyTooLarge,
			Message: "the bodies being read at once are larger than the gateway keeps"}
	case errors.As(err, &be):
		return nil, &Error{Service: c.Service, Route: route, Status: resp.StatusCode, Kind: KindOther, Code: codeBodyTooLarge,
			Message: fmt.Sprintf("the body is larger than %d bytes", limit)}
	case err != nil:
		return nil, &Error{Service: c.Service, Route: route, Status: resp.StatusCode, Kind: KindUnavailable, Err: err}
	}
	return body, nil
}

// endSpan ends a lookup's span: a 404 is an answer, not a failure.
func (c *Client) endSpan(span trace.Span, err error) {
	if IsNotFound(err) {
		err = nil
	}
	_, errType := spanOutcome(err)
	calls.End(span, err, errType)
}

// traceAttempt adds one attempt to the call's span, if it has one.
func (c *Client) traceAttempt(ctx context.Context, attempt int, waited time.Duration, err error) {
	if c.Tracer == nil {
		return
	}
	status, errType := spanOutcome(err)
	calls.Attempt(ctx, attempt, waited, status, errType)
}

// spanOutcome is the HTTP status and error type of a call's result for its
// span: 200 and "" for success, the upstream error's status (0: none came)
// and Kind otherwise.
func spanOutcome(err error) (status int, errType string) {
	if err == nil {
		return http.StatusOK, ""
	}
	var ue *Error
	if errors.As(err, &ue) {
		return ue.Status, ue.Kind.String()
	}
	var be *CallBudgetError
	if errors.As(err, &be) {
		return 0, "call_budget"
	}
	return 0, "_OTHER"
}

// redactURLError drops the URL from transport errors: it holds ids (personal
// data) and, for some deployments, credentials in the userinfo part. It
// also cuts what net/http quotes from the wire (a malformed status line or
// header: "malformed HTTP status code \"…\""), which is upstream text a
// server can fill with what it was sent.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Err.Error()
		if i := strings.IndexByte(msg, '"'); i >= 0 {
			msg = strings.TrimSpace(msg[:i]) + " (quoted text withheld)"
		}
		return errors.New(ue.Op + ": " + msg)
	}
	return err
}

// PathEscape escapes one path segment so that no id can change the route it is
// placed in: '/' becomes %2F, '|' %7C, and the dot segments "." and ".." are
// fully percent-encoded so no client, proxy or server normalises them away.
func PathEscape(segment string) string {
	if segment == "." || segment == ".." {
		return strings.Repeat("%2E", len(segment))
	}
	return url.PathEscape(segment)
}
