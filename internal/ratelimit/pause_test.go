package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/ratelimit"
	"github.com/orgraph/orgraph/internal/upstream"
)

// stoppedClock is a clock that moves only when the test sets it. Waits
// that may not sleep (upstream.WithoutWaiting) compare only with it, so
// the pause's end is checked to the millisecond without timing anything.
type stoppedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stoppedClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stoppedClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestPauseIsBoundedAndIsWhatCallersAreTold: for odd 429 headers, the pause
// Observe reports (what the client tells callers as retryAfter) is the pause
// the governor applies: requests are refused until exactly then and let
// through from then on; and no header pauses longer than MaxPause.
func TestPauseIsBoundedAndIsWhatCallersAreTold(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	date := func(d time.Duration) string { return at.Add(d).UTC().Format(http.TimeFormat) }
	epoch := func(d time.Duration) string { return strconv.FormatInt(at.Add(d).Unix(), 10) }
	const maxPause = 30 * time.Second
	cases := []struct {
		name   string
		header map[string]string
		pause  time.Duration
	}{
		{"huge seconds", map[string]string{"Retry-After": "999999"}, maxPause},
		{"beyond int64", map[string]string{"Retry-After": "99999999999999999999"}, maxPause},
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"zero", map[string]string{"Retry-After": "0"}, time.Second},
		{"negative", map[string]string{"Retry-After": "-5"}, time.Second},
		{"garbage", map[string]string{"Retry-After": "soon"}, time.Second},
		{"HTTP-date", map[string]string{"Retry-After": date(12 * time.Second)}, 12 * time.Second},
		{"HTTP-date next year", map[string]string{"Retry-After": date(365 * 24 * time.Hour)}, maxPause},
		{"HTTP-date in the past", map[string]string{"Retry-After": date(-time.Hour)}, time.Second},
		{"absent, reset in 8 s", map[string]string{"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": epoch(8 * time.Second)}, 8 * time.Second},
		{"absent, reset in 2 h", map[string]string{"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": epoch(2 * time.Hour)}, maxPause},
		{"garbage, reset in 8 s", map[string]string{"Retry-After": "soon", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": epoch(8 * time.Second)}, 8 * time.Second},
		{"shorter than the reset", map[string]string{"Retry-After": "3", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": epoch(8 * time.Second)}, 8 * time.Second},
		{"absent", nil, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := &stoppedClock{t: at}
			g := ratelimit.New(ratelimit.Config{MaxPause: maxPause, Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
			resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{}`))}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			// What the client does with a response (upstream.Client.getOnce).
			ue, _ := upstream.CheckResponse("auth0", "GET /x", resp, at).(*upstream.Error)
			told := g.Observe(context.Background(), "auth0", upstream.Observation{
				Status: resp.StatusCode, RateLimit: ue.RateLimit, RetryAfter: ue.RetryAfter, At: at})
			if told != tc.pause {
				t.Fatalf("Observe says the pause is %v, want %v", told, tc.pause)
			}
			now := upstream.WithoutWaiting(context.Background())
			clock.Set(at.Add(tc.pause - time.Millisecond))
			err := g.Wait(now, "auth0")
			if ra := refusal(t, err).RetryAfter; ra != time.Millisecond {
				t.Fatalf("a millisecond before the pause ends: RetryAfter %v, want 1ms", ra)
			}
			clock.Set(at.Add(tc.pause))
			if err := g.Wait(now, "auth0"); err != nil {
				t.Fatalf("when the pause ends: %v, want the request let through", err)
			}
		})
	}
}
