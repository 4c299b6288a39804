package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Counters is the upstream simulator's GET /_sim/counters answer: upstream
// data calls in total, 429s it sent, and calls per route key.
type Counters struct {
	// Total counts upstream data calls (token endpoints excluded).
	Total int64 `json:"total"`
	// RateLimited counts 429 responses the simulator sent.
	RateLimited int64 `json:"rateLimited"`
	// Routes counts calls per "<upstream> <METHOD> <template>" key; the
	// simulator omits keys whose count is zero.
	Routes map[string]int64 `json:"routes"`
}

// FetchCounters reads the counters of the simulator at base (its root URL).
// The driver reads them before and after a run and never resets them, since
// other runs or tests may share the simulator and rely on its totals.
func FetchCounters(ctx context.Context, client *http.Client, base string) (Counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/_sim/counters", nil)
	if err != nil {
		return Counters{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Counters{}, fmt.Errorf("simulator counters: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return Counters{}, fmt.Errorf("simulator counters: GET %s: %s", req.URL, resp.Status)
	}
	var c Counters
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return Counters{}, fmt.Errorf("simulator counters: %w", err)
	}
	return c, nil
}

// Sub returns the change from before to c, keeping only routes that moved.
func (c Counters) Sub(before Counters) Counters {
	d := Counters{Total: c.Total - before.Total, RateLimited: c.RateLimited - before.RateLimited, Routes: map[string]int64{}}
	for k, v := range c.Routes {
		if n := v - before.Routes[k]; n != 0 {
			d.Routes[k] = n
		}
	}
	// A route present before and absent after means the simulator was reset
	// mid-run; show the negative delta rather than hide it.
	for k, v := range before.Routes {
		if _, ok := c.Routes[k]; !ok && v != 0 {
			d.Routes[k] = -v
		}
	}
	return d
}

// Upstream is the upstream side of a run, from simulator counter deltas.
type Upstream struct {
	// Calls is the change in the simulator's total upstream calls.
	Calls int64 `json:"calls"`
	// CallsPerQuery is Calls divided by the GraphQL requests completed.
	CallsPerQuery float64 `json:"callsPerQuery"`
	// CallsPerSecond is Calls divided by the measured phase's elapsed
	// seconds: the upstream rate the gateways actually spent, to compare
	// with the upstream's limit.
	CallsPerSecond float64 `json:"callsPerSecond"`
	// RateLimited is the number of 429s the simulator sent during the run.
	RateLimited int64 `json:"rateLimited"`
	// Routes is the change in calls per route key; unchanged routes are left out.
	Routes map[string]int64 `json:"routes"`
}

// upstreamFrom turns a counter delta into the report. Other clients of a
// shared simulator inflate the numbers; the driver cannot tell them apart.
func upstreamFrom(delta Counters, requests int64, elapsed time.Duration) *Upstream {
	u := &Upstream{Calls: delta.Total, RateLimited: delta.RateLimited, Routes: delta.Routes}
	if requests > 0 {
		u.CallsPerQuery = float64(delta.Total) / float64(requests)
	}
	if elapsed > 0 {
		u.CallsPerSecond = float64(delta.Total) / elapsed.Seconds()
	}
	return u
}
