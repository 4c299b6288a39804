package auth

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Middleware authenticates every request before next sees it. A request
// without a valid bearer token gets HTTP 401 with WWW-Authenticate (RFC 6750)
// and an UNAUTHENTICATED GraphQL error, and nothing is executed. With v nil
// (caller auth disabled) every request runs as Unrestricted.
func Middleware(v *Verifier, next http.Handler) http.Handler {
	if v == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), Unrestricted)))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			refuse(w, `Bearer realm="orgraph"`, "a bearer token is required")
			return
		}
		caller, err := v.Verify(r.Context(), raw)
		if err != nil {
			// err's text is general (expired, wrong audience, …): safe to show.
			refuse(w, `Bearer realm="orgraph", error="invalid_token"`, err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), caller)))
	})
}

// Passthrough is the middleware of a gateway that forwards callers' tokens
// upstream without verifying them itself (UPSTREAM_AUTH_MODE=forward with
// AUTH_DISABLED=true): every request must carry a bearer token, which the
// upstream will check; the caller holds every scope the upstream grants.
func Passthrough(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			refuse(w, `Bearer realm="orgraph"`, "a bearer token is required: the gateway forwards it upstream")
			return
		}
		caller := &Caller{Subject: "forwarded", all: true, token: raw}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), caller)))
	})
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func refuse(w http.ResponseWriter, challenge, message string) {
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{
			"message":    message,
			"extensions": map[string]any{"code": "UNAUTHENTICATED"},
		}},
	})
}
