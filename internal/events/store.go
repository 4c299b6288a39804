package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/orgraph/orgraph/internal/purge"
)

// SeenTTL is how long an event id is remembered: longer than Auth0 goes on
// retrying a delivery, so a late retry of an applied event purges nothing
// again.
const SeenTTL = 24 * time.Hour

// maxLocalSeen bounds the ids remembered without Redis.
const maxLocalSeen = 100_000

// ackWait bounds how long a delivery waits for the other replicas to
// acknowledge a purge before it is answered anyway: the cut-offs are in
// Redis by then, and a replica too slow to acknowledge reloads them when
// its subscription comes back.
const ackWait = 2 * time.Second

// Store records purges: in the local table (internal/purge) and, with
// Redis, in a sorted set of cut-offs that every replica reloads when it
// (re)subscribes, published on a channel that every replica applies and
// acknowledges at once. It also claims event ids, so a delivery is applied
// once across replicas.
type Store struct {
	rdb     redis.UniversalClient // nil: one process, everything local
	prefix  string
	table   *purge.Table
	log     *slog.Logger
	timeout time.Duration
	maxAge  time.Duration
	now     func() time.Time
	mu      sync.Mutex
	seen    map[string]time.Time // without Redis: event id → when it expires
	syncs   uint64               // (re)loads of the cut-offs from Redis; under mu
	synced  chan struct{}        // closed at the next (re)load; under mu
}

// Synced returns how many times the cut-offs were (re)loaded from Redis,
// and a channel closed at the next (re)load: a replica's subscription came
// back and it applied what it missed (tests wait on it, with a deadline).
func (s *Store) Synced() (uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncs, s.synced
}

// StoreConfig shapes a Store.
type StoreConfig struct {
	Redis   redis.UniversalClient // nil: local only
	Prefix  string                // REDIS_KEY_PREFIX
	Table   *purge.Table
	Logger  *slog.Logger
	Timeout time.Duration // one Redis round trip
	// MaxAge is how long a cut-off matters: the longest an entry can be
	// served (CACHE_TTL with jitter plus CACHE_STALE_TTL).
	MaxAge time.Duration
	Now    func() time.Time
}

// NewStore returns a store for cfg; Run starts its subscription.
func NewStore(cfg StoreConfig) *Store {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{rdb: cfg.Redis, prefix: cfg.Prefix, table: cfg.Table, log: cfg.Logger, timeout: cfg.Timeout,
		maxAge: cfg.MaxAge, now: cfg.Now, seen: make(map[string]time.Time), synced: make(chan struct{})}
}

func (s *Store) seenKey(id string) string { return s.prefix + "events:seen:" + idKey(id) }
func (s *Store) cutoffsKey() string       { return s.prefix + "events:cutoffs" }
func (s *Store) channel() string          { return s.prefix + "events:purges" }
func (s *Store) ackKey(id string) string  { return s.prefix + "events:ack:" + idKey(id) }

// Claim marks an event id as being applied and reports whether it was new.
// With Redis it is one SET NX shared by every replica; an error means it
// could not be told (Redis down), and the delivery should be retried.
func (s *Store) Claim(ctx context.Context, id string) (bool, error) {
	if s.rdb == nil {
		now := s.now()
		s.mu.Lock()
		defer s.mu.Unlock()
		if exp, ok := s.seen[id]; ok && now.Before(exp) {
			return false, nil
		}
		if len(s.seen) >= maxLocalSeen {
			for k, exp := range s.seen {
				if !now.Before(exp) || len(s.seen) >= maxLocalSeen {
					delete(s.seen, k)
				}
			}
		}
		s.seen[id] = now.Add(SeenTTL)
		return true, nil
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.rdb.SetNX(rctx, s.seenKey(id), "1", SeenTTL).Result()
	if err != nil {
		return false, fmt.Errorf("events: claim the event id: %w", err)
	}
	return ok, nil
}

// Unclaim forgets an id whose purge could not be recorded, so that Auth0's
// retry applies it.
func (s *Store) Unclaim(ctx context.Context, id string) {
	if s.rdb == nil {
		s.mu.Lock()
		delete(s.seen, id)
		s.mu.Unlock()
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	_ = s.rdb.Del(rctx, s.seenKey(id)).Err()
}

// message is what goes over the channel.
type message struct {
	ID     string   `json:"id"`
	Cutoff int64    `json:"cutoff"` // unix nanoseconds
	Tags   []string `json:"tags"`
}

// Record applies a purge of tags up to cutoff here and, with Redis, stores
// it and publishes it to every replica, waiting (at most ackWait) until
// each subscribed replica has applied it. It reports how many replicas
// acknowledged (1 without Redis).
func (s *Store) Record(ctx context.Context, id string, tags []string, cutoff time.Time) (int, error) {
	s.table.Apply(tags, cutoff)
	if s.rdb == nil {
		return 1, nil
	}
	payload, err := json.Marshal(message{ID: id, Cutoff: cutoff.UnixNano(), Tags: tags})
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	members := make([]redis.Z, len(tags))
	score := float64(cutoff.UnixMicro())
	for i, t := range tags {
		members[i] = redis.Z{Score: score, Member: t}
	}
	var published *redis.IntCmd
	// Not a transaction: on a Cluster the set and the channel's key live on
	// different slots. The cut-offs go first, so a replica that subscribes
	// between the two finds them when it reloads.
	_, err = s.rdb.Pipelined(rctx, func(p redis.Pipeliner) error {
		p.ZAddGT(rctx, s.cutoffsKey(), members...)
		horizon := s.now().Add(-s.maxAge).UnixMicro()
		p.ZRemRangeByScore(rctx, s.cutoffsKey(), "-inf", "("+strconv.FormatInt(horizon, 10))
		published = p.Publish(rctx, s.channel(), payload)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("events: record the purge: %w", err)
	}
	return s.awaitAcks(ctx, id, int(published.Val())), nil
}

// awaitAcks waits until n replicas acknowledged id, or ackWait passed.
func (s *Store) awaitAcks(ctx context.Context, id string, n int) int {
	wctx, cancel := context.WithTimeout(ctx, ackWait)
	defer cancel()
	got := 0
	for got < n {
		left := time.Until(deadlineOf(wctx))
		if left <= 0 {
			break
		}
		_, err := s.rdb.BLPop(wctx, left, s.ackKey(id)).Result()
		if err != nil {
			break
		}
		got++
	}
	if got < n {
		s.log.Warn("events: not every replica acknowledged a purge in time; the others reload it when they reconnect",
			slog.Int("acknowledged", got), slog.Int("subscribed", n))
	}
	return got
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// Run keeps the replica's subscription until ctx ends: every published
// purge is applied and acknowledged, and every (re)subscription reloads all
// the cut-offs first, so what was purged while this replica was cut off
// from Redis is purged here too. Without Redis it returns at once.
func (s *Store) Run(ctx context.Context) {
	if s.rdb == nil {
		return
	}
	ps := s.rdb.Subscribe(ctx, s.channel())
	defer ps.Close()
	failures := 0
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, 5*time.Second)
		if err != nil {
			var netErr interface{ Timeout() bool }
			if errors.As(err, &netErr) && netErr.Timeout() {
				// Quiet: a ping shows whether the connection still works (its
				// pong, or an error, comes back as the next receive).
				_ = ps.Ping(ctx)
				continue
			}
			if ctx.Err() != nil {
				return
			}
			failures++
			t := time.NewTimer(min(time.Duration(failures)*100*time.Millisecond, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		failures = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.reload(ctx)
			}
		case *redis.Message:
			s.applyMessage(ctx, m.Payload)
		}
	}
}

// reload applies every cut-off stored in Redis.
func (s *Store) reload(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 5*s.timeout)
	defer cancel()
	zs, err := s.rdb.ZRangeWithScores(rctx, s.cutoffsKey(), 0, -1).Result()
	if err != nil {
		// The subscription will drop too (the same Redis), and this runs
		// again when it is back.
		s.log.Warn("events: could not reload the purges from Redis", slog.String("error", err.Error()))
		return
	}
	for _, z := range zs {
		tag, ok := z.Member.(string)
		if !ok {
			continue
		}
		s.table.Apply([]string{tag}, time.UnixMicro(int64(z.Score)))
	}
	s.mu.Lock()
	s.syncs++
	close(s.synced)
	s.synced = make(chan struct{})
	s.mu.Unlock()
}

func (s *Store) applyMessage(ctx context.Context, payload string) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.ID == "" {
		return
	}
	s.table.Apply(m.Tags, time.Unix(0, m.Cutoff))
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, _ = s.rdb.Pipelined(rctx, func(p redis.Pipeliner) error {
		p.RPush(rctx, s.ackKey(m.ID), "1")
		p.Expire(rctx, s.ackKey(m.ID), time.Minute)
		return nil
	})
}
