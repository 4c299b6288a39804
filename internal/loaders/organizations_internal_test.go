package loaders

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/graph-gophers/dataloader/v7"

	"github.com/orgraph/orgraph/internal/auth0"
)

// TestOrganizationWaitEndsWithTheRequest: a batch by id that waits for a
// fetch by name in flight stops waiting when its request is cancelled, and
// answers each of its keys with the context's error; it asks no upstream
// (the Loaders here have none: a call would panic).
func TestOrganizationWaitEndsWithTheRequest(t *testing.T) {
	l := &Loaders{}
	l.orgs.init()
	l.orgs.mu.Lock()
	l.orgs.begin(lookupByName) // a fetch by name that never ends
	l.orgs.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	keys := []OrganizationKey{{ID: "org_1"}, {ID: "org_2"}}
	results := make([]*dataloader.Result[*auth0.Organization], len(keys))
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.fetchOrganizationsBy(ctx, lookupByID, keys, []int{0, 1}, results)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a failure bound, not a measurement
		t.Fatal("the cancelled batch is still waiting for the fetch by name")
	}
	for i, r := range results {
		if r == nil || !errors.Is(r.Error, context.Canceled) || r.Data != nil {
			t.Errorf("result %d = %+v; want the error %v", i, r, context.Canceled)
		}
	}
	// The fetch by name still counts as in flight, and ends cleanly.
	l.orgs.mu.Lock()
	l.orgs.end(lookupByName)
	l.orgs.mu.Unlock()
}
