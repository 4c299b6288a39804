package upstream

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestCallBudgetCounts: SpendCall admits exactly max calls however many
// goroutines spend at once, a refund makes room again, and a refusal
// records nothing.
func TestCallBudgetCounts(t *testing.T) {
	const max = 50
	ctx := WithCallBudget(context.Background(), max)
	var mu sync.Mutex
	admitted, refused := 0, 0
	var wg sync.WaitGroup
	for range 4 * max {
		wg.Go(func() {
			err := SpendCall(ctx)
			mu.Lock()
			defer mu.Unlock()
			var be *CallBudgetError
			switch {
			case err == nil:
				admitted++
			case errors.As(err, &be) && be.Max == max:
				refused++
			default:
				t.Errorf("unexpected %v", err)
			}
		})
	}
	wg.Wait()
	if admitted != max || refused != 3*max {
		t.Fatalf("admitted %d, refused %d; want %d and %d", admitted, refused, max, 3*max)
	}
	refundCall(ctx)
	if err := SpendCall(ctx); err != nil {
		t.Fatalf("after a refund: %v", err)
	}
	if err := SpendCall(ctx); err == nil {
		t.Fatal("spent budget admitted a call")
	}
	for _, c := range []context.Context{context.Background(), WithCallBudget(context.Background(), 0)} {
		if err := SpendCall(c); err != nil {
			t.Fatalf("no budget: %v", err)
		}
	}
}

// TestSpentByOther tells a joiner's own refusal from its leader's, and a
// detached context from the operation's.
func TestSpentByOther(t *testing.T) {
	mine := WithCallBudget(context.Background(), 1)
	theirs := WithCallBudget(context.Background(), 1)
	_ = SpendCall(mine)
	_ = SpendCall(theirs)
	myErr, theirErr := SpendCall(mine), SpendCall(theirs)
	if spentByOther(mine, myErr) || !spentByOther(mine, theirErr) || !spentByOther(context.Background(), theirErr) {
		t.Fatal("spentByOther confuses whose budget ran out")
	}
	if spentByOther(mine, errors.New("other")) || spentByOther(mine, nil) {
		t.Fatal("spentByOther on an error that is no budget's")
	}
	if err := SpendCall(WithRequest(mine, RequestFrom(mine).detached(time.Now()))); err != nil {
		t.Fatalf("detached context still spends the operation's budget: %v", err)
	}
}
