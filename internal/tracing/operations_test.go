package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orgraph/orgraph/graph"
	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/loaders"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/tracing"
	"github.com/orgraph/orgraph/internal/tracing/calls"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

const (
	demoUser = "auth0|6410784d38b3e02b77fdd660"
	// A caller's trace: W3C's example ids.
	callerTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpanID      = "00f067aa0ba902b7"
	callerTraceparent = "00-" + callerTraceID + "-" + callerSpanID + "-01"
	userOrgsQuery     = `query Mine($id: ID!) { user(id: $id) { organizations { name connections { name } } } }`
)

// headerLog records the traceparent header of every upstream request.
type headerLog struct {
	mu   sync.Mutex
	seen []string
}

func (h *headerLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, r.Header.Get("traceparent"))
		h.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (h *headerLog) traceparents() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// startGraph serves the gateway's schema over real HTTP, with tp's operation
// spans and upstream spans, against a simulated Auth0 over real HTTP whose
// requests' traceparent headers it records.
func startGraph(t *testing.T, tp trace.TracerProvider) (string, *headerLog) {
	t.Helper()
	sim := upstreamsim.New(upstreamsim.Config{Auth0Tokens: map[string][]string{testutil.Auth0Token: upstreamsim.AllAuth0Scopes()}})
	headers := &headerLog{}
	upSrv := httptest.NewServer(headers.wrap(sim.Handler()))
	t.Cleanup(upSrv.Close)

	client := upstream.NewClient("auth0", upSrv.Client(), upstream.NewStaticToken(testutil.Auth0Token), 5*time.Second)
	client.Tracer = tracing.Tracer(tp)
	client.Concurrency = 4
	up := loaders.Upstreams{Auth0: auth0.New(upSrv.URL, client)}

	gql := handler.New(graph.NewExecutableSchema(graph.Config{
		Resolvers:  &graph.Resolver{PartitionMetadataKey: "partitionGlobalId", OrganizationMetadataKey: "uipathOrganization"},
		Directives: graph.DirectiveRoot{RequiresScope: graph.RequiresScope},
	}))
	gql.AddTransport(transport.POST{})
	gql.Use(tracing.Operations(tp))
	srv := httptest.NewServer(auth.Middleware(nil, loaders.Middleware(up, gql)))
	t.Cleanup(srv.Close)
	return srv.URL + "/query", headers
}

func post(t *testing.T, url, traceparent, operationName, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "operationName": operationName, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func newInMemory(t *testing.T) (trace.TracerProvider, *tracetest.InMemoryExporter) {
	t.Helper()
	unsetOTel(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

// TestOperationAndUpstreamSpans: one operation is a server span continuing
// the caller's trace, with the operation's name and type; each upstream call
// is a client span under it, with the loader batch's size and its attempt;
// every upstream request carries a traceparent of the caller's trace whose
// parent is its call's span.
func TestOperationAndUpstreamSpans(t *testing.T) {
	tp, exp := newInMemory(t)
	url, headers := startGraph(t, tp)

	out := post(t, url, callerTraceparent, "", userOrgsQuery, map[string]any{"id": demoUser})
	if out["errors"] != nil {
		t.Fatalf("errors: %v", out["errors"])
	}
	orgs := out["data"].(map[string]any)["user"].(map[string]any)["organizations"].([]any)
	if len(orgs) < 2 {
		t.Fatalf("the demo user has %d organizations; the test needs a batch of several", len(orgs))
	}

	var op tracetest.SpanStub
	var upstreamSpans []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch {
		case s.Name == "graphql Mine":
			op = s
		case strings.HasPrefix(s.Name, "auth0 "):
			upstreamSpans = append(upstreamSpans, s)
		}
	}
	if op.Name == "" {
		t.Fatalf("no operation span among %d spans", len(exp.GetSpans()))
	}
	if op.SpanKind != trace.SpanKindServer || op.Status.Code == codes.Error {
		t.Errorf("operation span: kind %v, status %v", op.SpanKind, op.Status)
	}
	if op.SpanContext.TraceID().String() != callerTraceID || op.Parent.SpanID().String() != callerSpanID || !op.Parent.IsRemote() {
		t.Errorf("operation span does not continue the caller's trace: parent %v", op.Parent)
	}
	a := attrMap(op.Attributes)
	if a[tracing.KeyOperationName].AsString() != "Mine" || a[tracing.KeyOperationType].AsString() != "query" {
		t.Errorf("operation attributes %v", op.Attributes)
	}

	spanIDs := map[string]bool{}
	batchOfConnections := 0
	for _, s := range upstreamSpans {
		spanIDs[s.SpanContext.SpanID().String()] = true
		if s.Parent.SpanID() != op.SpanContext.SpanID() {
			t.Errorf("%s: parent is not the operation span", s.Name)
		}
		if s.SpanKind != trace.SpanKindClient {
			t.Errorf("%s: kind %v", s.Name, s.SpanKind)
		}
		if strings.Contains(s.Name, "6410784d") {
			t.Errorf("span name %q holds an id", s.Name)
		}
		sa := attrMap(s.Attributes)
		if s.Name == "auth0 "+auth0.RouteEnabledConnections {
			batchOfConnections++
			// The loader waits batchWait for siblings; one that reaches it
			// later goes out in a batch of its own, so a batch holds one
			// to all of them.
			if got := sa[calls.KeyBatchSize].AsInt64(); got < 1 || got > int64(len(orgs)) {
				t.Errorf("connections call: batch size %d, want 1 to %d", got, len(orgs))
			}
		}
		var attempted bool
		for _, e := range s.Events {
			if e.Name == calls.EventAttempt && attrMap(e.Attributes)[calls.KeyStatusCode].AsInt64() == 200 {
				attempted = true
			}
		}
		if !attempted {
			t.Errorf("%s: no attempt with status 200: %v", s.Name, s.Events)
		}
	}
	if batchOfConnections != len(orgs) {
		t.Errorf("%d connections calls, want %d", batchOfConnections, len(orgs))
	}

	tps := headers.traceparents()
	if len(tps) != len(upstreamSpans) {
		t.Errorf("%d upstream requests, %d upstream spans", len(tps), len(upstreamSpans))
	}
	for _, h := range tps {
		parts := strings.Split(h, "-")
		if len(parts) != 4 || parts[1] != callerTraceID || !spanIDs[parts[2]] {
			t.Errorf("upstream traceparent %q: want the caller's trace and a call span as parent", h)
		}
	}
}

// TestRefusedOperationSpan: an operation refused before it runs still gets
// its span, with an error status named by the error's code.
func TestRefusedOperationSpan(t *testing.T) {
	tp, exp := newInMemory(t)
	url, _ := startGraph(t, tp)
	out := post(t, url, "", "Broken", `query Broken { nope }`, nil)
	if out["errors"] == nil {
		t.Fatal("no error for an unknown field")
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "graphql Broken" {
		t.Fatalf("spans %v, want one named graphql Broken", spans)
	}
	if s := spans[0].Status; s.Code != codes.Error || s.Description != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("status %v, want an error named by its code", s)
	}
	if n := attrMap(spans[0].Attributes)[tracing.KeyErrors].AsInt64(); n != 1 {
		t.Errorf("%d errors recorded, want 1", n)
	}
}

// TestNoopAddsNothing: with the no-op provider Setup returns without an
// endpoint, no span is made and no trace header reaches the upstream, even
// when the caller sent one.
func TestNoopAddsNothing(t *testing.T) {
	unsetOTel(t)
	tp, _, err := tracing.Setup(context.Background(), tracing.Config{}, "orgraph", nil)
	if err != nil {
		t.Fatal(err)
	}
	url, headers := startGraph(t, tp)
	if out := post(t, url, callerTraceparent, "", userOrgsQuery, map[string]any{"id": demoUser}); out["errors"] != nil {
		t.Fatalf("errors: %v", out["errors"])
	}
	tps := headers.traceparents()
	if len(tps) == 0 {
		t.Fatal("no upstream request")
	}
	for _, h := range tps {
		if h != "" {
			t.Errorf("upstream got traceparent %q with tracing off", h)
		}
	}
}

// TestGatewayExportsUpstreamSpans: the gateway as main builds it
// (gateway.New), with OTEL_EXPORTER_OTLP_ENDPOINT set, exports its upstream
// spans over OTLP/HTTP, and the upstream receives the trace context of the
// span that was exported.
func TestGatewayExportsUpstreamSpans(t *testing.T) {
	unsetOTel(t)
	c, endpoint := startHTTPCollector(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "20") // ms: export at once; the SDK reads it

	sim := upstreamsim.New(upstreamsim.Config{
		Auth0Tokens:    map[string][]string{testutil.Auth0Token: upstreamsim.AllAuth0Scopes()},
		IdentityTokens: map[string][]string{testutil.IdentityToken: upstreamsim.AllIdentityScopes()},
	})
	headers := &headerLog{}
	upSrv := httptest.NewServer(headers.wrap(sim.Handler()))
	t.Cleanup(upSrv.Close)
	env := testutil.UpstreamEnv(upSrv.URL)
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
	gw := testutil.StartGateway(t, env)

	resp := gw.PostWith(t, http.Header{"Content-Type": {"application/json"}, "Traceparent": {callerTraceparent}},
		[]byte(`{"query":"{ user(id: \"`+demoUser+`\") { organizations { name } } }"}`))
	if len(resp.Errors) > 0 {
		t.Fatalf("errors: %s", resp.Raw)
	}
	got := c.waitFor(t, "span of the user's organizations call", func(s receivedSpan) bool {
		return s.span.Name == "auth0 "+auth0.RouteUserOrganizations
	})
	if got.service != "orgraph" || got.span.Kind != 3 /* client */ {
		t.Errorf("service %q, kind %v", got.service, got.span.Kind)
	}
	var template, outcome string
	for _, kv := range got.span.Attributes {
		switch attribute.Key(kv.Key) {
		case calls.KeyURLTemplate:
			template = kv.GetValue().GetStringValue()
		case calls.KeyCacheOutcome:
			outcome = kv.GetValue().GetStringValue()
		}
	}
	if template != "/api/v2/users/{id}/organizations" || outcome != "miss" {
		t.Errorf("url.template %q, cache outcome %q", template, outcome)
	}
	want := "00-" + traceIDHex(got.span.TraceId) + "-" + traceIDHex(got.span.SpanId) + "-01"
	tps := headers.traceparents()
	if len(tps) != 1 || tps[0] != want {
		t.Errorf("upstream traceparents %q, want [%s]", tps, want)
	}
}

func traceIDHex(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}
