package cache

import (
	"fmt"
	"testing"
	"time"
)

// TestLocalTierIsBoundedInBytes: entries weigh what their bodies weighed, so
// a few large answers cannot hold more than LocalBytes.
func TestLocalTierIsBoundedInBytes(t *testing.T) {
	c, err := New(Config{TTL: time.Minute, LocalBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 64 {
		c.SetLocal(fmt.Sprintf("k%d", i), c.NewEntry(200, i, 100<<10)) // 100 KiB each
	}
	kept := 0
	c.local.CleanUp() // eviction runs in the background; finish it now
	for i := range 64 {
		if c.Local(fmt.Sprintf("k%d", i)) != nil {
			kept++
		}
	}
	if kept == 0 || kept > 10 {
		t.Fatalf("kept %d entries of 100 KiB under a 1 MiB bound", kept)
	}
}
