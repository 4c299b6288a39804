// Package ratelimit is the rate governor every upstream request passes
// through, right before it is sent (it implements upstream.Limiter).
//
// Why it exists: the upstreams allow tiny budgets. Auth0's Management API
// answers from a token bucket of a few requests per second per tenant, and
// UiPath's Identity API allows 300 GETs per 5 minutes for a whole
// organization. Every gateway replica spends the same upstream budget, so a
// limiter per process would multiply it by the number of replicas; and a 429
// costs more than waiting, because the upstream then refuses everyone. So:
//
//   - all replicas spend one budget per upstream, shared through Redis with
//     GCRA: requests that ask at the same moment (the misses of one loader
//     batch) reserve their slots in one Redis round trip. Requests reserve
//     their slot:
//     one that must wait learns at once when its slot comes and owns it, so
//     waiters queue in order instead of waking together to race for the
//     next slot, and one whose slot comes after its deadline is refused at
//     once without taking it. (github.com/go-redis/redis_rate has no
//     reservations, only allow-or-retry, so it is a short Lua script here;
//     x/time/rate's Reserve does the same locally.);
//   - every replica pauses when the upstream itself says its budget is gone
//     (a 429's Retry-After, or X-RateLimit-Remaining 0 until
//     X-RateLimit-Reset), and the pause is shared through Redis too, so the
//     other replicas slow down before the upstream says 429 to them;
//   - a request never waits past its own deadline: when the budget cannot be
//     had in time it is refused at once with a KindRateLimited
//     *upstream.Error whose RetryAfter says when to come back, so the caller
//     can serve stale data or a RATE_LIMITED error instead of hanging;
//   - Redis down is not an outage: the governor falls back to an in-process
//     limiter and goes back to the shared budget once Redis answers again.
//     The in-process limiter spends only this replica's share of the budget
//     (the budget divided by the replicas last seen alive through Redis,
//     see presence.go), so that the replicas together still keep to it.
//
// Redis keys: Prefix+"rl:"+service for the GCRA state (the theoretical
// arrival time in microseconds of Redis's clock, expiring when the bucket is
// full again) and Prefix+"pause:"+service for the pause, whose value is the
// pause end in UNIX milliseconds and which expires with the pause;
// Prefix+"replicas" for the replicas' presence (presence.go).
package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/orgraph/orgraph/internal/redisconn"
	"github.com/orgraph/orgraph/internal/upstream"
)

const (
	// redisTimeout is the default of Config.RedisTimeout, which bounds every
	// Redis call: a governor call stands in front of
	// every upstream request, and a slow Redis must turn into the local
	// limiter quickly rather than into slow requests.
	redisTimeout = 100 * time.Millisecond
	// pauseRefresh is how stale a replica's copy of the shared pause may get:
	// a Redis read per Wait would double the Redis traffic for a value that
	// changes only when an upstream complains.
	pauseRefresh = 100 * time.Millisecond
	// callMargin is the least time a slot must leave before the request's
	// deadline: a Wait that would sleep until later is refused at once, since
	// the slot must still be claimed (with Redis) and the upstream call made,
	// and a slot spent on a call cut off by the deadline is budget wasted.
	callMargin = 25 * time.Millisecond
	// minPause is the shortest pause after a 429: a 429 with "Retry-After: 0"
	// or none still means "not right now".
	minPause = time.Second
	// defaultMaxPause caps any pause when Config.MaxPause is zero. Auth0's
	// buckets refill within seconds (per-second limits) to a minute (the
	// per-minute endpoint limits), so a longer pause only turns one 429 into
	// minutes of refused reads, and a wrong or hostile header
	// ("Retry-After: 999999") must not stop the gateway. UiPath's window is 5
	// minutes: a pause that ends early there costs one more request, which
	// answers 429 and pauses again.
	defaultMaxPause = time.Minute
)

// ErrBudget is wrapped by the refusals of Wait (errors.Is works on them): the
// budget could not be had before the request's deadline.
var ErrBudget = errors.New("gateway rate budget exhausted before the deadline")

// Config configures a Governor.
type Config struct {
	// Rate is the number of requests per second allowed per upstream
	// (UPSTREAM_RATE_LIMIT), shared by all replicas. Fractions such as 0.5
	// work. Rate <= 0 (or NaN) turns the budget off; pauses still apply.
	Rate float64
	// Burst is the bucket size: how many requests may go at once after a
	// quiet spell. 0 means max(1, ceil(Rate)).
	Burst int
	// Redis holds the shared budget and pauses. nil means a local limiter
	// only, which is the normal mode of a single process (the embedded
	// default), not a degradation.
	Redis redis.UniversalClient
	// Prefix goes in front of every Redis key, e.g. "orgraph:v1:".
	Prefix string
	// Logger receives the degraded/recovered transitions and pauses;
	// nil means slog.Default().
	Logger *slog.Logger
	// MaxPause caps every pause an upstream asks for (UPSTREAM_MAX_PAUSE);
	// 0 means a minute. Callers refused during a pause are told its end, so
	// this also caps the retryAfter they see. Below a second, a second.
	MaxPause time.Duration
	// RedisTimeout bounds one Redis call; 0 means 100 ms. Production keeps
	// the default (see redisTimeout); tests whose subject is not a slow
	// Redis set a long one, so that a loaded machine's scheduling delay is
	// not taken for an outage.
	RedisTimeout time.Duration
	// Now replaces time.Now in tests. Timers still run in real time, and
	// context deadlines are compared with it, so it must move with the real
	// clock (an offset is fine).
	Now func() time.Time
}

// Governor spends a per-upstream request budget shared by all replicas and
// honours the upstreams' own slow-down signals. It is safe for concurrent use.
// With Redis it runs a heartbeat (presence.go), which Close ends.
type Governor struct {
	rdb       redis.UniversalClient
	interval  time.Duration // one request's share of the budget; 0 when the budget is off
	localRate rate.Limit
	burst     int
	maxPause  time.Duration
	prefix    string
	// redisTimeout is Config.RedisTimeout, or its default.
	redisTimeout time.Duration
	log          *slog.Logger
	now          func() time.Time

	services sync.Map // service name → *serviceState

	// health is whether Redis works; while it does not, the local limiter
	// stands in and one request per interval probes Redis.
	health *redisconn.Health

	// replicas is the number of live replicas last seen (1 until Redis
	// says otherwise); shareMu orders the updates of the local limiters'
	// share with the creation of new ones.
	replicas atomic.Int64
	shareMu  sync.Mutex
	presence *presence // nil without Redis
}

var _ upstream.Limiter = (*Governor)(nil)

// serviceState is the per-upstream state, created on first use.
type serviceState struct {
	name     string
	key      string // GCRA state in Redis
	pauseKey string
	local    *rate.Limiter // stands in for the GCRA without (usable) Redis

	mu         sync.Mutex
	pauseUntil time.Time // latest pause end known here, from Observe or Redis
	pauseRead  time.Time // when the shared pause was last read from Redis

	allowed, waits, refusals, pauses atomic.Int64

	reservations reservationQueue // see reserve.go
}

// New returns a Governor for cfg.
func New(cfg Config) *Governor {
	g := &Governor{
		rdb:    cfg.Redis,
		prefix: cfg.Prefix,
		log:    cfg.Logger,
		now:    cfg.Now,
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.health = redisconn.NewHealth(redisconn.HealthConfig{
		Degraded:  "rate governor degraded: Redis unavailable, using the local limiter",
		Recovered: "rate governor recovered: Redis answers again, using the shared budget",
		Logger:    g.log, Now: g.now,
	})
	g.redisTimeout = cfg.RedisTimeout
	if g.redisTimeout <= 0 {
		g.redisTimeout = redisTimeout
	}
	g.maxPause = cfg.MaxPause
	if g.maxPause <= 0 {
		g.maxPause = defaultMaxPause
	}
	g.maxPause = max(g.maxPause, minPause)
	budget := cfg.Rate > 0 && !math.IsNaN(cfg.Rate)
	g.burst = cfg.Burst
	if g.burst <= 0 {
		g.burst = 1
		if budget && !math.IsInf(cfg.Rate, 1) {
			g.burst = int(max(1, math.Ceil(cfg.Rate)))
		}
	}
	switch {
	case !budget || math.IsInf(cfg.Rate, 1):
		g.localRate = rate.Inf
	default:
		g.localRate = rate.Limit(cfg.Rate)
		g.interval = max(time.Duration(float64(time.Second)/cfg.Rate), time.Microsecond)
	}
	g.replicas.Store(1)
	if g.rdb != nil {
		g.startPresence()
	}
	return g
}

// reserveScript is GCRA with reservations over Redis's own clock, so that
// replicas' clocks never matter. KEYS[1] holds the theoretical arrival time
// (TAT, µs). ARGV: emission interval (µs), burst, then for each request in
// the round trip, in order, the longest wait it accepts (µs). A request
// whose slot comes within that wait takes it (the TAT moves on by one
// interval) and learns how long to wait for it; any other is refused without
// taking anything. Returns {taken, wait µs} for each request, flattened.
var reserveScript = redis.NewScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call("GET", KEYS[1]) or "0") or 0
if tat < now then tat = now end
local out = {}
local taken = false
for i = 3, #ARGV do
  local newtat = tat + interval
  local wait = newtat - burst * interval - now
  if wait < 0 then wait = 0 end
  if wait > tonumber(ARGV[i]) then
    out[#out + 1] = 0
  else
    out[#out + 1] = 1
    tat = newtat
    taken = true
  end
  out[#out + 1] = wait
end
if taken then
  redis.call("SET", KEYS[1], string.format("%d", tat), "PX", math.ceil((tat - now) / 1000) + 1)
end
return out
`)

func (g *Governor) service(name string) *serviceState {
	if v, ok := g.services.Load(name); ok {
		return v.(*serviceState)
	}
	s := &serviceState{
		name:     name,
		key:      g.prefix + "rl:" + name,
		pauseKey: g.prefix + "pause:" + name,
		local:    rate.NewLimiter(g.localRate, g.burst),
	}
	v, loaded := g.services.LoadOrStore(name, s)
	if !loaded {
		g.shareMu.Lock()
		g.share(s.local, g.replicas.Load())
		g.shareMu.Unlock()
	}
	return v.(*serviceState)
}

// Wait returns nil when a request to service may be sent now, after waiting
// for a pause and then for the budget if need be (never, for a ctx marked
// upstream.WithoutWaiting). When either cannot be had
// before ctx's deadline it returns at once an *upstream.Error of
// KindRateLimited (Code "gateway_budget") whose RetryAfter is the time until a
// request would be allowed; it never waits past the deadline. Without a
// deadline it waits as long as it takes; cancelling ctx ends the wait with a
// KindUnavailable *upstream.Error wrapping ctx.Err().
func (g *Governor) Wait(ctx context.Context, service string) error {
	if err := ctx.Err(); err != nil {
		return canceled(service, err)
	}
	s := g.service(service)
	deadline, hasDeadline := ctx.Deadline()
	if upstream.NoWaiting(ctx) {
		// Only a slot free now: any wait at all is past this deadline.
		deadline, hasDeadline = g.now().Add(callMargin), true
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	waited, reserved := false, false
	for {
		now := g.now()
		p := g.choosePath()
		d, err := g.pauseLeft(ctx, s, now, &p)
		var held *rate.Reservation
		if err == nil && d == 0 {
			if reserved {
				// The slot was taken before sleeping; the pause is checked
				// again because an upstream may have said 429 meanwhile.
				s.allowed.Add(1)
				return nil
			}
			d, held, err = g.budget(ctx, s, now, &p, deadline, hasDeadline)
			reserved = err == nil
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				// The deadline came during a Redis call: a refusal to the
				// caller, not an outage.
				s.refusals.Add(1)
				return refusal(service, g.retryHint())
			}
			return err
		}
		if d == 0 {
			s.allowed.Add(1)
			return nil
		}
		if hasDeadline && now.Add(d+callMargin).After(deadline) {
			if held != nil {
				held.CancelAt(now) // not spending a token the caller will never use
			}
			s.refusals.Add(1)
			return refusal(service, d)
		}
		if !waited {
			waited = true
			s.waits.Add(1)
		}
		if err := sleep(ctx, &timer, d); err != nil {
			if held != nil {
				held.CancelAt(g.now())
			}
			if errors.Is(err, context.DeadlineExceeded) {
				// A late timer on a busy machine: still a refusal.
				s.refusals.Add(1)
				return refusal(service, d)
			}
			return canceled(service, err)
		}
	}
}

// retryHint is the RetryAfter of a refusal whose real wait is unknown: one
// request's share of the budget, at least a millisecond.
func (g *Governor) retryHint() time.Duration { return max(g.interval, time.Millisecond) }

// pauseLeft returns how long service is still paused, refreshing the shared
// pause from Redis when the cached copy is older than pauseRefresh.
func (g *Governor) pauseLeft(ctx context.Context, s *serviceState, now time.Time, p *path) (time.Duration, error) {
	if p.redis && s.pauseReadDue(now) {
		rctx, cancel := g.redisCtx(ctx, p)
		ms, err := g.rdb.Get(rctx, s.pauseKey).Int64()
		cancel()
		switch {
		case err == nil:
			s.extendPause(time.UnixMilli(ms))
			g.redisWorked(p)
		case errors.Is(err, redis.Nil):
			g.redisWorked(p)
		default:
			if err := g.redisFailed(ctx, err, p); err != nil {
				return 0, canceled(s.name, err)
			}
		}
	}
	return s.left(now), nil
}

// budget takes one request's slot of the budget and says how long to wait
// for it (0: now). A slot that would come after the deadline (less the time
// a call needs) is not taken: the returned wait is then past the deadline and
// the caller refuses. For the local limiter the slot is a reservation the
// caller cancels if it gives up.
func (g *Governor) budget(ctx context.Context, s *serviceState, now time.Time, p *path, deadline time.Time, hasDeadline bool) (time.Duration, *rate.Reservation, error) {
	if g.interval == 0 {
		return 0, nil, nil
	}
	if p.redis {
		maxWait := int64(math.MaxInt64 / 2)
		if hasDeadline {
			maxWait = max(deadline.Sub(now)-callMargin, 0).Microseconds()
		}
		var taken bool
		var wait time.Duration
		var err error
		if p.probe {
			// A probe keeps to its own, shorter, timeout (redisCtx).
			rctx, cancel := g.redisCtx(ctx, p)
			var res [][2]int64
			res, err = g.reserveRound(rctx, s, []int64{maxWait})
			cancel()
			if err == nil {
				taken, wait = res[0][0] == 1, time.Duration(res[0][1])*time.Microsecond
			}
		} else {
			taken, wait, err = g.reserve(ctx, s, maxWait)
		}
		if err == nil {
			g.redisWorked(p)
			if taken {
				// The slot also comes out of the local bucket when one is
				// left (never as a debt): a replica busy on the shared
				// budget must not find a full local burst to spend on top
				// of it the moment Redis fails.
				s.local.AllowN(now, 1)
				return wait, nil, nil
			}
			// Refused: report a wait the caller will find past its deadline.
			return max(wait, deadline.Sub(now)), nil, nil
		}
		if err := g.redisFailed(ctx, err, p); err != nil {
			return 0, nil, canceled(s.name, err)
		}
		// p.redis is false now: the local limiter decides this request.
	}
	r := s.local.ReserveN(now, 1)
	if !r.OK() {
		return 0, nil, nil // rate.Inf: never limited
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return 0, nil, nil
	}
	if hasDeadline && now.Add(d+callMargin).After(deadline) {
		// Not spending a token the caller will never use.
		r.CancelAt(now)
		return d, nil, nil
	}
	return d, r, nil
}

// Observe records what an upstream response said about the upstream's own
// budget, and returns how long the service stays paused from now (0: it is
// not), which is what a caller refused by that response should be told. A
// 429 pauses the service until obs.At+RetryAfter (at least 1 s);
// X-RateLimit-Remaining <= 0 with a future X-RateLimit-Reset pauses it until
// the reset. Pauses are capped at MaxPause and shared with every replica
// through Redis, extended but never shortened: the pause returned is the
// one in force, which another replica may have made longer.
//
// A low but positive Remaining (say 10% of Limit) deliberately causes no
// pause: the shared GCRA budget already spaces requests, and guessing a
// slower rate from one header would add a second, competing limiter.
func (g *Governor) Observe(ctx context.Context, service string, obs upstream.Observation) time.Duration {
	now := g.now()
	at := obs.At
	if at.IsZero() {
		at = now
	}
	var until time.Time
	reason := ""
	if obs.Status == http.StatusTooManyRequests {
		until = at.Add(min(max(obs.RetryAfter, minPause), g.maxPause))
		reason = "429"
	}
	if rl := obs.RateLimit; rl.Known && rl.Remaining <= 0 && rl.Reset.After(now) {
		u := rl.Reset
		if limit := at.Add(g.maxPause); u.After(limit) {
			u = limit
		}
		if u.After(until) {
			until = u
			reason = "remaining 0"
		}
	}
	if !until.After(now) {
		return 0
	}
	s := g.service(service)
	s.pauses.Add(1)
	if s.extendPause(until) {
		g.log.Info("rate governor: upstream budget exhausted, pausing",
			"service", service, "reason", reason, "pause", until.Sub(now).Round(time.Millisecond))
	}
	if g.rdb == nil || g.health.Degraded() {
		// While degraded the pause stays local; probing is left to Wait so
		// that Observe never adds a Redis timeout to a response.
		return s.left(now)
	}
	// The pause matters to other replicas even if this request is being
	// cancelled, hence WithoutCancel.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.redisTimeout)
	defer cancel()
	ttl := max(until.Sub(now).Milliseconds(), 1)
	ms, err := pauseScript.Run(rctx, g.rdb, []string{s.pauseKey}, until.UnixMilli(), ttl).Int64()
	if err != nil {
		_ = g.redisFailed(context.Background(), err, &path{redis: true})
		return s.left(now)
	}
	s.extendPause(time.UnixMilli(ms))
	return s.left(now)
}

// left is how long the pause known here lasts from now.
func (s *serviceState) left(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.pauseUntil.Sub(now), 0)
}

// pauseScript stores a pause end (ARGV[1], UNIX ms) with its expiry (ARGV[2],
// ms) only when it extends the stored one, atomically, so concurrent replicas
// can never shorten each other's pauses. It returns the pause end in force.
var pauseScript = redis.NewScript(`
local cur = tonumber(redis.call("GET", KEYS[1]) or "0") or 0
local want = tonumber(ARGV[1])
if want > cur then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  return want
end
return cur
`)

// extendPause moves the pause end to until if that is later, and reports
// whether it did.
func (s *serviceState) extendPause(until time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if until.After(s.pauseUntil) {
		s.pauseUntil = until
		return true
	}
	return false
}

// pauseReadDue reports whether the shared pause should be read from Redis
// now, and if so claims the read, so concurrent Waits read it only once.
func (s *serviceState) pauseReadDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.pauseRead) < pauseRefresh {
		return false
	}
	s.pauseRead = now
	return true
}

// Degraded reports whether Redis is configured but unusable, so that the
// local limiter stands in for the shared budget (for /readyz and metrics).
// Without Redis configured it is always false: the local limiter is then the
// normal mode.
func (g *Governor) Degraded() bool { return g.health.Degraded() }

// Ping checks Redis (for /readyz) and ends a degradation when it answers, so
// the governor recovers even when no request has needed the upstream since
// Redis came back (every answer may have come from the cache).
func (g *Governor) Ping(ctx context.Context) error {
	if g.rdb == nil {
		return nil
	}
	p := path{redis: true, probe: g.health.Degraded()}
	rctx, cancel := g.redisCtx(ctx, &p)
	defer cancel()
	if err := redisconn.Ping(rctx, g.rdb); err != nil {
		_ = g.redisFailed(ctx, err, &p)
		return err
	}
	g.redisWorked(&p)
	return nil
}

// Stats is a snapshot of the governor's counters, for metrics and logs.
type Stats struct {
	// Degraded is Degraded() at the time of the snapshot.
	Degraded bool
	// Replicas is the number of live replicas last seen through Redis
	// (1 without Redis): while degraded, the local limiter spends
	// 1/Replicas of the budget.
	Replicas int
	// Services holds the counters of every service seen so far.
	Services map[string]ServiceStats
}

// ServiceStats counts what the governor did for one upstream since start.
type ServiceStats struct {
	// Allowed is the number of Wait calls that let a request through.
	Allowed int64
	// Waits is the number of Wait calls that had to sleep (for the budget
	// or a pause) at least once, whatever the outcome.
	Waits int64
	// Refusals is the number of Wait calls refused because the budget could
	// not be had before the request's deadline.
	Refusals int64
	// Pauses is the number of responses (Observe calls) whose headers asked
	// for a pause: a 429, or X-RateLimit-Remaining 0 before a future reset.
	Pauses int64
}

// Stats returns the counters. It is cheap: one atomic load per counter.
func (g *Governor) Stats() Stats {
	st := Stats{Degraded: g.Degraded(), Replicas: int(g.replicas.Load()), Services: map[string]ServiceStats{}}
	g.services.Range(func(k, v any) bool {
		s := v.(*serviceState)
		st.Services[k.(string)] = ServiceStats{
			Allowed:  s.allowed.Load(),
			Waits:    s.waits.Load(),
			Refusals: s.refusals.Load(),
			Pauses:   s.pauses.Load(),
		}
		return true
	})
	return st
}

// refusal is the error of a request that cannot get the budget before its
// deadline. RetryAfter is rounded up to the millisecond, so that coming back
// after it is never too early.
func refusal(service string, d time.Duration) error {
	d = (d + time.Millisecond - 1).Truncate(time.Millisecond)
	return &upstream.Error{
		Service:    service,
		Route:      "governor",
		Kind:       upstream.KindRateLimited,
		Code:       "gateway_budget",
		RetryAfter: d,
		Err:        ErrBudget,
	}
}

// canceled is the error of a Wait whose context ended before the budget was had.
func canceled(service string, err error) error {
	return &upstream.Error{
		Service: service,
		Route:   "governor",
		Kind:    upstream.KindUnavailable,
		Err:     err,
	}
}

// sleep waits d or until ctx ends, reusing one timer per Wait call.
func sleep(ctx context.Context, timer **time.Timer, d time.Duration) error {
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-(*timer).C:
		return nil
	}
}
