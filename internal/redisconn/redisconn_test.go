package redisconn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orgraph/orgraph/internal/redisconn"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
)

// TestOpenPicksTheClientForEachShape: one node, a Cluster (?addr=) and
// Sentinel each get their own client, and a bad URL's error never echoes it.
func TestOpenPicksTheClientForEachShape(t *testing.T) {
	tests := []struct {
		name    string
		opts    redisconn.Options
		cluster bool
		wantErr bool
	}{
		{"one node", redisconn.Options{URL: "redis://:pw@127.0.0.1:6379/0"}, false, false},
		{"cluster", redisconn.Options{URL: "redis://127.0.0.1:7000/0?addr=127.0.0.1:7001&addr=127.0.0.1:7002"}, true, false},
		{"sentinel", redisconn.Options{SentinelMaster: "m", SentinelAddrs: []string{"127.0.0.1:26379"}, Password: "pw"}, false, false},
		{"sentinel without addresses", redisconn.Options{SentinelMaster: "m"}, false, true},
		{"bad URL", redisconn.Options{URL: "redis://:s3cret@127.0.0.1:6379/notadb"}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb, err := redisconn.Open(tc.opts)
			if tc.wantErr {
				if err == nil || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("want an error without the URL, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rdb.Close()
			if _, isCluster := rdb.(*redis.ClusterClient); isCluster != tc.cluster {
				t.Fatalf("got %T", rdb)
			}
		})
	}
}

// TestPingAsksEveryClusterMaster: with one master of three killed, Ping
// fails every time (a plain PING goes to one node at random and would pass
// two times in three), and passes again once the master is back.
func TestPingAsksEveryClusterMaster(t *testing.T) {
	cluster := redistest.StartCluster(t)
	rdb := cluster.Client()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return redisconn.Ping(ctx, rdb)
	}
	if err := ping(); err != nil {
		t.Fatalf("healthy cluster: %v", err)
	}
	cluster.Kill(1)
	for i := range 6 {
		if err := ping(); err == nil {
			t.Fatalf("ping %d with a master down passed", i+1)
		}
	}
	cluster.Restart(1)
	if err := ping(); err != nil {
		t.Fatalf("after the master came back: %v", err)
	}
}
