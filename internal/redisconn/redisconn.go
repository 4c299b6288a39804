// Package redisconn opens the Redis the replicas share, whichever shape it
// has: one node, a Redis Cluster (REDIS_URL with ?addr=), or a master
// watched by Sentinel (REDIS_SENTINEL_*). It also holds the one health
// check /readyz uses, because "Redis answers" means something different
// for each: a Cluster is usable only when every master is.
//
// What uses Redis (the cache, the rate governor, persisted queries) works
// on all three unchanged, because it keeps every command to one key's slot
// (single-key commands and single-key Lua scripts), and reads of many keys
// are a pipeline on a Cluster (see internal/cache).
package redisconn

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options says which Redis to open: URL for one node or a Cluster, or
// SentinelMaster with SentinelAddrs for a Sentinel-managed master. Exactly
// one of URL and SentinelMaster is set.
type Options struct {
	// URL is REDIS_URL: redis:// or rediss://, with ?addr=host:port for
	// each further node of a Cluster.
	URL string
	// SentinelMaster is the name the sentinels know the master by
	// (REDIS_SENTINEL_MASTER).
	SentinelMaster string
	// SentinelAddrs are the sentinels' host:port (REDIS_SENTINEL_ADDRS).
	SentinelAddrs []string
	// SentinelPassword authenticates to the sentinels
	// (REDIS_SENTINEL_PASSWORD), Password to the master and its replicas
	// (REDIS_PASSWORD).
	SentinelPassword string
	Password         string
}

// warmTimeout bounds how long Open waits for a Cluster to tell its slots.
const warmTimeout = 2 * time.Second

// Open connects as o says. Errors never include the URL or a password.
//
// Context deadlines bound socket reads and writes too (go-redis ignores
// them by default), so that a Redis that hangs costs a request the cache's
// and governor's short timeouts, not go-redis's seconds.
func Open(o Options) (redis.UniversalClient, error) {
	if o.SentinelMaster != "" {
		if len(o.SentinelAddrs) == 0 {
			return nil, errors.New("a Sentinel master name needs sentinel addresses")
		}
		// The failover client asks the sentinels for the master, and
		// follows their +switch-master announcements to the new one.
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:            o.SentinelMaster,
			SentinelAddrs:         o.SentinelAddrs,
			SentinelPassword:      o.SentinelPassword,
			Password:              o.Password,
			ContextTimeoutEnabled: true,
		}), nil
	}
	if u, err := url.Parse(o.URL); err == nil && u.Query().Has("addr") {
		opts, err := redis.ParseClusterURL(o.URL)
		if err != nil {
			return nil, errors.New("not a valid Redis cluster URL")
		}
		opts.ContextTimeoutEnabled = true
		cc := redis.NewClusterClient(opts)
		// A Cluster client's first command first learns the slots and dials
		// the node: several round trips, which the first requests' Redis
		// calls (100ms each) may not cover on a loaded host, so a new
		// replica would start with a timed-out read and call Redis degraded.
		// Learning them now costs start-up at most warmTimeout; a Cluster
		// that does not answer yet is left to the usual probing.
		ctx, cancel := context.WithTimeout(context.Background(), warmTimeout)
		defer cancel()
		_ = Ping(ctx, cc)
		return cc, nil
	}
	opts, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, errors.New("not a valid Redis URL")
	}
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

// Ping checks that Redis is wholly usable. On a Cluster that is every
// master: a plain PING goes to any one node, so with one master down it
// would say "up" or "down" by chance, while the keys of the dead master's
// slots fail. The masters are the ones the client last learnt from the
// cluster; a dead master keeps its slots (there is no replica to take them),
// so it stays in that list and its PING fails until it is back.
func Ping(ctx context.Context, rdb redis.UniversalClient) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return node.Ping(ctx).Err()
		})
	}
	return rdb.Ping(ctx).Err()
}
