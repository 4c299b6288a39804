package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Summary is the result of one run.
type Summary struct {
	// Mix is the mix that ran, in ParseMix syntax with explicit weights.
	Mix string
	// Targets is how many gateway URLs the requests were spread over.
	Targets int
	// Mode is "concurrency" (closed loop) or "rate" (open loop).
	Mode string
	// Concurrency is the closed-loop worker count; 0 in rate mode.
	Concurrency int
	// Rate is the open-loop rate in requests per second; 0 in concurrency mode.
	Rate float64
	// MaxInFlight is the open-loop in-flight cap; 0 in concurrency mode.
	MaxInFlight int
	// Warmup is the unmeasured phase that preceded the run.
	Warmup time.Duration
	// Elapsed is the measured phase's wall time, including waiting for the
	// requests still in flight when it ended.
	Elapsed time.Duration
	// Requests counts requests completed: answered, or failed in transport.
	Requests int64
	// RequestsPerSecond is Requests / Elapsed.
	RequestsPerSecond float64
	// Dropped counts open-loop requests not sent because MaxInFlight were
	// already in flight.
	Dropped int64
	// Latency is taken over every request that got an HTTP response.
	Latency Latency
	// HTTPErrors counts non-200 responses and transport failures.
	HTTPErrors int64
	// HTTPErrorsByStatus splits HTTPErrors by status code, "timeout" and
	// "transport".
	HTTPErrorsByStatus map[string]int64
	// GraphQLErrors counts 200 responses with a non-empty errors array.
	GraphQLErrors int64
	// GraphQLErrorsByCode counts, per extensions.code, the responses with at
	// least one error of that code; "(none)" stands for errors without one.
	GraphQLErrorsByCode map[string]int64
	// Upstream is the simulator's view of the run; nil without -sim.
	Upstream *Upstream
	// Interrupted is set when the run was cancelled (SIGINT) before its end.
	Interrupted bool
}

func (s *Summary) fill(res phaseResult) {
	s.Elapsed = res.elapsed
	s.Requests = res.requests
	if res.elapsed > 0 {
		s.RequestsPerSecond = float64(res.requests) / res.elapsed.Seconds()
	}
	s.Dropped = res.dropped
	s.Latency = summarizeLatency(res.lat)
	s.HTTPErrorsByStatus = res.httpErrors
	for _, v := range res.httpErrors {
		s.HTTPErrors += v
	}
	s.GraphQLErrors = res.gqlErrors
	s.GraphQLErrorsByCode = res.gqlCodes
}

// ms converts to fractional milliseconds, the unit scripts plot latencies in.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// MarshalJSON encodes durations as milliseconds (fields ending in "Ms") so
// scripts need no Go duration parser.
func (s Summary) MarshalJSON() ([]byte, error) {
	type latency struct {
		P50 float64 `json:"p50Ms"`
		P95 float64 `json:"p95Ms"`
		P99 float64 `json:"p99Ms"`
		Max float64 `json:"maxMs"`
	}
	return json.Marshal(struct {
		Mix                 string           `json:"mix"`
		Targets             int              `json:"targets"`
		Mode                string           `json:"mode"`
		Concurrency         int              `json:"concurrency,omitempty"`
		Rate                float64          `json:"rate,omitempty"`
		MaxInFlight         int              `json:"maxInFlight,omitempty"`
		WarmupMs            float64          `json:"warmupMs"`
		ElapsedMs           float64          `json:"elapsedMs"`
		Requests            int64            `json:"requests"`
		RequestsPerSecond   float64          `json:"requestsPerSecond"`
		Dropped             int64            `json:"dropped"`
		Latency             latency          `json:"latency"`
		HTTPErrors          int64            `json:"httpErrors"`
		HTTPErrorsByStatus  map[string]int64 `json:"httpErrorsByStatus"`
		GraphQLErrors       int64            `json:"graphqlErrors"`
		GraphQLErrorsByCode map[string]int64 `json:"graphqlErrorsByCode"`
		Upstream            *Upstream        `json:"upstream,omitempty"`
		Interrupted         bool             `json:"interrupted"`
	}{
		s.Mix, s.Targets, s.Mode, s.Concurrency, s.Rate, s.MaxInFlight, ms(s.Warmup), ms(s.Elapsed),
		s.Requests, s.RequestsPerSecond, s.Dropped,
		latency{ms(s.Latency.P50), ms(s.Latency.P95), ms(s.Latency.P99), ms(s.Latency.Max)},
		s.HTTPErrors, nonNil(s.HTTPErrorsByStatus), s.GraphQLErrors, nonNil(s.GraphQLErrorsByCode),
		s.Upstream, s.Interrupted,
	})
}

// nonNil makes an absent breakdown encode as {} rather than null, so scripts
// can index it without a null check.
func nonNil(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// WriteText prints s as the human-readable table.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := "concurrency=" + strconv.Itoa(s.Concurrency)
	if s.Mode == "rate" {
		mode = fmt.Sprintf("rate=%g/s max-inflight=%d", s.Rate, s.MaxInFlight)
	}
	fmt.Fprintf(&b, "mix: %s  mode: %s", s.Mix, mode)
	if s.Targets > 1 {
		fmt.Fprintf(&b, "  targets: %d", s.Targets)
	}
	fmt.Fprintf(&b, "  duration: %s", s.Elapsed.Round(time.Millisecond))
	if s.Warmup > 0 {
		fmt.Fprintf(&b, "  warmup: %s", s.Warmup)
	}
	if s.Interrupted {
		b.WriteString("  (interrupted)")
	}
	fmt.Fprintf(&b, "\nrequests: %d (%.1f/s)  dropped: %d\n", s.Requests, s.RequestsPerSecond, s.Dropped)
	fmt.Fprintf(&b, "latency: p50 %s  p95 %s  p99 %s  max %s\n",
		fmtLatency(s.Latency.P50), fmtLatency(s.Latency.P95), fmtLatency(s.Latency.P99), fmtLatency(s.Latency.Max))
	fmt.Fprintf(&b, "http errors: %d %s   graphql errors: %d %s\n",
		s.HTTPErrors, fmtCounts(s.HTTPErrorsByStatus), s.GraphQLErrors, fmtCounts(s.GraphQLErrorsByCode))
	if u := s.Upstream; u != nil {
		fmt.Fprintf(&b, "upstream: %d calls (%.2f/query, %.1f/s), 429s: %d\n", u.Calls, u.CallsPerQuery, u.CallsPerSecond, u.RateLimited)
		for _, k := range slices.Sorted(maps.Keys(u.Routes)) {
			fmt.Fprintf(&b, "  %s  %d\n", k, u.Routes[k])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtLatency picks a unit per magnitude so sub-millisecond gateways and
// multi-second stalls both read well.
func fmtLatency(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", ms(d))
	default:
		return fmt.Sprintf("%dµs", d.Microseconds())
	}
}

// fmtCounts prints a breakdown as {KEY: n, ...} in key order, for stable output.
func fmtCounts(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
