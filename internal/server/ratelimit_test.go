package server_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestRetryAfterToldIsThePause: whatever an Auth0 429 says about when to
// come back (huge, negative, an HTTP-date, garbage, nothing but
// X-RateLimit-Reset), the retryAfter a caller is told is the pause the
// governor applies, bounded by UPSTREAM_MAX_PAUSE: a second caller right
// after is refused without an upstream call and told the same pause, less
// the moment between them. A one-second pause is short enough for the
// request's own retries (three calls).
func TestRetryAfterToldIsThePause(t *testing.T) {
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	fault := testutil.StartFaultUpstream(t, base)
	route := "/api/v2/organizations/" + hogwartsID
	query := `{ organization(id: "` + hogwartsID + `") { name } }`
	at := func(d time.Duration) time.Time { return time.Now().Add(d) }
	cases := []struct {
		name   string
		header func() http.Header
		lo, hi int // seconds told, inclusive
		calls  int // upstream calls of the first request
	}{
		{"huge seconds", retryAfter("999999"), 30, 30, 1},
		{"beyond int64", retryAfter("99999999999999999999"), 30, 30, 1},
		{"HTTP-date in 12 s", func() http.Header { return retryAfter(at(12 * time.Second).UTC().Format(http.TimeFormat))() }, 11, 12, 1},
		{"HTTP-date next year", func() http.Header { return retryAfter(at(365 * 24 * time.Hour).UTC().Format(http.TimeFormat))() }, 30, 30, 1},
		{"reset in 8 s", resetIn(at, 8*time.Second), 7, 8, 1},
		{"reset in 2 h", resetIn(at, 2*time.Hour), 30, 30, 1},
		{"negative", retryAfter("-5"), 1, 1, 3},
		{"garbage", retryAfter("soon"), 1, 1, 3},
		{"HTTP-date in the past", func() http.Header { return retryAfter(at(-time.Hour).UTC().Format(http.TimeFormat))() }, 1, 1, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fault.Clear()
			fault.Fault(http.MethodGet, route, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header() {
					w.Header()[k] = v
				}
				testutil.TooManyRequests("")(w, r)
			})
			// A gateway of its own: a fresh governor, no pause yet.
			gw := testutil.StartGateway(t, with(testutil.UpstreamEnv(fault.URL), map[string]string{
				"UPSTREAM_MAX_PAUSE": "30s", "REQUEST_TIMEOUT": "5s"}))
			before := fault.Hits(http.MethodGet, route)
			first := told(t, gw.Query(t, query, nil))
			if first < tc.lo || first > tc.hi {
				t.Fatalf("told retryAfter %d, want %d..%d", first, tc.lo, tc.hi)
			}
			if n := fault.Hits(http.MethodGet, route) - before; n != tc.calls {
				t.Fatalf("%d upstream calls, want %d", n, tc.calls)
			}
			if first < 5 {
				return // the pause may be over by the next request
			}
			before = fault.Hits(http.MethodGet, route)
			second := told(t, gw.Query(t, query, nil))
			if n := fault.Hits(http.MethodGet, route) - before; n != 0 {
				t.Fatalf("%d upstream calls during the pause, want 0", n)
			}
			if second > first || second < first-5 {
				t.Fatalf("told %d, then %d by the governor's pause: not the same pause", first, second)
			}
		})
	}
}

// told is the extensions.retryAfter of a response's only error, RATE_LIMITED.
func told(t *testing.T, r testutil.Response) int {
	t.Helper()
	e := r.OnlyError(t)
	secs, ok := e.Extensions["retryAfter"].(float64)
	if e.Code() != "RATE_LIMITED" || !ok {
		t.Fatalf("want RATE_LIMITED with retryAfter: %s", r.Raw)
	}
	return int(secs)
}

func retryAfter(v string) func() http.Header {
	return func() http.Header { return http.Header{"Retry-After": {v}} }
}

// resetIn is Auth0's rate-limit headers of an empty bucket that refills in d.
func resetIn(at func(time.Duration) time.Time, d time.Duration) func() http.Header {
	return func() http.Header {
		return http.Header{"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset": {strconv.FormatInt(at(d).Unix(), 10)}}
	}
}

// TestTokenEndpoint429PausesTheService: every call needs the token, so a
// 429 from the token endpoint pauses the service like an API's 429, and the
// caller is told that pause, bounded like any other.
func TestTokenEndpoint429PausesTheService(t *testing.T) {
	_, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Clients: map[string]upstreamsim.Client{"gw": {Secret: "gw-secret", Scopes: upstreamsim.AllAuth0Scopes()}},
	})
	fault := testutil.StartFaultUpstream(t, base)
	fault.Fault(http.MethodPost, "/oauth/token", testutil.TooManyRequests("999999"))
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL": fault.URL, "AUTH0_CLIENT_ID": "gw", "AUTH0_CLIENT_SECRET": "gw-secret",
		"AUTH_DISABLED": "true", "UPSTREAM_RATE_LIMIT": "100000", "UPSTREAM_MAX_PAUSE": "30s",
	})
	query := `{ organization(id: "` + hogwartsID + `") { name } }`
	if got := told(t, gw.Query(t, query, nil)); got != 30 {
		t.Fatalf("told retryAfter %d, want 30 (UPSTREAM_MAX_PAUSE)", got)
	}
	if second := told(t, gw.Query(t, query, nil)); second > 30 || second < 25 {
		t.Fatalf("second caller told %d, want the same pause", second)
	}
	if n := fault.Hits(http.MethodPost, "/oauth/token"); n != 1 {
		t.Fatalf("token requests %d, want 1: the second caller waits out the pause", n)
	}
}
