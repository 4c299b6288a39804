package upstream

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckResponse(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       Kind
		code       string
		retryAfter time.Duration
		remaining  int
	}{
		{"org 404 without errorCode", 404, nil, `{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}`, KindNotFound, "", 0, 0},
		{"user 404 with errorCode", 404, nil, `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`, KindNotFound, "inexistent_user", 0, 0},
		{"403 insufficient scope", 403, nil, `{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:users","errorCode":"insufficient_scope"}`, KindForbidden, "insufficient_scope", 0, 0},
		{"429 with Retry-After seconds", 429, map[string]string{"Retry-After": "7", "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000030"}, `{"statusCode":429,"errorCode":"too_many_requests"}`, KindRateLimited, "too_many_requests", 7 * time.Second, 0},
		{"429 with reset only", 429, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000004"}, `{}`, KindRateLimited, "", 4 * time.Second, 0},
		{"429 with HTTP-date Retry-After", 429, map[string]string{"Retry-After": now.Add(9 * time.Second).UTC().Format(http.TimeFormat)}, ``, KindRateLimited, "", 9 * time.Second, 0},
		{"429 without hints waits a second", 429, nil, `{"errorMessage":"Too many requests."}`, KindRateLimited, "", time.Second, 0},
		{"429 with an absurd Retry-After is capped", 429, map[string]string{"Retry-After": "9227000000"}, ``, KindRateLimited, "", 24 * time.Hour, 0},
		{"429 with digits beyond int64 is capped", 429, map[string]string{"Retry-After": "99999999999999999999"}, ``, KindRateLimited, "", 24 * time.Hour, 0},
		{"429 with a far HTTP-date is capped", 429, map[string]string{"Retry-After": now.AddDate(5, 0, 0).UTC().Format(http.TimeFormat)}, ``, KindRateLimited, "", 24 * time.Hour, 0},
		{"401", 401, nil, `{"statusCode":401,"error":"Unauthorized","message":"Invalid token."}`, KindUnauthorized, "", 0, 0},
		{"identity 401 errorMessage", 401, nil, `{"errorMessage":"OAuth authorization failed. 'IdentityServerApi' scope not found."}`, KindUnauthorized, "", 0, 0},
		{"400 invalid_paging", 400, nil, `{"statusCode":400,"error":"Bad Request","message":"Requesting page exceeds the allowed maximum of 1000 records.","errorCode":"invalid_paging"}`, KindBadRequest, "invalid_paging", 0, 0},
		{"400 problem details", 400, nil, `{"errors":{"x":["bad"]},"title":"One or more validation errors occurred.","status":400}`, KindBadRequest, "", 0, 0},
		{"500 HTML body", 500, nil, `<html>oops</html>`, KindOther, "", 0, 0},
		{"oauth error", 401, nil, `{"error":"access_denied","error_description":"Unauthorized"}`, KindUnauthorized, "access_denied", 0, 0},
		{"free text in errorCode is dropped", 400, nil, `{"statusCode":400,"errorCode":"see https://evil.example/?u=<script>"}`, KindBadRequest, "", 0, 0},
		{"an echoed form as the oauth error is dropped", 401, nil, `{"error":"grant_type=client_credentials&client_secret=abc"}`, KindUnauthorized, "", 0, 0},
		{"a mixed-case errorCode is dropped", 400, nil, `{"statusCode":400,"errorCode":"Xk9fQ2mZr7TsVw1pLc"}`, KindBadRequest, "", 0, 0},
		{"a code with a colon is dropped", 400, nil, `{"statusCode":400,"errorCode":"client_secret:abc"}`, KindBadRequest, "", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			err := CheckResponse("auth0", "GET /x", resp, now)
			ue, ok := err.(*Error)
			if !ok {
				t.Fatalf("got %T %v", err, err)
			}
			if ue.Kind != tc.kind || ue.Code != tc.code || ue.RetryAfter != tc.retryAfter || ue.Status != tc.status {
				t.Fatalf("got kind=%v code=%q retry=%v status=%d", ue.Kind, ue.Code, ue.RetryAfter, ue.Status)
			}
			if strings.Contains(ue.Error(), "Insufficient") || strings.Contains(ue.Error(), "Invalid token") {
				t.Fatalf("Error() carries the upstream message: %s", ue.Error())
			}
		})
	}
	ok := &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}"))}
	if err := CheckResponse("auth0", "GET /x", ok, now); err != nil {
		t.Fatal(err)
	}
}

func TestErrorBodyIsReadThroughALimit(t *testing.T) {
	huge := strings.NewReader(`{"message":"` + strings.Repeat("x", 10<<20) + `"}`)
	resp := &http.Response{StatusCode: 500, Header: http.Header{}, Body: io.NopCloser(huge)}
	_ = CheckResponse("auth0", "GET /x", resp, time.Now())
	if read := int64(10<<20) + 14 - int64(huge.Len()); read > maxErrorBody {
		t.Fatalf("read %d bytes of an error body, limit %d", read, maxErrorBody)
	}
}

func TestRateLimitHeadersOnSuccess(t *testing.T) {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "50")
	h.Set("X-RateLimit-Remaining", "49")
	h.Set("X-RateLimit-Reset", "1700000001")
	rl := ParseRateLimit(h)
	if !rl.Known || rl.Limit != 50 || rl.Remaining != 49 || rl.Reset.Unix() != 1700000001 {
		t.Fatalf("%+v", rl)
	}
	if ParseRateLimit(http.Header{}).Known {
		t.Fatal("no headers should be unknown")
	}
}

func TestPathEscape(t *testing.T) {
	for in, want := range map[string]string{
		"auth0|63d1":      "auth0%7C63d1",
		"../users/x":      "..%2Fusers%2Fx",
		"..":              "%2E%2E",
		".":               "%2E",
		"a?b#c":           "a%3Fb%23c",
		"org_OVCzBg5uRf":  "org_OVCzBg5uRf",
		"name with space": "name%20with%20space",
	} {
		if got := PathEscape(in); got != want {
			t.Errorf("PathEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTransportErrorsHoldNoQuotedText: net/http quotes a malformed status
// line back in its error; that text is the server's, so it is cut.
func TestTransportErrorsHoldNoQuotedText(t *testing.T) {
	err := redactURLError(&url.Error{Op: "Get", URL: "https://t.example/api/v2/users/auth0%7C1",
		Err: errors.New(`malformed HTTP status code "client_secret=abc"`)})
	if got, want := err.Error(), "Get: malformed HTTP status code (quoted text withheld)"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
