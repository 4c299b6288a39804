// Package tracing sets up OpenTelemetry for the gateway: a span per GraphQL
// operation (Operations) and, through internal/tracing/calls, a span per
// upstream call, exported over OTLP when Config names a collector.
//
// This package reads no setting itself: config.Load reads whether and where to
// export (OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _PROTOCOL, OTEL_SDK_DISABLED)
// into a Config. The OpenTelemetry exporter and SDK still apply the rest of
// the standard's variables (_HEADERS, _TIMEOUT, _COMPRESSION, TLS,
// OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_BSP_*) as the standard defines them. Without an endpoint the provider
// is a no-op one and the gateway makes no spans at all.
//
// Nothing here changes OpenTelemetry's process-wide state except
// SetProcessDefaults, which only cmd/orgraph's main calls: the gateway
// passes its provider and propagator explicitly, so that tests can build
// gateways side by side.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// InstrumentationName names the tracers of the gateway's spans.
const InstrumentationName = "github.com/orgraph/orgraph"

// The OTLP protocols Config.Protocol may name.
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Config is where spans go. The zero Config makes no spans.
type Config struct {
	// Endpoint is the collector's full URL for traces (for OTLP/HTTP with
	// its /v1/traces path); "" turns tracing off.
	Endpoint string
	// Protocol is ProtocolHTTP ("" means it too) or ProtocolGRPC.
	Protocol string
}

// Propagator is how the gateway reads a caller's trace context: W3C
// TraceContext and Baggage (the upstream client sends only traceparent and
// tracestate on: see calls.Inject). Operations uses it; it is not taken from
// OpenTelemetry's global, which is the process's to set.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// SetProcessDefaults sets OpenTelemetry's process-wide state for code that
// reads the globals rather than being handed a provider (other libraries in
// the process): the propagator, and the SDK's own errors and logs, which go
// to log. Only main calls it; a gateway neither needs nor changes them.
func SetProcessDefaults(log *slog.Logger) {
	otel.SetTextMapPropagator(Propagator())
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: OpenTelemetry error", slog.String("error", err.Error()))
	}))
}

// Setup returns the tracer provider for serviceName and the function that
// flushes and stops it. With cfg.Endpoint set, spans go out in batches over
// OTLP: HTTP/protobuf, or gRPC when cfg.Protocol is ProtocolGRPC. Otherwise
// the provider is a no-op one (see Enabled) and shutdown does nothing. It
// sets no global: the caller passes the provider on. Setup logs no endpoint,
// header or URL.
func Setup(ctx context.Context, cfg Config, serviceName string, log *slog.Logger) (provider trace.TracerProvider, shutdown func(context.Context) error, err error) {
	off := func(context.Context) error { return nil }
	if cfg.Endpoint == "" {
		return noop.NewTracerProvider(), off, nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	var exp sdktrace.SpanExporter
	protocol := cfg.Protocol
	switch protocol {
	case ProtocolGRPC:
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(cfg.Endpoint))
	case ProtocolHTTP, "":
		protocol = ProtocolHTTP
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint))
	default:
		return nil, nil, fmt.Errorf("tracing: protocol must be %s or %s", ProtocolHTTP, ProtocolGRPC)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", serviceName)}
	if v := version(); v != "" {
		attrs = append(attrs, attribute.String("service.version", v))
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	// override the built-in name, as the specification asks.
	res, rerr := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(attrs...), resource.WithFromEnv())
	if rerr != nil {
		// A partial resource (say, a malformed OTEL_RESOURCE_ATTRIBUTES) still serves.
		log.Warn("tracing: resource attributes incomplete", slog.String("error", rerr.Error()))
		if res == nil {
			res = resource.NewSchemaless(attrs...)
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	log.Info("tracing: exporting spans over OTLP", slog.String("protocol", protocol))
	return tp, tp.Shutdown, nil
}

// version is the module version of the binary, else its VCS revision; ""
// when the build recorded neither.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			return s.Value
		}
	}
	return ""
}

// Enabled reports whether tp makes spans: false for nil and for a no-op
// provider, so callers can skip tracing entirely.
func Enabled(tp trace.TracerProvider) bool {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return false
	}
	return true
}

// Tracer returns tp's tracer for the gateway, nil when tp makes no spans
// (what upstream.Client.Tracer takes for "off").
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if !Enabled(tp) {
		return nil
	}
	return tp.Tracer(InstrumentationName)
}
