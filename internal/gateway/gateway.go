// Package gateway is the composition root as a library: it wires settings
// into a running gateway (config, then Redis, the upstream clients, the cache
// and the governor, then the HTTP handler of internal/server), and in the
// demo starts the simulated upstreams. cmd/orgraph runs it; internal/testutil
// builds the gateways of tests through it, so tests and main share one
// construction path and one cleanup path.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/config"
	"github.com/orgraph/orgraph/internal/events"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/loaders"
	"github.com/orgraph/orgraph/internal/metrics"
	"github.com/orgraph/orgraph/internal/persisted"
	"github.com/orgraph/orgraph/internal/purge"
	"github.com/orgraph/orgraph/internal/ratelimit"
	"github.com/orgraph/orgraph/internal/redisconn"
	"github.com/orgraph/orgraph/internal/respcache"
	"github.com/orgraph/orgraph/internal/server"
	"github.com/orgraph/orgraph/internal/tracing"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// demoSimulator is the data the demo serves: the built-in set plus enough
// generated organizations to page through.
var demoSimulator = upstreamsim.Config{
	Organizations:      120,
	Users:              60,
	MembershipsPerUser: 3,
	ConnectionsPerOrg:  2,
	Partitions:         6,
	GroupsPerPartition: 2,
	MembersPerGroup:    3,
}

// tracingFlushTimeout bounds the flush of queued spans at shutdown, after
// the drain (Kubernetes' grace period is 30 s, the drain 25 s).
const tracingFlushTimeout = 3 * time.Second

// Gateway is a configured gateway, ready to serve.
type Gateway struct {
	Handler http.Handler
	Config  config.Config

	// Events is the Auth0 Event Streams store (nil: no stream configured):
	// tests wait on its Synced.
	Events *events.Store

	log     *slog.Logger
	httpSrv *http.Server
	closers []func()
	// sim is the demo's simulator, which delivers its events to this
	// gateway once Serve knows where it listens.
	sim        *upstreamsim.Simulator
	simWebhook events.Auth
}

// New builds the gateway for cfg. In demo mode it starts the upstream
// simulator in-process on a loopback port and points the clients at it, so
// the demo exercises the same HTTP path as production.
//
// Every resource New acquires is pushed on one stack of closers; Shutdown
// pops it, and so does New itself when a later step fails, so a failed start
// leaves no simulator listening and no Redis client open.
func New(cfg config.Config, log *slog.Logger) (_ *Gateway, err error) {
	g := &Gateway{Config: cfg, log: log}
	defer func() {
		if err != nil {
			g.release()
		}
	}()
	// The manifest is read first, before anything that needs cleaning up.
	allow, err := allowList(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Demo {
		sim, base, stop, err := startSimulator()
		if err != nil {
			return nil, err
		}
		g.onClose(stop)
		g.sim = sim
		if !cfg.Events.Enabled {
			// The demo's simulator delivers its events to the demo's own
			// webhook, with a secret made here.
			cfg.Events = config.Events{Enabled: true, Auth: events.AuthBearer, Secret: randomSecret()}
		}
		g.simWebhook = events.Auth{Method: cfg.Events.Auth, Secret: cfg.Events.Secret, Header: cfg.Events.Header}
		cfg.Auth0.BaseURL = base
		cfg.Identity.BaseURL = base + "/" + identity.Placeholder + "/identity_"
		log.Warn("demo mode: serving simulated upstreams with built-in data; caller authentication is off", slog.String("upstream", base))
	}
	if cfg.AuthDisabled && !cfg.Demo {
		log.Warn("AUTH_DISABLED=true: the gateway serves every caller without authentication")
	}
	var rdb redis.UniversalClient
	if cfg.RedisURL != "" || cfg.RedisSentinel.Master != "" {
		var err error
		if rdb, err = openRedis(redisconn.Options{
			URL:              cfg.RedisURL,
			SentinelMaster:   cfg.RedisSentinel.Master,
			SentinelAddrs:    cfg.RedisSentinel.Addrs,
			SentinelPassword: cfg.RedisSentinel.Password,
			Password:         cfg.RedisPassword,
		}); err != nil {
			setting := "REDIS_URL"
			if cfg.RedisSentinel.Master != "" {
				setting = "REDIS_SENTINEL_ADDRS"
			}
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		g.onClose(func() { _ = rdb.Close() })
	}
	m := metrics.New(metrics.Options{OperationNames: cfg.MetricsOperationNames})
	var purges *purge.Table
	// The longest an entry can be served: CACHE_TTL with its jitter, then
	// stale; a cut-off older than that can purge nothing.
	maxAge := cfg.CacheTTL*11/10 + cfg.CacheStaleTTL + events.Margin
	if cfg.Events.Enabled && cfg.CacheTTL > 0 {
		purges = purge.New(maxAge, nil)
	}
	responses, err := cache.New(cache.Config{
		Redis: rdb, Prefix: cfg.RedisKeyPrefix,
		TTL: cfg.CacheTTL, StaleTTL: cfg.CacheStaleTTL, NotFoundTTL: cfg.CacheNotFoundTTL,
		LocalBytes: cfg.CacheLocalBytes, Logger: log,
		Purges: purges, OnPurged: m.EntryPurged,
	})
	if err != nil {
		return nil, err
	}
	g.onClose(responses.Close)
	var whole *respcache.Cache
	if cfg.ResponseCache {
		if whole, err = respcache.New(cfg.ResponseCacheBytes, nil); err != nil {
			return nil, err
		}
		g.onClose(whole.Close)
	}
	if !responses.Enabled() {
		log.Info("CACHE_TTL=0: caching is off; requests still share identical upstream calls and the rate governor")
	}
	governor := ratelimit.New(ratelimit.Config{
		Rate:     cfg.UpstreamRateLimit,
		MaxPause: cfg.UpstreamMaxPause,
		Redis:    rdb,
		Prefix:   cfg.RedisKeyPrefix,
		Logger:   log,
	})
	g.onClose(governor.Close) // ends its heartbeat before Redis is closed
	m.WatchGovernor(governor)
	queries := persisted.NewStore(persisted.StoreConfig{Redis: rdb, Prefix: cfg.RedisKeyPrefix,
		MaxBytes: cfg.PersistedQueryMaxBytes, Logger: log})
	if rdb != nil {
		m.WatchRedis(func() bool { return !responses.Degraded() && !governor.Degraded() && !queries.Degraded() })
	}
	tp, stopTracing, err := tracing.Setup(context.Background(), cfg.Tracing, "orgraph", log)
	if err != nil {
		return nil, err
	}
	g.onClose(func() { // flushes the spans still queued
		ctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
		defer cancel()
		_ = stopTracing(ctx)
	})
	up, ready := upstreams(cfg, responses, governor, queries, m, tracing.Tracer(tp), log)
	var verifier *auth.Verifier
	if !cfg.AuthDisabled {
		ctx, stop := context.WithCancel(context.Background())
		g.onClose(stop) // ends the JWKS refreshes
		if verifier, err = auth.New(ctx, auth.Config{
			Issuer: cfg.AuthIssuer, Audience: cfg.AuthAudience, JWKSURL: cfg.AuthJWKSURL, Logger: log,
		}); err != nil {
			return nil, err
		}
		log.Info("caller auth: bearer JWTs required", slog.String("issuer", cfg.AuthIssuer), slog.String("audience", cfg.AuthAudience))
	}
	var webhook http.Handler
	if cfg.Events.Enabled {
		g.Events = events.NewStore(events.StoreConfig{Redis: rdb, Prefix: cfg.RedisKeyPrefix, Table: purges,
			Logger: log, MaxAge: maxAge})
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); g.Events.Run(ctx) }()
		// Pushed last, so released first: the subscription ends before
		// Redis is closed.
		g.onClose(func() { stop(); <-done })
		webhook = &events.Handler{Auth: events.Auth{Method: cfg.Events.Auth, Secret: cfg.Events.Secret, Header: cfg.Events.Header},
			Store: g.Events, Metrics: m, Logger: log}
		log.Info("Auth0 Event Streams: deliveries accepted at "+events.Path, slog.String("auth", cfg.Events.Auth),
			slog.Bool("purging", purges != nil))
	}
	g.Config = cfg
	g.Handler = server.NewHandler(server.HandlerOptions{
		Upstreams:               up,
		PartitionMetadataKey:    cfg.Identity.PartitionMetadataKey,
		OrganizationMetadataKey: cfg.Identity.OrganizationMetadataKey,
		Introspection:           cfg.Introspection,
		Logger:                  log,
		Ready:                   ready,
		ExampleQuery:            server.ExampleQuery,
		RequestTimeout:          cfg.RequestTimeout,
		Verifier:                verifier,
		CORSOrigins:             cfg.CORSOrigins,
		Limits:                  cfg.Limits,
		ForwardTokens:           cfg.UpstreamAuthMode == config.AuthModeForward,
		Metrics:                 m,
		Tracer:                  tp,
		PersistedQueries:        queries,
		ResponseCache:           whole,
		ResponseCacheTTL:        cfg.CacheTTL,
		CoalesceResponses:       cfg.ResponseCoalescing,
		Federation:              cfg.Federation,
		AllowList:               allow,
		Purges:                  purges,
		Events:                  webhook,
		Simulator:               simHandler(g.sim),
	})
	return g, nil
}

// upstreams builds the clients and a readiness check: the gateway can obtain
// its upstream credentials, and says when Redis is down (degraded, not
// unready: the in-process tier and the local limiter keep it serving).
func upstreams(cfg config.Config, responses *cache.Cache, governor *ratelimit.Governor, queries *persisted.Store, m *metrics.Metrics, tracer trace.Tracer, log *slog.Logger) (loaders.Upstreams, func(*http.Request) server.Readiness) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 256
	transport.MaxIdleConnsPerHost = 128
	httpClient := &http.Client{Transport: transport}

	var sources []upstream.TokenSource
	auth0Tokens := tokenSource("auth0", cfg.Auth0.Token, cfg.Auth0.ClientID, cfg.Auth0.ClientSecret,
		strings.TrimRight(cfg.Auth0.BaseURL, "/")+"/oauth/token", nil, map[string]string{"audience": cfg.Auth0.Audience}, httpClient)
	if auth0Tokens != nil {
		sources = append(sources, auth0Tokens)
	}
	if cfg.UpstreamAuthMode == config.AuthModeForward {
		// Each caller's own token; readiness has none to check.
		auth0Tokens = upstream.ForwardedToken{}
	}
	// One budget for the bodies both upstreams' calls read at once.
	bodies := upstream.NewBodyMemory(upstream.BodiesPerBudget * cfg.UpstreamMaxBodyBytes)
	client := func(service string, tokens upstream.TokenSource) *upstream.Client {
		c := upstream.NewClient(service, httpClient, tokens, cfg.UpstreamTimeout)
		c.Cache = responses
		c.Limiter = governor
		c.Metrics = m
		c.Logger = log
		c.Tracer = tracer // nil without OTLP settings: no spans
		c.Concurrency = cfg.UpstreamConcurrency
		c.MaxBody = cfg.UpstreamMaxBodyBytes
		c.Bodies = bodies
		return c
	}
	up := loaders.Upstreams{
		Auth0: auth0.New(cfg.Auth0.BaseURL, client("auth0", auth0Tokens)),
	}
	if cfg.Identity.BaseURL != "" {
		idTokens := tokenSource("identity", cfg.Identity.Token, cfg.Identity.ClientID, cfg.Identity.ClientSecret,
			identity.TokenURL(cfg.Identity.BaseURL), cfg.Identity.Scopes, nil, httpClient)
		if idTokens != nil {
			sources = append(sources, idTokens)
		}
		up.Identity = identity.New(cfg.Identity.BaseURL, client("identity", idTokens))
	}
	ready := func(r *http.Request) server.Readiness {
		ctx, cancel := context.WithTimeout(r.Context(), cfg.UpstreamTimeout)
		defer cancel()
		var rd server.Readiness
		var errs []error
		for _, s := range sources {
			if _, err := s.Token(ctx); err != nil {
				errs = append(errs, fmt.Errorf("upstream credentials unusable: %w", err))
			}
		}
		rd.Err = errors.Join(errs...)
		// Each user of Redis pings it: the ping is also the probe that ends
		// its degradation when no request has needed Redis since it came back.
		if cacheErr, governorErr, queriesErr := responses.Ping(ctx), governor.Ping(ctx), queries.Ping(ctx); cacheErr != nil || governorErr != nil || queriesErr != nil {
			rd.Degraded = append(rd.Degraded, "redis unavailable: serving from the in-process cache with the local rate limiter")
		}
		if cfg.AuthDisabled && !cfg.Demo {
			rd.Degraded = append(rd.Degraded, "caller authentication is disabled (AUTH_DISABLED=true)")
		}
		return rd
	}
	return up, ready
}

func tokenSource(service, token, id, secret, tokenURL string, scopes []string, params map[string]string, hc *http.Client) upstream.TokenSource {
	switch {
	case token != "":
		return upstream.NewStaticToken(token)
	case id != "":
		return upstream.NewClientCredentials(service, tokenURL, id, secret, scopes, params, hc)
	}
	return nil
}

func startSimulator() (*upstreamsim.Simulator, string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("demo: start the upstream simulator: %w", err)
	}
	sim := upstreamsim.New(demoSimulator)
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return sim, "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// simHandler is the demo simulator's handler, nil outside the demo.
func simHandler(sim *upstreamsim.Simulator) http.Handler {
	if sim == nil {
		return nil
	}
	return sim.Handler()
}

// randomSecret is the demo's webhook secret: 32 random bytes, hex.
func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Serve serves on ln until Shutdown. In the demo, the simulator delivers its
// events to ln from now on.
func (g *Gateway) Serve(ln net.Listener) error {
	if g.sim != nil {
		g.sim.SetWebhook("http://"+ln.Addr().String()+events.Path, g.simWebhook.Apply)
	}
	g.httpSrv = &http.Server{
		Handler:           g.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	err := g.httpSrv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests, waits for in-flight ones until ctx
// ends, then releases what New started.
func (g *Gateway) Shutdown(ctx context.Context) error {
	var err error
	if g.httpSrv != nil {
		err = g.httpSrv.Shutdown(ctx)
	}
	g.release()
	return err
}

// onClose pushes f on the stack of what Shutdown (or a failed New) releases.
func (g *Gateway) onClose(f func()) { g.closers = append(g.closers, f) }

// release runs the closers in reverse order of acquisition, once: what was
// built on a resource is released before it (the cache before Redis).
func (g *Gateway) release() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
	g.closers = nil
}

// openRedis opens the Redis client; a variable so that the cleanup test can
// see the client a failed New must close.
var openRedis = redisconn.Open

// allowList reads the manifest when only persisted operations may run. A
// manifest named without PERSISTED_OPERATIONS_ONLY is still read, so that a
// bad file stops start-up rather than the day the allow-list is switched on.
// The error names the setting, never the path.
func allowList(cfg config.Config) (persisted.Manifest, error) {
	if cfg.ManifestPath == "" {
		return nil, nil
	}
	m, err := persisted.LoadManifest(cfg.ManifestPath)
	if err != nil {
		return nil, fmt.Errorf("PERSISTED_OPERATIONS_MANIFEST: %w", err)
	}
	if !cfg.PersistedOnly {
		return nil, nil
	}
	return m, nil
}
