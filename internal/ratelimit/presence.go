package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Presence: while Redis is degraded every replica falls back to its local
// limiter, and N replicas each spending the whole budget would send N times
// the upstream's limit, which is what the shared budget exists to prevent.
// So each governor keeps an entry in a sorted set of replicas in Redis
// (Prefix+"replicas", scored by Redis's clock), refreshed by a background
// heartbeat, never by a request, and remembers how many replicas it saw
// alive last; its local limiter spends only that share of the budget. The
// count is learned, so no setting has to be kept in step with a deployment's
// scale. Before the first heartbeat answers (Redis down at start) a governor
// counts itself alone and keeps the whole budget: the price of staying up.

const (
	// heartbeatInterval is how often a governor renews its presence. A
	// replica started later is counted by the others within one interval;
	// one Redis call per second per replica costs nothing next to the
	// reservations.
	heartbeatInterval = time.Second
	// presenceTTL is how long a replica unseen still counts: several
	// heartbeats, so one slow round trip does not drop it. A replica that
	// died without leaving counts this long, which errs on the side of
	// spending less.
	presenceTTL = 5 * heartbeatInterval
	// heartbeatTimeout bounds one heartbeat: off the request path, so it
	// may wait longer than a request's Redis call, but it must end before the next.
	heartbeatTimeout = heartbeatInterval / 2
)

// presenceScript renews ARGV[1]'s entry with Redis's clock (ms), forgets the
// replicas unseen for ARGV[2] ms and returns how many remain.
var presenceScript = redis.NewScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call("ZADD", KEYS[1], now, ARGV[1])
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now - ttl)
redis.call("PEXPIRE", KEYS[1], ttl)
return redis.call("ZCARD", KEYS[1])
`)

// presence is a governor's membership in the set of replicas.
type presence struct {
	key  string
	id   string
	stop context.CancelFunc // ends the heartbeat, and a beat on its way
	done chan struct{}
}

// startPresence begins the heartbeat of a governor with Redis.
func (g *Governor) startPresence() {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's documented contract)
	ctx, stop := context.WithCancel(context.Background())
	g.presence = &presence{
		key:  g.prefix + "replicas",
		id:   hex.EncodeToString(b[:]),
		stop: stop,
		done: make(chan struct{}),
	}
	go g.heartbeat(ctx)
}

// heartbeat renews the presence at once (so the other replicas count this
// one as soon as it starts) and then every heartbeatInterval, until Close.
func (g *Governor) heartbeat(ctx context.Context) {
	p := g.presence
	defer close(p.done)
	tick := time.NewTicker(heartbeatInterval)
	defer tick.Stop()
	for {
		g.beat(ctx)
		select {
		case <-ctx.Done():
			// Leaving: the others regain this replica's share at their next
			// heartbeat instead of after presenceTTL. Bounded like a
			// request's Redis call, so a shutdown with Redis down is not
			// held up.
			ctx, cancel := context.WithTimeout(context.Background(), g.redisTimeout)
			_ = g.rdb.ZRem(ctx, p.key, p.id).Err()
			cancel()
			return
		case <-tick.C:
		}
	}
}

// beat renews the presence once and learns the number of live replicas. A
// failed beat keeps the count last seen: Redis being down is exactly when
// the count is needed. Degrading is left to the requests' own Redis calls.
func (g *Governor) beat(ctx context.Context) {
	p := g.presence
	ctx, cancel := context.WithTimeout(ctx, heartbeatTimeout)
	defer cancel()
	n, err := presenceScript.Run(ctx, g.rdb, []string{p.key}, p.id, presenceTTL.Milliseconds()).Int64()
	if err != nil {
		return
	}
	g.setReplicas(n)
}

// setReplicas records n live replicas and gives every local limiter its
// share of the budget.
func (g *Governor) setReplicas(n int64) {
	n = max(n, 1)
	g.shareMu.Lock()
	defer g.shareMu.Unlock()
	if g.replicas.Swap(n) == n {
		return
	}
	g.services.Range(func(_, v any) bool {
		g.share(v.(*serviceState).local, n)
		return true
	})
}

// share sets local to one of n replicas' share of the budget: the rate and
// the burst divided by n (a burst of at least one, so that every replica can
// still serve).
func (g *Governor) share(local *rate.Limiter, n int64) {
	if g.localRate == rate.Inf {
		return
	}
	now := g.now()
	local.SetLimitAt(now, g.localRate/rate.Limit(n))
	local.SetBurstAt(now, max(1, g.burst/int(n)))
}

// Close ends the heartbeat and removes this replica from the set, so the
// others take back its share of the budget. It is safe to call more than
// once; a Governor without Redis has nothing to close.
func (g *Governor) Close() {
	if g.presence == nil {
		return
	}
	g.presence.stop()
	<-g.presence.done
}
