package server_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/events"
	"github.com/orgraph/orgraph/internal/loadgen"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestEventStreamLoadFigures runs the load driver's default mix against two
// gateways side by side while the data changes twice a second: one with
// CACHE_TTL=1h and the simulator delivering its events, one with
// CACHE_TTL=60s and no events. It checks that the first shows the last
// change on the next query and that both answered every request, and logs
// the upstream calls per minute of each. The run lasts
// ORGRAPH_EVENTS_LOAD_DURATION (default 3s, which shows little of a 60s
// TTL; the README's figures come from 3m runs) and the data changes every
// ORGRAPH_EVENTS_LOAD_CHANGE_EVERY (default 500ms):
//
//	ORGRAPH_EVENTS_LOAD_DURATION=3m ORGRAPH_EVENTS_LOAD_CHANGE_EVERY=5s go test -v -run TestEventStreamLoadFigures ./internal/server
func TestEventStreamLoadFigures(t *testing.T) {
	duration := 3 * time.Second
	if v := os.Getenv("ORGRAPH_EVENTS_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("ORGRAPH_EVENTS_LOAD_DURATION: want a positive Go duration")
		}
		duration = d
	}
	every := 500 * time.Millisecond
	if v := os.Getenv("ORGRAPH_EVENTS_LOAD_CHANGE_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("ORGRAPH_EVENTS_LOAD_CHANGE_EVERY: want a positive Go duration")
		}
		every = d
	}
	data := upstreamsim.Config{Organizations: 120, Users: 60, MembershipsPerUser: 3, ConnectionsPerOrg: 2,
		Partitions: 6, GroupsPerPartition: 2, MembersPerGroup: 3}
	type setup struct {
		name string
		env  map[string]string
		sim  *upstreamsim.Simulator
		base string
		gw   *testutil.Gateway
		sum  *loadgen.Summary
		err  error
	}
	setups := []*setup{
		{name: "CACHE_TTL=1h with events", env: map[string]string{"CACHE_TTL": "1h", "AUTH0_EVENTS_SECRET": eventSecret}},
		{name: "CACHE_TTL=60s without events", env: map[string]string{"CACHE_TTL": "60s"}},
	}
	for _, s := range setups {
		s.sim, s.base = testutil.StartSimulator(t, data)
		redisEnv, _ := redistest.Env(t)
		s.gw = testutil.StartGateway(t, with(with(testutil.UpstreamEnv(s.base), redisEnv), s.env))
		if s.env["AUTH0_EVENTS_SECRET"] != "" {
			s.sim.SetWebhook(s.gw.URL+events.Path, eventAuth.Apply)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range setups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.sum, s.err = loadgen.Run(ctx, loadgen.Config{URL: s.gw.URL, SimURL: s.base, Mix: loadgen.DefaultMix(),
				Rate: 20, MaxInFlight: 20, Duration: duration, Timeout: 10 * time.Second})
		}()
	}
	// The data changes every ORGRAPH_EVENTS_LOAD_CHANGE_EVERY (default
	// twice a second) in both simulators, the same way:
	// an organization of the listed page renamed, a user's name changed.
	changes := make(chan struct{})
	go func() {
		defer close(changes)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, s := range setups {
				if err := change(ctx, s.sim, i); err != nil && ctx.Err() == nil {
					t.Errorf("%s: change %d: %v", s.name, i, err)
				}
			}
		}
	}()
	wg.Wait()
	cancel()
	<-changes

	last := setups[0]
	org := last.sim.Dataset().Organizations[0]
	got := answer(t, last.gw, eventQuery{qOrganization, map[string]any{"id": org.ID}})
	if !strings.Contains(got, fmt.Sprintf("%q", org.DisplayName)) {
		t.Errorf("with events, the last change is not served: want %q in %s", org.DisplayName, got)
	}
	for _, s := range setups {
		if s.err != nil {
			t.Fatalf("%s: %v", s.name, s.err)
		}
		if s.sum.Upstream == nil {
			t.Fatalf("%s: no upstream counts", s.name)
		}
		if errs := s.sum.HTTPErrors + s.sum.GraphQLErrors; errs > 0 || s.sum.Requests == 0 {
			t.Errorf("%s: %d of %d requests failed: %v %v", s.name, errs, s.sum.Requests, s.sum.HTTPErrorsByStatus, s.sum.GraphQLErrorsByCode)
		}
		t.Logf("%s: %d requests in %s, %d upstream calls, %.1f upstream calls per minute",
			s.name, s.sum.Requests, s.sum.Elapsed.Round(time.Millisecond), s.sum.Upstream.Calls, s.sum.Upstream.CallsPerSecond*60)
	}
}

// change makes the i-th change of the load run: a rename of one of the
// first organizations (the ones every page lists), or a user's new name.
func change(ctx context.Context, sim *upstreamsim.Simulator, i int) error {
	ds := sim.Dataset()
	var err error
	if i%2 == 0 {
		org := ds.Organizations[(i/2)%10]
		_, err = sim.UpdateOrganization(ctx, org.ID, upstreamsim.OrganizationChange{DisplayName: fmt.Sprintf("Renamed %d", i)})
		if err == nil && (i/2)%10 != 0 {
			// The check at the end reads the first organization: it is
			// renamed last, every time round.
			_, err = sim.UpdateOrganization(ctx, ds.Organizations[0].ID, upstreamsim.OrganizationChange{DisplayName: fmt.Sprintf("First %d", i)})
		}
	} else {
		u := ds.Users[(i/2)%len(ds.Users)]
		_, err = sim.UpdateUser(ctx, u.UserID, upstreamsim.UserChange{Name: fmt.Sprintf("Renamed User %d", i)})
	}
	return err
}
