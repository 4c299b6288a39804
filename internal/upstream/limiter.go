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
	// that every replica slows down before the upstream says no. It returns
	// how long service is paused from now (0: not paused): the RetryAfter a
	// caller refused by a 429 is told, so that it matches what the governor
	// does rather than what the upstream's header said.
	Observe(ctx context.Context, service string, obs Observation) time.Duration
}

// Observation is what one upstream response said about its budget.
type Observation struct {
	Status     int           // HTTP status of the response
	RateLimit  RateLimit     // parsed X-RateLimit-* headers; Known is false without them
	RetryAfter time.Duration // from Retry-After (or the reset time) on a 429
	At         time.Time     // when the response arrived
}
