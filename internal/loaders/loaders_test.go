package loaders

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/orgraph/orgraph/internal/upstream"
)

func TestBatchFuncOneResultPerKeyInKeyOrder(t *testing.T) {
	var inFlight, peak atomic.Int32
	boom := errors.New("boom")
	fetch := func(_ context.Context, k string) (*string, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer inFlight.Add(-1)
		switch {
		case strings.HasPrefix(k, "missing"):
			return nil, &upstream.Error{Kind: upstream.KindNotFound, Status: 404}
		case strings.HasPrefix(k, "fail"):
			return nil, boom
		}
		v := "value-" + k
		return &v, nil
	}
	keys := []string{"z", "missing-1", "a", "fail-1", "m", "b", "c", "d", "e", "f"}
	results := batchFunc(3, edge[string, *string]{compare: strings.Compare, fetch: fetch})(context.Background(), keys)
	if len(results) != len(keys) {
		t.Fatalf("%d results for %d keys", len(results), len(keys))
	}
	for i, k := range keys {
		r := results[i]
		switch {
		case strings.HasPrefix(k, "missing"):
			if r.Data != nil || r.Error != nil {
				t.Errorf("%s: not found should be (nil, nil), got (%v, %v)", k, r.Data, r.Error)
			}
		case strings.HasPrefix(k, "fail"):
			if !errors.Is(r.Error, boom) {
				t.Errorf("%s: error %v", k, r.Error)
			}
		default:
			if r.Error != nil || r.Data == nil || *r.Data != "value-"+k {
				t.Errorf("%s: got (%v, %v)", k, r.Data, r.Error)
			}
		}
	}
	if p := peak.Load(); p > 3 {
		t.Fatalf("%d fetches at once, bound 3", p)
	}
}

func TestBatchFuncFetchesOverflowInCanonicalOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	fetch := func(_ context.Context, k string) (string, error) {
		mu.Lock()
		order = append(order, k)
		mu.Unlock()
		return k, nil
	}
	batchFunc(1, edge[string, string]{compare: strings.Compare, fetch: fetch})(context.Background(), []string{"d", "b", "a", "c"})
	if got := strings.Join(order, ""); got != "abcd" {
		t.Fatalf("fetch order %s, want abcd", got)
	}
}

func TestForWithoutMiddlewareIsAnError(t *testing.T) {
	if _, err := For(context.Background()); !errors.Is(err, ErrNoLoaders) {
		t.Fatalf("got %v", err)
	}
}
