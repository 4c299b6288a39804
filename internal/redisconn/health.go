package redisconn

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ProbeInterval is how long a degraded user of Redis leaves it alone before
// one call tries it again: more often would add a Redis timeout to many
// requests while Redis is down, and go-redis reconnects by itself once it
// is back, so the probe only has to find out.
const ProbeInterval = time.Second

// HealthConfig shapes a Health.
type HealthConfig struct {
	// Degraded is the warning logged when Redis starts failing, Recovered
	// the line logged when a probe finds it back; each names its user and
	// what stands in for Redis meanwhile.
	Degraded, Recovered string
	// Logger receives the two lines; nil discards them.
	Logger *slog.Logger
	// Now replaces time.Now in tests.
	Now func() time.Time
	// Interval is the least time between probes (0: ProbeInterval).
	Interval time.Duration
}

// Health is one user's view of whether Redis works: the cache, the rate
// governor and persisted queries each have one, so that each falls back to
// its in-process stand-in on its own, and reports it (/readyz, metrics).
// While degraded, one call per interval may go to Redis as a probe; only a
// probe that works ends the degradation, so a call that started before Redis
// failed and answered late does not flip the state back and forth. It is
// safe for concurrent use.
type Health struct {
	cfg      HealthConfig
	degraded atomic.Bool
	probeAt  atomic.Int64 // unix nanos from which a degraded user may probe again
}

// NewHealth returns a healthy Health.
func NewHealth(cfg HealthConfig) *Health {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = ProbeInterval
	}
	return &Health{cfg: cfg}
}

// Degraded reports whether Redis last failed and no probe has worked since.
func (h *Health) Degraded() bool { return h.degraded.Load() }

// Use reports whether a call may go to Redis now, and whether that call is
// the probe of a degraded Redis (whose outcome must reach Worked). While
// degraded, only one caller per interval gets true.
func (h *Health) Use() (use, probe bool) {
	if !h.degraded.Load() {
		return true, false
	}
	at := h.probeAt.Load()
	now := h.cfg.Now().UnixNano()
	if now < at || !h.probeAt.CompareAndSwap(at, now+int64(h.cfg.Interval)) {
		return false, false
	}
	return true, true
}

// Failed records a Redis call that failed because of Redis (the caller has
// ruled out its own cancellation and answers such as redis.Nil): Redis is
// degraded, and the next probe waits a whole interval. The warning is
// logged once per transition, not once per failed call.
func (h *Health) Failed(err error) {
	h.probeAt.Store(h.cfg.Now().Add(h.cfg.Interval).UnixNano())
	if !h.degraded.Swap(true) {
		h.cfg.Logger.Warn(h.cfg.Degraded, slog.String("error", err.Error()))
	}
}

// Worked records a Redis call that worked; it ends a degradation only when
// the call was a probe (see Use).
func (h *Health) Worked(probe bool) {
	if probe && h.degraded.CompareAndSwap(true, false) {
		h.cfg.Logger.Info(h.cfg.Recovered)
	}
}

// Check pings every master of rdb within timeout, for /readyz, and records
// the outcome as a probe: a readiness poll ends a degradation even when no
// request has needed Redis since it came back.
func (h *Health) Check(ctx context.Context, rdb redis.UniversalClient, timeout time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := Ping(rctx, rdb); err != nil {
		h.Failed(err)
		return err
	}
	h.Worked(true)
	return nil
}
