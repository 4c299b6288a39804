package upstream

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Kind classifies an upstream failure by what the gateway should do about it,
// not by the raw status: callers branch on Kind, the presenter maps Kind to a
// GraphQL error code.
type Kind int

// Kinds of upstream failure.
const (
	// KindOther is any 4xx/5xx not covered below.
	KindOther Kind = iota
	// KindNotFound is a 404: the resource does not exist (GraphQL null, cacheable briefly).
	KindNotFound
	// KindRateLimited is a 429; RetryAfter says when to try again.
	KindRateLimited
	// KindForbidden is a 403, typically insufficient_scope on the gateway's token.
	KindForbidden
	// KindUnauthorized is a 401: the gateway's own credentials were refused.
	KindUnauthorized
	// KindBadRequest is a 400: the gateway sent something the upstream rejects.
	KindBadRequest
	// KindUnavailable is a transport failure or timeout: no HTTP answer at all.
	KindUnavailable
	// KindCallerUnauthorized is a 401 to a request sent with the caller's
	// own token (UPSTREAM_AUTH_MODE=forward): the caller's credentials were
	// refused, not the gateway's, so it is theirs to renew.
	KindCallerUnauthorized
	// KindCallerForbidden is a 403 to a request sent with the caller's own
	// token: that token lacks the scope, not the gateway's credentials.
	KindCallerForbidden
)

var kindNames = [...]string{"other", "not_found", "rate_limited", "forbidden", "unauthorized", "bad_request", "unavailable",
	"caller_unauthorized", "caller_forbidden"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// RateLimit is what an upstream said about its budget in X-RateLimit-* headers.
// Known is false when the response carried none (UiPath documents none).
type RateLimit struct {
	Known     bool
	Limit     int
	Remaining int
	Reset     time.Time
}

// Error codes the gateway itself gives an upstream answer it cannot use
// (Error.Code, shown as extensions.upstream.errorCode): short identifiers,
// like the upstreams' own.
const (
	codeInvalidJSON  = "invalid_json"   // a 200 that is not JSON, or JSON of the wrong types
	codeMalformed    = "malformed"      // a 200 of the right types that is no answer (ErrMalformed)
	codeBodyTooLarge = "body_too_large" // a 200 body over Client.MaxBody
	codeRedirect     = "redirect"       // a 3xx, never followed (WithoutRedirects)
)

// Error is the one error type every upstream client returns for a failed call.
//
// Message holds the upstream's own message for logs only: it may echo request
// details, so the error presenter never shows it to callers.
type Error struct {
	Service    string        // "auth0" or "identity"
	Route      string        // route template, never the raw path (ids may be personal data)
	Status     int           // HTTP status; 0 when no response arrived
	Kind       Kind          // what to do about it
	Code       string        // upstream errorCode when it sent one (e.g. insufficient_scope)
	Message    string        // upstream message, for logs only
	RetryAfter time.Duration // from Retry-After, else X-RateLimit-Reset on a 429
	RateLimit  RateLimit     // parsed X-RateLimit-* headers, when present
	Err        error         // the transport error for KindUnavailable
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s %s: unavailable: %v", e.Service, e.Route, e.Err)
	}
	if e.Code != "" {
		return fmt.Sprintf("%s %s: status %d (%s)", e.Service, e.Route, e.Status, e.Code)
	}
	return fmt.Sprintf("%s %s: status %d", e.Service, e.Route, e.Status)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain, and false when
// err is not an upstream error.
func KindOf(err error) (Kind, bool) {
	var ue *Error
	if errors.As(err, &ue) {
		return ue.Kind, true
	}
	return 0, false
}

// IsNotFound reports whether err is an upstream 404.
func IsNotFound(err error) bool {
	k, ok := KindOf(err)
	return ok && k == KindNotFound
}
