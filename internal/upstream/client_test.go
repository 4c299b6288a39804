package upstream_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/ratelimit"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestJoinerOutOfTimeForBudgetIsRateLimited: a request that joins an
// identical call still queued for the rate budget, and whose deadline comes
// before the budget does, is out of time for budget (RATE_LIMITED), not
// facing an upstream that did not answer. The call itself goes out once,
// for the request that can wait.
func TestJoinerOutOfTimeForBudgetIsRateLimited(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	c := upstream.NewClient("auth0", http.DefaultClient, upstream.NewStaticToken(testutil.Auth0Token), 5*time.Second)
	queued := make(chan struct{})
	gov := ratelimit.New(ratelimit.Config{Rate: 1, Burst: 1}) // a slot every second
	if err := gov.Wait(context.Background(), "auth0"); err != nil {
		t.Fatal(err)
	}
	c.Limiter = &signallingLimiter{Limiter: gov, entered: queued}
	url := base + "/api/v2/organizations"

	leader := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out any
		leader <- c.GetJSON(ctx, "GET /api/v2/organizations", url, &out)
	}()
	<-queued // the leader is queued for the next slot

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var out any
	err := c.GetJSON(ctx, "GET /api/v2/organizations", url, &out)
	if k, _ := upstream.KindOf(err); k != upstream.KindRateLimited {
		t.Fatalf("joiner out of time: %v (kind %v), want KindRateLimited", err, k)
	}
	if err := <-leader; err != nil {
		t.Fatalf("leader: %v", err)
	}
	if n := sim.Count(upstreamsim.RouteOrganizations); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// signallingLimiter closes entered when its first Wait begins, so a test
// knows a call is queued for budget without guessing how long that takes.
type signallingLimiter struct {
	upstream.Limiter
	entered chan struct{}
	once    sync.Once
}

func (l *signallingLimiter) Wait(ctx context.Context, service string) error {
	l.once.Do(func() { close(l.entered) })
	return l.Limiter.Wait(ctx, service)
}
