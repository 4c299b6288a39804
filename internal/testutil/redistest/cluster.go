package redistest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters (no replicas) on loopback,
// owned by one test: what a gateway's REDIS_URL with ?addr= talks to. A
// master can be killed and restarted; its node file stays in its directory,
// so it rejoins with the slots it had.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
}

// clusterNodeTimeout is how long the other masters wait before they mark a
// killed master as failed. Short, so a test sees the cluster react within
// its own deadlines.
const clusterNodeTimeout = "1000"

// StartCluster starts three redis-server processes with cluster mode on,
// joins them with `redis-cli --cluster create` (16384 slots split in three,
// no replicas) and waits until every node says cluster_state:ok. All of it
// is killed at cleanup.
//
// cluster-require-full-coverage is off, as a gateway's Redis Cluster should
// run: with it on, one master down makes the others refuse every key, not
// only the dead master's slots.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli not found (%v); ./scripts/test installs it with redis-server", err)
	}
	c := &Cluster{t: t}
	for range 3 {
		s := newServer(t)
		s.extra = []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", // in the node's own --dir
			"--cluster-node-timeout", clusterNodeTimeout,
			"--cluster-require-full-coverage", "no",
		}
		s.Start()
		c.Nodes = append(c.Nodes, s)
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy()
	return c
}

// URL is the gateway's REDIS_URL for the cluster: the first node, and the
// others as ?addr=.
func (c *Cluster) URL() string {
	q := url.Values{}
	for _, n := range c.Nodes[1:] {
		q.Add("addr", n.Addr())
	}
	return "redis://" + c.Nodes[0].Addr() + "/0?" + q.Encode()
}

// Client returns a cluster client over every node, closed at cleanup.
func (c *Cluster) Client() *redis.ClusterClient {
	c.t.Helper()
	opts, err := redis.ParseClusterURL(c.URL())
	if err != nil {
		c.t.Fatalf("cluster URL: %v", err)
	}
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClusterClient(opts)
	c.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Kill kills master i; Stop returns once its port refuses connections.
func (c *Cluster) Kill(i int) { c.Nodes[i].Stop() }

// Restart starts master i again, and waits until the whole cluster is
// healthy again.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Nodes[i].Start()
	c.WaitHealthy()
}

// NodeOf is the index of the master serving key's slot, from CLUSTER
// KEYSLOT and CLUSTER SHARDS as a live node sees them.
func (c *Cluster) NodeOf(key string) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr()})
		slot, err := rdb.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			_ = rdb.Close()
			continue // this one may be the killed one
		}
		shards, err := rdb.ClusterShards(ctx).Result()
		_ = rdb.Close()
		if err != nil {
			c.t.Fatalf("CLUSTER SHARDS on node %d: %v", i, err)
		}
		for _, sh := range shards {
			serves := false
			for _, r := range sh.Slots {
				serves = serves || (r.Start <= slot && slot <= r.End)
			}
			if !serves {
				continue
			}
			for _, node := range sh.Nodes {
				if node.Role != "master" {
					continue
				}
				for j, m := range c.Nodes {
					if m.Addr() == net.JoinHostPort(node.IP, strconv.FormatInt(node.Port, 10)) {
						return j
					}
				}
			}
		}
		c.t.Fatalf("no master serves slot %d of %q", slot, key)
	}
	c.t.Fatalf("no cluster node answers")
	return -1
}

// WaitHealthy waits (up to 30s) until every node answers and reports
// cluster_state:ok with all 16384 slots served and no node marked failing.
func (c *Cluster) WaitHealthy() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		if last = c.unhealthy(); last == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("Redis Cluster not healthy within 30s: %s", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unhealthy says why the cluster is not yet fully up, or "" when it is.
func (c *Cluster) unhealthy() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for i, n := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		info, err := rdb.ClusterInfo(ctx).Result()
		var nodes string
		if err == nil {
			nodes, err = rdb.ClusterNodes(ctx).Result()
		}
		_ = rdb.Close()
		switch {
		case err != nil:
			return fmt.Sprintf("node %d: %v", i, err)
		case !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384"):
			return fmt.Sprintf("node %d: %s", i, strings.Join(strings.Fields(info)[:4], " "))
		case strings.Contains(nodes, "fail"): // fail or fail? flags on a node
			return fmt.Sprintf("node %d sees a failing node", i)
		}
		if got := strings.Count(strings.TrimSpace(nodes), "\n") + 1; got != len(c.Nodes) {
			return fmt.Sprintf("node %d knows %d nodes", i, got)
		}
	}
	return ""
}
