package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/upstream"
)

// statusServer answers every request with status (and header h, when set),
// or with the thing its path names when status is 200, and counts requests.
type statusServer struct {
	*httptest.Server
	calls atomic.Int64
}

func newStatusServer(t *testing.T, status int, h http.Header) *statusServer {
	t.Helper()
	s := &statusServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		for k, v := range h {
			w.Header()[k] = v
		}
		if status != http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"statusCode":%d,"error":"x","message":"no"}`, status)
		} else {
			fmt.Fprintf(w, `{"Key":%q}`, strings.TrimPrefix(r.URL.Path, "/k/"))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestOnlyRetryableFailuresAreRetried: a GET is tried again after a 5xx (at
// most three tries in all), never after a 4xx other than 429: the upstream
// said the request itself is wrong, or the credentials may not read it, and
// asking again costs rate budget for the same answer. Exact upstream call
// counts, with a static token (nothing to renew after a 401).
func TestOnlyRetryableFailuresAreRetried(t *testing.T) {
	for _, tc := range []struct {
		status int
		calls  int64
		kind   upstream.Kind
	}{
		{http.StatusBadRequest, 1, upstream.KindBadRequest},
		{http.StatusUnauthorized, 1, upstream.KindUnauthorized},
		{http.StatusForbidden, 1, upstream.KindForbidden},
		{http.StatusNotFound, 1, upstream.KindNotFound},
		{http.StatusConflict, 1, upstream.KindOther},
		{http.StatusInternalServerError, 3, upstream.KindOther},
		{http.StatusBadGateway, 3, upstream.KindOther},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := newStatusServer(t, tc.status, nil)
			c := upstream.NewClient("auth0", http.DefaultClient, upstream.NewStaticToken("tok"), 5*time.Second)
			var out any
			err := c.GetJSON(context.Background(), "GET /k/{key}", srv.URL+"/k/a", &out)
			var ue *upstream.Error
			if !errors.As(err, &ue) || ue.Status != tc.status || ue.Kind != tc.kind {
				t.Fatalf("error %v, want the upstream's %d as %v", err, tc.status, tc.kind)
			}
			if n := srv.calls.Load(); n != tc.calls {
				t.Fatalf("%d upstream calls after a %d, want %d", n, tc.status, tc.calls)
			}
		})
	}
}

// TestNotFoundIsRemembered: a 404 is an answer: kept for NotFoundTTL, so
// asking again costs no upstream call; a 400 is not kept.
func TestNotFoundIsRemembered(t *testing.T) {
	c, err := cache.New(cache.Config{TTL: time.Minute, StaleTTL: time.Hour, NotFoundTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv := newKeyServer(t)
	cl, _ := newThingClient(c, 4)
	for range 2 {
		res := upstream.GetMany(context.Background(), cl, thingRoute(srv.URL), []string{"missing", "fail"})
		if res[0].Found || res[0].Err != nil {
			t.Fatalf("missing: %+v, want not found", res[0])
		}
		if res[1].Err == nil {
			t.Fatalf("fail: %+v, want the 400", res[1])
		}
	}
	asked := map[string]int{}
	for _, p := range srv.asked() {
		asked[p]++
	}
	if asked["/k/missing"] != 1 || asked["/k/fail"] != 2 || len(asked) != 2 {
		t.Fatalf("requests %v, want the 404 once and the 400 each time", asked)
	}
}

// TestRecentResultServesOnlyRequestsThatBeganBeforeIt: with caching off, a
// result that completed after a request began answers that request without
// a call (it overlapped the fetch: sharing it is what in-flight coalescing
// would have done had it asked a moment sooner); a request that began
// after the result completed fetches again.
func TestRecentResultServesOnlyRequestsThatBeganBeforeIt(t *testing.T) {
	srv := newKeyServer(t)
	cl, _ := newThingClient(nil, 4)
	route := thingRoute(srv.URL)
	first := upstream.WithRequest(context.Background(), upstream.NewRequest(time.Now()))
	overlapping := upstream.WithRequest(context.Background(), upstream.NewRequest(time.Now()))
	for _, ctx := range []context.Context{first, overlapping} {
		if r := upstream.GetMany(ctx, cl, route, []string{"a"})[0]; r.Err != nil || r.Value.Key != "a" {
			t.Fatalf("%+v", r)
		}
	}
	if n := len(srv.asked()); n != 1 {
		t.Fatalf("%d requests, want 1: the overlapping request shares the result", n)
	}
	if n := upstream.RequestFrom(overlapping).Calls(); n != 0 {
		t.Fatalf("the overlapping request counts %d calls, want 0", n)
	}
	// A clock reading after the result completed: time.Now is monotonic,
	// and the result was stored before GetMany returned.
	later := upstream.WithRequest(context.Background(), upstream.NewRequest(time.Now().Add(time.Millisecond)))
	if r := upstream.GetMany(later, cl, route, []string{"a"})[0]; r.Err != nil {
		t.Fatal(r.Err)
	}
	if n := len(srv.asked()); n != 2 {
		t.Fatalf("%d requests, want 2: a request that began later fetches again", n)
	}
}

// TestTokenEndpointFailures: the token endpoint's 429 is a rate limit (with
// its Retry-After), its 5xx an upstream error, its 401 the gateway's
// credentials refused; none of them is retried, and no API call is sent
// without a token.
func TestTokenEndpointFailures(t *testing.T) {
	for _, tc := range []struct {
		status int
		kind   upstream.Kind
	}{
		{http.StatusTooManyRequests, upstream.KindRateLimited},
		{http.StatusServiceUnavailable, upstream.KindOther},
		{http.StatusUnauthorized, upstream.KindUnauthorized},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			tokens := newStatusServer(t, tc.status, http.Header{"Retry-After": {"7"}})
			api := newStatusServer(t, http.StatusOK, nil)
			src := upstream.NewClientCredentials("auth0", tokens.URL+"/oauth/token", "id", "secret", nil, nil, http.DefaultClient)
			c := upstream.NewClient("auth0", http.DefaultClient, src, 5*time.Second)
			var out any
			err := c.GetJSON(context.Background(), "GET /k/{key}", api.URL+"/k/a", &out)
			var ue *upstream.Error
			if !errors.As(err, &ue) || ue.Kind != tc.kind || ue.Status != tc.status || ue.Route != "token" {
				t.Fatalf("error %v, want the token endpoint's %d as %v", err, tc.status, tc.kind)
			}
			if tc.kind == upstream.KindRateLimited && ue.RetryAfter != 7*time.Second {
				t.Fatalf("RetryAfter %v, want the endpoint's 7s", ue.RetryAfter)
			}
			if n, m := tokens.calls.Load(), api.calls.Load(); n != 1 || m != 0 {
				t.Fatalf("%d token requests and %d API requests, want 1 and 0", n, m)
			}
		})
	}
}
