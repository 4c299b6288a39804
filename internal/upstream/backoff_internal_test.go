package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestCancelDuringBackOffEndsTheCall: a call whose context ends while it
// waits to retry a 503 returns the 503 at once and sends nothing more.
// Shared flights run detached from their callers and a back-off longer than
// the deadline is not waited at all, so the context ends during a back-off
// when the deadline comes sooner than the client's clock expected: here the
// clock is an hour slow, so a 30 s Retry-After looks as if it fits, and the
// test cancels the call once it is waiting after the first 503. A back-off
// that ignored the context would outlast the test's deadline.
func TestCancelDuringBackOffEndsTheCall(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	c := NewClient("auth0", http.DefaultClient, nil, 5*time.Second)
	// The clock is read once when the answer arrives and once more to check
	// that the back-off fits the deadline, right before waiting: the
	// second reading is when the call is in its back-off.
	readings := make(chan struct{}, 8)
	c.now = func() time.Time {
		readings <- struct{}{}
		return time.Now().Add(-time.Hour)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.get(ctx, "GET /k/{key}", srv.URL+"/k/a")
		done <- err
	}()
	for range 2 {
		select {
		case <-readings:
		case <-time.After(10 * time.Second):
			t.Fatal("the call did not reach its back-off")
		}
	}
	cancel()
	select {
	case err := <-done:
		var ue *Error
		if !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable {
			t.Fatalf("error %v, want the upstream's 503", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end when its context did, during the back-off")
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// TestBackoffKeepsToRetryAfter: a Retry-After is waited in full (plus up to
// a quarter of jitter, so that replicas do not retry in step), whatever the
// attempt; without one the back-off is exponential with jitter. Bounds
// only: the jitter is random.
func TestBackoffKeepsToRetryAfter(t *testing.T) {
	cases := []struct {
		attempt    int
		retryAfter time.Duration
		min, max   time.Duration
	}{
		{1, 2 * time.Second, 2 * time.Second, 2500 * time.Millisecond},
		{2, 3 * time.Second, 3 * time.Second, 3750 * time.Millisecond},
		{1, 0, 50 * time.Millisecond, 150 * time.Millisecond},
		{2, 0, 100 * time.Millisecond, 300 * time.Millisecond},
	}
	for _, c := range cases {
		for range 100 {
			if d := backoff(c.attempt, c.retryAfter); d < c.min || d > c.max {
				t.Fatalf("backoff(%d, %v) = %v, want %v..%v", c.attempt, c.retryAfter, d, c.min, c.max)
			}
		}
	}
}

// rotatingTokens hands out "t1" until it is invalidated, then "t2": a token
// source whose first token the upstream has revoked.
type rotatingTokens struct {
	invalidated atomic.Bool
}

func (r *rotatingTokens) Token(context.Context) (string, error) {
	if r.invalidated.Load() {
		return "t2", nil
	}
	return "t1", nil
}
func (r *rotatingTokens) Invalidate(token string) {
	if token == "t1" {
		r.invalidated.Store(true)
	}
}
func (r *rotatingTokens) Scope(context.Context) string { return "rotating" }

// TestRenewsTheTokenOnceAfter401: a 401 drops the token and the call is
// sent once more with a new one; the upstream sees exactly two requests.
func TestRenewsTheTokenOnceAfter401(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer t2" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"statusCode":401,"error":"Unauthorized","message":"Invalid token."}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	c := NewClient("auth0", srv.Client(), &rotatingTokens{}, 5*time.Second)
	ctx := WithRequest(context.Background(), NewRequest(time.Now()))
	if _, err := c.get(ctx, "GET /x", srv.URL+"/x"); err != nil {
		t.Fatalf("get after a revoked token: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2 (the 401 and the renewed call)", n)
	}
}
