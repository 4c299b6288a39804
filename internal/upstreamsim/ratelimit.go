package upstreamsim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// bucket is the token bucket Auth0 documents (burst = size, sustained = refill). A mutex is plenty:
// the critical section is a few float operations.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

type bucketState struct {
	ok         bool
	limit      int
	remaining  int
	reset      int64 // unix seconds when the bucket next gains a token
	retryAfter int64 // whole seconds, only when !ok
}

func (b *bucket) take(now time.Time) bucketState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
	st := bucketState{limit: int(b.burst)}
	if b.tokens >= 1 {
		b.tokens--
		st.ok = true
	}
	whole := math.Floor(b.tokens)
	st.remaining = int(whole)
	if b.tokens >= b.burst {
		st.reset = now.Unix()
	} else {
		next := now.Add(seconds((whole + 1 - b.tokens) / b.rate))
		st.reset = ceilUnix(next)
	}
	if !st.ok {
		st.retryAfter = max(1, int64(math.Ceil((1-b.tokens)/b.rate)))
	}
	return st
}

func (st bucketState) setHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(st.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(st.remaining))
	h.Set("X-RateLimit-Reset", itoa64(st.reset))
}

// seconds converts without overflowing for absurdly slow rates.
func seconds(f float64) time.Duration {
	const maxSeconds = float64(math.MaxInt64/int64(time.Second)) / 2
	if f > maxSeconds {
		f = maxSeconds
	}
	return time.Duration(f * float64(time.Second))
}

func ceilUnix(t time.Time) int64 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return u
}

func nowUnix() int64 { return time.Now().Unix() }
