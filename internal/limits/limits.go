// Package limits refuses operations that ask for too much, before they run:
// documents too large to validate cheaply (tokens, fields, long names;
// document.go), and operations too deep, with too many aliases, or too many
// upstream calls by the cost model in cost.go. It also puts a per-operation
// budget of upstream calls on the context the operation runs under, which
// internal/upstream enforces on every request it is about to send, for what
// the model could not foresee.
//
// Every refusal is BAD_USER_INPUT (design §7's code for a request that fails
// validation before any upstream call) with extensions.limit naming the
// limit: {name, max, actual}, name one of tokens, fields, nameLength, depth,
// aliases, complexity, upstreamCalls. Refusals before execution answer as
// gqlgen's own validation failures do (the gateway's transport: 200 with
// application/json, 400 with application/graphql-response+json; no data
// entry), and make no upstream call. A spent call budget is an
// error on the path of each field it stopped, and the rest of the response
// still comes back.
//
// Wiring, in the gqlgen handler, before the persisted queries (so that a
// refused document is never registered): e := limits.New(cfg);
// e.UseQueryCache(queryCache); gql.Use(e).
package limits

import (
	"context"
	"fmt"
	"weak"

	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/upstream"
)

// Config holds the limits of one operation. A zero field takes its value
// from Defaults; a negative one turns that limit off.
type Config struct {
	// MaxTokens bounds the tokens of a document, comments included
	// (MAX_QUERY_TOKENS).
	MaxTokens int
	// MaxFields bounds the fields, fragment spreads and inline fragments of
	// a document as written (MAX_QUERY_FIELDS).
	MaxFields int
	// MaxDepth bounds the fields on the longest path (MAX_QUERY_DEPTH).
	MaxDepth int
	// MaxAliases bounds the aliased fields of the response, fragments
	// expanded (MAX_QUERY_ALIASES).
	MaxAliases int
	// MaxComplexity bounds the upstream calls the cost model predicts for
	// the operation (MAX_QUERY_COMPLEXITY).
	MaxComplexity int
	// MaxUpstreamCalls bounds the requests the operation actually sends
	// upstream; cache hits and shared calls are free (MAX_UPSTREAM_CALLS).
	MaxUpstreamCalls int
}

// Defaults are the limits when none are set:
//
//   - tokens 10,000 and fields 300: the IDE's introspection query has 178
//     tokens and 75 fields (spreads and inline fragments counted; gqlgen's
//     own 180 and 77), the
//     README's examples at most 61 and 26, the load driver's at most 65 and
//     14. Validation's work grows with the square of the fields (see
//     document.go): at 300 the costliest documents that pass (fragments
//     spreading each other, pairs of fragments, one field repeated) take
//     about 11 ms of CPU to check, parse and validate (at 500: 25 ms);
//     10,000 tokens of unknown arguments about 9 ms
//     (BenchmarkHostileDocuments in internal/server).
//   - depth 15: GraphiQL's introspection query (the IDE's docs) is 15 deep,
//     the deepest README example 5, the deepest sensible data query about 9
//     (organizations → edges → node → members → edges → node →
//     organizations → connections → id). Every cycle in the schema costs
//     upstream calls, so complexity bounds data depth well before this.
//   - aliases 30: the README's examples use none, the load driver's two;
//     30 leaves room for a page of lookups side by side (a1: organization
//     …), which complexity bounds anyway, and stops floods of aliased free
//     fields such as __schema.
//   - complexity 250 and upstream calls 250: one number for what one
//     operation may cost upstream, predicted and then enforced. The README's
//     examples cost 42, 2, 5 and 2; a page of 100 organizations with their
//     connections and groups costs 201. At the default UPSTREAM_RATE_LIMIT
//     of 10 requests/s per upstream, and REQUEST_TIMEOUT 10 s, an uncached
//     operation cannot send much more than 200 calls before its deadline.
func Defaults() Config {
	return Config{MaxTokens: 10000, MaxFields: 300, MaxDepth: 15, MaxAliases: 30, MaxComplexity: 250, MaxUpstreamCalls: 250}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.MaxTokens == 0 {
		c.MaxTokens = d.MaxTokens
	}
	if c.MaxFields == 0 {
		c.MaxFields = d.MaxFields
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = d.MaxDepth
	}
	if c.MaxAliases == 0 {
		c.MaxAliases = d.MaxAliases
	}
	if c.MaxComplexity == 0 {
		c.MaxComplexity = d.MaxComplexity
	}
	if c.MaxUpstreamCalls == 0 {
		c.MaxUpstreamCalls = d.MaxUpstreamCalls
	}
	return c
}

// Extension is the gqlgen handler extension that applies a Config.
type Extension struct {
	cfg Config
	// measured keeps the measure of operations that no variable changes:
	// a frontend sends the same few documents again and again (gqlgen's
	// query cache keeps them parsed, so an operation is the same pointer).
	// The keys are weak: a measure never keeps an operation, its document
	// and the whole text it was parsed from alive after the query cache
	// dropped it (or never kept it: documents over its size bound), and a
	// weak pointer to a collected operation never equals one to a new
	// operation at the same address.
	measured *lru.Cache[weak.Pointer[ast.OperationDefinition], Stats]
	// queries, when set, is gqlgen's query cache: its documents need no
	// token or field count (UseQueryCache).
	queries graphql.Cache[*ast.QueryDocument]
}

// measuredOperations bounds the measures kept, like gqlgen's query cache.
const measuredOperations = 1000

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
	graphql.OperationInterceptor
} = (*Extension)(nil)

// New returns the extension for cfg (zero fields take Defaults).
func New(cfg Config) *Extension {
	measured, _ := lru.New[weak.Pointer[ast.OperationDefinition], Stats](measuredOperations) // errors only for a size < 1
	return &Extension{cfg: cfg.withDefaults(), measured: measured}
}

// Config returns the limits in force, defaults applied.
func (e *Extension) Config() Config { return e.cfg }

const extensionName = "OperationLimits"

// ExtensionName implements graphql.HandlerExtension.
func (e *Extension) ExtensionName() string { return extensionName }

// Validate implements graphql.HandlerExtension: every field the cost table
// names must exist in the schema served, so a renamed field cannot silently
// become free. gqlgen panics on this error when the extension is added.
func (e *Extension) Validate(es graphql.ExecutableSchema) error {
	return checkCosts(es.Schema())
}

// MutateOperationContext implements graphql.OperationContextMutator: it runs
// after validation and before execution, and refuses the operation when it
// is over a limit. What it measured is in the operation's stats (GetStats).
func (e *Extension) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	op := opCtx.Operation
	if op == nil {
		op = opCtx.Doc.Operations.ForName(opCtx.OperationName)
	}
	if op == nil {
		return nil // gqlgen refuses it itself
	}
	key := weak.Make(op)
	s, ok := e.measured.Get(key)
	if !ok {
		var usedVars bool
		s, usedVars = measure(opCtx.Doc, op, opCtx.Variables)
		if !usedVars {
			e.measured.Add(key, s)
		}
	}
	opCtx.Stats.SetExtension(extensionName, &s)
	return e.check(s)
}

// check returns the refusal for the first limit s is over, nil when none.
func (e *Extension) check(s Stats) *gqlerror.Error {
	c := e.cfg
	switch {
	case c.MaxDepth > 0 && s.Depth > c.MaxDepth:
		return refusal(apperr.LimitDepth, c.MaxDepth, s.Depth,
			"the operation nests fields %d levels deep, more than the limit of %d", s.Depth, c.MaxDepth)
	case c.MaxAliases > 0 && s.Aliases > c.MaxAliases:
		return refusal(apperr.LimitAliases, c.MaxAliases, s.Aliases,
			"the operation uses %d aliases, more than the limit of %d", s.Aliases, c.MaxAliases)
	case c.MaxComplexity > 0 && s.TooLarge:
		return refusal(apperr.LimitComplexity, c.MaxComplexity, s.Complexity,
			"the operation expands to more than %d selections, too large to measure against the complexity limit of %d", maxWork, c.MaxComplexity)
	case c.MaxComplexity > 0 && s.Complexity > c.MaxComplexity:
		return refusal(apperr.LimitComplexity, c.MaxComplexity, s.Complexity,
			"the operation could need %d upstream calls, more than the complexity limit of %d; "+
				"ask for smaller pages (first) or fewer nested lists", s.Complexity, c.MaxComplexity)
	}
	return nil
}

func refusal(name string, max, actual int, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{
		Message: fmt.Sprintf(format, args...),
		Extensions: map[string]any{
			"code":  string(apperr.BadUserInput),
			"limit": apperr.Limit(name, max, actual),
		},
	}
}

// InterceptOperation implements graphql.OperationInterceptor: the operation
// runs under its own budget of upstream calls. Resolvers and the loader
// batches they start inherit it through the context.
func (e *Extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if e.cfg.MaxUpstreamCalls > 0 {
		ctx = upstream.WithCallBudget(ctx, e.cfg.MaxUpstreamCalls)
	}
	return next(ctx)
}

// GetStats returns what the operation behind ctx measured (depth, aliases,
// complexity), nil when the extension did not run. Nothing in the gateway
// reports these yet; the tests read them to check what was measured.
func GetStats(ctx context.Context) *Stats {
	if !graphql.HasOperationContext(ctx) {
		return nil
	}
	s, _ := graphql.GetOperationContext(ctx).Stats.GetExtension(extensionName).(*Stats)
	return s
}
