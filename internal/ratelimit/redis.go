package ratelimit

import (
	"context"
	"time"
)

// path says which limiter one Wait iteration uses.
type path struct {
	redis bool // use Redis (the shared budget and pause)
	probe bool // Redis is degraded and this request tries it again
}

// choosePath picks Redis when it is configured and healthy, and while it is
// degraded lets one request per probe interval try it as a probe.
func (g *Governor) choosePath() path {
	if g.rdb == nil {
		return path{}
	}
	use, probe := g.health.Use()
	return path{redis: use, probe: probe}
}

// redisWorked ends the degradation when a probe succeeded. Only a probe may
// end it: a call that started before Redis failed and succeeded late must
// not flip the state back and forth.
func (g *Governor) redisWorked(p *path) {
	if !p.probe {
		return
	}
	p.probe = false
	g.health.Worked(true)
}

// redisFailed handles a failed Redis call made under ctx. When ctx itself
// ended, the caller gave up and Redis is not to blame: the context's error is
// returned. Otherwise the governor degrades (logging once per transition)
// and p switches to the local limiter.
func (g *Governor) redisFailed(ctx context.Context, err error, p *path) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	// The connection's deadline is the context's (ContextTimeoutEnabled), so
	// a call cut off by the caller's deadline fails with an i/o timeout as
	// the deadline passes, while the context's own timer, late on a busy
	// machine, may not have marked it done yet. Past that deadline the
	// caller ran out of time; Redis is not to blame.
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	p.redis, p.probe = false, false
	g.health.Failed(err)
	return nil
}

// noCancel lets redisCtx return without allocating when it adds no timeout.
var noCancel context.CancelFunc = func() {}

// redisCtx bounds one Redis call by the governor's Redis timeout, or by the caller's deadline
// when that is sooner (then no new context is needed).
//
// A probe gets at most half of the caller's remaining time: Redis is
// probably still down, and the request must keep enough time to be decided
// by the local limiter instead of failing on its own deadline. (Halving every
// call would be wrong: a healthy but not instant Redis would then look down
// to requests that arrive with little time left.)
func (g *Governor) redisCtx(ctx context.Context, p *path) (context.Context, context.CancelFunc) {
	timeout := g.redisTimeout
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if p.probe {
			timeout = min(timeout, left/2)
		} else if left <= timeout {
			return ctx, noCancel
		}
	}
	return context.WithTimeout(ctx, timeout)
}
