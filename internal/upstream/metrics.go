package upstream

import (
	"context"
	"sync/atomic"
	"time"
)

// Recorder receives what the client sees, for metrics (internal/metrics
// implements it with Prometheus). Labels are the service and the route
// template, never a URL: ids are personal data and unbounded.
type Recorder interface {
	// UpstreamRequest is one request sent upstream; status 0 means no answer.
	UpstreamRequest(service, route string, status int, d time.Duration)
	// CacheLookup is one read of the response cache: "hit", "stale" or "miss".
	CacheLookup(service, route, outcome string)
	// RateLimitRemaining is the X-RateLimit-Remaining of the latest response.
	RateLimitRemaining(service string, remaining int)
}

// RequestStats counts what one gateway request cost upstream, for its
// access-log line. Calls counts requests sent (retries included) by calls
// this request led; CacheHits counts fresh and stale cache answers.
type RequestStats struct {
	Calls, CacheHits atomic.Int64
}

type requestStatsKey struct{}

// WithRequestStats returns ctx counting into s.
func WithRequestStats(ctx context.Context, s *RequestStats) context.Context {
	return context.WithValue(ctx, requestStatsKey{}, s)
}

func requestStats(ctx context.Context) *RequestStats {
	s, _ := ctx.Value(requestStatsKey{}).(*RequestStats)
	return s
}
