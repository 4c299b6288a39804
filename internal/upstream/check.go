package upstream

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxErrorBody bounds how much of an error body is read: error envelopes are a
// few hundred bytes, and a misbehaving upstream must not make us buffer more.
const maxErrorBody = 16 << 10

// CheckResponse returns nil for a 2xx response and an *Error otherwise. It
// reads (a bounded part of) the body of a failed response; the caller still
// closes it.
func CheckResponse(service, route string, resp *http.Response, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &Error{
		Service:   service,
		Route:     route,
		Status:    resp.StatusCode,
		RateLimit: ParseRateLimit(resp.Header),
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		e.Kind = KindNotFound
	case http.StatusTooManyRequests:
		e.Kind = KindRateLimited
	case http.StatusForbidden:
		e.Kind = KindForbidden
	case http.StatusUnauthorized:
		e.Kind = KindUnauthorized
	case http.StatusBadRequest:
		e.Kind = KindBadRequest
	default:
		e.Kind = KindOther
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e.Code, e.Message = parseErrorBody(body)
	if isRedirect(resp.StatusCode) {
		// Not followed (WithoutRedirects); the code says why it failed,
		// and Location, which may point anywhere, is not kept.
		e.Code, e.Message = codeRedirect, ""
	}
	if !safeCode(e.Code) {
		// Codes reach callers (extensions.upstream.errorCode): only short
		// identifiers, never free text an upstream might put there.
		e.Code = ""
	}
	if e.Kind == KindRateLimited || resp.Header.Get("Retry-After") != "" {
		e.RetryAfter = retryAfter(resp.Header, e.RateLimit, now)
	}
	return e
}

func isRedirect(status int) bool { return status >= 300 && status < 400 }

// errorEnvelope covers both upstreams' error shapes: Auth0's
// {statusCode,error,message,errorCode}, UiPath's {errorMessage}, ASP.NET
// ProblemDetails {title,errors} and the PascalCase directory envelope.
type errorEnvelope struct {
	Message      string `json:"message"`
	ErrorCode    string `json:"errorCode"`
	ErrorMessage string `json:"errorMessage"`
	Title        string `json:"title"`
	PascalMsg    string `json:"Message"`
	Error        any    `json:"error"`
}

func parseErrorBody(body []byte) (code, message string) {
	var env errorEnvelope
	if len(body) == 0 || json.Unmarshal(body, &env) != nil {
		return "", strings.TrimSpace(string(body))
	}
	message = firstNonEmpty(env.Message, env.ErrorMessage, env.Title, env.PascalMsg)
	code = env.ErrorCode
	if code == "" {
		// OAuth token endpoints answer {"error":"access_denied"}.
		if s, ok := env.Error.(string); ok && message == "" {
			code = s
		}
	}
	return code, message
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// ParseRateLimit reads X-RateLimit-Limit/Remaining/Reset. Reset is UNIX epoch
// seconds (Auth0's documented meaning).
func ParseRateLimit(h http.Header) RateLimit {
	rem := h.Get("X-RateLimit-Remaining")
	if rem == "" {
		return RateLimit{}
	}
	var rl RateLimit
	var err error
	if rl.Remaining, err = strconv.Atoi(rem); err != nil {
		return RateLimit{}
	}
	rl.Known = true
	rl.Limit, _ = strconv.Atoi(h.Get("X-RateLimit-Limit"))
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil && reset > 0 {
		rl.Reset = time.Unix(reset, 0)
	}
	return rl
}

// maxRetryAfter caps what an upstream may ask for: a day, far beyond any
// real window, and small enough that seconds never overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// retryAfter prefers Retry-After (seconds or an HTTP date), then the reset
// time of the rate-limit headers, then one second: the same order the vendor
// SDKs use. The result is between 0 and maxRetryAfter.
func retryAfter(h http.Header, rl RateLimit, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		// Digits beyond int64 still mean "a long time" (ParseInt gives MaxInt64).
		if secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); (err == nil || errors.Is(err, strconv.ErrRange)) && secs >= 0 {
			return min(time.Duration(min(secs, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
		}
		if t, err := http.ParseTime(v); err == nil {
			return min(max(t.Sub(now), 0), maxRetryAfter)
		}
	}
	if !rl.Reset.IsZero() {
		if d := rl.Reset.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return time.Second
}

// safeCode reports whether an upstream error code may be shown and logged:
// a short lowercase identifier such as insufficient_scope, too_many_requests
// or access_denied (^[a-z][a-z0-9_.-]{0,63}$; "" is no code). The fields an
// upstream fills with codes are text it controls, and a token endpoint that
// echoes the posted form puts "client_secret=…" there; a shape this narrow
// keeps sentences, URLs, form bodies and mixed-case secrets out, while every
// code Auth0 and OAuth 2.0 (RFC 6749 §5.2) document passes.
func safeCode(code string) bool {
	if len(code) > 64 {
		return false
	}
	for i, r := range code {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-'):
		default:
			return false
		}
	}
	return true
}
