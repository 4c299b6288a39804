package loadgen

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestUpstreamRates(t *testing.T) {
	tests := []struct {
		name          string
		calls         int64
		requests      int64
		elapsed       time.Duration
		perQuery      float64
		perSecond     float64
		wantPerSecond string // as the text report prints it
	}{
		{"steady", 30, 10, 2 * time.Second, 3, 15, "15.0/s"},
		{"sub-second run", 5, 4, 250 * time.Millisecond, 1.25, 20, "20.0/s"},
		{"fractional rate", 10, 3, 3 * time.Second, 10.0 / 3, 10.0 / 3, "3.3/s"},
		{"no requests", 7, 0, time.Second, 0, 7, "7.0/s"},
		{"no time", 7, 7, 0, 1, 0, "0.0/s"},
		{"no calls", 0, 50, 5 * time.Second, 0, 0, "0.0/s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := upstreamFrom(Counters{Total: tc.calls, RateLimited: 2}, tc.requests, tc.elapsed)
			if u.Calls != tc.calls || u.CallsPerQuery != tc.perQuery || u.CallsPerSecond != tc.perSecond || u.RateLimited != 2 {
				t.Fatalf("upstream = %+v, want %d calls, %g/query, %g/s", u, tc.calls, tc.perQuery, tc.perSecond)
			}
			var b strings.Builder
			sum := &Summary{Mix: "groups:1", Mode: "concurrency", Concurrency: 1, Targets: 1, Elapsed: tc.elapsed, Upstream: u}
			if err := sum.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "/query, "+tc.wantPerSecond+"), 429s: 2\n") {
				t.Fatalf("text report:\n%s\nwant the upstream line to show %s", b.String(), tc.wantPerSecond)
			}
			raw, err := json.Marshal(sum)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Upstream struct {
					CallsPerSecond *float64 `json:"callsPerSecond"`
				} `json:"upstream"`
			}
			if err := json.Unmarshal(raw, &got); err != nil || got.Upstream.CallsPerSecond == nil || *got.Upstream.CallsPerSecond != tc.perSecond {
				t.Fatalf("json = %s (%v), want callsPerSecond %g", raw, err, tc.perSecond)
			}
		})
	}
}

func TestTextReportNamesTargetsOnlyWhenSeveral(t *testing.T) {
	tests := []struct {
		targets int
		want    string // "" means no targets field
	}{
		{1, ""},
		{2, "  targets: 2  "},
		{3, "  targets: 3  "},
	}
	for _, tc := range tests {
		var b strings.Builder
		sum := &Summary{Mix: "groups:1", Mode: "rate", Rate: 10, MaxInFlight: 5, Targets: tc.targets, Elapsed: time.Second}
		if err := sum.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(b.String(), "\n")
		if tc.want == "" && strings.Contains(first, "targets") || tc.want != "" && !strings.Contains(first, tc.want) {
			t.Errorf("targets %d: first line %q, want %q", tc.targets, first, tc.want)
		}
	}
}
