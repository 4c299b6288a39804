// Package server wires the gateway: upstream clients from the config, the
// per-request loaders, the gqlgen handler with its error presenter, the IDE
// and the health endpoints, behind the HTTP middleware. Data flows one way:
// HTTP → middleware → gqlgen → resolvers → loaders → upstream client → REST.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	rscors "github.com/rs/cors"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/trace"

	"github.com/orgraph/orgraph/graph"
	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/events"
	"github.com/orgraph/orgraph/internal/ide"
	"github.com/orgraph/orgraph/internal/limits"
	"github.com/orgraph/orgraph/internal/loaders"
	"github.com/orgraph/orgraph/internal/metrics"
	"github.com/orgraph/orgraph/internal/persisted"
	"github.com/orgraph/orgraph/internal/purge"
	"github.com/orgraph/orgraph/internal/respcache"
	"github.com/orgraph/orgraph/internal/tracing"
	"github.com/orgraph/orgraph/internal/upstream"
)

// MaxBodyBytes bounds a GraphQL request body. The largest document the
// README shows is under 2 KiB; 1 MiB leaves room for generated clients.
const MaxBodyBytes = 1 << 20

// queryCacheSize is how many parsed and validated documents are kept, so a
// frontend's fixed set of queries is parsed once.
const queryCacheSize = 1000

// queryCache is gqlgen's cache of parsed and validated documents, keyed by
// their text, that keeps only documents of at most max bytes (the largest
// persisted query, PERSISTED_QUERY_MAX_KB): a frontend's documents are small
// and sent again and again, while a caller sending distinct 1 MiB documents
// made the gateway keep 1,000 of them (200 took its RSS to 272 MiB). Larger
// documents are parsed each time they come.
type queryCache struct {
	max int
	lru *lru.LRU[*ast.QueryDocument]
}

func (c queryCache) Get(ctx context.Context, query string) (*ast.QueryDocument, bool) {
	return c.lru.Get(ctx, query)
}

func (c queryCache) Add(ctx context.Context, query string, doc *ast.QueryDocument) {
	if len(query) <= c.max {
		c.lru.Add(ctx, query, doc)
	}
}

// HandlerOptions are what the HTTP handler needs.
type HandlerOptions struct {
	Upstreams               loaders.Upstreams
	PartitionMetadataKey    string
	OrganizationMetadataKey string
	Introspection           bool
	Logger                  *slog.Logger
	// Ready reports whether the gateway can serve (for /readyz).
	Ready func(*http.Request) Readiness
	// ExampleQuery is what the IDE opens with.
	ExampleQuery string
	// RequestTimeout bounds one GraphQL request.
	RequestTimeout time.Duration
	// Verifier authenticates callers; nil serves every caller with every
	// scope (AUTH_DISABLED=true, or the demo).
	Verifier *auth.Verifier
	// CORSOrigins are the browser origins allowed to call /graphql; none
	// means no CORS headers at all.
	CORSOrigins []string
	// Limits bound each operation; zero fields take limits.Defaults.
	Limits limits.Config
	// ForwardTokens sends each caller's bearer token to Auth0
	// (UPSTREAM_AUTH_MODE=forward).
	ForwardTokens bool
	// Metrics, when set, counts operations and is served at /metrics.
	Metrics *metrics.Metrics
	// Tracer makes a span per operation (OTLP settings); nil or a no-op
	// provider: none.
	Tracer trace.TracerProvider
	// AllowList, when set, is the only operations that may run
	// (PERSISTED_OPERATIONS_ONLY=true); otherwise PersistedQueries stores
	// automatic persisted queries (nil: in-process only).
	AllowList        persisted.Manifest
	PersistedQueries *persisted.Store
	// ResponseCache, when set, answers operations seen before with their
	// stored responses; ResponseCacheTTL (CACHE_TTL) caps how long one is kept.
	ResponseCache    *respcache.Cache
	ResponseCacheTTL time.Duration
	// CoalesceResponses lets identical operations that arrive while one of
	// them runs share its answer (RESPONSE_COALESCING), with or without a
	// response cache.
	CoalesceResponses bool
	// Federation serves the subgraph fields _service and _entities
	// (FEDERATION=true); without it the schema is the public one.
	Federation bool
	// Purges, when set (an event stream is configured), is what Auth0
	// events purged: the response cache tags what it stores with it.
	Purges *purge.Table
	// Events, when set, is the Auth0 Event Streams webhook, served at
	// events.Path.
	Events http.Handler
	// Simulator, in the demo, is the simulated upstreams' handler: its
	// /_sim/ routes (change the data, read the counters) are served here
	// too, so a person changes data on the port the IDE is on.
	Simulator http.Handler
}

// Readiness is what /readyz reports: Err makes it 503; Degraded lists what
// works in a reduced way while the gateway still serves (200).
type Readiness struct {
	Err      error
	Degraded []string
}

// NewHandler returns the gateway's HTTP handler.
func NewHandler(o HandlerOptions) http.Handler {
	schema := graph.NewExecutableSchema(graph.Config{
		Schema: servedSchema(o.Federation),
		Resolvers: &graph.Resolver{
			PartitionMetadataKey:    o.PartitionMetadataKey,
			OrganizationMetadataKey: o.OrganizationMetadataKey,
		},
		Directives: graph.DirectiveRoot{RequiresScope: graph.RequiresScope},
	})
	gql := handler.New(schema)
	gql.AddTransport(transport.Options{})
	gql.AddTransport(queryGET{})
	gql.AddTransport(jsonPOST{})
	store := o.PersistedQueries
	if store == nil {
		store = persisted.NewStore(persisted.StoreConfig{})
	}
	queries := queryCache{max: store.MaxBytes(), lru: lru.New[*ast.QueryDocument](queryCacheSize)}
	gql.SetQueryCache(queries)
	if o.Introspection {
		gql.Use(extension.Introspection{})
	}
	// The persisted queries come first: they fill in a hash's document, and
	// refuse a query sent for registration over their size bound, the
	// cheapest check of all; a query is registered only once it parsed,
	// validated and passed every limit. Then a new document's tokens and
	// fields are checked before it is parsed; depth, aliases and predicted
	// cost after validation and before execution. The operation's
	// upstream-call budget rides on its context from there down to the
	// upstream client.
	if o.AllowList != nil {
		gql.Use(persisted.AllowList{Manifest: o.AllowList})
		if o.Metrics != nil {
			o.Metrics.KnowOperations(o.AllowList.OperationNames()...)
		}
	} else {
		gql.Use(persisted.APQ{Store: store})
	}
	gql.Use(strictVariables{}) // before the limits, which read page sizes from variables
	lim := limits.New(o.Limits)
	lim.UseQueryCache(queries)
	gql.Use(lim)
	if o.Metrics != nil {
		gql.Use(o.Metrics.Operations())
	}
	gql.Use(operationLog{})
	gql.Use(tracing.Operations(o.Tracer)) // last: its span wraps the other extensions
	gql.SetErrorPresenter(apperr.Presenter(o.Logger))
	gql.SetRecoverFunc(apperr.Recover(o.Logger))

	var run http.Handler = operationScope(o.RequestTimeout, o.Upstreams, gql)
	if o.ResponseCache != nil || o.CoalesceResponses {
		run = &responseCache{cache: o.ResponseCache, ttl: o.ResponseCacheTTL, coalesce: o.CoalesceResponses,
			running: map[string]*runningOperation{}, scopes: schemaScopes(schema.Schema()), m: o.Metrics, next: run,
			purges: o.Purges}
	}
	mux := http.NewServeMux()
	mux.Handle("/graphql", accessLog(o.Logger, cors(o.CORSOrigins, limitBody(MaxBodyBytes,
		callerAuth(o, graphQLRequests(run))))))
	if o.Simulator != nil {
		mux.Handle("/_sim/", o.Simulator)
	}
	if o.Events != nil {
		// Its own authorization (the stream's secret), not callers' JWTs.
		mux.Handle(events.Path, o.Events)
	}
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler()) // open, like the health endpoints
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, "ok", "")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var rd Readiness
		if o.Ready != nil {
			rd = o.Ready(r)
		}
		switch {
		case rd.Err != nil:
			writeStatus(w, http.StatusServiceUnavailable, "unavailable", rd.Err.Error())
		case len(rd.Degraded) > 0:
			writeStatus(w, http.StatusOK, "degraded", strings.Join(rd.Degraded, "; "))
		default:
			writeStatus(w, http.StatusOK, "ready", "")
		}
	})
	mux.Handle("/", ide.Handler(ide.Options{Title: "orgraph", Endpoint: "/graphql", DefaultQuery: o.ExampleQuery}))
	return mux
}

func writeStatus(w http.ResponseWriter, code int, status, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	body := map[string]string{"status": status}
	if detail != "" {
		body["detail"] = detail
	}
	_ = json.NewEncoder(w).Encode(body)
}

// operationScope gives an operation that is about to run its deadline
// (rate-budget waits and retries stop at it) and its own loaders, in one
// step.
func operationScope(d time.Duration, up loaders.Upstreams, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		next.ServeHTTP(w, r.WithContext(loaders.WithLoaders(ctx, loaders.New(up))))
	})
}

// limitBody answers 413 for a body larger than max before anything reads it,
// and caps what a body without a declared length may deliver.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{
				"message":    bodyTooLarge,
				"extensions": map[string]any{"code": badRequest},
			}}})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// cors answers browsers' preflight requests and adds CORS headers for the
// allowed origins only (github.com/rs/cors). Without origins it adds
// nothing, so browsers on other origins cannot read the answers.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	return rscors.New(rscors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept"},
		MaxAge:         600,
	}).Handler(next)
}

// callerAuth authenticates callers (a nil Verifier serves everyone with
// every scope) and, in forward mode, hands each caller's token to the
// upstream client; without a Verifier a token is then still required.
func callerAuth(o HandlerOptions, next http.Handler) http.Handler {
	if !o.ForwardTokens {
		return auth.Middleware(o.Verifier, next)
	}
	forward := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstream.RequestFrom(r.Context()).SetForwardedToken(auth.CallerFrom(r.Context()).Token())
		next.ServeHTTP(w, r)
	})
	if o.Verifier == nil {
		return auth.Passthrough(forward)
	}
	return auth.Middleware(o.Verifier, forward)
}

// ExampleQuery is the query the IDE opens with: the flagship path, for the
// demo user of the built-in data.
const ExampleQuery = `# orgraph: one graph over Auth0 organizations and UiPath groups.
# Press the run button (or Ctrl-Enter).
query UserWithOrganizations {
  user(id: "auth0|6410784d38b3e02b77fdd660") {
    id
    email
    organizations {
      id
      name
      displayName
      connections { id connectionId name strategy isSignupEnabled }
      groups { id groupId name type members { identifier displayName email } }
    }
  }
}
`
