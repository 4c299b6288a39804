package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestIdenticalOperationsInFlightShareOneExecution: requests identical to
// one that is running wait for it and are answered with its bytes, when its
// answer may be shared (no errors); when it may not, each runs on its own.
// A different body, or a caller asking for a fresh answer, never waits.
func TestIdenticalOperationsInFlightShareOneExecution(t *testing.T) {
	const body = `{"query":"{ organizations(first: 5) { nodes { id } } }"}`
	cases := []struct {
		name      string
		shareable bool
		follower  func(i int) *http.Request // what comes while the first runs
		waits     bool                      // the followers wait for the first
		wantRuns  int64                     // executions for 1 + 7 requests
	}{
		{"identical", true, func(int) *http.Request { return post(body) }, true, 1},
		{"identical, first answer has errors", false, func(int) *http.Request { return post(body) }, true, 8},
		{"other documents", true, func(i int) *http.Request {
			return post(strings.Replace(body, "5", strconv.Itoa(10+i), 1))
		}, false, 8},
		{"fresh answer asked for", true, func(int) *http.Request {
			r := post(body)
			r.Header.Set("Cache-Control", "no-cache")
			return r
		}, false, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var runs atomic.Int64
			started, release := make(chan struct{}, 8), make(chan struct{})
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := runs.Add(1)
				started <- struct{}{}
				<-release
				doc, _ := io.ReadAll(r.Body)
				info := requestInfoFrom(r.Context())
				info.operation, info.storable = "Orgs", tc.shareable
				_, _ = fmt.Fprintf(w, `{"data":{"run":%d,"document":%q}}`, n, doc)
			})
			rc := &responseCache{coalesce: true, running: map[string]*runningOperation{}, next: next}
			h := accessLog(slog.New(slog.DiscardHandler), rc)

			answers := make([]*httptest.ResponseRecorder, 8)
			var wg sync.WaitGroup
			serve := func(i int, r *http.Request) {
				answers[i] = httptest.NewRecorder()
				wg.Go(func() { h.ServeHTTP(answers[i], r) })
			}
			serve(0, post(body))
			<-started // the first is running, and holds its place until released
			for i := 1; i < 8; i++ {
				serve(i, tc.follower(i))
			}
			if tc.waits {
				for rc.waiting() < 7 {
					select {
					case <-started:
						close(release)
						t.Fatal("a request identical to a running one ran beside it")
					case <-time.After(time.Millisecond):
					}
				}
			} else {
				for range 7 {
					<-started // each runs beside the first
				}
			}
			close(release)
			wg.Wait()

			if got := runs.Load(); got != tc.wantRuns {
				t.Fatalf("%d executions, want %d", got, tc.wantRuns)
			}
			if tc.wantRuns == 1 {
				first := answers[0].Body.String()
				for _, a := range answers[1:] {
					if a.Body.String() != first || a.Header().Get("Content-Length") != strconv.Itoa(len(first)) {
						t.Fatalf("a waiting request got %q (Content-Length %q), want the first's %q",
							a.Body, a.Header().Get("Content-Length"), first)
					}
				}
			}
			if len(rc.running) != 0 {
				t.Fatalf("%d operations still marked running", len(rc.running))
			}
		})
	}
}

// waiting is how many requests wait for a running identical one.
func (rc *responseCache) waiting() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, run := range rc.running {
		n += run.waiters
	}
	return n
}

func post(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
