// Package apperr is the gateway's one error vocabulary towards callers: the
// codes of design §7, an Error type that carries a code and a public message,
// and the gqlgen error presenter that maps every error a resolver returns —
// typed upstream errors included — to a GraphQL error with extensions.code.
//
// Mapping happens once, here, so resolvers just return what went wrong and
// no upstream message, URL or credential reaches a caller by accident.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orgraph/orgraph/internal/upstream"
)

// Code is a value of extensions.code.
type Code string

// The codes of design §7.
const (
	BadUserInput         Code = "BAD_USER_INPUT"
	Unauthenticated      Code = "UNAUTHENTICATED"
	Forbidden            Code = "FORBIDDEN"
	RateLimited          Code = "RATE_LIMITED"
	UpstreamUnauthorized Code = "UPSTREAM_UNAUTHORIZED"
	UpstreamError        Code = "UPSTREAM_ERROR"
	UpstreamUnavailable  Code = "UPSTREAM_UNAVAILABLE"
	Internal             Code = "INTERNAL_SERVER_ERROR"
)

// Error is an error with a code and a message that is safe to show.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration // RATE_LIMITED only
	Err        error         // cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return string(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return string(e.Code) + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// BadInput is a BAD_USER_INPUT error; the message names the argument and the
// rule, never echoes the value.
func BadInput(format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Message: fmt.Sprintf(format, args...)}
}

// Names of the limits on what one operation may ask for (internal/limits),
// as extensions.limit.name shows them.
const (
	LimitTokens        = "tokens"
	LimitFields        = "fields"
	LimitNameLength    = "nameLength"
	LimitDepth         = "depth"
	LimitAliases       = "aliases"
	LimitComplexity    = "complexity"
	LimitUpstreamCalls = "upstreamCalls"
)

// Limit is extensions.limit of a refusal by one of those limits, next to
// extensions.code BAD_USER_INPUT: which limit, its maximum, and what the
// operation asked for (for upstreamCalls: at least that many).
func Limit(name string, max, actual int) map[string]any {
	return map[string]any{"name": name, "max": max, "actual": actual}
}

// Presenter returns the error presenter. Errors it cannot classify are logged
// once with their detail and shown as a generic message.
func Presenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if gqlErr.Err == nil && !hasCause(err) {
			// Parse and validation errors made by gqlgen itself: their
			// messages describe the document, and they carry their own code.
			gqlErr.Message = shorten(gqlErr.Message)
			return gqlErr
		}
		code, msg, ext := classify(err)
		var ae *Error
		if (code == Internal || code == UpstreamUnauthorized) && !errors.As(err, &ae) {
			// Recover has already logged panics, with their stack.
			log.LogAttrs(ctx, slog.LevelError, "request failed",
				slog.String("code", string(code)),
				slog.String("path", gqlErr.Path.String()),
				slog.String("error", err.Error()))
		}
		gqlErr.Message = msg
		if gqlErr.Extensions == nil {
			gqlErr.Extensions = make(map[string]any, 1+len(ext))
		}
		gqlErr.Extensions["code"] = string(code)
		for k, v := range ext {
			gqlErr.Extensions[k] = v
		}
		return gqlErr
	}
}

// maxMessage bounds the messages of gqlgen's own errors, which quote the
// document, the variables and the operation name: a long input is cut, never
// echoed whole. The longest ordinary message, a nested field conflict, is
// about 200 bytes.
const maxMessage = 300

// shorten returns msg, or, when it is longer than maxMessage bytes, its
// start and end around "…": the middle of a message is where it quotes.
func shorten(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	head, tail := 200, len(msg)-80
	for head > 0 && !utf8.RuneStart(msg[head]) {
		head--
	}
	for tail < len(msg) && !utf8.RuneStart(msg[tail]) {
		tail++
	}
	return msg[:head] + "…" + msg[tail:]
}

func hasCause(err error) bool {
	var ge *gqlerror.Error
	if errors.As(err, &ge) {
		return ge.Err != nil
	}
	return true
}

// classify decides code, public message and extra extensions for err.
func classify(err error) (Code, string, map[string]any) {
	var ae *Error
	if errors.As(err, &ae) {
		if ae.Code == RateLimited {
			return ae.Code, ae.Message, map[string]any{"retryAfter": seconds(ae.RetryAfter)}
		}
		return ae.Code, ae.Message, nil
	}
	var be *upstream.CallBudgetError
	if errors.As(err, &be) {
		msg := fmt.Sprintf("the operation needs more than %d upstream calls, its limit, so this field was not fetched; "+
			"ask for smaller pages (first) or fewer nested lists", be.Max)
		return BadUserInput, msg, map[string]any{"limit": Limit(LimitUpstreamCalls, be.Max, be.Max+1)}
	}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return classifyUpstream(ue)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return UpstreamUnavailable, "the request ran out of time waiting for an upstream", nil
	}
	return Internal, "internal server error", nil
}

func classifyUpstream(ue *upstream.Error) (Code, string, map[string]any) {
	switch ue.Kind {
	case upstream.KindRateLimited:
		return RateLimited, fmt.Sprintf("the %s upstream is rate limiting the gateway; retry later", ue.Service),
			map[string]any{"retryAfter": seconds(ue.RetryAfter)}
	case upstream.KindForbidden:
		return Forbidden, fmt.Sprintf("the gateway's %s credentials lack the scope this field needs", ue.Service), nil
	case upstream.KindUnauthorized:
		return UpstreamUnauthorized, fmt.Sprintf("the %s upstream refused the gateway's credentials", ue.Service), nil
	case upstream.KindCallerForbidden:
		return Forbidden, fmt.Sprintf("the caller's token lacks the %s scope this field needs", ue.Service), nil
	case upstream.KindCallerUnauthorized:
		return Unauthenticated, fmt.Sprintf("the %s upstream refused the caller's token", ue.Service), nil
	case upstream.KindUnavailable:
		return UpstreamUnavailable, fmt.Sprintf("the %s upstream did not answer", ue.Service), nil
	default:
		info := map[string]any{"service": ue.Service, "status": ue.Status}
		if ue.Code != "" {
			info["errorCode"] = ue.Code
		}
		return UpstreamError, fmt.Sprintf("the %s upstream answered %d", ue.Service, ue.Status),
			map[string]any{"upstream": info}
	}
}

// seconds rounds a wait up to whole seconds, at least one, as Retry-After does.
func seconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// Recover turns a resolver panic into INTERNAL_SERVER_ERROR; the panic value
// and stack go to the log only.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.LogAttrs(ctx, slog.LevelError, "resolver panic", slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
		return &Error{Code: Internal, Message: "internal server error", Err: fmt.Errorf("panic: %v", p)}
	}
}
