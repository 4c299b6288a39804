package metrics

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/ratelimit"
	"github.com/orgraph/orgraph/internal/upstream"
)

// TestGovernorCountersAreExportedWithTheirValues: each orgraph_governor_*
// series carries the governor's own count for its upstream, not merely a
// series of that name. The governor (local, 1/s, burst 1) allows one
// request at once, refuses one whose deadline is too near, allows one after a wait,
// and is paused once by a 429.
func TestGovernorCountersAreExportedWithTheirValues(t *testing.T) {
	g := ratelimit.New(ratelimit.Config{Rate: 1, Burst: 1})
	m := New(Options{})
	m.WatchGovernor(g)
	ctx := context.Background()
	if err := g.Wait(ctx, "auth0"); err != nil { // allowed at once
		t.Fatal(err)
	}
	nearCtx, cancelNear := context.WithTimeout(ctx, time.Millisecond)
	defer cancelNear()
	if err := g.Wait(nearCtx, "auth0"); err == nil { // the next slot is a second away
		t.Fatal("a Wait with a 1 ms deadline was allowed")
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := g.Wait(waitCtx, "auth0"); err != nil { // allowed after about a second
		t.Fatal(err)
	}
	g.Observe(ctx, "auth0", upstream.Observation{Status: http.StatusTooManyRequests, RetryAfter: time.Second})

	families, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "upstream" && l.GetValue() == "auth0" && s.GetCounter() != nil {
					got[f.GetName()] = s.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{
		"orgraph_governor_allowed_total":  2,
		"orgraph_governor_waits_total":    1,
		"orgraph_governor_refusals_total": 1,
		"orgraph_governor_pauses_total":   1,
	}
	for _, f := range families {
		if f.GetName() == "orgraph_governor_replicas" {
			got[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	want["orgraph_governor_replicas"] = 1 // no Redis: alone, the whole budget
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s{upstream=auth0} = %v, want %v (all: %v)", name, got[name], v, got)
		}
	}
}
