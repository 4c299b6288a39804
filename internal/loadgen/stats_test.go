package loadgen

import (
	"testing"
	"time"
)

func msSeq(from, to, step int) []time.Duration {
	var d []time.Duration
	for v := from; v <= to; v += step {
		d = append(d, time.Duration(v)*time.Millisecond)
	}
	return d
}

func TestPercentile(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", []time.Duration{7 * ms}, 50, 7 * ms},
		{"single p99", []time.Duration{7 * ms}, 99, 7 * ms},
		{"1..100 p50", msSeq(1, 100, 1), 50, 50 * ms},
		{"1..100 p95", msSeq(1, 100, 1), 95, 95 * ms},
		{"1..100 p99", msSeq(1, 100, 1), 99, 99 * ms},
		{"1..100 p100", msSeq(1, 100, 1), 100, 100 * ms},
		{"ten p50", msSeq(10, 100, 10), 50, 50 * ms},
		{"ten p95 rounds up", msSeq(10, 100, 10), 95, 100 * ms},
		{"ten p51 rounds up", msSeq(10, 100, 10), 51, 60 * ms},
		{"p0 is the minimum", msSeq(10, 100, 10), 0, 10 * ms},
		{"over 100 is the maximum", msSeq(10, 100, 10), 150, 100 * ms},
		{"1..1000 p99", msSeq(1, 1000, 1), 99, 990 * ms},
		{"1..1000 p99.9", msSeq(1, 1000, 1), 99.9, 999 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("Percentile(p%g) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarizeLatencySortsFirst(t *testing.T) {
	// 1..100 ms, shuffled deterministically, as merged worker slices are.
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration((i*37)%100+1) * time.Millisecond
	}
	got := summarizeLatency(d)
	want := Latency{P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
