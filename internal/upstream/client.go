package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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

// maxBody bounds a successful response body. The largest page the gateway
// asks for is 100 organizations or members (a few hundred KiB); UiPath group
// lists are unpaged but small.
const maxBody = 32 << 20

// maxAttempts bounds the tries of one call: the first and two retries, and
// only for 429, 5xx and timeouts, only within the caller's deadline.
const maxAttempts = 3

// Client performs authenticated JSON GETs against one upstream service. It is
// the one place every upstream request passes, so it is where the cache is
// read and written, where identical calls are shared, and where the rate
// governor is asked before each request:
//
//	cache (fresh: served; stale: served and refreshed in the background)
//	→ sharing across requests (share.go) → governor → HTTP (retries) → cache
type Client struct {
	Service string       // "auth0" or "identity": error, metric and key label
	HTTP    *http.Client // shared transport with keep-alive
	Tokens  TokenSource  // nil: requests carry no Authorization header
	Timeout time.Duration
	Cache   *cache.Cache // nil or disabled: nothing cached
	Limiter Limiter      // nil: no governor
	Metrics Recorder     // nil: nothing recorded
	Logger  *slog.Logger
	// Tracer, when set, gives each GetJSON a client span: cache outcome,
	// batch size, and per HTTP attempt an event with the governor's wait and
	// the status (internal/tracing/calls). nil: no spans, nothing spent.
	Tracer trace.Tracer
	// Companions, when set, names the other URLs a fetched body also answers,
	// with their bodies: an organization fetched by id also answers by name.
	// They are cached with the response, so a later request that asks the
	// other way finds them. Called only for responses from the upstream,
	// never for cache hits, so it costs nothing on the hot path.
	Companions func(route string, body []byte) []Companion

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

// Companion is a URL whose response a fetched body already contains.
type Companion struct {
	URL  string
	Body []byte
}

// NewClient returns a Client for service. timeout bounds one upstream call,
// including the token fetch it may need.
func NewClient(service string, httpClient *http.Client, tokens TokenSource, timeout time.Duration) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{Service: service, HTTP: httpClient, Tokens: tokens, Timeout: timeout, now: time.Now,
		Logger: slog.New(slog.DiscardHandler)}
}

// flightKey names a call for sharing: the same upstream, credentials and
// URL, never across credentials.
func (c *Client) flightKey(ctx context.Context, rawURL string) string {
	return c.Service + "\x00" + c.scope(ctx) + "\x00" + rawURL
}

func (c *Client) cacheKey(ctx context.Context, rawURL string) string {
	return c.Cache.Key(c.Service, c.scope(ctx), rawURL)
}

// GetJSON fetches rawURL and decodes the JSON body into out. route is the
// route template used in errors and metrics (never the raw URL: ids are
// personal data and tokens could ride in query strings).
func (c *Client) GetJSON(ctx context.Context, route, rawURL string, out any) (err error) {
	if c.Tracer != nil {
		var span trace.Span
		ctx, span = calls.Start(ctx, c.Tracer, c.Service, route)
		defer func() { c.endSpan(span, err) }()
	}
	var key string
	if c.Cache.Enabled() {
		key = c.cacheKey(ctx, rawURL)
		e := c.lookup(ctx, key)
		switch e.StateAt(c.now()) {
		case cache.Fresh:
			c.recordLookup(ctx, route, "hit")
			return c.fromEntry(route, e, out)
		case cache.Stale:
			c.recordLookup(ctx, route, "stale")
			c.refresh(ctx, route, rawURL, key)
			return c.fromEntry(route, e, out)
		}
		c.recordLookup(ctx, route, "miss")
	}
	body, err := c.shared(ctx, route, rawURL, key)
	if err != nil {
		return err
	}
	return c.decode(route, body, out)
}

// shared fetches rawURL once for all overlapping requests (see share.go).
// Identical calls share one upstream request, which runs detached from any
// single caller's cancellation but within the leader's deadline, while each
// caller still stops waiting when its own context ends.
//
// The leader's call budget (budget.go) pays for the shared request. When the
// leader's budget was spent, the flight fails for the leader only: a joiner
// tries again, in a new flight it leads or joins, under its own budget.
func (c *Client) shared(ctx context.Context, route, rawURL, key string) ([]byte, error) {
	for {
		body, err := c.sharedOnce(ctx, route, rawURL, key)
		if err != nil && spentByOther(ctx, err) && ctx.Err() == nil {
			continue
		}
		return body, err
	}
}

func (c *Client) sharedOnce(ctx context.Context, route, rawURL, key string) ([]byte, error) {
	flightKey := c.flightKey(ctx, rawURL)
	began, hasStart := requestStart(ctx)
	if hasStart {
		if body, ok := c.recent.get(flightKey, began, c.now()); ok {
			calls.Source(ctx, calls.SourceRecent)
			return body, nil
		}
	}
	source := calls.SourceShared // until this call's own function runs
	ch := c.flight.DoChan(flightKey, func() (any, error) {
		// Checked again here: the result may have been stored between the
		// check above and this flight starting.
		if hasStart {
			if body, ok := c.recent.get(flightKey, began, c.now()); ok {
				source = calls.SourceRecent
				return body, nil
			}
		}
		source = calls.SourceUpstream
		st := &flightState{}
		c.flights.Store(flightKey, st)
		defer c.flights.Delete(flightKey)
		fctx := context.WithValue(context.WithoutCancel(ctx), flightStateKey{}, st)
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			fctx, cancel = context.WithDeadline(fctx, deadline)
			defer cancel()
		}
		body, err := c.get(fctx, route, rawURL)
		c.keep(fctx, route, key, body, err)
		if err == nil {
			c.recent.put(flightKey, body, c.now())
		}
		return body, err
	})
	select {
	case <-ctx.Done():
		if v, ok := c.flights.Load(flightKey); ok && v.(*flightState).waitingForBudget.Load() &&
			errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// This request joined a call still queued for the rate budget
			// (its leader has a later deadline): out of time for budget.
			return nil, &Error{Service: c.Service, Route: route, Kind: KindRateLimited, Code: "gateway_budget",
				RetryAfter: time.Second, Err: ctx.Err()}
		}
		return nil, &Error{Service: c.Service, Route: route, Kind: KindUnavailable, Err: ctx.Err()}
	case res := <-ch:
		calls.Source(ctx, source)
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]byte), nil
	}
}

// keep caches a response: bodies (with their companions) and 404s; never
// other errors.
func (c *Client) keep(ctx context.Context, route, key string, body []byte, err error) {
	if key == "" {
		return
	}
	switch {
	case err == nil:
		c.store(ctx, key, c.Cache.NewEntry(http.StatusOK, body))
		if c.Companions != nil {
			for _, comp := range c.Companions(route, body) {
				c.store(ctx, c.cacheKey(ctx, comp.URL), c.Cache.NewEntry(http.StatusOK, comp.Body))
			}
		}
	case IsNotFound(err):
		c.store(ctx, key, c.Cache.NewEntry(http.StatusNotFound, nil))
	}
}

// refresh renews a stale entry in the background, when this replica wins
// the key's lease and the budget has room now: a stale answer has already
// gone out, so the refresh never waits for budget (WithoutWaiting); a later
// read of the still-stale entry tries again.
func (c *Client) refresh(ctx context.Context, route, rawURL, key string) {
	go func() {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
		defer cancel()
		bg = context.WithValue(bg, batchKey{}, nil) // write through, not into the request's batch
		bg = WithoutWaiting(bg)
		bg = withoutCallBudget(bg) // a stale answer already went out: not the operation's call
		if !c.Cache.Lease(bg, key) {
			return
		}
		defer c.Cache.Release(bg, key)
		if c.Tracer != nil {
			var span trace.Span
			bg, span = calls.Start(bg, c.Tracer, c.Service, route)
			calls.Refresh(bg)
			defer span.End()
		}
		flightKey := c.flightKey(ctx, rawURL)
		_, _, _ = c.flight.Do(flightKey, func() (any, error) {
			body, err := c.get(bg, route, rawURL)
			c.keep(bg, route, key, body, err)
			return body, err
		})
	}()
}

func (c *Client) recordLookup(ctx context.Context, route, outcome string) {
	if outcome != "miss" {
		if s := requestStats(ctx); s != nil {
			s.CacheHits.Add(1)
		}
	}
	if c.Metrics != nil {
		c.Metrics.CacheLookup(c.Service, route, outcome)
	}
	calls.CacheOutcome(ctx, outcome)
}

// fromEntry answers from a cache entry: a cached 404 is a not-found error.
func (c *Client) fromEntry(route string, e *cache.Entry, out any) error {
	if e.Status == http.StatusNotFound {
		return &Error{Service: c.Service, Route: route, Status: http.StatusNotFound, Kind: KindNotFound, Code: "cached"}
	}
	return c.decode(route, e.Body, out)
}

func (c *Client) decode(route string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Service: c.Service, Route: route, Status: http.StatusOK, Kind: KindOther, Code: "invalid_json", Err: err}
	}
	return nil
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
	if s := requestStats(ctx); s != nil {
		s.Calls.Add(1)
	}
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
		c.Limiter.Observe(ctx, c.Service, obs)
	}
	if checkErr != nil {
		return nil, checkErr
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &Error{Service: c.Service, Route: route, Status: resp.StatusCode, Kind: KindUnavailable, Err: err}
	}
	return body, nil
}

// endSpan ends a GetJSON span: a 404 is an answer, not a failure.
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
// data) and, for some deployments, credentials in the userinfo part.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Op + ": " + ue.Err.Error())
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
