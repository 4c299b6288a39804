package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/testutil/wait"
)

// holdFirstScript holds the first reservation round trip until release is
// called, and counts the round trips that run the reservation script on key
// (the governor's heartbeat runs a script too).
type holdFirstScript struct {
	key     string
	rounds  atomic.Int64
	release chan struct{}
}

func (h *holdFirstScript) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *holdFirstScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *holdFirstScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); (name == "evalsha" || name == "eval") && len(cmd.Args()) > 3 && cmd.Args()[3] == h.key {
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
	hook := &holdFirstScript{key: prefix + "rl:auth0", release: make(chan struct{})}
	rdb.AddHook(hook)
	// 10/s, a burst of 100: none of the 51 waits, and each slot moves the
	// state by 100 ms, far more than a busy machine delays the test.
	// A Redis timeout no loaded machine reaches: a fallback to the local
	// limiter would leave the held round trip the only one.
	g := New(Config{Rate: 10, Burst: 100, Redis: rdb, Prefix: prefix, RedisTimeout: time.Minute})
	t.Cleanup(g.Close)
	s := g.service("auth0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}

	first := make(chan error, 1)
	go func() { first <- g.Wait(ctx, "auth0") }() // its round trip is held
	wait.Until(t, func() bool { return hook.rounds.Load() == 1 })
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() { errs[i] = g.Wait(ctx, "auth0") })
	}
	wait.Until(t, func() bool {
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
	// 51 slots taken, each one interval apart: the state is 5.1 s past the
	// moment the slots were taken, which lies between the Redis clock's
	// readings before the first Wait and now. Bounds from those readings
	// hold however long the machine took.
	tat, err := rdb.Get(ctx, s.key).Int64()
	if err != nil {
		t.Fatal(err)
	}
	after, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	const taken = 51 * 100 * time.Millisecond
	lo, hi := before.Add(taken).UnixMicro(), after.Add(taken).UnixMicro()
	if tat < lo || tat > hi {
		t.Fatalf("the budget's state is %v past the first reading and %v past the last, want 51 slots of 100 ms between them",
			time.Duration(tat-before.UnixMicro())*time.Microsecond, time.Duration(tat-after.UnixMicro())*time.Microsecond)
	}
}

// TestReservationsKeepEachOnesDeadline: in one round trip, an ask whose
// slot comes after its own deadline is refused without taking it, while the
// others are served.
func TestReservationsKeepEachOnesDeadline(t *testing.T) {
	rdb, prefix := redistest.Client(t)
	g := New(Config{Rate: 10, Burst: 1, Redis: rdb, Prefix: prefix})
	t.Cleanup(g.Close)
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
