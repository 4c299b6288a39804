package upstream_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/upstream"
)

// TestConcurrentCallersWithOtherCredentialsDoNotShareACall: two requests
// that ask for the same URL at the same moment, each with its own forwarded
// token, send one upstream request each and each get the answer to its own
// token. Sharing the first caller's call would hand one caller's data, read
// with another's rights, to the other. The upstream holds the first request
// until the second has arrived; when no second request comes (the callers
// shared one), it gives up after a bound and answers, and the counts show
// it.
func TestConcurrentCallersWithOtherCredentialsDoNotShareACall(t *testing.T) {
	var calls atomic.Int64
	second := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			select {
			case <-second:
			case <-time.After(3 * time.Second): // the second caller never asked
			case <-r.Context().Done():
			}
		case 2:
			close(second)
		}
		_ = json.NewEncoder(w).Encode(thing{Key: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	}))
	t.Cleanup(srv.Close)

	c := upstream.NewClient("auth0", http.DefaultClient, upstream.ForwardedToken{}, 10*time.Second)
	route := thingRoute(srv.URL)
	began := time.Now() // both requests overlap: results may be shared between them, by scope
	tokens := []string{"token-of-alice", "token-of-bob"}
	got := make([]chan upstream.Result[*thing], len(tokens))
	for i, tok := range tokens {
		got[i] = make(chan upstream.Result[*thing], 1)
		rq := upstream.NewRequest(began)
		rq.SetForwardedToken(tok)
		ctx := upstream.WithRequest(context.Background(), rq)
		go func() { got[i] <- upstream.Get(ctx, c, route, "same") }()
	}
	for i, tok := range tokens {
		res := <-got[i]
		if res.Err != nil {
			t.Fatalf("caller with %s: %v", tok, res.Err)
		}
		if res.Value == nil || res.Value.Key != tok {
			t.Errorf("caller with %s got the answer to %+v", tok, res.Value)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d upstream calls for two callers with different tokens, want 2", n)
	}
}
