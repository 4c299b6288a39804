package upstream

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// A call budget caps the requests one GraphQL operation may send upstream.
// The complexity limit (internal/limits) estimates before execution what an
// operation could cost; the budget is what stops it during execution when the
// estimate was wrong: a user in 500 organizations, an organization with
// thousands of connections (one call per page), retries.
//
// Only requests actually sent count: cache hits, results shared with an
// identical call in flight (the leader pays, joiners do not), results shared
// just after the fact (share.go) and background refreshes of stale entries
// cost nothing. Each attempt of a retried call counts, because each one is a
// request the upstream's rate limit sees. The budget is spent before the rate
// governor is asked, so a refused call takes no slot of the shared budget.

// callBudget is one operation's counter, shared by every resolver and loader
// batch of that operation through its Request.
type callBudget struct {
	max   int64
	spent atomic.Int64
}

// WithCallBudget returns a context under which at most max requests are sent
// upstream; the (max+1)-th is refused with a *CallBudgetError. max < 1 means
// no budget. The budget belongs to the request on ctx (internal/limits sets
// it before the operation runs), so every resolver and loader batch of the
// operation shares the one counter; without a request on ctx, a new one is
// made to carry it.
func WithCallBudget(ctx context.Context, max int) context.Context {
	r := RequestFrom(ctx)
	if r == nil {
		r = &Request{}
		ctx = WithRequest(ctx, r)
	}
	r.budget = nil
	if max >= 1 {
		r.budget = &callBudget{max: int64(max)}
	}
	return ctx
}

func budgetOf(ctx context.Context) *callBudget {
	if r := RequestFrom(ctx); r != nil {
		return r.budget
	}
	return nil
}

// SpendCall records one request about to be sent upstream under ctx's
// budget. It returns a *CallBudgetError, and records nothing, when the budget
// is spent; nil when there is room or ctx carries no budget.
func SpendCall(ctx context.Context) error {
	b := budgetOf(ctx)
	if b == nil {
		return nil
	}
	if n := b.spent.Add(1); n > b.max {
		b.spent.Add(-1)
		return &CallBudgetError{Max: int(b.max), budget: b}
	}
	return nil
}

// refundCall gives back a call SpendCall recorded that was not sent after
// all (the governor or the token source refused first).
func refundCall(ctx context.Context) {
	if b := budgetOf(ctx); b != nil {
		b.spent.Add(-1)
	}
}

// CallBudgetError means the operation has sent as many upstream requests as
// its budget allows, so this one was not sent. It is the caller's query that
// asks for too much, not an upstream failure: the error presenter shows it as
// BAD_USER_INPUT naming the limit.
type CallBudgetError struct {
	Max int // the operation's budget

	budget *callBudget // whose budget: see spentByOther
}

func (e *CallBudgetError) Error() string {
	return fmt.Sprintf("upstream call budget of %d calls per operation is spent", e.Max)
}

// spentByOther reports whether err is another operation's budget running out:
// the leader of a shared call was refused, and the joiner under ctx (with a
// budget of its own, or none) must not inherit that refusal.
func spentByOther(ctx context.Context, err error) bool {
	var be *CallBudgetError
	return errors.As(err, &be) && be.budget != budgetOf(ctx)
}
