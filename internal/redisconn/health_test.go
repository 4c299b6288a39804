package redisconn_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/redisconn"
	"github.com/orgraph/orgraph/internal/testutil/clock"
)

func startClock() *clock.Clock { return clock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) }

func lines(buf *bytes.Buffer, s string) int { return strings.Count(buf.String(), s) }

func newHealth(c *clock.Clock) (*redisconn.Health, *bytes.Buffer) {
	var buf bytes.Buffer
	h := redisconn.NewHealth(redisconn.HealthConfig{
		Degraded: "test degraded", Recovered: "test recovered",
		Logger: slog.New(slog.NewTextHandler(&buf, nil)), Now: c.Now,
	})
	return h, &buf
}

// TestHealthLogsEachTransitionOnce: many failures make one warning, many
// successful probes one recovery line.
func TestHealthLogsEachTransitionOnce(t *testing.T) {
	c := startClock()
	h, logs := newHealth(c)
	if h.Degraded() {
		t.Fatal("a new Health is degraded")
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { h.Failed(errors.New("dial tcp: refused")) })
	}
	wg.Wait()
	if !h.Degraded() || lines(logs, "test degraded") != 1 {
		t.Fatalf("after 50 failures: degraded %v, %d warnings, want 1:\n%s", h.Degraded(), lines(logs, "test degraded"), logs)
	}
	c.Advance(redisconn.ProbeInterval)
	if use, probe := h.Use(); !use || !probe {
		t.Fatalf("Use after an interval = %v, %v, want a probe", use, probe)
	}
	h.Worked(true)
	h.Worked(true)
	if h.Degraded() || lines(logs, "test recovered") != 1 {
		t.Fatalf("after a working probe: degraded %v, %d recovery lines, want 1:\n%s", h.Degraded(), lines(logs, "test recovered"), logs)
	}
	h.Failed(errors.New("again"))
	if lines(logs, "test degraded") != 2 {
		t.Fatalf("a second outage logged %d warnings in all, want 2", lines(logs, "test degraded"))
	}
}

// TestHealthProbesOncePerInterval: while degraded, of many concurrent
// callers exactly one may try Redis per interval, and none before the
// interval since the last failure has passed.
func TestHealthProbesOncePerInterval(t *testing.T) {
	c := startClock()
	h, _ := newHealth(c)
	if use, probe := h.Use(); !use || probe {
		t.Fatalf("healthy Use = %v, %v, want a plain call", use, probe)
	}
	h.Failed(errors.New("timeout"))
	probes := func() int {
		var n atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if use, probe := h.Use(); use {
					if !probe {
						t.Error("a degraded Health let a call through that is not a probe")
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return int(n.Load())
	}
	if n := probes(); n != 0 {
		t.Fatalf("right after the failure: %d probes, want 0", n)
	}
	c.Advance(redisconn.ProbeInterval - time.Nanosecond)
	if n := probes(); n != 0 {
		t.Fatalf("just before the interval: %d probes, want 0", n)
	}
	c.Advance(time.Nanosecond)
	if n := probes(); n != 1 {
		t.Fatalf("at the interval: %d probes, want 1", n)
	}
	if n := probes(); n != 0 {
		t.Fatalf("right after a probe: %d probes, want 0", n)
	}
	// A failed probe waits a whole interval again.
	c.Advance(redisconn.ProbeInterval / 2)
	h.Failed(errors.New("still down"))
	c.Advance(redisconn.ProbeInterval / 2)
	if n := probes(); n != 0 {
		t.Fatalf("half an interval after a failed probe: %d probes, want 0", n)
	}
	c.Advance(redisconn.ProbeInterval / 2)
	if n := probes(); n != 1 {
		t.Fatalf("an interval after a failed probe: %d probes, want 1", n)
	}
}

// TestHealthRecoversOnlyByProbe: a call that worked but was not a probe
// (it started before Redis failed and answered late) leaves Redis degraded.
func TestHealthRecoversOnlyByProbe(t *testing.T) {
	c := startClock()
	h, logs := newHealth(c)
	h.Worked(false)
	h.Worked(true) // healthy already: nothing to log
	if h.Degraded() || lines(logs, "test recovered") != 0 {
		t.Fatalf("healthy: degraded %v, logs:\n%s", h.Degraded(), logs)
	}
	h.Failed(errors.New("refused"))
	h.Worked(false)
	if !h.Degraded() {
		t.Fatal("a late non-probe success ended the degradation")
	}
	c.Advance(redisconn.ProbeInterval)
	if _, probe := h.Use(); !probe {
		t.Fatal("no probe after an interval")
	}
	h.Worked(true)
	if h.Degraded() {
		t.Fatal("a working probe did not end the degradation")
	}
}
