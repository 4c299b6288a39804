package ratelimit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Reservations are grouped: the requests of one service that ask for a slot
// while a round trip to Redis is on its way wait together, and the next
// round trip reserves all their slots at once, in the order they asked
// (FIFO, as if each had called alone). A loader batch of 50 misses thus costs
// one or two Redis round trips instead of 50, and no request waits longer
// than one round trip plus its own: nothing is held back on a timer.

// reservation is one request's ask, until its round trip answers.
type reservation struct {
	maxWait int64 // µs
	taken   bool
	wait    int64 // µs
	err     error
	done    chan struct{}
}

// reservationQueue holds the asks waiting for the next round trip.
type reservationQueue struct {
	mu      sync.Mutex
	queue   []*reservation
	running bool // a round trip is on its way; its caller sends the next one
}

// reserve takes one slot of s's shared budget, grouped with the asks of the
// same moment. It reports whether the slot was taken (it is not when it
// would come after maxWait µs) and how long to wait for it.
func (g *Governor) reserve(ctx context.Context, s *serviceState, maxWait int64) (bool, time.Duration, error) {
	r := &reservation{maxWait: maxWait, done: make(chan struct{})}
	q := &s.reservations
	q.mu.Lock()
	q.queue = append(q.queue, r)
	lead := !q.running
	q.running = true
	q.mu.Unlock()
	if lead {
		g.drain(s)
	}
	select {
	case <-r.done:
		return r.taken, time.Duration(r.wait) * time.Microsecond, r.err
	case <-ctx.Done():
		// Whether the slot was taken is not known yet; like a call cut off
		// in flight, it may be spent.
		return false, 0, ctx.Err()
	}
}

// drain sends the round trip for the asks queued now, and leaves the next
// one to a goroutine of its own so that its caller returns with its answer.
func (g *Governor) drain(s *serviceState) {
	q := &s.reservations
	q.mu.Lock()
	group := q.queue
	q.queue = nil
	q.mu.Unlock()

	maxWaits := make([]int64, len(group))
	for i, r := range group {
		maxWaits[i] = r.maxWait
	}
	// The round trip is everyone's: no single caller's cancellation ends it.
	ctx, cancel := context.WithTimeout(context.Background(), g.redisTimeout)
	res, err := g.reserveRound(ctx, s, maxWaits)
	cancel()
	for i, r := range group {
		if err != nil {
			r.err = err
		} else {
			r.taken, r.wait = res[i][0] == 1, res[i][1]
		}
		close(r.done)
	}

	q.mu.Lock()
	if len(q.queue) == 0 {
		q.running = false
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	go g.drain(s)
}

// reserveRound runs the reservation script for asks with these longest
// waits, in one round trip, and returns {taken, wait µs} for each.
func (g *Governor) reserveRound(ctx context.Context, s *serviceState, maxWaits []int64) ([][2]int64, error) {
	args := make([]any, 0, 2+len(maxWaits))
	args = append(args, g.interval.Microseconds(), g.burst)
	for _, w := range maxWaits {
		args = append(args, w)
	}
	flat, err := reserveScript.Run(ctx, g.rdb, []string{s.key}, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(flat) != 2*len(maxWaits) {
		return nil, errors.New("unexpected reply from the reservation script")
	}
	out := make([][2]int64, len(maxWaits))
	for i := range out {
		out[i] = [2]int64{flat[2*i], flat[2*i+1]}
	}
	return out, nil
}
