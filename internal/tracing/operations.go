package tracing

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/orgraph/orgraph/internal/opname"
)

// Attribute keys of operation spans (OpenTelemetry semantic conventions for
// GraphQL, plus the gateway's error count). The document itself is never
// recorded: arguments written into it may be personal data.
const (
	KeyOperationName = attribute.Key("graphql.operation.name")
	KeyOperationType = attribute.Key("graphql.operation.type")
	KeyErrors        = attribute.Key("orgraph.graphql.errors")
)

// Operations is the gqlgen extension that makes one server span per
// operation, "graphql <name>" ("graphql anonymous" without a name), a child
// of the caller's traceparent when the request carries one. The span starts
// when the request was read, so parsing and validation are inside it; the
// resolvers, loaders and upstream calls of the operation run under it. An
// operation whose response has errors gets an error status; one refused
// before it runs (parse, validation, limits, persisted queries) gets a span
// all the same. With a no-op or nil provider it does nothing.
//
// Register it last (gql.Use after the other extensions), so that it wraps
// them all.
func Operations(tp trace.TracerProvider) graphql.HandlerExtension {
	return operations{tracer: Tracer(tp), propagator: Propagator()}
}

type operations struct {
	tracer     trace.Tracer // nil: off
	propagator propagation.TextMapPropagator
}

var (
	_ graphql.HandlerExtension     = operations{}
	_ graphql.OperationInterceptor = operations{}
	_ graphql.ResponseInterceptor  = operations{}
)

// operationSpanKey marks a context whose operation already has its span.
type operationSpanKey struct{}

func (operations) ExtensionName() string                   { return "Tracing" }
func (operations) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation starts the operation's span before it runs, and ends
// it with the operation's (first, for a subscription last) response.
func (o operations) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if o.tracer == nil || !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	ctx, span := o.start(ctx, oc)
	ctx = context.WithValue(ctx, operationSpanKey{}, span)
	responses := next(ctx)
	subscription := oc.Operation != nil && oc.Operation.Operation == ast.Subscription
	errs := 0
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp != nil {
			errs += len(resp.Errors)
		}
		if !subscription || resp == nil {
			finish(span, resp, errs)
		}
		return resp
	}
}

// InterceptResponse gives an operation refused before it ran (gqlgen's
// DispatchError: no InterceptOperation) its span, over the same time.
func (o operations) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if o.tracer == nil || ctx.Value(operationSpanKey{}) != nil || !graphql.HasOperationContext(ctx) {
		return resp
	}
	_, span := o.start(ctx, graphql.GetOperationContext(ctx))
	n := 0
	if resp != nil {
		n = len(resp.Errors)
	}
	finish(span, resp, n)
	return resp
}

func (o operations) start(ctx context.Context, oc *graphql.OperationContext) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() && oc.Headers != nil {
		ctx = o.propagator.Extract(ctx, propagation.HeaderCarrier(oc.Headers))
	}
	name := opname.Of(ctx)
	attrs := []attribute.KeyValue{KeyOperationName.String(name)}
	if oc.Operation != nil {
		attrs = append(attrs, KeyOperationType.String(string(oc.Operation.Operation)))
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...)}
	if !oc.Stats.OperationStart.IsZero() {
		opts = append(opts, trace.WithTimestamp(oc.Stats.OperationStart))
	}
	return o.tracer.Start(ctx, "graphql "+name, opts...)
}

// finish ends an operation's span; errors make its status an error, named by
// the first error's code (the message may hold what the caller sent).
func finish(span trace.Span, resp *graphql.Response, errs int) {
	if errs > 0 {
		span.SetAttributes(KeyErrors.Int(errs))
		desc := "graphql errors"
		if resp != nil && len(resp.Errors) > 0 {
			if code, ok := resp.Errors[0].Extensions["code"].(string); ok && code != "" {
				desc = code
			}
		}
		span.SetStatus(codes.Error, desc)
	}
	span.End()
}
