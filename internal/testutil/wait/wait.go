// Package wait gives tests one way to wait for another goroutine's
// progress: poll a condition, with a deadline instead of a guessed sleep. It
// imports nothing of the gateway, so a package's internal tests can use it
// where internal/testutil (which builds whole gateways) would be an import
// cycle.
package wait

import (
	"testing"
	"time"
)

// Deadline is how long Until waits before it fails the test: far beyond
// what any awaited step takes on a loaded machine, so reaching it means the
// step never happens.
const Deadline = 10 * time.Second

// Until polls cond every millisecond until it holds, and fails the test
// when it has not held within Deadline.
func Until(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached within %s", Deadline)
		}
		time.Sleep(time.Millisecond)
	}
}
