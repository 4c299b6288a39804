// Package metrics exposes the gateway's Prometheus metrics at /metrics
// (github.com/prometheus/client_golang): GraphQL operations, upstream
// requests, cache lookups, the rate governor and Redis. Each gateway has its
// own registry, so several in one process (tests) never collide.
//
// Labels are bounded on purpose: upstream requests are labelled by route
// template, never by URL (ids are personal data and unbounded), and an
// operation is labelled by its name only when it ran (it parsed, validated
// and passed the limits) and its name is one of the manifest's or of the
// first Options.OperationNames that ran; every other operation is labelled
// "other". Callers choose operation names, so without that bound each new
// name, even of a refused operation, made 17 new series.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orgraph/orgraph/internal/opname"
	"github.com/orgraph/orgraph/internal/ratelimit"
	"github.com/orgraph/orgraph/internal/upstream"
)

// Metrics holds the gateway's collectors.
type Metrics struct {
	reg *prometheus.Registry

	operations *prometheus.CounterVec
	opDuration *prometheus.HistogramVec
	upRequests *prometheus.CounterVec
	upDuration *prometheus.HistogramVec
	cache      *prometheus.CounterVec
	decodes    *prometheus.CounterVec
	responses  *prometheus.CounterVec
	// responseHits is responses{outcome="hit"}.
	responseHits prometheus.Counter
	rlRemaining  *prometheus.GaugeVec
	events       *prometheus.CounterVec
	purged       *prometheus.CounterVec

	names operationNames
}

// Options are the bounds of one gateway's metrics.
type Options struct {
	// OperationNames bounds the operation names learned as label values
	// (METRICS_OPERATION_NAMES); 0 takes DefaultOperationNames.
	OperationNames int
}

// DefaultOperationNames is how many operation names become label values
// when Options does not say: a frontend sends tens of distinct operations,
// rarely more than a hundred, and each name costs up to 3 outcomes × 17
// series (a counter and a 13-bucket histogram), so 100 names are at most
// about 5,000 lines of /metrics, however many names callers invent.
const DefaultOperationNames = 100

// The operation label values that are not names.
const (
	// OtherOperation labels operations that did not run (refused before
	// execution: parse, validation, limits, persisted queries) and those
	// named after the label values ran out.
	OtherOperation = "other"
	// AnonymousOperation labels unnamed operations that ran.
	AnonymousOperation = opname.Anonymous
)

var _ upstream.Recorder = (*Metrics)(nil)

// New returns the metrics of one gateway, with Go and process collectors.
func New(o Options) *Metrics {
	if o.OperationNames <= 0 {
		o.OperationNames = DefaultOperationNames
	}
	m := &Metrics{
		names: operationNames{max: o.OperationNames,
			known: map[string]string{OtherOperation: OtherOperation, AnonymousOperation: AnonymousOperation}},
		reg: prometheus.NewRegistry(),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgraph_graphql_operations_total",
			Help: "GraphQL operations by operation name and outcome (ok, partial, error).",
		}, []string{"operation", "outcome"}),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orgraph_graphql_operation_duration_seconds",
			Help:    "Time to answer a GraphQL operation.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation", "outcome"}),
		upRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgraph_upstream_requests_total",
			Help: "Requests sent upstream by upstream, route template and HTTP status (0: no answer).",
		}, []string{"upstream", "route", "status"}),
		upDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orgraph_upstream_request_duration_seconds",
			Help:    "Time until an upstream answered (headers), by upstream and route template.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"upstream", "route"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgraph_cache_lookups_total",
			Help: "Data cache lookups (upstream answers, in-process or in Redis) by upstream, loader (route template) and outcome (hit, stale, miss).",
		}, []string{"upstream", "loader", "outcome"}),
		decodes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgraph_upstream_decodes_total",
			Help: "Upstream bodies decoded, by upstream, route template and source (upstream: a fresh answer; redis: an entry another replica fetched). A warm in-process hit decodes nothing.",
		}, []string{"upstream", "route", "source"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orgraph_response_cache_lookups_total",
			Help: "Whole-response cache lookups by outcome (hit: answered with stored bytes; shared: answered with the bytes of an identical operation that was running; miss: executed; bypass: the caller sent Cache-Control: no-cache). With the response cache off, only shared is counted.",
		}, []string{"outcome"}),
		rlRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "orgraph_upstream_ratelimit_remaining",
			Help: "X-RateLimit-Remaining of the latest response from each upstream.",
		}, []string{"upstream"}),
	}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgraph_events_total",
		Help: "Auth0 Event Streams deliveries by outcome (applied, duplicate: an id already applied, ignored: a type the gateway does not act on, refused: unauthorized, too large or malformed, failed: not recorded, retried by Auth0). Their sum is the deliveries received.",
	}, []string{"outcome"})
	m.purged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orgraph_cache_entries_purged_total",
		Help: "Cached entries an event purged, counted when they are next read and refused, by tier (local: in-process data cache, redis, response: the whole-response cache).",
	}, []string{"tier"})
	for _, o := range []string{"applied", "duplicate", "ignored", "refused", "failed"} {
		m.events.WithLabelValues(o)
	}
	for _, t := range []string{"local", "redis", "response"} {
		m.purged.WithLabelValues(t)
	}
	m.responseHits = m.responses.WithLabelValues("hit")
	m.reg.MustRegister(m.events, m.purged)
	m.reg.MustRegister(m.operations, m.opDuration, m.upRequests, m.upDuration, m.cache, m.decodes, m.responses, m.rlRemaining,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Event counts one Auth0 Event Streams delivery by outcome.
func (m *Metrics) Event(outcome string) { m.events.WithLabelValues(outcome).Inc() }

// EntryPurged counts one cached entry an event purged, by tier.
func (m *Metrics) EntryPurged(tier string) { m.purged.WithLabelValues(tier).Inc() }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// UpstreamRequest implements upstream.Recorder.
func (m *Metrics) UpstreamRequest(service, route string, status int, d time.Duration) {
	m.upRequests.WithLabelValues(service, route, strconv.Itoa(status)).Inc()
	m.upDuration.WithLabelValues(service, route).Observe(d.Seconds())
}

// CacheLookups implements upstream.Recorder.
func (m *Metrics) CacheLookups(service, route, outcome string, n int) {
	m.cache.WithLabelValues(service, route, outcome).Add(float64(n))
}

// Decoded implements upstream.Recorder.
func (m *Metrics) Decoded(service, route, source string) {
	m.decodes.WithLabelValues(service, route, source).Inc()
}

// ResponseCacheLookup counts one lookup of the whole-response cache.
func (m *Metrics) ResponseCacheLookup(outcome string) {
	if outcome == "hit" { // the hot one, resolved once
		m.responseHits.Inc()
		return
	}
	m.responses.WithLabelValues(outcome).Inc()
}

// Operation counts one operation that took d, as the operations extension
// does; ran says whether it executed (see the package doc for the label).
func (m *Metrics) Operation(name, outcome string, ran bool, d time.Duration) {
	label := OtherOperation
	if ran {
		label = m.names.label(name)
	}
	m.operations.WithLabelValues(label, outcome).Inc()
	m.opDuration.WithLabelValues(label, outcome).Observe(d.Seconds())
}

// OperationCounter is Operation for one operation that ran, with the series
// looked up once: the response cache keeps one with each stored response.
func (m *Metrics) OperationCounter(name, outcome string) func(d time.Duration) {
	label := m.names.label(name)
	count, dur := m.operations.WithLabelValues(label, outcome), m.opDuration.WithLabelValues(label, outcome)
	return func(d time.Duration) {
		count.Inc()
		dur.Observe(d.Seconds())
	}
}

// KnowOperations makes names label values whatever the bound: the
// operations of the persisted-operations manifest, which the operator chose.
func (m *Metrics) KnowOperations(names ...string) {
	m.names.mu.Lock()
	defer m.names.mu.Unlock()
	for _, name := range names {
		name = strings.Clone(opname.Bound(name))
		m.names.known[name] = name
	}
}

// operationNames are the operation names that are label values: the
// manifest's, and the first max names of operations that ran.
type operationNames struct {
	mu sync.RWMutex
	// known maps each name to its own copy: a name comes from the parsed
	// document and shares the memory of its whole text (up to 1 MiB),
	// which a label value kept for the process's life would pin.
	known   map[string]string
	learned int
	max     int
}

// label is the label value of name, an operation that ran: the name when it
// is known or there is room to learn it, OtherOperation otherwise.
func (n *operationNames) label(name string) string {
	n.mu.RLock()
	label, known := n.known[name]
	full := n.learned >= n.max
	n.mu.RUnlock()
	if known {
		return label
	}
	if full {
		return OtherOperation
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if label, known = n.known[name]; !known {
		if n.learned >= n.max {
			return OtherOperation
		}
		label = strings.Clone(name)
		n.known[label] = label
		n.learned++
	}
	return label
}

// RateLimitRemaining implements upstream.Recorder.
func (m *Metrics) RateLimitRemaining(service string, remaining int) {
	m.rlRemaining.WithLabelValues(service).Set(float64(remaining))
}

// WatchGovernor exports the governor's counters, read when scraped.
func (m *Metrics) WatchGovernor(g *ratelimit.Governor) {
	m.reg.MustRegister(governorCollector{g})
}

// WatchRedis exports orgraph_redis_up, read when scraped: 1 when Redis is
// usable, 0 when the gateway runs degraded without it.
func (m *Metrics) WatchRedis(up func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "orgraph_redis_up",
		Help: "1 when Redis (shared cache and rate budget) is usable, 0 while the gateway runs on its in-process tier and local limiter.",
	}, func() float64 {
		if up() {
			return 1
		}
		return 0
	}))
}

var (
	govWaits = prometheus.NewDesc("orgraph_governor_waits_total",
		"Upstream requests that waited for the rate budget or a pause, by upstream.", []string{"upstream"}, nil)
	govRefusals = prometheus.NewDesc("orgraph_governor_refusals_total",
		"Upstream requests refused because the rate budget could not be had before the deadline, by upstream.", []string{"upstream"}, nil)
	govAllowed = prometheus.NewDesc("orgraph_governor_allowed_total",
		"Upstream requests the governor let through, by upstream.", []string{"upstream"}, nil)
	govPauses = prometheus.NewDesc("orgraph_governor_pauses_total",
		"Upstream responses that paused the upstream (429, or X-RateLimit-Remaining 0), by upstream.", []string{"upstream"}, nil)
	govReplicas = prometheus.NewDesc("orgraph_governor_replicas",
		"Gateway replicas last seen alive through Redis (1 without Redis): while Redis is down, this replica's local limiter spends 1/this of the rate budget.", nil, nil)
)

// governorCollector reads the governor's own counters at scrape time, so the
// hot path counts once, in the governor.
type governorCollector struct{ g *ratelimit.Governor }

func (c governorCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- govWaits
	ch <- govRefusals
	ch <- govAllowed
	ch <- govPauses
	ch <- govReplicas
}

func (c governorCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.g.Stats()
	ch <- prometheus.MustNewConstMetric(govReplicas, prometheus.GaugeValue, float64(st.Replicas))
	for service, s := range st.Services {
		ch <- prometheus.MustNewConstMetric(govWaits, prometheus.CounterValue, float64(s.Waits), service)
		ch <- prometheus.MustNewConstMetric(govRefusals, prometheus.CounterValue, float64(s.Refusals), service)
		ch <- prometheus.MustNewConstMetric(govAllowed, prometheus.CounterValue, float64(s.Allowed), service)
		ch <- prometheus.MustNewConstMetric(govPauses, prometheus.CounterValue, float64(s.Pauses), service)
	}
}

// Operations is the gqlgen extension that counts and times operations.
func (m *Metrics) Operations() graphql.HandlerExtension { return operations{m} }

type operations struct{ m *Metrics }

var (
	_ graphql.HandlerExtension     = operations{}
	_ graphql.OperationInterceptor = operations{}
	_ graphql.ResponseInterceptor  = operations{}
)

// ranStats marks, in an operation's stats, that it was dispatched: gqlgen
// dispatches only operations that parsed, validated and passed every
// operation-context check (the limits). Refused ones reach InterceptResponse
// too, without it.
const ranStats = "MetricsRan"

func (operations) ExtensionName() string                   { return "Metrics" }
func (operations) Validate(graphql.ExecutableSchema) error { return nil }
func (operations) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	graphql.GetOperationContext(ctx).Stats.SetExtension(ranStats, true)
	return next(ctx)
}
func (o operations) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	outcome := Outcome(resp)
	if resp != nil && resp.HasNext != nil {
		// An answer in parts (@defer) is one operation, counted at its
		// last part with what its parts add up to.
		prev, _ := oc.Stats.GetExtension(partsOutcome).(string)
		outcome = PartOutcome(prev, resp)
		if *resp.HasNext {
			oc.Stats.SetExtension(partsOutcome, outcome)
			return resp
		}
	}
	ran, _ := oc.Stats.GetExtension(ranStats).(bool)
	o.m.Operation(opname.Of(ctx), outcome, ran, time.Since(oc.Stats.OperationStart))
	return resp
}

// partsOutcome is the outcome of the parts of an answer given so far.
const partsOutcome = "MetricsPartsOutcome"

// PartOutcome is the outcome of an operation answered in parts once resp
// is given, prev being that of the parts before it ("" for none): the
// initial part's, made "partial" by errors in a deferred one, whose data
// is only a piece of the answer.
func PartOutcome(prev string, resp *graphql.Response) string {
	o := Outcome(resp)
	if prev == "" || resp == nil || resp.Path == nil {
		return o
	}
	if prev == "ok" && o != "ok" {
		return "partial"
	}
	return prev
}

// Outcome classifies a response: "ok" without errors, "error" with errors
// and no data, "partial" with both.
func Outcome(resp *graphql.Response) string {
	switch {
	case resp == nil || len(resp.Errors) == 0:
		return "ok"
	case len(resp.Data) == 0 || string(resp.Data) == "null":
		return "error"
	default:
		return "partial"
	}
}
