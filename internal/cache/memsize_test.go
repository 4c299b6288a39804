package cache_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/cache"
)

// heapPerValue is the heap that n values made by build hold, each, as the
// runtime counts it.
func heapPerValue(n int, build func(i int) any) float64 {
	keep := make([]any, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = build(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

type org struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	DisplayName *string            `json:"display_name"`
	Metadata    map[string]*string `json:"metadata"`
}

type member struct {
	UserID string  `json:"user_id"`
	Email  *string `json:"email"`
	Name   *string `json:"name"`
}

// TestMemSizeCoversWhatValuesHold: the estimate is at least what decoded
// values really hold (so the in-process tier's bound holds), and not wildly
// more (so the tier still holds what fits). JSON bodies understate some of
// these shapes several times over.
func TestMemSizeCoversWhatValuesHold(t *testing.T) {
	var meta []string
	for i := range 25 {
		meta = append(meta, fmt.Sprintf(`"%c":"v"`, 'a'+i))
	}
	tinyMetadata := `{"id":"org_%d","name":"n","display_name":"d","metadata":{` + strings.Join(meta, ",") + `}}`
	var members []string
	for i := range 50 {
		members = append(members, fmt.Sprintf(`{"user_id":"auth0|%d","email":"a@b.c","name":"n"}`, i))
	}
	memberList := `[` + strings.Join(members, ",") + `]//%d`
	for _, tc := range []struct {
		name string
		body string
		into func() any
	}{
		{"organization with 25 tiny metadata entries", tinyMetadata, func() any { return new(org) }},
		{"list of 50 members", memberList, func() any { return new([]member) }},
		{"generic JSON", tinyMetadata, func() any { return new(any) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decode := func(i int) any {
				body, _, _ := strings.Cut(fmt.Sprintf(tc.body, i), "//")
				v := tc.into()
				if err := json.Unmarshal([]byte(body), v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			real := heapPerValue(2000, decode)
			est := float64(cache.MemSize(decode(1)))
			body, _, _ := strings.Cut(fmt.Sprintf(tc.body, 1), "//")
			t.Logf("body %d bytes, held %.0f, estimated %.0f", len(body), real, est)
			// The race detector's own allocations are not what a production
			// build holds: under it only the upper bound is checked.
			if est < real && !raceEnabled || est > 3*real {
				t.Fatalf("estimate %.0f for %.0f bytes held: want between 1 and 3 times", est, real)
			}
		})
	}
}
