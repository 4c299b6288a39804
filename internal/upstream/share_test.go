package upstream

import (
	"github.com/orgraph/orgraph/internal/cache"
	"strconv"
	"testing"
	"time"
)

func TestRecentResultsServeOnlyRequestsThatBeganBeforeCompletion(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var r recentResults
	r.put("k", &cache.Entry{}, t0)
	cases := []struct {
		name  string
		began time.Time
		now   time.Time
		hit   bool
	}{
		{"request began before the fetch completed", t0.Add(-time.Second), t0.Add(time.Second), true},
		{"request began as the fetch completed", t0, t0.Add(time.Second), true},
		{"request began after the fetch completed", t0.Add(time.Millisecond), t0.Add(time.Second), false},
		{"window over", t0.Add(-time.Second), t0.Add(sharedWindow + time.Nanosecond), false},
	}
	for _, tc := range cases {
		if _, ok := r.get("k", tc.began, tc.now); ok != tc.hit {
			t.Errorf("%s: hit=%v, want %v", tc.name, ok, tc.hit)
		}
	}
	if _, ok := r.get("other", t0.Add(-time.Second), t0); ok {
		t.Error("unknown key hit")
	}
}

func TestRecentResultsStayBounded(t *testing.T) {
	var r recentResults
	now := time.Unix(1000, 0)
	for i := 0; i < 3*maxShared; i++ {
		r.put(strconv.Itoa(i), &cache.Entry{}, now)
	}
	if len(r.byID) > maxShared || len(r.fifo) > maxShared+1 {
		t.Fatalf("kept %d results (%d queued), bound %d", len(r.byID), len(r.fifo), maxShared)
	}
	// Expired entries are dropped on the next write.
	r.put("late", &cache.Entry{}, now.Add(sharedWindow+time.Second))
	if len(r.byID) != 1 {
		t.Fatalf("expired results kept: %d", len(r.byID))
	}
}
