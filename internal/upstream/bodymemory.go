package upstream

import (
	"io"

	"golang.org/x/sync/semaphore"
)

// BodyMemory bounds the bytes of the upstream bodies being read and decoded
// at once, by every call of the clients that share it. MaxBody bounds one
// body; without this, a hostile or broken upstream answering every call of
// a wide level (UPSTREAM_CONCURRENCY of them at once) with a body at that
// bound would make the gateway hold all of them together. Real answers are
// kilobytes, so a budget of a few bounds is never reached by them.
//
// A body takes its bytes as it grows and never waits for them: a call that
// would go over the budget fails at once (body_too_large), as one over
// MaxBody does. Waiting while holding part of a body could leave every
// reader waiting for the others until their deadlines.
type BodyMemory struct {
	sem *semaphore.Weighted
}

// BodiesPerBudget is how many bodies at the MaxBody bound the gateway's
// BodyMemory holds: one such body is already far beyond a real answer, and
// four let a few of them, or hundreds of real ones, be read side by side.
const BodiesPerBudget = 2

// NewBodyMemory returns a budget of size bytes.
func NewBodyMemory(size int64) *BodyMemory {
	return &BodyMemory{sem: semaphore.NewWeighted(size)}
}

// take reserves n more bytes; a nil budget has room for anything.
func (m *BodyMemory) take(n int64) bool {
	return m == nil || m.sem.TryAcquire(n)
}

// give returns n bytes.
func (m *BodyMemory) give(n int64) {
	if m != nil && n > 0 {
		m.sem.Release(n)
	}
}

// Release returns the bytes of a body read by readBounded, once it has been
// decoded and is no longer needed whole.
func (m *BodyMemory) Release(body []byte) { m.give(int64(cap(body))) }

// boundError is a body that ran into a bound: MaxBody, or the shared
// budget when overBudget.
type boundError struct{ overBudget bool }

func (boundError) Error() string { return "body over its bound" }

// readBounded reads r to its end into a buffer of at most limit bytes,
// whose capacity it holds in m until Release: a body of declared length n
// (n >= 0) in one buffer of exactly n, otherwise in a buffer that doubles
// as it fills. It stops reading one byte past limit, or when m has no room
// for the next growth, with a boundError and nothing held.
func readBounded(r io.Reader, n, limit int64, m *BodyMemory) ([]byte, error) {
	if n > limit {
		return nil, boundError{}
	}
	if n >= 0 {
		if !m.take(n) {
			return nil, boundError{overBudget: true}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			m.give(n)
			return nil, err
		}
		return body, nil
	}
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				m.give(int64(cap(buf)))
				return nil, boundError{}
			}
			grown := min(max(2*int64(cap(buf)), 512), limit+1)
			if !m.take(grown - int64(cap(buf))) {
				m.give(int64(cap(buf)))
				return nil, boundError{overBudget: true}
			}
			next := make([]byte, len(buf), grown)
			copy(next, buf)
			buf = next
		}
		k, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				m.give(int64(cap(buf)))
				return nil, boundError{}
			}
			return buf, nil
		}
		if err != nil {
			m.give(int64(cap(buf)))
			return nil, err
		}
	}
}
