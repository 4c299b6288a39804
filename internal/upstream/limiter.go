package upstream

import (
	"context"
	"time"
)

// Limiter is the rate governor that every upstream request passes through,
// right before it is sent. internal/ratelimit implements it with a budget
// shared by all replicas; nil means no governor.
type Limiter interface {
	// Wait returns nil when a request to service may be sent now. When the
	// budget cannot allow one before ctx's deadline it returns at once with
	// an *Error of KindRateLimited whose RetryAfter says when to try again;
	// it never waits past the deadline.
	Wait(ctx context.Context, service string) error
	// Observe records what an upstream response said about the upstream's
	// own budget (X-RateLimit-* on every response, Retry-After on a 429), so
	// that every replica slows down before the upstream says no.
	Observe(ctx context.Context, service string, obs Observation)
}

// Observation is what one upstream response said about its budget.
type Observation struct {
	Status     int           // HTTP status of the response
	RateLimit  RateLimit     // parsed X-RateLimit-* headers; Known is false without them
	RetryAfter time.Duration // from Retry-After (or the reset time) on a 429
	At         time.Time     // when the response arrived
}

type noWaitKey struct{}

// WithoutWaiting marks ctx so that the governor lets a request through only
// if the budget allows it right now, and otherwise refuses at once. Background
// refreshes of stale entries use it: a stale answer has already gone out, so
// they may only spend budget that no waiting request needs.
func WithoutWaiting(ctx context.Context) context.Context {
	return context.WithValue(ctx, noWaitKey{}, true)
}

// NoWaiting reports whether ctx was marked by WithoutWaiting.
func NoWaiting(ctx context.Context) bool {
	v, _ := ctx.Value(noWaitKey{}).(bool)
	return v
}
