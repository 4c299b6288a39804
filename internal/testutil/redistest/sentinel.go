package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the name the sentinels of StartSentinel monitor the
// master under: REDIS_SENTINEL_MASTER.
const SentinelMaster = "orgraph"

// Sentinel is a Sentinel-managed Redis owned by one test: a master, one
// replica of it, and sentinels watching them (`redis-server --sentinel`,
// which is what the redis-sentinel binary runs). Failover kills the master
// and waits until the sentinels have promoted the replica.
type Sentinel struct {
	t         testing.TB
	Sentinels []*Server
	servers   [2]*Server // the first master and its replica
	master    int        // index in servers of the current master
}

// StartSentinel starts a master, a replica and n sentinels (quorum: a
// majority of them), all on loopback and killed at cleanup, and waits (up to
// 30s) until the replica is in sync and every sentinel knows the replica and
// the other sentinels, so a failover can happen.
func StartSentinel(t testing.TB, n int) *Sentinel {
	t.Helper()
	s := &Sentinel{t: t}
	s.servers[0] = newServer(t)
	s.servers[0].Start()
	s.servers[1] = newServer(t)
	s.servers[1].extra = []string{"--replicaof", "127.0.0.1", fmt.Sprint(s.servers[0].port)}
	s.servers[1].Start()
	for range n {
		sn := newServer(t)
		// A sentinel rewrites its config file as it learns the set-up,
		// so it gets one of its own, in its own directory.
		sn.conf = filepath.Join(sn.dir, "sentinel.conf")
		conf := fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 10000\n",
			SentinelMaster, s.servers[0].port, n/2+1)
		if err := os.WriteFile(sn.conf, []byte(conf), 0o600); err != nil {
			t.Fatalf("sentinel config: %v", err)
		}
		sn.extra = []string{"--sentinel"}
		sn.Start()
		s.Sentinels = append(s.Sentinels, sn)
	}
	s.waitFor("the replica in sync and known to every sentinel", func(ctx context.Context) error {
		return s.ready(ctx, s.servers[0], s.servers[1], n)
	})
	return s
}

// Addrs are the sentinels' host:port: REDIS_SENTINEL_ADDRS, joined by commas.
func (s *Sentinel) Addrs() []string {
	var out []string
	for _, sn := range s.Sentinels {
		out = append(out, sn.Addr())
	}
	return out
}

// MasterAddr is the current master's host:port.
func (s *Sentinel) MasterAddr() string { return s.servers[s.master].Addr() }

// Failover kills the master and waits (up to 30s) until every sentinel names
// the replica as master and it says it is one. The old master stays down.
func (s *Sentinel) Failover() {
	s.t.Helper()
	old, next := s.servers[s.master], s.servers[1-s.master]
	old.Stop()
	s.waitFor("the sentinels to promote the replica", func(ctx context.Context) error {
		for i, sn := range s.Sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr()})
			addr, err := c.GetMasterAddrByName(ctx, SentinelMaster).Result()
			_ = c.Close()
			if err != nil {
				return fmt.Errorf("sentinel %d: %w", i, err)
			}
			if len(addr) != 2 || addr[0]+":"+addr[1] != next.Addr() {
				return fmt.Errorf("sentinel %d names %v as master", i, addr)
			}
		}
		rdb := redis.NewClient(&redis.Options{Addr: next.Addr()})
		defer rdb.Close()
		info, err := rdb.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "role:master") {
			return fmt.Errorf("the replica is not a master yet")
		}
		return nil
	})
	s.master = 1 - s.master
}

// ready checks that replica follows master in sync and that every sentinel
// knows the replica and the n-1 other sentinels.
func (s *Sentinel) ready(ctx context.Context, master, replica *Server, n int) error {
	rdb := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer rdb.Close()
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "master_link_status:up") {
		return fmt.Errorf("replica not in sync with %s", master.Addr())
	}
	for i, sn := range s.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr()})
		replicas, err := c.Replicas(ctx, SentinelMaster).Result()
		var others []map[string]string
		if err == nil {
			others, err = c.Sentinels(ctx, SentinelMaster).Result()
		}
		_ = c.Close()
		if err != nil {
			return fmt.Errorf("sentinel %d: %w", i, err)
		}
		known := false
		for _, r := range replicas {
			if r["name"] == replica.Addr() && !strings.Contains(r["flags"], "down") && r["master-link-status"] == "ok" {
				known = true
			}
		}
		if !known {
			return fmt.Errorf("sentinel %d does not know the replica in sync yet", i)
		}
		if len(others) != n-1 {
			return fmt.Errorf("sentinel %d knows %d other sentinels, want %d", i, len(others), n-1)
		}
	}
	return nil
}

// waitFor polls check until it passes, failing the test after 30s with its
// last complaint.
func (s *Sentinel) waitFor(what string, check func(context.Context) error) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: still not after 30s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
