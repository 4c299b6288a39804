package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxDuration caps -duration and -warmup. Together with the per-request
// timeout it guarantees that every run ends by itself, even when a script
// passes a wrong unit.
const MaxDuration = 10 * time.Minute

// maxWorkers caps -concurrency and -max-inflight: each is a goroutine with a
// connection, and past this the driver measures itself, not the gateway.
const maxWorkers = 10000

// Config describes one run. The zero value is not valid; [Main] fills it from
// flags, tests fill it directly.
type Config struct {
	// URL is the gateway's base URL, or a comma-separated list of them (one
	// per replica) taking requests in round robin: with k URLs, request n
	// goes to URL n % k, path "/graphql".
	URL string
	// SimURL is the upstream simulator's base URL; empty skips upstream counting.
	SimURL string
	// Mix is the weighted list of queries to send. An entry whose query has
	// a Spread sends its variable sets in turn (see [Query.Spread]).
	Mix Mix
	// Concurrency is the number of closed-loop workers, used when Rate is 0.
	Concurrency int
	// Rate is the open-loop request rate per second; when > 0 it wins over
	// Concurrency.
	Rate float64
	// MaxInFlight bounds open-loop requests in flight; a scheduled request
	// that would exceed it is dropped, not queued.
	MaxInFlight int
	// Duration bounds the measured phase (after Warmup).
	Duration time.Duration
	// Requests stops the measured phase after this many requests; 0 means no
	// limit besides Duration.
	Requests int64
	// Warmup is run before measuring and not counted, so connection setup and
	// cold caches do not skew the numbers.
	Warmup time.Duration
	// Timeout bounds each request, including reading its body.
	Timeout time.Duration
	// AllowRemote permits non-loopback URL and SimURL hosts.
	AllowRemote bool
}

// Validate reports the first problem with c, as a message fit for a user who
// typed the flags.
func (c Config) Validate() error {
	targets, err := c.targets()
	if err != nil {
		return fmt.Errorf("-url %w", err)
	}
	for _, t := range targets {
		if err := CheckTarget(t, c.AllowRemote); err != nil {
			return fmt.Errorf("-url %w", err)
		}
	}
	if c.SimURL != "" {
		if err := CheckTarget(c.SimURL, c.AllowRemote); err != nil {
			return fmt.Errorf("-sim %w", err)
		}
	}
	switch {
	case len(c.Mix) == 0:
		return errors.New("-mix: no queries")
	case c.Rate < 0:
		return errors.New("-rate must not be negative")
	case c.Rate == 0 && (c.Concurrency < 1 || c.Concurrency > maxWorkers):
		return fmt.Errorf("-concurrency must be from 1 to %d", maxWorkers)
	case c.Rate > 0 && (c.MaxInFlight < 1 || c.MaxInFlight > maxWorkers):
		return fmt.Errorf("-max-inflight must be from 1 to %d", maxWorkers)
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("-duration must be more than 0 and at most %s", MaxDuration)
	case c.Warmup < 0 || c.Warmup > MaxDuration:
		return fmt.Errorf("-warmup must be from 0 to %s", MaxDuration)
	case c.Timeout <= 0 || c.Timeout > MaxDuration:
		return fmt.Errorf("-timeout must be more than 0 and at most %s", MaxDuration)
	case c.Requests < 0:
		return errors.New("-requests must not be negative")
	}
	return nil
}

// targets splits URL into its comma-separated base URLs. An empty entry is an
// error rather than skipped: "a,,b" or a trailing comma is more likely a
// script's unset variable than an intent.
func (c Config) targets() ([]string, error) {
	parts := strings.Split(c.URL, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, fmt.Errorf("%q: empty entry in the comma-separated list", c.URL)
		}
	}
	return parts, nil
}

// workers is how many goroutines (and connections) the run needs.
func (c Config) workers() int {
	if c.Rate > 0 {
		return c.MaxInFlight
	}
	return c.Concurrency
}

// newClient builds the one client every worker shares, for hosts gateways.
// The transport keeps an idle connection per worker and gateway (round robin
// takes every worker to every gateway), because the default of two idle
// connections per host would make most requests open a new connection and
// the run would measure TCP setup instead of the gateway.
func newClient(c Config, hosts int) *http.Client {
	dialer := &net.Dialer{Timeout: min(c.Timeout, 5*time.Second), KeepAlive: 30 * time.Second}
	if !c.AllowRemote {
		dialer.Control = loopbackOnly
	}
	n := c.workers()
	return &http.Client{
		Transport: &http.Transport{
			// No proxy: the environment's proxy would put another hop (or
			// another host) into the measurement.
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			MaxIdleConns:        n*hosts + 4, // + the simulator's counters requests
			MaxIdleConnsPerHost: n,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: min(c.Timeout, 10*time.Second),
		},
		Timeout: c.Timeout,
		// A GraphQL endpoint does not redirect; following one would resend the
		// load somewhere unchecked, so a 3xx is reported as an HTTP error.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// runner is the immutable state shared by all workers of a run.
type runner struct {
	client    *http.Client
	endpoints []string   // <base>/graphql per target: request n goes to endpoints[n%len]
	bodies    [][][]byte // pre-marshalled request bodies per mix entry, one per variable set
	seq       []int      // mix schedule: request n is of entry seq[n%len(seq)]
	before    []int64    // before[s]: how often entry seq[s] occurs in seq[:s]
	weights   []int64    // per entry: how often it occurs in seq
	rate      float64
	workers   int
	perCap    int // initial latency capacity per worker
}

// worker holds one goroutine's results. Only its goroutine touches it until
// the phase ends, which is what lets the hot path run without locks.
type worker struct {
	requests   int64
	lat        []time.Duration
	httpErrors map[string]int64 // by status code, "timeout" or "transport"; made on first error
	gqlErrors  int64
	gqlCodes   map[string]int64
	buf        bytes.Buffer // reused response buffer
}

var errorsKey = []byte(`"errors"`)

// gqlErrorsOnly is all the driver decodes of a response: the error codes.
type gqlErrorsOnly struct {
	Errors []struct {
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

// noCode is the key for errors without extensions.code, and invalidBody the
// key for a 200 whose body is not the JSON the driver expected.
const (
	noCode      = "(none)"
	invalidBody = "(invalid response)"
)

func (w *worker) httpError(key string) {
	if w.httpErrors == nil {
		w.httpErrors = make(map[string]int64)
	}
	w.httpErrors[key]++
}

func (w *worker) gqlCode(code string) {
	if w.gqlCodes == nil {
		w.gqlCodes = make(map[string]int64)
	}
	w.gqlCodes[code]++
}

// body returns the pre-marshalled body of request n. An entry with several
// variable sets sends set k % len(sets) as its k-th request; k follows from n
// alone (whole schedule cycles before n times the entry's weight, plus its
// slots earlier in this cycle), so workers need no shared counter per entry
// and each set is sent exactly as often as the walk says.
func (r *runner) body(n int64) []byte {
	cycle, slot := n/int64(len(r.seq)), n%int64(len(r.seq))
	e := r.seq[slot]
	sets := r.bodies[e]
	if len(sets) == 1 {
		return sets[0]
	}
	k := cycle*r.weights[e] + r.before[slot]
	return sets[k%int64(len(sets))]
}

// do sends request n and records its outcome in w. abort is the run's parent
// context: when it is cancelled (SIGINT) the failed request is not recorded,
// since the gateway did nothing wrong.
func (r *runner) do(abort context.Context, w *worker, n int64) {
	body := r.body(n)
	endpoint := r.endpoints[n%int64(len(r.endpoints))]
	req, err := http.NewRequestWithContext(abort, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		w.requests++
		w.httpError("transport")
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	start := time.Now()
	resp, err := r.client.Do(req)
	if err == nil {
		// Read to EOF before closing so the connection goes back to the pool.
		w.buf.Reset()
		_, err = w.buf.ReadFrom(resp.Body)
		resp.Body.Close()
	}
	elapsed := time.Since(start)
	if abort.Err() != nil {
		return
	}
	w.requests++
	if err != nil {
		// Failed requests stay out of the latency slice: a refused connection
		// would look fast and a timeout is the timeout, neither is a latency.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.httpError("timeout")
		} else {
			w.httpError("transport")
		}
		return
	}
	w.lat = append(w.lat, elapsed)
	if resp.StatusCode != http.StatusOK {
		w.httpError(strconv.Itoa(resp.StatusCode))
		return
	}
	b := w.buf.Bytes()
	// Most responses have no errors; skip decoding them entirely.
	if !bytes.Contains(b, errorsKey) {
		return
	}
	var ge gqlErrorsOnly
	if err := json.Unmarshal(b, &ge); err != nil {
		w.gqlErrors++
		w.gqlCode(invalidBody)
		return
	}
	if len(ge.Errors) == 0 {
		return
	}
	w.gqlErrors++
	// Count each code once per response: one failing list field can carry an
	// error per item, and the question is how many responses a code spoiled.
	seen := make(map[string]bool, 2)
	for _, e := range ge.Errors {
		code := e.Extensions.Code
		if code == "" {
			code = noCode
		}
		if !seen[code] {
			seen[code] = true
			w.gqlCode(code)
		}
	}
}

// phaseResult is the merged outcome of one phase.
type phaseResult struct {
	elapsed    time.Duration
	requests   int64
	dropped    int64
	lat        []time.Duration
	httpErrors map[string]int64
	gqlErrors  int64
	gqlCodes   map[string]int64
}

// phase runs load until d has passed, limit requests were sent (0: no limit)
// or ctx is cancelled, then waits for requests in flight. Requests in flight
// at the deadline finish normally (bounded by the client timeout) so their
// latencies are not lost as errors.
func (r *runner) phase(ctx context.Context, d time.Duration, limit int64) phaseResult {
	stop, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ws := make([]*worker, r.workers)
	for i := range ws {
		ws[i] = &worker{lat: make([]time.Duration, 0, r.perCap)}
	}
	start := time.Now()
	var dropped int64
	if r.rate > 0 {
		dropped = r.openLoop(ctx, stop, start, ws, limit)
	} else {
		r.closedLoop(ctx, stop, ws, limit)
	}
	res := phaseResult{elapsed: time.Since(start), dropped: dropped, httpErrors: map[string]int64{}, gqlCodes: map[string]int64{}}
	total := 0
	for _, w := range ws {
		total += len(w.lat)
	}
	res.lat = make([]time.Duration, 0, total)
	for _, w := range ws {
		res.requests += w.requests
		res.lat = append(res.lat, w.lat...)
		res.gqlErrors += w.gqlErrors
		for k, v := range w.httpErrors {
			res.httpErrors[k] += v
		}
		for k, v := range w.gqlCodes {
			res.gqlCodes[k] += v
		}
	}
	return res
}

// closedLoop runs one goroutine per worker, each sending its next request as
// soon as the previous one answered. A shared atomic ticket numbers requests,
// which both enforces the limit exactly and keeps the mix ratio exact.
func (r *runner) closedLoop(abort, stop context.Context, ws []*worker, limit int64) {
	var tickets atomic.Int64
	var wg sync.WaitGroup
	done := stop.Done()
	for _, w := range ws {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				n := tickets.Add(1) - 1
				if limit > 0 && n >= limit {
					return
				}
				r.do(abort, w, n)
			}
		})
	}
	wg.Wait()
}

// openLoop schedules requests at r.rate on a ticker, whatever the answers, and
// returns how many were dropped because r.workers were already in flight. On
// each tick it sends every request due by then (elapsed × rate minus those
// already scheduled), so the rate holds even when it is above the ticker's
// resolution or a tick arrives late.
func (r *runner) openLoop(abort, stop context.Context, start time.Time, ws []*worker, limit int64) (dropped int64) {
	// The buffer equals the in-flight cap, and inflight counts queued plus
	// running requests, so a send never blocks the scheduler.
	jobs := make(chan int64, len(ws))
	var inflight atomic.Int64
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			for n := range jobs {
				r.do(abort, w, n)
				inflight.Add(-1)
			}
		})
	}
	interval := max(time.Duration(float64(time.Second)/r.rate), time.Millisecond)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var scheduled, sent int64
loop:
	for {
		select {
		case <-stop.Done():
			break loop
		case now := <-tick.C:
			for due := int64(now.Sub(start).Seconds()*r.rate) - scheduled; due > 0; due-- {
				if limit > 0 && sent >= limit {
					break loop
				}
				scheduled++
				if inflight.Load() >= int64(len(ws)) {
					dropped++
					continue
				}
				inflight.Add(1)
				jobs <- sent
				sent++
			}
		}
	}
	close(jobs)
	wg.Wait()
	return dropped
}

// Run executes cfg: an optional warmup, the measured phase, and the simulator
// counter reads around it. It returns an error only when the run could not
// be made or measured (bad config, simulator unreachable); gateway failures
// are results, reported in the Summary. When ctx is cancelled the run stops
// early and the Summary is marked Interrupted.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	targets, _ := cfg.targets() // Validate has checked them
	r := &runner{
		rate:    cfg.Rate,
		workers: cfg.workers(),
	}
	if err := r.prepareMix(cfg.Mix); err != nil {
		return nil, err
	}
	r.client = newClient(cfg, len(targets))
	defer r.client.CloseIdleConnections()
	for _, t := range targets {
		r.endpoints = append(r.endpoints, strings.TrimRight(t, "/")+"/graphql")
	}
	r.perCap = initialCapacity(cfg)

	sum := &Summary{Mix: cfg.Mix.String(), Targets: len(targets), Warmup: cfg.Warmup}
	if cfg.Rate > 0 {
		sum.Mode, sum.Rate, sum.MaxInFlight = "rate", cfg.Rate, cfg.MaxInFlight
	} else {
		sum.Mode, sum.Concurrency = "concurrency", cfg.Concurrency
	}

	if cfg.SimURL != "" && cfg.Warmup > 0 {
		// Fail before spending the warmup when the simulator is unreachable.
		if _, err := FetchCounters(ctx, r.client, cfg.SimURL); err != nil {
			return nil, err
		}
	}
	if cfg.Warmup > 0 {
		r.phase(ctx, cfg.Warmup, 0)
	}
	if ctx.Err() != nil {
		sum.Interrupted = true
		return sum, nil
	}
	var before Counters
	if cfg.SimURL != "" {
		var err error
		if before, err = FetchCounters(ctx, r.client, cfg.SimURL); err != nil {
			return nil, err
		}
	}

	res := r.phase(ctx, cfg.Duration, cfg.Requests)
	sum.Interrupted = ctx.Err() != nil
	sum.fill(res)

	if cfg.SimURL != "" {
		// Read the counters even after SIGINT: the requests that did finish
		// still cost upstream calls worth reporting.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
		defer cancel()
		after, err := FetchCounters(actx, r.client, cfg.SimURL)
		if err != nil {
			return sum, err
		}
		sum.Upstream = upstreamFrom(after.Sub(before), sum.Requests, sum.Elapsed)
	}
	return sum, nil
}

// prepareMix sets r's schedule and marshals every request body of m, each
// variable set of each entry, so that the hot path only picks bytes.
func (r *runner) prepareMix(m Mix) error {
	r.seq = m.schedule()
	r.bodies = make([][][]byte, len(m))
	for i, e := range m {
		b, err := e.Query.Bodies()
		if err != nil {
			return fmt.Errorf("query %s: %w", e.Query.Name, err)
		}
		r.bodies[i] = b
	}
	r.weights = make([]int64, len(m))
	r.before = make([]int64, len(r.seq))
	for s, e := range r.seq {
		r.before[s] = r.weights[e]
		r.weights[e]++
	}
	return nil
}

// initialCapacity guesses each worker's latency slice size so the hot path
// rarely grows it. Guesses are capped: append still works past the guess, and
// a 10-minute run must not preallocate gigabytes.
func initialCapacity(cfg Config) int {
	const perWorkerCap = 1 << 16
	n := int64(cfg.workers())
	var expected int64
	switch {
	case cfg.Rate > 0:
		expected = int64(cfg.Rate*cfg.Duration.Seconds()) + 1
	default:
		// Assume about one request per millisecond per worker, fast for a
		// gateway but cheap to overestimate under the cap.
		expected = cfg.Duration.Milliseconds() * n
	}
	if cfg.Requests > 0 {
		expected = min(expected, cfg.Requests)
	}
	per := expected/n + 1
	if cfg.Rate > 0 {
		per *= 2 // open-loop work lands unevenly on whichever workers are idle
	}
	return int(min(per, perWorkerCap))
}
