package upstream

import "time"

// Recorder receives what the client sees, for metrics (internal/metrics
// implements it with Prometheus). Labels are the service and the route
// template, never a URL: ids are personal data and unbounded.
type Recorder interface {
	// UpstreamRequest is one request sent upstream; status 0 means no answer.
	UpstreamRequest(service, route string, status int, d time.Duration)
	// CacheLookups is n reads of the data cache with one outcome: "hit",
	// "stale" or "miss" (a many-key lookup reports each outcome once).
	CacheLookups(service, route, outcome string, n int)
	// Decoded is one upstream body decoded into a value, from "upstream" (a
	// response) or "redis" (an entry another replica fetched).
	Decoded(service, route, source string)
	// RateLimitRemaining is the X-RateLimit-Remaining of the latest response.
	RateLimitRemaining(service string, remaining int)
}
