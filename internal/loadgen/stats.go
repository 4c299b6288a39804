package loadgen

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p% of the values
// are at or below it. Nearest rank never interpolates, so every reported
// latency is one a request actually had. It returns 0 for an empty slice;
// p <= 0 yields the minimum and p >= 100 the maximum.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// The epsilon absorbs float error: 99.9% of 1000 must be rank 999, not
	// the 1000 that ceil(999.0000000000001) would give.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Latency summarizes the latencies of one run.
type Latency struct {
	// P50, P95 and P99 are nearest-rank percentiles.
	P50, P95, P99 time.Duration
	// Max is the slowest request.
	Max time.Duration
}

// summarizeLatency sorts d in place and reads the percentiles off it.
func summarizeLatency(d []time.Duration) Latency {
	slices.Sort(d)
	if len(d) == 0 {
		return Latency{}
	}
	return Latency{
		P50: Percentile(d, 50),
		P95: Percentile(d, 95),
		P99: Percentile(d, 99),
		Max: d[len(d)-1],
	}
}
