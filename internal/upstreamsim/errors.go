package upstreamsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// Error bodies copied byte for byte from recorded upstream responses (see the upstream contract),
// so clients are tested against what the services really send.
const (
	bodyAuth0OrgNotFound        = `{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}`
	bodyAuth0ConnectionNotFound = `{"statusCode":404,"error":"Not Found","message":"No connection found by that id"}`
	bodyAuth0UserNotFound       = `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`
	bodyAuth0InvalidPaging      = `{"statusCode":400,"error":"Bad Request","message":"Requesting page exceeds the allowed maximum of 1000 records.","errorCode":"invalid_paging"}`
	bodyAuth0InvalidToken       = `{"statusCode":401,"error":"Unauthorized","message":"Invalid token."}`
	bodyAuth0TooManyRequests    = `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`
	bodyAuth0RouteNotFound      = `{"statusCode":404,"error":"Not Found","message":"Not Found"}`
	bodyAuth0TokenDenied        = `{"error":"access_denied","error_description":"Unauthorized"}`

	bodyIdentityNotFound         = `{"errorMessage":"The entity was not found."}`
	bodyIdentityOrgForbidden     = `{"errorMessage":"Caller is not authorized to list groups for the organization"}`
	bodyIdentityInvalidToken     = `{"errorMessage":"OAuth authorization failed. 'IdentityServerApi' scope not found."}`
	bodyIdentityTooManyRequests  = `{"errorMessage":"Too many requests."}`
	bodyIdentityInvalidClient    = `{"error":"invalid_client"}`
	bodyIdentityInvalidScope     = `{"error":"invalid_scope"}`
	bodyIdentityUnsupportedGrant = `{"error":"unsupported_grant_type"}`
)

// auth0Error is the Management API error envelope; errorCode is optional upstream.
type auth0Error struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode,omitempty"`
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

type identityError struct {
	ErrorMessage string `json:"errorMessage"`
}

// problemDetails is ASP.NET Core's validation envelope, field order as on the wire.
type problemDetails struct {
	Errors  map[string][]string `json:"errors,omitempty"`
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	TraceID string              `json:"traceId"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"statusCode":500,"error":"Internal Server Error","message":"Internal Server Error"}`)
	}
	writeBytes(w, status, "application/json; charset=utf-8", b)
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	writeBytes(w, status, "application/json; charset=utf-8", []byte(body))
}

func writeBytes(w http.ResponseWriter, status int, contentType string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func auth0BadQuery(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, auth0Error{400, "Bad Request", "Invalid request query string. " + msg, "invalid_query_string"})
}

func auth0BadURI(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, auth0Error{400, "Bad Request", msg, "invalid_uri"})
}

func auth0InsufficientScope(w http.ResponseWriter, scopes []string) {
	writeJSON(w, http.StatusForbidden, auth0Error{403, "Forbidden",
		"Insufficient scope, expected any of: " + strings.Join(scopes, ","), "insufficient_scope"})
}

func identityScopeInvalid(w http.ResponseWriter, have []string, want [2]string) {
	msg := fmt.Sprintf("Scope(s) '%s' is(are) invalid. Expect to have '%s' or '%s'. ", strings.Join(have, ","), want[0], want[1])
	writeJSON(w, http.StatusForbidden, identityError{msg})
}

// identityValidation answers like ASP.NET model binding does for a bad path or query value.
func identityValidation(w http.ResponseWriter, field, msg string) {
	b, _ := json.Marshal(problemDetails{
		Errors:  map[string][]string{field: {msg}},
		Type:    "https://tools.ietf.org/html/rfc9110#section-15.5.1",
		Title:   "One or more validation errors occurred.",
		Status:  http.StatusBadRequest,
		TraceID: traceID(),
	})
	writeBytes(w, http.StatusBadRequest, "application/problem+json; charset=utf-8", b)
}

// traceID mimics a W3C traceparent as ASP.NET puts it in ProblemDetails.
func traceID() string {
	return fmt.Sprintf("00-%016x%016x-%016x-00", rand.Uint64(), rand.Uint64(), rand.Uint64())
}

// writeFault answers an injected fault with the body that upstream would send for that status on
// that route, so the gateway's error mapping sees realistic input.
func (s *Simulator) writeFault(w http.ResponseWriter, m *match, status int) {
	if status == http.StatusTooManyRequests {
		h := w.Header()
		if h.Get("X-RateLimit-Limit") == "" {
			h.Set("X-RateLimit-Limit", "1")
			h.Set("X-RateLimit-Reset", itoa64(nowUnix()+1))
		}
		h.Set("X-RateLimit-Remaining", "0")
		s.tooMany(w, m, 1)
		return
	}
	switch m.up {
	case upAuth0:
		auth0Fault(w, m, status)
	case upIdentity:
		identityFault(w, m, status)
	default:
		http.Error(w, http.StatusText(status), status)
	}
}

func auth0Fault(w http.ResponseWriter, m *match, status int) {
	if m.id == routeAuth0Token {
		switch status {
		case http.StatusUnauthorized, http.StatusForbidden:
			writeRaw(w, status, bodyAuth0TokenDenied)
		case http.StatusBadRequest:
			writeJSON(w, status, oauthError{"invalid_request", "Bad Request"})
		default:
			writeJSON(w, status, oauthError{"server_error", http.StatusText(status)})
		}
		return
	}
	switch status {
	case http.StatusUnauthorized:
		writeRaw(w, status, bodyAuth0InvalidToken)
	case http.StatusForbidden:
		auth0InsufficientScope(w, auth0Scopes[m.id])
	case http.StatusNotFound:
		switch m.id {
		case routeOrganization, routeOrganizationByName, routeEnabledConnections, routeMembers:
			writeRaw(w, status, bodyAuth0OrgNotFound)
		case routeEnabledConnection:
			writeRaw(w, status, bodyAuth0ConnectionNotFound)
		case routeUser:
			writeRaw(w, status, bodyAuth0UserNotFound)
		default:
			writeRaw(w, status, bodyAuth0RouteNotFound)
		}
	case http.StatusBadRequest:
		auth0BadQuery(w, "Query validation error.")
	default:
		text := http.StatusText(status)
		if text == "" {
			text = "Error"
		}
		writeJSON(w, status, auth0Error{StatusCode: status, Error: text, Message: text})
	}
}

func identityFault(w http.ResponseWriter, m *match, status int) {
	if m.id == routeIdentityToken {
		switch status {
		case http.StatusBadRequest, http.StatusUnauthorized:
			writeRaw(w, status, bodyIdentityInvalidClient)
		default:
			writeJSON(w, status, oauthError{Error: "server_error"})
		}
		return
	}
	switch status {
	case http.StatusUnauthorized:
		writeRaw(w, status, bodyIdentityInvalidToken)
	case http.StatusForbidden:
		writeRaw(w, status, bodyIdentityOrgForbidden)
	case http.StatusNotFound:
		writeRaw(w, status, bodyIdentityNotFound)
	case http.StatusBadRequest:
		identityValidation(w, "request", "The request is invalid.")
	default:
		b, _ := json.Marshal(problemDetails{
			Type:    "https://tools.ietf.org/html/rfc9110#section-15.6.1",
			Title:   "An error occurred while processing your request.",
			Status:  status,
			TraceID: traceID(),
		})
		if status == http.StatusServiceUnavailable {
			b, _ = json.Marshal(problemDetails{
				Type:    "https://tools.ietf.org/html/rfc9110#section-15.6.4",
				Title:   "Service Unavailable",
				Status:  status,
				TraceID: traceID(),
			})
		}
		writeBytes(w, status, "application/problem+json; charset=utf-8", b)
	}
}
