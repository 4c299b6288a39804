package loaders

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/orgraph/orgraph/internal/upstream"
)

// TestLevelAsksEachKeyOnceAndAnswersEveryPosition: a level with repeated
// keys (organizations sharing a partition) makes one call with each key
// once, in first-seen order, and every position gets its key's answer or
// error; the keys given are not touched.
func TestLevelAsksEachKeyOnceAndAnswersEveryPosition(t *testing.T) {
	boom := errors.New("boom")
	var asked [][]string
	many := func(_ context.Context, keys []string) []upstream.Result[string] {
		asked = append(asked, slices.Clone(keys))
		out := make([]upstream.Result[string], len(keys))
		for i, k := range keys {
			switch k {
			case "missing":
				out[i] = upstream.Result[string]{}
			case "fail":
				out[i] = upstream.Result[string]{Err: boom}
			default:
				out[i] = upstream.Result[string]{Value: "v-" + k, Found: true}
			}
		}
		return out
	}
	keys := []string{"b", "a", "b", "missing", "fail", "a", "c"}
	given := slices.Clone(keys)
	values, errs := level(context.Background(), keys, many)
	if len(asked) != 1 || !slices.Equal(asked[0], []string{"b", "a", "missing", "fail", "c"}) {
		t.Fatalf("calls %v, want one call with each key once", asked)
	}
	if !slices.Equal(keys, given) {
		t.Fatalf("keys changed to %v", keys)
	}
	want := []string{"v-b", "v-a", "v-b", "", "", "v-a", "v-c"}
	if !slices.Equal(values, want) {
		t.Fatalf("values %q, want %q", values, want)
	}
	for i, err := range errs {
		if (keys[i] == "fail") != errors.Is(err, boom) {
			t.Fatalf("position %d (%s): error %v", i, keys[i], err)
		}
	}
	if _, errs := level(context.Background(), []string{"a", "b"}, many); errs != nil {
		t.Fatalf("no failure, errors %v: want nil", errs)
	}
}

// TestBatchOfKeepsKeyOrderAndTurnsNotFoundIntoZero: the dataloader batch
// function made from a client call answers one result per key in key order,
// a 404 as the zero value without an error.
func TestBatchOfKeepsKeyOrderAndTurnsNotFoundIntoZero(t *testing.T) {
	boom := errors.New("boom")
	batch := batchOf(func(_ context.Context, keys []string) []upstream.Result[*string] {
		out := make([]upstream.Result[*string], len(keys))
		for i, k := range keys {
			switch k {
			case "missing":
			case "fail":
				out[i].Err = boom
			default:
				v := "v-" + k
				out[i] = upstream.Result[*string]{Value: &v, Found: true}
			}
		}
		return out
	})
	keys := []string{"z", "missing", "a", "fail"}
	res := batch(context.Background(), keys)
	if len(res) != len(keys) {
		t.Fatalf("%d results for %d keys", len(res), len(keys))
	}
	if *res[0].Data != "v-z" || *res[2].Data != "v-a" || res[0].Error != nil {
		t.Fatalf("values out of key order: %+v", res)
	}
	if res[1].Data != nil || res[1].Error != nil {
		t.Fatalf("not found: %+v, want (nil, nil)", res[1])
	}
	if !errors.Is(res[3].Error, boom) {
		t.Fatalf("failure: %+v", res[3])
	}
}

func TestForWithoutMiddlewareIsAnError(t *testing.T) {
	if _, err := For(context.Background()); !errors.Is(err, ErrNoLoaders) {
		t.Fatalf("got %v", err)
	}
}
