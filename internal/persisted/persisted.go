// Package persisted serves persisted GraphQL operations: automatic persisted
// queries (APQ: a client sends the sha256 of a query and the query only once)
// stored in-process and in Redis so every replica knows them, and an
// allow-list mode for production frontends, where only the operations of a
// build-time manifest run at all.
package persisted

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/redis/go-redis/v9"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/orgraph/orgraph/internal/redisconn"
)

// Store keeps APQ queries by hash: an in-process LRU, bounded in entries
// and in bytes, in front of Redis (optional). It keeps only queries of at
// most MaxBytes: the APQ extension refuses larger ones before they reach it,
// and a larger entry found in Redis (stored by an older gateway) is treated
// as unknown, so its client registers it again and is refused.
//
// Redis failing is not an outage: the in-process tier serves what this
// replica has seen, and Redis is left alone but for one probe a second
// (redisconn.Health), so a down Redis does not add its timeout to every
// registration and every unknown hash.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string
	maxBytes int
	health   *redisconn.Health

	mu         sync.Mutex
	local      *simplelru.LRU[string, string]
	localBytes int // of the hashes and queries in local
}

// queryTTL is how long Redis keeps a registered query unused: clients
// register again after a PERSISTED_QUERY_NOT_FOUND, so this only bounds
// memory.
const queryTTL = 24 * time.Hour

// redisTimeout bounds each Redis call; a slow Redis only means a client
// sends its query once more.
const redisTimeout = 100 * time.Millisecond

// DefaultMaxBytes is the largest query registered when no bound is given
// (PERSISTED_QUERY_MAX_KB): 16 KiB. The gateway's own documents are under
// 400 bytes (the IDE's example 365, the load driver's largest 250), and the
// whole schema without its descriptions is about 4 KiB, more than a
// document selecting each of its fields once; 16 KiB leaves room for
// generated clients' fragments and whitespace. A larger query is not one a
// frontend sends again and again, which is all APQ saves work for.
const DefaultMaxBytes = 16 << 10

// The in-process tier's bounds: localEntries queries and localBytes bytes,
// whichever is reached first. A frontend's operations are tens to hundreds
// of 0.5–5 KiB documents, so 4 MiB holds all of them with room to spare,
// and no caller can make the tier hold more, whatever it registers.
const (
	localEntries = 1000
	localBytes   = 4 << 20
)

// StoreConfig shapes a Store.
type StoreConfig struct {
	// Redis is the shared tier; nil keeps queries in-process only.
	Redis redis.UniversalClient
	// Prefix starts every Redis key (REDIS_KEY_PREFIX).
	Prefix string
	// MaxBytes is the largest query kept (<= 0: DefaultMaxBytes).
	MaxBytes int
	// Logger receives Redis's degraded and recovered transitions; nil
	// discards them.
	Logger *slog.Logger
	// Now replaces time.Now in tests (it times the probes of a degraded
	// Redis).
	Now func() time.Time
}

// NewStore returns the store cfg describes.
func NewStore(cfg StoreConfig) *Store {
	maxBytes := cfg.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	s := &Store{rdb: cfg.Redis, prefix: cfg.Prefix + "apq:", maxBytes: maxBytes}
	s.health = redisconn.NewHealth(redisconn.HealthConfig{
		Degraded:  "persisted queries degraded: Redis unavailable, serving the queries this replica has seen",
		Recovered: "persisted queries recovered: Redis is back",
		Logger:    cfg.Logger, Now: cfg.Now,
	})
	s.local, _ = simplelru.NewLRU(localEntries, func(hash, query string) { // errors only for a size < 1
		s.localBytes -= len(hash) + len(query)
	})
	return s
}

// MaxBytes is the largest query the store keeps.
func (s *Store) MaxBytes() int { return s.maxBytes }

// Get returns the query registered under hash.
func (s *Store) Get(ctx context.Context, hash string) (string, bool) {
	s.mu.Lock()
	q, ok := s.local.Get(hash)
	s.mu.Unlock()
	if ok {
		return q, true
	}
	use, probe := s.redisUsable()
	if !use {
		return "", false
	}
	// Detached from the caller's cancellation, as the cache's reads are: a
	// caller that goes away must not make Redis look down.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	q, err := s.rdb.Get(rctx, s.prefix+hash).Result()
	switch {
	case errors.Is(err, redis.Nil):
		s.health.Worked(probe) // Redis answered: it does not know the hash
		return "", false
	case err != nil:
		s.health.Failed(err)
		return "", false
	}
	s.health.Worked(probe)
	if len(q) > s.maxBytes {
		return "", false
	}
	s.addLocal(hash, q)
	return q, true
}

// Add registers query under hash: the caller has checked that they match,
// and that the query parsed, validated and is within the operation limits.
// A query over MaxBytes is not kept.
func (s *Store) Add(ctx context.Context, hash, query string) {
	if len(query) > s.maxBytes {
		return
	}
	s.addLocal(hash, query)
	use, probe := s.redisUsable()
	if !use {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	if err := s.rdb.Set(rctx, s.prefix+hash, query, queryTTL).Err(); err != nil {
		s.health.Failed(err)
		return
	}
	s.health.Worked(probe)
}

// redisUsable reports whether a call may go to Redis now, and whether it is
// the probe of a degraded Redis.
func (s *Store) redisUsable() (use, probe bool) {
	if s.rdb == nil {
		return false, false
	}
	return s.health.Use()
}

// Degraded reports whether Redis is configured but unusable, so that only
// this replica's in-process tier serves (for /readyz and metrics).
func (s *Store) Degraded() bool { return s.rdb != nil && s.health.Degraded() }

// Ping checks Redis for /readyz, as a probe: it ends a degradation even
// when no client has sent a persisted query since Redis came back.
func (s *Store) Ping(ctx context.Context) error {
	if s.rdb == nil {
		return nil
	}
	return s.health.Check(ctx, s.rdb, 5*redisTimeout)
}

// addLocal keeps query in the in-process tier, evicting the least recently
// used queries until the tier is within localBytes again.
func (s *Store) addLocal(hash, query string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.local.Contains(hash) { // a hash names one text: nothing changes
		return
	}
	s.local.Add(hash, query) // may evict the oldest entry, which subtracts its bytes
	s.localBytes += len(hash) + len(query)
	for s.localBytes > localBytes {
		s.local.RemoveOldest()
	}
}

// Manifest is the allow-list: sha256 (hex) of each operation's text → text.
type Manifest map[string]string

// LoadManifest reads a manifest file in either common shape: Apollo's
// persisted query manifest ({"operations":[{"id","body"}]}) or a plain
// {"<sha256>": "<query>"} object (Relay, graphql-codegen). Every entry's
// hash is checked against its text.
func LoadManifest(path string) (Manifest, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.New("cannot be read")
	}
	var apollo struct {
		Operations []struct {
			ID   string `json:"id"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	m := Manifest{}
	if json.Unmarshal(raw, &apollo) == nil && apollo.Operations != nil {
		for _, op := range apollo.Operations {
			m[op.ID] = op.Body
		}
	} else if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errors.New("is neither an Apollo persisted query manifest nor a {hash: query} JSON object")
	}
	if len(m) == 0 {
		return nil, errors.New("lists no operations")
	}
	for hash, body := range m {
		if Hash(body) != hash {
			return nil, fmt.Errorf("entry %.12s… does not match the sha256 of its operation", hash)
		}
	}
	return m, nil
}

// OperationNames are the names of the manifest's operations (for metric
// labels); a body that does not parse names none.
func (m Manifest) OperationNames() []string {
	var names []string
	for _, body := range m {
		doc, err := parser.ParseQuery(&ast.Source{Input: body})
		if err != nil {
			continue
		}
		for _, op := range doc.Operations {
			if op.Name != "" {
				names = append(names, op.Name)
			}
		}
	}
	return names
}

// Hash is the APQ hash of a query: hex sha256.
func Hash(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// NotAllowed is the extensions.code of an operation outside the allow-list.
const NotAllowed = "PERSISTED_QUERY_NOT_ALLOWED"

// AllowList is the gqlgen extension of PERSISTED_OPERATIONS_ONLY=true: an
// operation runs only when it is in the manifest, named by its hash
// (extensions.persistedQuery.sha256Hash) or sent as its exact text. Nothing
// can be registered at run time.
type AllowList struct{ Manifest Manifest }

var (
	_ graphql.HandlerExtension          = AllowList{}
	_ graphql.OperationParameterMutator = AllowList{}
)

// ExtensionName names the extension.
func (AllowList) ExtensionName() string { return "PersistedOperationsOnly" }

// Validate accepts any schema.
func (AllowList) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters replaces a hash with its operation, or refuses.
func (a AllowList) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	var hash string
	if ext, ok := p.Extensions["persistedQuery"].(map[string]any); ok {
		hash, _ = ext["sha256Hash"].(string)
	}
	if hash == "" && p.Query != "" {
		hash = Hash(p.Query)
	}
	body, ok := a.Manifest[hash]
	if !ok || (p.Query != "" && p.Query != body) {
		err := gqlerror.Errorf("only the operations of the persisted-operations manifest may run here")
		errcode.Set(err, NotAllowed)
		return err
	}
	p.Query = body
	return nil
}

// Invalid is the extensions.code of malformed APQ data (a hash that does not
// match its query, an unknown version).
const Invalid = "PERSISTED_QUERY_INVALID"

// TooLarge is the extensions.code of a query sent for registration that is
// longer than the store keeps (PERSISTED_QUERY_MAX_KB).
const TooLarge = "PERSISTED_QUERY_TOO_LARGE"

// NotFound is the extensions.code of a hash the gateway does not know; the
// message is "PersistedQueryNotFound", which Apollo's clients match on to
// send the query text.
const NotFound = "PERSISTED_QUERY_NOT_FOUND"

// APQ is automatic persisted queries over a Store. Unlike gqlgen's
// extension, which stores a query before it is parsed, it registers a query
// only once it parsed, validated and passed the operation limits, and only
// when it is at most the store's MaxBytes; every refusal has a code.
type APQ struct{ Store *Store }

var (
	_ graphql.HandlerExtension          = APQ{}
	_ graphql.OperationParameterMutator = APQ{}
	_ graphql.OperationInterceptor      = APQ{}
)

// ExtensionName names the extension.
func (APQ) ExtensionName() string { return "AutomaticPersistedQuery" }

// Validate accepts any schema.
func (a APQ) Validate(graphql.ExecutableSchema) error {
	if a.Store == nil {
		return errors.New("APQ needs a Store")
	}
	return nil
}

// registration is a query waiting to be registered under its hash once its
// operation is about to run; it rides in the operation's stats.
type registration struct{ hash, query string }

const registrationStats = "PersistedQueryRegistration"

// MutateOperationParameters looks the query up by hash, or checks the query
// sent with its hash and notes it for registration (InterceptOperation).
func (a APQ) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	raw, ok := p.Extensions["persistedQuery"]
	if !ok || raw == nil {
		return nil
	}
	ext, _ := raw.(map[string]any)
	hash, _ := ext["sha256Hash"].(string)
	if ext == nil || !isVersion1(ext["version"]) {
		return coded(Invalid, "unsupported APQ version: extensions.persistedQuery needs version 1 and a sha256Hash")
	}
	if p.Query == "" {
		q, ok := a.Store.Get(ctx, hash)
		if !ok {
			return coded(NotFound, "PersistedQueryNotFound")
		}
		p.Query = q
		return nil
	}
	if len(p.Query) > a.Store.MaxBytes() {
		err := coded(TooLarge, fmt.Sprintf("the query is %d bytes, more than the %d a persisted query may have; send it without extensions.persistedQuery",
			len(p.Query), a.Store.MaxBytes()))
		err.Extensions["limit"] = map[string]any{"name": "persistedQueryBytes", "max": a.Store.MaxBytes(), "actual": len(p.Query)}
		return err
	}
	if Hash(p.Query) != hash {
		return coded(Invalid, "provided APQ hash does not match query")
	}
	graphql.GetOperationContext(ctx).Stats.SetExtension(registrationStats, registration{hash: hash, query: p.Query})
	return nil
}

// InterceptOperation registers the query the operation was sent with. It
// runs only for an operation that is about to execute: gqlgen has parsed
// and validated it, and every operation-context check (the limits) passed.
func (a APQ) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if r, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(registrationStats).(registration); ok {
		a.Store.Add(ctx, r.hash, r.query)
	}
	return next(ctx)
}

// isVersion1 reports whether v, a decoded JSON number, is 1.
func isVersion1(v any) bool {
	switch n := v.(type) {
	case json.Number:
		return n.String() == "1"
	case float64:
		return n == 1
	case int:
		return n == 1
	case int64:
		return n == 1
	}
	return false
}

func coded(code, msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	errcode.Set(err, code)
	return err
}
