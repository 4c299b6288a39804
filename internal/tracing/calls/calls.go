// Package calls holds the span of one upstream call: what the upstream
// client (internal/upstream) records on it and how the trace context rides to
// the upstream. It depends on the OpenTelemetry API only, so the upstream
// client stays free of the SDK and the exporters (internal/tracing).
//
// A call's span is named "<service> <route template>" and never carries the
// raw URL: ids in paths and query strings are personal data.
package calls

import (
	"context"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys. The standard ones follow the OpenTelemetry semantic
// conventions; orgraph.* are the gateway's own.
const (
	KeyService      = attribute.Key("orgraph.upstream.service")  // "auth0", "identity"
	KeyMethod       = attribute.Key("http.request.method")       // "GET"
	KeyURLTemplate  = attribute.Key("url.template")              // "/api/v2/organizations/{id}"
	KeyCacheOutcome = attribute.Key("orgraph.cache.outcome")     // "hit", "stale", "miss"
	KeySource       = attribute.Key("orgraph.upstream.source")   // see Source
	KeyBatchSize    = attribute.Key("orgraph.batch.size")        // keys of the loader batch
	KeyRefresh      = attribute.Key("orgraph.cache.refresh")     // a background renewal of a stale entry
	KeyAttempt      = attribute.Key("orgraph.upstream.attempt")  // 1 for the first try
	KeyResendCount  = attribute.Key("http.request.resend_count") // attempt - 1, only on retries
	KeyGovernorWait = attribute.Key("orgraph.governor.wait_seconds")
	KeyStatusCode   = attribute.Key("http.response.status_code")
	KeyErrorType    = attribute.Key("error.type")
)

// EventAttempt is the name of the event each HTTP attempt adds to its call's
// span.
const EventAttempt = "upstream.attempt"

// Where a call's answer came from, when not from the cache (KeySource).
const (
	SourceUpstream = "upstream" // this call sent the request
	SourceShared   = "shared"   // joined an identical call in flight
	SourceRecent   = "recent"   // an identical call that had just finished
)

type spanKey struct{}

type batchSizeKey struct{}

// Start starts the span of one call to service along route ("GET /path/{id}":
// a template, never a raw URL), as a client span, with the batch size that
// WithBatchSize put on ctx.
func Start(ctx context.Context, tracer trace.Tracer, service, route string) (context.Context, trace.Span) {
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, KeyService.String(service))
	if method, path, ok := strings.Cut(route, " "); ok {
		attrs = append(attrs, KeyMethod.String(method), KeyURLTemplate.String(path))
	} else {
		attrs = append(attrs, KeyURLTemplate.String(route))
	}
	if n, ok := ctx.Value(batchSizeKey{}).(int); ok {
		attrs = append(attrs, KeyBatchSize.Int(n))
	}
	ctx, span := tracer.Start(ctx, service+" "+route,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return context.WithValue(ctx, spanKey{}, span), span
}

// from returns the call span Start put on ctx, nil outside one: the other
// functions never annotate a span they did not start (such as the
// operation's).
func from(ctx context.Context) trace.Span {
	s, _ := ctx.Value(spanKey{}).(trace.Span)
	return s
}

// CacheOutcome records how the cache answered: "hit", "stale" or "miss".
func CacheOutcome(ctx context.Context, outcome string) {
	if s := from(ctx); s != nil {
		s.SetAttributes(KeyCacheOutcome.String(outcome))
	}
}

// Source records where an answer not from the cache came from (Source*).
func Source(ctx context.Context, source string) {
	if s := from(ctx); s != nil {
		s.SetAttributes(KeySource.String(source))
	}
}

// Refresh marks the call as a background renewal of a stale entry.
func Refresh(ctx context.Context) {
	if s := from(ctx); s != nil {
		s.SetAttributes(KeyRefresh.Bool(true))
	}
}

// Attempt adds one HTTP attempt to the call's span: its number (1 for the
// first), how long the rate governor held it, and the status it got (0: no
// answer) or, when it failed, the kind of failure.
func Attempt(ctx context.Context, attempt int, governorWait time.Duration, status int, errType string) {
	s := from(ctx)
	if s == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, KeyAttempt.Int(attempt), KeyGovernorWait.Float64(governorWait.Seconds()))
	if attempt > 1 {
		attrs = append(attrs, KeyResendCount.Int(attempt-1))
	}
	if status != 0 {
		attrs = append(attrs, KeyStatusCode.Int(status))
	}
	if errType != "" {
		attrs = append(attrs, KeyErrorType.String(errType))
	}
	s.AddEvent(EventAttempt, trace.WithAttributes(attrs...))
}

// End ends a call's span; a non-nil err marks it failed, errType saying
// how. err's text names the service and the route template only (the
// upstream client's errors never hold a URL).
func End(span trace.Span, err error, errType string) {
	if err != nil {
		span.SetAttributes(KeyErrorType.String(errType))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// WithBatchSize records on ctx the number of keys of the loader batch it
// runs, for the spans of the calls the batch makes. Without a recording span
// on ctx (tracing off) it returns ctx as it is.
func WithBatchSize(ctx context.Context, n int) context.Context {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	return context.WithValue(ctx, batchSizeKey{}, n)
}

// Inject writes ctx's W3C trace context (traceparent, tracestate) to an
// outgoing request's header; nothing when ctx holds no valid span context.
// Baggage is not forwarded: the upstreams are third parties, and a caller's
// baggage may hold what they should not see.
func Inject(ctx context.Context, h http.Header) {
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
}

var traceContext propagation.TraceContext
