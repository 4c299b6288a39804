package persisted_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/persisted"
	"github.com/orgraph/orgraph/internal/redisconn"
	"github.com/orgraph/orgraph/internal/testutil/clock"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
)

// TestStoreWithRedisStopped: with its Redis gone, the store serves the
// queries this replica has seen from its in-process tier, registers new ones
// there, and after the one failure that tells it Redis is down sends Redis
// nothing (no timeout added to registrations or unknown hashes) until a
// probe interval has passed; the probe then finds Redis back, and queries
// other replicas registered are found again.
func TestStoreWithRedisStopped(t *testing.T) {
	srv := redistest.StartServer(t)
	rdb, other := srv.Client(), srv.Client()
	clk := clock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var logs bytes.Buffer
	s := persisted.NewStore(persisted.StoreConfig{Redis: rdb, Prefix: "t:", Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: clk.Now})
	ctx := context.Background()
	seen := "query Seen { __typename }"
	s.Add(ctx, persisted.Hash(seen), seen)

	srv.Stop()
	cmds := redistest.CountCommands(rdb)
	if _, ok := s.Get(ctx, persisted.Hash("query Unknown { __typename }")); ok {
		t.Fatal("an unknown hash was found")
	}
	if !s.Degraded() || cmds.Load() != 1 {
		t.Fatalf("after a failed read: degraded %v, %d Redis commands, want true and 1", s.Degraded(), cmds.Load())
	}
	cmds.Reset()
	late := "query Late { __typename }"
	s.Add(ctx, persisted.Hash(late), late)
	for i := range 10 {
		if _, ok := s.Get(ctx, persisted.Hash(fmt.Sprintf("query U%d { __typename }", i))); ok {
			t.Fatalf("unknown hash %d was found", i)
		}
	}
	for _, q := range []string{seen, late} {
		if got, ok := s.Get(ctx, persisted.Hash(q)); !ok || got != q {
			t.Fatalf("%q with Redis down: %q, %v", q, got, ok)
		}
	}
	if n := cmds.Load(); n != 0 {
		t.Fatalf("degraded store sent Redis %d commands before the probe interval, want 0", n)
	}

	srv.Start()
	elsewhere := "query Elsewhere { __typename }" // another replica registers it
	if err := other.Set(ctx, "t:apq:"+persisted.Hash(elsewhere), elsewhere, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get(ctx, persisted.Hash(elsewhere)); ok || cmds.Load() != 0 {
		t.Fatalf("asked Redis (%d commands) before the probe interval", cmds.Load())
	}
	clk.Advance(redisconn.ProbeInterval)
	if got, ok := s.Get(ctx, persisted.Hash(elsewhere)); !ok || got != elsewhere || s.Degraded() {
		t.Fatalf("the probe after Redis came back: %q, %v, degraded %v", got, ok, s.Degraded())
	}
	for _, line := range []string{"persisted queries degraded", "persisted queries recovered"} {
		if n := strings.Count(logs.String(), line); n != 1 {
			t.Fatalf("%q logged %d times, want once:\n%s", line, n, logs.String())
		}
	}
}
