package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

func TestRequestLimitBoundsTheRun(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		rate        float64
		requests    int64
	}{
		{"one worker", 1, 0, 7},
		{"several workers", 4, 0, 50},
		{"more workers than requests", 16, 0, 5},
		{"rate mode", 0, 1000, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, nil, nil)
			cfg := testConfig(f.URL, tc.requests)
			cfg.Concurrency, cfg.Rate = tc.concurrency, tc.rate
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Requests != tc.requests || f.requests.Load() != tc.requests {
				t.Fatalf("summary requests = %d, server saw %d, want %d", sum.Requests, f.requests.Load(), tc.requests)
			}
			if sum.HTTPErrors != 0 || sum.GraphQLErrors != 0 || sum.Interrupted {
				t.Fatalf("unexpected errors: %+v", sum)
			}
			if sum.Latency.Max <= 0 || sum.Latency.P50 > sum.Latency.P99 || sum.Latency.P99 > sum.Latency.Max {
				t.Fatalf("latency = %+v", sum.Latency)
			}
		})
	}
}

// TestErrorsCountedByStatusAndCode derives each response from the request's
// number, so the expected counts are exact whatever the interleaving.
func TestErrorsCountedByStatusAndCode(t *testing.T) {
	f := startFake(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case n%5 == 0:
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
		case n%3 == 0:
			_, _ = io.WriteString(w, `{"errors":[{"message":"x","extensions":{"code":"RATE_LIMITED"}}],"data":null}`)
		case n%7 == 0:
			// Two errors of one code and one without a code: each code counts
			// once for the response.
			_, _ = io.WriteString(w, `{"data":{"a":null,"b":null,"c":null},"errors":[`+
				`{"message":"a","extensions":{"code":"UPSTREAM_ERROR"}},`+
				`{"message":"b","extensions":{"code":"UPSTREAM_ERROR"}},{"message":"c"}]}`)
		case n%11 == 0:
			_, _ = io.WriteString(w, `{"data":{"errors":"a field named errors is not an error"},"errors":[]}`)
		default:
			writeData(w)
		}
	}, nil)
	sum, err := Run(context.Background(), testConfig(f.URL, 30))
	if err != nil {
		t.Fatal(err)
	}
	// Of 1..30: multiples of 5 (6), of 3 but not 5 (8), of 7 but neither (7, 14, 28).
	if sum.Requests != 30 {
		t.Fatalf("requests = %d", sum.Requests)
	}
	if want := map[string]int64{"503": 6}; sum.HTTPErrors != 6 || !reflect.DeepEqual(sum.HTTPErrorsByStatus, want) {
		t.Fatalf("http errors = %d %v, want 6 %v", sum.HTTPErrors, sum.HTTPErrorsByStatus, want)
	}
	want := map[string]int64{"RATE_LIMITED": 8, "UPSTREAM_ERROR": 3, noCode: 3}
	if sum.GraphQLErrors != 11 || !reflect.DeepEqual(sum.GraphQLErrorsByCode, want) {
		t.Fatalf("graphql errors = %d %v, want 11 %v", sum.GraphQLErrors, sum.GraphQLErrorsByCode, want)
	}
}

func TestTimeoutsAreHTTPErrorsWithoutLatency(t *testing.T) {
	f := startFake(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}, nil)
	cfg := testConfig(f.URL, 2)
	cfg.Concurrency, cfg.Timeout = 1, 20*time.Millisecond
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests != 2 || sum.HTTPErrorsByStatus["timeout"] != 2 || sum.Latency.Max != 0 {
		t.Fatalf("summary = %+v", sum)
	}
}

func TestMixRatioIsExact(t *testing.T) {
	f := startFake(t, nil, nil)
	cfg := testConfig(f.URL, 40)
	var err error
	if cfg.Mix, err = ParseMix("user-orgs-connections:3,organization"); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"UserOrgsConnections": 30, "Organization": 10}; !reflect.DeepEqual(f.byOp, want) {
		t.Fatalf("operations = %v, want %v", f.byOp, want)
	}
	for _, b := range f.bodys {
		if b.OperationName == "Organization" && b.Variables["id"] != demoOrganizationID {
			t.Fatalf("variables = %v", b.Variables)
		}
	}
}

// simCounters fakes GET /_sim/counters: every GraphQL request costs three
// upstream calls on two routes, and every other one a 429. The counters start
// non-zero, as a shared simulator's would.
type simCounters struct {
	graphql atomic.Int64
}

func (s *simCounters) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /_sim/counters", func(w http.ResponseWriter, _ *http.Request) {
		n := s.graphql.Load()
		_ = json.NewEncoder(w).Encode(Counters{
			Total:       100 + 3*n,
			RateLimited: 7 + n/2,
			Routes:      map[string]int64{"auth0 GET /a": 60 + 2*n, "identity GET /b": 40 + n, "auth0 GET /idle": 5},
		})
	})
	return m
}

func TestUpstreamCallsFromCounterDeltas(t *testing.T) {
	sim := &simCounters{}
	f := startFake(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		sim.graphql.Add(1)
		writeData(w)
	}, sim.mux())
	cfg := testConfig(f.URL, 10)
	cfg.SimURL = f.URL + "/" // a trailing slash must not matter
	cfg.Concurrency = 1      // so n/2 over the run is exactly 5
	cfg.Warmup = 20 * time.Millisecond
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests != 10 || f.requests.Load() <= 10 {
		t.Fatalf("requests = %d, server saw %d (warmup should add some)", sum.Requests, f.requests.Load())
	}
	warm := f.requests.Load() - 10
	if sum.Elapsed <= 0 {
		t.Fatalf("elapsed = %s", sum.Elapsed)
	}
	want := &Upstream{
		Calls:          30,
		CallsPerQuery:  3,
		CallsPerSecond: 30 / sum.Elapsed.Seconds(),
		RateLimited:    (warm+10)/2 - warm/2,
		Routes:         map[string]int64{"auth0 GET /a": 20, "identity GET /b": 10},
	}
	if !reflect.DeepEqual(sum.Upstream, want) {
		t.Fatalf("upstream = %+v, want %+v", sum.Upstream, want)
	}
}

func TestUnreachableSimulatorIsAnError(t *testing.T) {
	f := startFake(t, nil, nil) // no /_sim routes: 404
	cfg := testConfig(f.URL, 1)
	cfg.SimURL = f.URL
	if _, err := Run(context.Background(), cfg); err == nil {
		t.Fatal("want an error for a simulator answering 404")
	}
	if f.requests.Load() != 0 {
		t.Fatalf("sent %d requests before checking the simulator", f.requests.Load())
	}
}

// TestRateModeKeepsToRate bounds the run by -requests, never by a timer. The
// one timing check is a lower bound the scheduler guarantees: request k is
// not sent before k/rate seconds, so the achieved rate cannot exceed it.
func TestRateModeKeepsToRate(t *testing.T) {
	f := startFake(t, nil, nil)
	cfg := testConfig(f.URL, 20)
	cfg.Rate = 200
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests != 20 || f.requests.Load() != 20 || sum.Dropped != 0 {
		t.Fatalf("requests = %d, server saw %d, dropped = %d", sum.Requests, f.requests.Load(), sum.Dropped)
	}
	if sum.RequestsPerSecond > 200 {
		t.Fatalf("achieved %.1f/s, above the %g/s rate", sum.RequestsPerSecond, cfg.Rate)
	}
	if sum.Mode != "rate" || sum.MaxInFlight != 100 {
		t.Fatalf("mode = %q max in flight = %d", sum.Mode, sum.MaxInFlight)
	}
}

func TestRateModeDropsAtInFlightCap(t *testing.T) {
	f := startFake(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(30 * time.Millisecond) // dozens of 1 ms slots pass per request
		writeData(w)
	}, nil)
	cfg := testConfig(f.URL, 0)
	cfg.Rate, cfg.MaxInFlight, cfg.Duration = 1000, 1, 100*time.Millisecond
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Requests < 1 || sum.Requests != f.requests.Load() || sum.Dropped == 0 {
		t.Fatalf("requests = %d, server saw %d, dropped = %d", sum.Requests, f.requests.Load(), sum.Dropped)
	}
}

func TestInterruptDoesNotCountAbortedRequests(t *testing.T) {
	arrived := make(chan struct{}, 16)
	f := startFake(t, func(_ int64, _ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	sum, err := Run(ctx, testConfig(f.URL, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || sum.Requests != 0 || sum.HTTPErrors != 0 {
		t.Fatalf("summary = %+v", sum)
	}
}

// TestRoundRobinSpreadsEvenly sends a request count divisible by 3 to three
// gateways. Request n must go to gateway n%3 and carry query seq[n%len(seq)],
// so the expected per-gateway operations are exact whatever the interleaving
// of the workers. With three queries of equal weight, each gateway receives a
// single query: this pins the mapping n -> n%3, which even counts alone would
// not (blocks of two per gateway are even too).
func TestRoundRobinSpreadsEvenly(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		rate        float64
		requests    int64
	}{
		{"one worker", 1, 0, 30},
		{"several workers", 4, 0, 60},
		{"more workers than gateways", 16, 0, 99},
		{"rate mode", 0, 1000, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gws := []*fakeGateway{startFake(t, nil, nil), startFake(t, nil, nil), startFake(t, nil, nil)}
			// Spaces and a trailing slash, as a hand-typed list has them.
			cfg := testConfig(gws[0].URL+", "+gws[1].URL+"/,"+gws[2].URL, tc.requests)
			cfg.Concurrency, cfg.Rate = tc.concurrency, tc.rate
			var err error
			if cfg.Mix, err = ParseMix("organization,groups,user-orgs-connections"); err != nil {
				t.Fatal(err)
			}
			want := make([]map[string]int, len(gws))
			for i := range want {
				want[i] = map[string]int{}
			}
			seq := cfg.Mix.schedule()
			for n := range tc.requests {
				want[n%3][cfg.Mix[seq[n%int64(len(seq))]].Query.OperationName]++
			}
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Requests != tc.requests || sum.HTTPErrors != 0 || sum.Targets != 3 {
				t.Fatalf("requests = %d, http errors = %v, targets = %d", sum.Requests, sum.HTTPErrorsByStatus, sum.Targets)
			}
			for i, g := range gws {
				if got := g.requests.Load(); got != tc.requests/3 {
					t.Errorf("gateway %d saw %d requests, want %d", i, got, tc.requests/3)
				}
				if len(want[i]) != 1 || !reflect.DeepEqual(g.byOp, want[i]) {
					t.Errorf("gateway %d operations = %v, want %v (a single query)", i, g.byOp, want[i])
				}
			}
		})
	}
}

// TestBodyWalksSetsPerEntry checks runner.body against a plain count: the
// k-th request of an entry (counted in request order) must carry variable set
// k % sets, whatever the weights and the other entries.
func TestBodyWalksSetsPerEntry(t *testing.T) {
	type entry struct{ sets, weight int } // sets 0: fixed variables
	tests := []struct {
		name    string
		entries []entry
	}{
		{"spread alone", []entry{{5, 1}}},
		{"spread weight above its sets", []entry{{3, 7}}},
		{"spread and fixed", []entry{{3, 2}, {0, 1}}},
		{"two spreads and fixed", []entry{{4, 3}, {0, 5}, {7, 2}}},
		{"load-replicas default", []entry{{0, 1}, {0, 1}, {0, 1}, {0, 1}, {200, 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Mix
			for i, e := range tc.entries {
				q := Query{Name: fmt.Sprint("q", i), OperationName: fmt.Sprint("Q", i), Document: "{x}",
					Variables: map[string]any{"i": -1}}
				for k := range e.sets {
					q.Spread = append(q.Spread, map[string]any{"i": k})
				}
				m = append(m, MixEntry{Query: q, Weight: e.weight})
			}
			r := &runner{}
			if err := r.prepareMix(m); err != nil {
				t.Fatal(err)
			}
			count := make([]int, len(m))
			total := 0
			for _, e := range tc.entries {
				total += e.weight
			}
			for n := range int64(3*total*210 + 1) {
				var got requestBody
				if err := json.Unmarshal(r.body(n), &got); err != nil {
					t.Fatal(err)
				}
				e := r.seq[n%int64(len(r.seq))]
				if got.OperationName != m[e].Query.OperationName {
					t.Fatalf("request %d: operation %s, want %s", n, got.OperationName, m[e].Query.OperationName)
				}
				want := -1
				if sets := tc.entries[e].sets; sets > 0 {
					want = count[e] % sets
				}
				if got.Variables["i"] != float64(want) {
					t.Fatalf("request %d (entry %d, its request %d): set %v, want %d", n, e, count[e], got.Variables["i"], want)
				}
				count[e]++
			}
			// The hot path only picks pre-marshalled bytes.
			n := int64(0)
			if allocs := testing.AllocsPerRun(100, func() { _ = r.body(n); n += 7 }); allocs != 0 {
				t.Fatalf("body allocates %.1f times per request", allocs)
			}
		})
	}
}

// TestSpreadWalksEveryName sends org-by-name-spread through the whole driver
// to a gateway that records the variables it received. A request count that is
// a multiple of the 200 names must reach each name the same number of times,
// with any number of workers and with fixed queries in the mix; with one
// worker requests arrive in order, so the names must too.
func TestSpreadWalksEveryName(t *testing.T) {
	tests := []struct {
		name        string
		mix         string
		concurrency int
		rate        float64
		requests    int64
		wantOps     map[string]int
	}{
		{"alone, one worker", "org-by-name-spread", 1, 0, 400, map[string]int{"OrgByNameSpread": 400}},
		{"alone, several workers", "org-by-name-spread", 8, 0, 400, map[string]int{"OrgByNameSpread": 400}},
		{"mixed, one worker", "organization,org-by-name-spread:2,groups", 1, 0, 800,
			map[string]int{"Organization": 200, "OrgByNameSpread": 400, "Groups": 200}},
		{"mixed, several workers", "organization,org-by-name-spread:2,groups", 8, 0, 800,
			map[string]int{"Organization": 200, "OrgByNameSpread": 400, "Groups": 200}},
		{"mixed, rate mode", "org-by-name-spread:2,organization", 0, 2000, 600,
			map[string]int{"Organization": 200, "OrgByNameSpread": 400}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, nil, nil)
			cfg := testConfig(f.URL, tc.requests)
			cfg.Concurrency, cfg.Rate = tc.concurrency, tc.rate
			// Room for every request at once: on a busy machine a smaller
			// cap drops requests, and the walk is only exact without drops.
			cfg.MaxInFlight = int(tc.requests)
			var err error
			if cfg.Mix, err = ParseMix(tc.mix); err != nil {
				t.Fatal(err)
			}
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Requests != tc.requests || sum.Dropped != 0 || sum.HTTPErrors != 0 {
				t.Fatalf("requests = %d, dropped = %d, http errors = %v", sum.Requests, sum.Dropped, sum.HTTPErrorsByStatus)
			}
			if !reflect.DeepEqual(f.byOp, tc.wantOps) {
				t.Fatalf("operations = %v, want %v", f.byOp, tc.wantOps)
			}
			perName := map[any]int{}
			var names []any
			for _, b := range f.bodys {
				switch b.OperationName {
				case "OrgByNameSpread":
					perName[b.Variables["name"]]++
					names = append(names, b.Variables["name"])
				case "Organization":
					if !reflect.DeepEqual(b.Variables, map[string]any{"id": demoOrganizationID}) {
						t.Fatalf("organization variables = %v", b.Variables)
					}
				}
			}
			times := tc.wantOps["OrgByNameSpread"] / 200
			if len(perName) != 200 {
				t.Fatalf("%d distinct names, want 200", len(perName))
			}
			for i := range 200 {
				if name := fmt.Sprintf("gen-org-%05d", i); perName[name] != times {
					t.Fatalf("%s sent %d times, want %d", name, perName[name], times)
				}
			}
			if tc.concurrency == 1 {
				for k, name := range names {
					if want := fmt.Sprintf("gen-org-%05d", k%200); name != want {
						t.Fatalf("spread request %d asked for %v, want %s", k, name, want)
					}
				}
			}
		})
	}
}
