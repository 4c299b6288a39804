package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orgraph/orgraph/internal/testutil/redistest"
)

// holdFirstScript holds the first reservation round trip until release is
// called, and counts the round trips that run the script.
type holdFirstScript struct {
	rounds  atomic.Int64
	release chan struct{}
}

func (h *holdFirstScript) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *holdFirstScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *holdFirstScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name == "evalsha" || name == "eval" {
			if h.rounds.Add(1) == 1 {
				<-h.release
			}
		}
		return next(ctx, cmd)
	}
}

// TestReservationsOfOneMomentShareARoundTrip: 50 requests that ask for a
// slot while a round trip is on its way are all answered by the next one,
// in the order they asked, and none takes more than its slot.
func TestReservationsOfOneMomentShareARoundTrip(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	hook := &holdFirstScript{release: make(chan struct{})}
	rdb.AddHook(hook)
	g := New(Config{Rate: 1000, Burst: 100, Redis: rdb, Prefix: prefix})
	s := g.service("auth0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	first := make(chan error, 1)
	go func() { first <- g.Wait(ctx, "auth0") }() // its round trip is held
	waitUntil(t, func() bool { return hook.rounds.Load() == 1 })
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() { errs[i] = g.Wait(ctx, "auth0") })
	}
	waitUntil(t, func() bool {
		s.reservations.mu.Lock()
		defer s.reservations.mu.Unlock()
		return len(s.reservations.queue) == 50
	})
	close(hook.release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := hook.rounds.Load(); n != 2 {
		t.Fatalf("%d reservation round trips for 51 requests, want 2", n)
	}
	// 51 slots taken, each one interval apart: the state moved by 51 ms.
	tat, err := rdb.Get(ctx, s.key).Int64()
	if err != nil {
		t.Fatal(err)
	}
	redisNow, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	ahead := time.Duration(tat-redisNow.UnixMicro()) * time.Microsecond
	if ahead < 40*time.Millisecond || ahead > 52*time.Millisecond {
		t.Fatalf("the budget's state is %v ahead, want about 51 slots of 1 ms", ahead)
	}
}

// TestReservationsKeepEachOnesDeadline: in one round trip, an ask whose
// slot comes after its own deadline is refused without taking it, while the
// others are served.
func TestReservationsKeepEachOnesDeadline(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := New(Config{Rate: 10, Burst: 1, Redis: rdb, Prefix: prefix})
	s := g.service("identity")
	res, err := g.reserveRound(context.Background(), s, []int64{int64(time.Hour / time.Microsecond), 50_000, int64(time.Hour / time.Microsecond)})
	if err != nil {
		t.Fatal(err)
	}
	// Slots every 100 ms: the first now, the second at 100 ms (past its
	// 50 ms), the third takes the second's place.
	if res[0][0] != 1 || res[1][0] != 0 || res[2][0] != 1 || res[2][1] > 110_000 {
		t.Fatalf("round trip answered %v", res)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
