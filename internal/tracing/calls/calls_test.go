package calls_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/ratelimit"
	"github.com/orgraph/orgraph/internal/tracing/calls"
	"github.com/orgraph/orgraph/internal/upstream"
)

const route = "GET /api/v2/organizations/{id}"

// upstreamServer is a real HTTP upstream that answers with statuses in turn
// (200 once they run out) and records the traceparent of each request.
type upstreamServer struct {
	URL string

	mu           sync.Mutex
	statuses     []int
	traceparents []string
	delay        time.Duration
}

func startUpstream(t *testing.T, statuses ...int) *upstreamServer {
	t.Helper()
	u := &upstreamServer{statuses: statuses}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.traceparents = append(u.traceparents, r.Header.Get("traceparent"))
		status := http.StatusOK
		if len(u.statuses) > 0 {
			status, u.statuses = u.statuses[0], u.statuses[1:]
		}
		delay := u.delay
		u.mu.Unlock()
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == http.StatusOK {
			_, _ = w.Write([]byte(`{"id":"org_1"}`))
		} else {
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	t.Cleanup(srv.Close)
	u.URL = srv.URL
	return u
}

func (u *upstreamServer) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.traceparents...)
}

func newTracer(t *testing.T) (trace.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("test"), exp
}

func newClient(tracer trace.Tracer) *upstream.Client {
	c := upstream.NewClient("auth0", nil, upstream.NewStaticToken("t"), 5*time.Second)
	c.Tracer = tracer
	return c
}

func attrs(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func callSpans(exp *tracetest.InMemoryExporter) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "auth0 "+route {
			out = append(out, s)
		}
	}
	return out
}

func attempts(s tracetest.SpanStub) []map[attribute.Key]attribute.Value {
	var out []map[attribute.Key]attribute.Value
	for _, e := range s.Events {
		if e.Name == calls.EventAttempt {
			out = append(out, attrs(e.Attributes))
		}
	}
	return out
}

// TestCallSpanAndTraceparent: a GetJSON under a span is a client span named
// by service and route template, with no URL in it, and the upstream gets a
// traceparent of the same trace whose parent is that span.
func TestCallSpanAndTraceparent(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t)
	c := newClient(tracer)

	ctx, parent := tracer.Start(context.Background(), "operation")
	var out map[string]any
	if err := c.GetJSON(ctx, route, up.URL+"/api/v2/organizations/org_secret%7C1?x=1", &out); err != nil {
		t.Fatal(err)
	}
	parent.End()

	spans := callSpans(exp)
	if len(spans) != 1 {
		t.Fatalf("%d call spans, want 1: %+v", len(spans), exp.GetSpans())
	}
	s := spans[0]
	if s.SpanKind != trace.SpanKindClient {
		t.Errorf("kind %v, want client", s.SpanKind)
	}
	if s.Parent.SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("call span's parent is not the operation's span")
	}
	a := attrs(s.Attributes)
	if got := a[calls.KeyURLTemplate].AsString(); got != "/api/v2/organizations/{id}" {
		t.Errorf("url.template = %q", got)
	}
	if got := a[calls.KeyMethod].AsString(); got != "GET" {
		t.Errorf("http.request.method = %q", got)
	}
	if got := a[calls.KeySource].AsString(); got != calls.SourceUpstream {
		t.Errorf("source = %q, want upstream", got)
	}
	if _, ok := a[calls.KeyCacheOutcome]; ok {
		t.Errorf("cache outcome recorded with the cache off")
	}
	for _, kv := range s.Attributes {
		if strings.Contains(kv.Value.String(), "org_secret") || strings.HasPrefix(string(kv.Key), "url.full") {
			t.Errorf("attribute %s = %q carries the raw URL", kv.Key, kv.Value.String())
		}
	}
	if s.Status.Code == codes.Error {
		t.Errorf("status error on success: %v", s.Status)
	}
	at := attempts(s)
	if len(at) != 1 || at[0][calls.KeyStatusCode].AsInt64() != 200 || at[0][calls.KeyAttempt].AsInt64() != 1 {
		t.Fatalf("attempt events %v, want one with status 200", at)
	}
	if _, ok := at[0][calls.KeyGovernorWait]; !ok {
		t.Errorf("attempt has no governor wait")
	}

	tps := up.seen()
	if len(tps) != 1 {
		t.Fatalf("%d requests", len(tps))
	}
	want := "00-" + s.SpanContext.TraceID().String() + "-" + s.SpanContext.SpanID().String() + "-01"
	if tps[0] != want {
		t.Errorf("traceparent %q, want %q (the call span's)", tps[0], want)
	}
}

// TestNoTracerNoSpanNoHeader: without a tracer and without a span in the
// context, nothing is recorded and no trace header is sent; a span the
// caller already has still travels (the client never drops a trace).
func TestNoTracerNoSpanNoHeader(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t)
	c := newClient(nil)
	var out map[string]any
	if err := c.GetJSON(context.Background(), route, up.URL+"/a", &out); err != nil {
		t.Fatal(err)
	}
	ctx, parent := tracer.Start(context.Background(), "operation")
	if err := c.GetJSON(ctx, route, up.URL+"/b", &out); err != nil {
		t.Fatal(err)
	}
	parent.End()
	if n := len(callSpans(exp)); n != 0 {
		t.Errorf("%d call spans without a tracer", n)
	}
	tps := up.seen()
	if tps[0] != "" {
		t.Errorf("traceparent %q sent without any trace", tps[0])
	}
	if !strings.Contains(tps[1], parent.SpanContext().TraceID().String()) {
		t.Errorf("traceparent %q does not carry the caller's trace", tps[1])
	}
}

// TestCacheOutcome: the first call misses and goes upstream, the second is a
// hit with no attempt at all.
func TestCacheOutcome(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t)
	c := newClient(tracer)
	var err error
	if c.Cache, err = cache.New(cache.Config{TTL: time.Minute, StaleTTL: time.Hour, NotFoundTTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	for range 2 {
		if err := c.GetJSON(context.Background(), route, up.URL+"/x", &out); err != nil {
			t.Fatal(err)
		}
	}
	spans := callSpans(exp)
	if len(spans) != 2 {
		t.Fatalf("%d call spans, want 2", len(spans))
	}
	if got := attrs(spans[0].Attributes)[calls.KeyCacheOutcome].AsString(); got != "miss" {
		t.Errorf("first outcome %q, want miss", got)
	}
	if got := attrs(spans[1].Attributes)[calls.KeyCacheOutcome].AsString(); got != "hit" {
		t.Errorf("second outcome %q, want hit", got)
	}
	if n := len(attempts(spans[1])); n != 0 {
		t.Errorf("a cache hit has %d attempts", n)
	}
}

// TestRetryAttempts: a 503 then a 200 are two attempt events, numbered, with
// their statuses; the call succeeds.
func TestRetryAttempts(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t, http.StatusServiceUnavailable)
	c := newClient(tracer)
	var out map[string]any
	if err := c.GetJSON(context.Background(), route, up.URL+"/x", &out); err != nil {
		t.Fatal(err)
	}
	at := attempts(callSpans(exp)[0])
	if len(at) != 2 {
		t.Fatalf("%d attempts, want 2", len(at))
	}
	if at[0][calls.KeyStatusCode].AsInt64() != 503 || at[0][calls.KeyErrorType].AsString() == "" {
		t.Errorf("first attempt %v, want 503 with an error type", at[0])
	}
	if at[1][calls.KeyAttempt].AsInt64() != 2 || at[1][calls.KeyResendCount].AsInt64() != 1 || at[1][calls.KeyStatusCode].AsInt64() != 200 {
		t.Errorf("second attempt %v, want attempt 2, resend 1, status 200", at[1])
	}
	if s := callSpans(exp)[0].Status; s.Code == codes.Error {
		t.Errorf("span failed after a successful retry: %v", s)
	}
}

// TestFailureAndNotFound: a 400 fails the span with its kind; a 404 is an
// answer (GraphQL null), not a failure.
func TestFailureAndNotFound(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t, http.StatusBadRequest, http.StatusNotFound)
	c := newClient(tracer)
	var out map[string]any
	if err := c.GetJSON(context.Background(), route, up.URL+"/x", &out); err == nil {
		t.Fatal("400 succeeded")
	}
	if err := c.GetJSON(context.Background(), route, up.URL+"/y", &out); !upstream.IsNotFound(err) {
		t.Fatalf("404: %v", err)
	}
	spans := callSpans(exp)
	if spans[0].Status.Code != codes.Error || attrs(spans[0].Attributes)[calls.KeyErrorType].AsString() != "bad_request" {
		t.Errorf("400 span: status %v, attributes %v", spans[0].Status, spans[0].Attributes)
	}
	if spans[1].Status.Code == codes.Error {
		t.Errorf("404 span failed: %v", spans[1].Status)
	}
	if at := attempts(spans[1]); len(at) != 1 || at[0][calls.KeyStatusCode].AsInt64() != 404 {
		t.Errorf("404 attempts %v", at)
	}
}

// TestGovernorWait: a call held by the rate governor records how long.
func TestGovernorWait(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t)
	c := newClient(tracer)
	c.Limiter = ratelimit.New(ratelimit.Config{Rate: 10, Burst: 1}) // a slot every 100 ms
	if err := c.Limiter.Wait(context.Background(), "auth0"); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := c.GetJSON(context.Background(), route, up.URL+"/x", &out); err != nil {
		t.Fatal(err)
	}
	at := attempts(callSpans(exp)[0])
	if w := at[0][calls.KeyGovernorWait].AsFloat64(); w < 0.03 || w > 1 {
		t.Errorf("governor wait %.3fs, want about 0.1s", w)
	}
}

// TestSharedCall: two identical calls at once send one request; the second
// call's span says it shared the first's.
func TestSharedCall(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t)
	up.delay = 300 * time.Millisecond
	c := newClient(tracer)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 100 * time.Millisecond)
			var out map[string]any
			if err := c.GetJSON(context.Background(), route, up.URL+"/x", &out); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(up.seen()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	sources := map[string]int{}
	for _, s := range callSpans(exp) {
		sources[attrs(s.Attributes)[calls.KeySource].AsString()]++
	}
	if sources[calls.SourceUpstream] != 1 || sources[calls.SourceShared] != 1 {
		t.Errorf("sources %v, want one upstream and one shared", sources)
	}
}

// TestBatchSize: the number of keys of a many-key lookup reaches each of its
// calls' spans, and only when the lookup runs under a recording span.
func TestBatchSize(t *testing.T) {
	tracer, exp := newTracer(t)
	up := startUpstream(t)
	c := newClient(tracer)
	c.Concurrency = 3
	if ctx := calls.WithBatchSize(context.Background(), 3); ctx != context.Background() {
		t.Errorf("WithBatchSize without a recording span changed the context")
	}
	r := upstream.NewRoute(route, func(dst []byte, k string) ([]byte, error) { return append(dst, up.URL+"/"+k...), nil },
		func(body []byte) (string, error) { return string(body), nil }, nil)
	ctx, parent := tracer.Start(context.Background(), "operation")
	for _, res := range upstream.GetMany(ctx, c, r, []string{"x", "y", "z"}) {
		if res.Err != nil || !res.Found {
			t.Fatalf("%+v", res)
		}
	}
	parent.End()
	spans := callSpans(exp)
	if len(spans) != 3 {
		t.Fatalf("%d call spans, want one per key", len(spans))
	}
	for _, s := range spans {
		if got := attrs(s.Attributes)[calls.KeyBatchSize].AsInt64(); got != 3 {
			t.Errorf("batch size %d, want 3", got)
		}
	}
}
