// Package clock is a test clock that moves only when a test moves it, for
// code that takes a Now function (probe intervals, expiries): the test then
// says exactly when an interval has passed, instead of sleeping through it.
// It imports nothing of the gateway, so any package's tests can use it.
package clock

import (
	"sync/atomic"
	"time"
)

// Clock is a stopped clock; it is safe for concurrent use.
type Clock struct{ nanos atomic.Int64 }

// New returns a clock stopped at start.
func New(start time.Time) *Clock {
	c := &Clock{}
	c.nanos.Store(start.UnixNano())
	return c
}

// Now is the clock's time; pass it where a Now func() time.Time is wanted.
func (c *Clock) Now() time.Time { return time.Unix(0, c.nanos.Load()) }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.nanos.Add(int64(d)) }
