package tracing_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/orgraph/orgraph/internal/config"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/tracing"
)

// fromEnv is the tracing settings config.Load reads from env, as main gets them.
func fromEnv(t *testing.T, env map[string]string) tracing.Config {
	t.Helper()
	cfg, err := config.Load(testutil.MapLookup(env))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Tracing
}

// unsetOTel clears the variables the exporter and SDK read themselves, so a
// developer's own OTEL_* settings do not leak into the test.
func unsetOTel(t *testing.T) {
	for _, k := range []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER",
	} {
		t.Setenv(k, "")
	}
}

// collector is an OTLP receiver over real HTTP or gRPC that keeps what it
// receives.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*coltracepb.ExportTraceServiceRequest
}

func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// startHTTPCollector serves OTLP/HTTP (protobuf) at /v1/traces.
func startHTTPCollector(t *testing.T) (*collector, string) {
	t.Helper()
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = c.Export(r.Context(), req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// startGRPCCollector serves OTLP/gRPC on a loopback port.
func startGRPCCollector(t *testing.T) (*collector, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, c)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(s.Stop)
	return c, "http://" + ln.Addr().String()
}

// received is every span received so far, with its resource's service.name.
type receivedSpan struct {
	service string
	span    *tracepb.Span
}

func (c *collector) spans() []receivedSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []receivedSpan
	for _, req := range c.reqs {
		for _, rs := range req.ResourceSpans {
			var service string
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, receivedSpan{service, s})
				}
			}
		}
	}
	return out
}

// waitFor polls until some received span satisfies ok, for up to 5 s.
func (c *collector) waitFor(t *testing.T, what string, ok func(receivedSpan) bool) receivedSpan {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		spans := c.spans()
		if i := slices.IndexFunc(spans, ok); i >= 0 {
			return spans[i]
		}
		if time.Now().After(deadline) {
			names := make([]string, len(spans))
			for i, s := range spans {
				names[i] = s.span.Name
			}
			t.Fatalf("no %s among the spans received: %q", what, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSetupWithoutEndpointIsNoop: no endpoint, no spans; and Setup leaves
// OpenTelemetry's global propagator alone (main sets it), while the
// gateway's own reads W3C trace context and baggage.
func TestSetupWithoutEndpointIsNoop(t *testing.T) {
	unsetOTel(t)
	before := otel.GetTextMapPropagator()
	tp, shutdown, err := tracing.Setup(context.Background(), tracing.Config{}, "orgraph", nil)
	if err != nil {
		t.Fatal(err)
	}
	if tracing.Enabled(tp) || tracing.Tracer(tp) != nil {
		t.Errorf("provider %T makes spans without an endpoint", tp)
	}
	if err := shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if otel.GetTextMapPropagator() != before {
		t.Errorf("Setup replaced the global propagator")
	}
	fields := tracing.Propagator().Fields()
	if !slices.Contains(fields, "traceparent") || !slices.Contains(fields, "baggage") {
		t.Errorf("propagator fields %v, want W3C trace context and baggage", fields)
	}
}

// TestSetupExports: with an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, read by
// config.Load), spans reach a collector over OTLP, HTTP/protobuf by default
// and gRPC when asked, under service.name orgraph; shutdown flushes what is
// queued.
func TestSetupExports(t *testing.T) {
	for _, protocol := range []string{"", "http/protobuf", "grpc"} {
		t.Run("protocol="+protocol, func(t *testing.T) {
			unsetOTel(t)
			var c *collector
			var endpoint string
			if protocol == "grpc" {
				c, endpoint = startGRPCCollector(t)
			} else {
				c, endpoint = startHTTPCollector(t)
			}
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}
			if protocol != "" {
				env["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol
			}
			tp, shutdown, err := tracing.Setup(context.Background(), fromEnv(t, env), "orgraph", nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tracing.Enabled(tp) {
				t.Fatalf("provider %T is a no-op one with an endpoint", tp)
			}
			_, span := tracing.Tracer(tp).Start(context.Background(), "probe")
			span.End()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
			got := c.waitFor(t, "probe span", func(s receivedSpan) bool { return s.span.Name == "probe" })
			if got.service != "orgraph" {
				t.Errorf("service.name %q, want orgraph", got.service)
			}
		})
	}
}
