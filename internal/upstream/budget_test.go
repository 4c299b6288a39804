package upstream_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/wait"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

const orgsRoute = "GET /api/v2/organizations"

func orgsURL(base string, take int) string {
	return fmt.Sprintf("%s/api/v2/organizations?take=%d", base, take)
}

func newBudgetClient(t *testing.T, c *cache.Cache) *upstream.Client {
	t.Helper()
	cl := upstream.NewClient("auth0", http.DefaultClient, upstream.NewStaticToken(testutil.Auth0Token), 5*time.Second)
	cl.Cache = c
	return cl
}

func inProcessCache(t *testing.T, now func() time.Time) *cache.Cache {
	t.Helper()
	c, err := cache.New(cache.Config{TTL: 10 * time.Second, StaleTTL: time.Hour, NotFoundTTL: time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// spent returns a context whose budget of one call is already spent.
func spent(t *testing.T) context.Context {
	t.Helper()
	ctx := upstream.WithCallBudget(context.Background(), 1)
	if err := upstream.SpendCall(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestCallBudgetRefusesTheCallAfterTheLast: with a budget of N, N requests
// go upstream and the next is refused before it is sent; cache hits cost
// nothing, so they still answer.
func TestCallBudgetRefusesTheCallAfterTheLast(t *testing.T) {
	const budget = 3
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	c := newBudgetClient(t, inProcessCache(t, time.Now))
	ctx := upstream.WithCallBudget(context.Background(), budget)

	for take := 1; take <= budget; take++ {
		var out any
		if err := c.GetJSON(ctx, orgsRoute, orgsURL(base, take), &out); err != nil {
			t.Fatalf("call %d: %v", take, err)
		}
	}
	var out any
	err := c.GetJSON(ctx, orgsRoute, orgsURL(base, budget+1), &out)
	var be *upstream.CallBudgetError
	if !errors.As(err, &be) || be.Max != budget {
		t.Fatalf("call %d: %v, want a CallBudgetError of %d", budget+1, err, budget)
	}
	if n := sim.Count(upstreamsim.RouteOrganizations); n != budget {
		t.Fatalf("%d upstream calls, want %d", n, budget)
	}
	for take := 1; take <= budget; take++ {
		if err := c.GetJSON(ctx, orgsRoute, orgsURL(base, take), &out); err != nil {
			t.Fatalf("cache hit %d refused: %v", take, err)
		}
	}
	if n := sim.Count(upstreamsim.RouteOrganizations); n != budget {
		t.Fatalf("cache hits went upstream: %d calls", n)
	}
	// Without a budget nothing is counted or refused.
	if err := c.GetJSON(context.Background(), orgsRoute, orgsURL(base, budget+1), &out); err != nil {
		t.Fatal(err)
	}
	if err := upstream.SpendCall(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestJoinerDoesNotPay: a request that shares an identical call already in
// flight gets its result without spending its budget, even a spent one.
func TestJoinerDoesNotPay(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{Latency: 300 * time.Millisecond})
	c := newBudgetClient(t, nil)
	began := time.Now()
	leader := make(chan error, 1)
	go func() {
		ctx := upstream.WithCallBudget(upstream.WithRequest(context.Background(), upstream.NewRequest(began)), 1)
		var out any
		leader <- c.GetJSON(ctx, orgsRoute, orgsURL(base, 5), &out)
	}()
	wait.Until(t, func() bool { return sim.Count(upstreamsim.RouteOrganizations) == 1 })

	var out any
	if err := c.GetJSON(spentSince(t, began), orgsRoute, orgsURL(base, 5), &out); err != nil {
		t.Fatalf("joiner with a spent budget: %v", err)
	}
	if err := <-leader; err != nil {
		t.Fatalf("leader: %v", err)
	}
	if n := sim.Count(upstreamsim.RouteOrganizations); n != 1 {
		t.Fatalf("%d upstream calls, want 1", n)
	}
}

// TestLeadersSpentBudgetIsNotTheJoinersError: when the request leading a
// shared call has spent its budget, the call fails for it alone; requests
// that joined fetch under their own budget. Whether a request joins is up to
// the scheduler, so each round races one spent request against several with
// budget left, over many rounds.
func TestLeadersSpentBudgetIsNotTheJoinersError(t *testing.T) {
	const rounds, joiners = 500, 8
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	c := newBudgetClient(t, nil)
	for i := range rounds {
		spentCtx := spent(t)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, joiners+1)
		for j := range errs {
			ctx := spentCtx
			if j > 0 {
				ctx = upstream.WithCallBudget(context.Background(), 5)
			}
			wg.Go(func() {
				<-start
				var out any
				errs[j] = c.GetJSON(ctx, orgsRoute, orgsURL(base, 1), &out)
			})
		}
		close(start)
		wg.Wait()
		var be *upstream.CallBudgetError
		if errs[0] != nil && !errors.As(errs[0], &be) {
			t.Fatalf("round %d: the spent request failed otherwise: %v", i, errs[0])
		}
		for j, err := range errs[1:] {
			if err != nil {
				t.Fatalf("round %d: request %d, with budget left, failed: %v", i, j+1, err)
			}
		}
	}
}

// TestStaleRefreshIsNotTheOperationsCall: a stale entry is answered at once
// and refreshed in the background; the refresh is the gateway's, not the
// operation's, so a spent budget neither pays for nor stops it.
func TestStaleRefreshIsNotTheOperationsCall(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	// Entries are written a minute old, so with a TTL of 10 s they are
	// stale, and still servable, as soon as they are stored.
	c := newBudgetClient(t, inProcessCache(t, func() time.Time { return time.Now().Add(-time.Minute) }))
	var out any
	if err := c.GetJSON(context.Background(), orgsRoute, orgsURL(base, 2), &out); err != nil {
		t.Fatal(err)
	}
	if err := c.GetJSON(spent(t), orgsRoute, orgsURL(base, 2), &out); err != nil {
		t.Fatalf("stale entry with a spent budget: %v", err)
	}
	wait.Until(t, func() bool { return sim.Count(upstreamsim.RouteOrganizations) == 2 })
}

// TestRetryWithoutBudgetKeepsTheFailure: when the budget has no room for a
// retry, the caller gets the upstream's failure, not the budget's refusal:
// that is what went wrong.
func TestRetryWithoutBudgetKeepsTheFailure(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	sim.SetFault("/api/v2/organizations", http.StatusServiceUnavailable)
	c := newBudgetClient(t, nil)
	var out any
	err := c.GetJSON(upstream.WithCallBudget(context.Background(), 1), orgsRoute, orgsURL(base, 1), &out)
	var ue *upstream.Error
	if !errors.As(err, &ue) || ue.Status != http.StatusServiceUnavailable {
		t.Fatalf("%v, want the upstream's 503", err)
	}
	if n := sim.Count(upstreamsim.RouteOrganizations); n != 1 {
		t.Fatalf("%d upstream calls, want 1 (no retry without budget)", n)
	}
}

// spentSince returns the context of a request that began at began and has
// spent its budget of one call.
func spentSince(t *testing.T, began time.Time) context.Context {
	t.Helper()
	ctx := upstream.WithCallBudget(upstream.WithRequest(context.Background(), upstream.NewRequest(began)), 1)
	if err := upstream.SpendCall(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}
