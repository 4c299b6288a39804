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
	"os"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Store keeps APQ queries by hash: an in-process LRU in front of Redis
// (optional). It implements gqlgen's graphql.Cache[string].
type Store struct {
	local  *lru.Cache[string, string]
	rdb    redis.UniversalClient
	prefix string
}

// queryTTL is how long Redis keeps a registered query unused: clients
// register again after a PERSISTED_QUERY_NOT_FOUND, so this only bounds
// memory.
const queryTTL = 24 * time.Hour

// redisTimeout bounds each Redis call; a slow Redis only means a client
// sends its query once more.
const redisTimeout = 100 * time.Millisecond

// NewStore returns a store; rdb nil keeps queries in-process only.
func NewStore(rdb redis.UniversalClient, prefix string) *Store {
	local, _ := lru.New[string, string](1000)
	return &Store{local: local, rdb: rdb, prefix: prefix + "apq:"}
}

// Get returns the query registered under hash.
func (s *Store) Get(ctx context.Context, hash string) (string, bool) {
	if q, ok := s.local.Get(hash); ok {
		return q, true
	}
	if s.rdb == nil {
		return "", false
	}
	rctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	q, err := s.rdb.Get(rctx, s.prefix+hash).Result()
	if err != nil {
		return "", false
	}
	s.local.Add(hash, q)
	return q, true
}

// Add registers query under hash (gqlgen has checked that they match).
func (s *Store) Add(ctx context.Context, hash, query string) {
	s.local.Add(hash, query)
	if s.rdb == nil {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisTimeout)
	defer cancel()
	_ = s.rdb.Set(rctx, s.prefix+hash, query, queryTTL).Err()
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

// Hash is the APQ hash of a query: hex sha256.
func Hash(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// NotAllowed is the extensions.code of an operation outside the allow-list.
const NotAllowed = "PERSISTED_QUERY_NOT_ALLOWED"

func init() {
	// A refused operation never ran: a request error (HTTP 4xx), not a
	// field error.
	errcode.RegisterErrorType(NotAllowed, errcode.KindProtocol)
	errcode.RegisterErrorType(Invalid, errcode.KindProtocol)
}

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

// APQ is gqlgen's automatic persisted queries over a Store, with a code on
// every refusal: gqlgen's own leaves some (a hash that does not match its
// query) without one.
type APQ struct{ Store *Store }

var (
	_ graphql.HandlerExtension          = APQ{}
	_ graphql.OperationParameterMutator = APQ{}
)

// ExtensionName names the extension.
func (APQ) ExtensionName() string { return "AutomaticPersistedQuery" }

// Validate accepts any schema.
func (a APQ) Validate(s graphql.ExecutableSchema) error {
	return extension.AutomaticPersistedQuery{Cache: a.Store}.Validate(s)
}

// MutateOperationParameters looks the query up by hash, or registers it.
func (a APQ) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	err := extension.AutomaticPersistedQuery{Cache: a.Store}.MutateOperationParameters(ctx, p)
	if err != nil && err.Extensions["code"] == nil {
		errcode.Set(err, Invalid)
	}
	return err
}
