// Package config reads the gateway's settings (design §5) from the
// environment in one pure function over a lookup, so tests pass a map and
// main passes os.LookupEnv. Every problem is reported at once, each naming
// its variable and never its value, because values may be secrets.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/orgraph/orgraph/internal/limits"
	"github.com/orgraph/orgraph/internal/metrics"
	"github.com/orgraph/orgraph/internal/persisted"
	"github.com/orgraph/orgraph/internal/tracing"
)

// Lookup returns an environment variable and whether it is set.
type Lookup func(string) (string, bool)

// Config is the gateway's settings.
type Config struct {
	// Demo is true when AUTH0_BASE_URL is unset: simulated upstreams run
	// in-process, caller auth is off and the gateway listens on loopback.
	Demo bool
	Addr string

	Auth0    Auth0
	Identity Identity

	RedisURL string
	// RedisSentinel is a Sentinel-managed Redis, instead of RedisURL.
	RedisSentinel RedisSentinel
	// RedisPassword authenticates to a Sentinel-managed master and its
	// replicas (REDIS_PASSWORD); a REDIS_URL carries its own.
	RedisPassword    string
	RedisKeyPrefix   string
	CacheTTL         time.Duration
	CacheStaleTTL    time.Duration
	CacheNotFoundTTL time.Duration
	// CacheLocalBytes bounds the in-process tier of decoded upstream
	// answers (CACHE_LOCAL_MAX_MB).
	CacheLocalBytes int64
	// ResponseCache keeps whole responses in-process (RESPONSE_CACHE); it
	// is off with CACHE_TTL=0 too. ResponseCacheBytes bounds it
	// (RESPONSE_CACHE_MAX_MB).
	ResponseCache      bool
	ResponseCacheBytes int64
	// ResponseCoalescing lets identical operations that arrive while one of
	// them runs share its answer (RESPONSE_COALESCING); it stays on with
	// CACHE_TTL=0, like the coalescing of upstream calls.
	ResponseCoalescing bool
	// Federation serves the Apollo Federation v2 subgraph fields (_service,
	// _entities) and their types (FEDERATION); off, the schema is exactly
	// the public one.
	Federation bool

	UpstreamRateLimit   float64
	UpstreamTimeout     time.Duration
	UpstreamConcurrency int
	// UpstreamMaxPause caps how long one upstream's 429 or exhausted
	// X-RateLimit headers pause calls to it (UPSTREAM_MAX_PAUSE), and so the
	// retryAfter callers are told.
	UpstreamMaxPause time.Duration
	// UpstreamMaxBodyBytes bounds one successful upstream body
	// (UPSTREAM_MAX_BODY_MB); a longer one is an upstream error.
	UpstreamMaxBodyBytes int64
	// RequestTimeout bounds one GraphQL request, waits for rate budget and
	// retries included.
	RequestTimeout time.Duration

	AuthIssuer   string
	AuthAudience string
	AuthJWKSURL  string
	AuthDisabled bool
	// UpstreamAuthMode is AuthModeGateway (the gateway's own Auth0
	// credentials, one shared cache) or AuthModeForward (each caller's bearer
	// token goes to Auth0; cache entries and shared calls are per token).
	UpstreamAuthMode string
	// CORSOrigins are the browser origins allowed to call the gateway
	// (CORS_ALLOWED_ORIGINS, comma-separated); none by default.
	CORSOrigins []string

	// PersistedOnly (PERSISTED_OPERATIONS_ONLY=true) runs only the
	// operations of the manifest file at ManifestPath
	// (PERSISTED_OPERATIONS_MANIFEST); otherwise automatic persisted queries
	// are on. Load only names the file: whoever builds the gateway reads it,
	// so that Load stays a pure function of the environment.
	PersistedOnly bool
	ManifestPath  string
	// PersistedQueryMaxBytes bounds a query registered as an automatic
	// persisted query (PERSISTED_QUERY_MAX_KB).
	PersistedQueryMaxBytes int

	// Limits bound each document and operation: tokens, fields, depth,
	// aliases, predicted upstream calls and upstream calls actually sent
	// (MAX_QUERY_TOKENS, MAX_QUERY_FIELDS, MAX_QUERY_DEPTH, MAX_QUERY_ALIASES,
	// MAX_QUERY_COMPLEXITY, MAX_UPSTREAM_CALLS).
	Limits limits.Config

	// MetricsOperationNames bounds the operation names that become metric
	// labels (METRICS_OPERATION_NAMES).
	MetricsOperationNames int

	// Introspection enables schema introspection (the IDE's docs need it);
	// on in demo mode, off otherwise unless INTROSPECTION=true.
	Introspection bool

	// Tracing says whether spans go out over OTLP, where and how
	// (OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _PROTOCOL, OTEL_SDK_DISABLED).
	Tracing tracing.Config

	// GOGCSet and GOMEMLIMITSet say the Go runtime's own GOGC and
	// GOMEMLIMIT are set; the runtime reads their values, and main then
	// leaves the collector's tuning to them.
	GOGCSet       bool
	GOMEMLIMITSet bool

	LogLevel  slog.Level
	LogFormat string

	// Events configures the Auth0 Event Streams webhook (POST
	// /events/auth0); it is on when Events.Secret is set
	// (AUTH0_EVENTS_SECRET), and in the demo, whose simulator delivers to
	// it with a secret made at start-up.
	Events Events
}

// Events holds the Auth0 Event Streams webhook's settings.
type Events struct {
	Enabled bool
	Auth    string // AUTH0_EVENTS_AUTH: bearer, basic or header
	Secret  string // AUTH0_EVENTS_SECRET
	Header  string // AUTH0_EVENTS_HEADER, for header
}

// Auth0 holds the Management API settings.
type Auth0 struct {
	BaseURL      string
	Token        string
	ClientID     string
	ClientSecret string
	Audience     string
}

// Identity holds the UiPath Identity API settings. BaseURL "" disables groups.
type Identity struct {
	BaseURL                 string
	Token                   string
	ClientID                string
	ClientSecret            string
	Scopes                  []string
	PartitionMetadataKey    string
	OrganizationMetadataKey string
}

// Defaults, in one place.
const (
	defaultDemoAddr        = "127.0.0.1:8080"
	defaultAddr            = ":8080"
	defaultCacheTTL        = 60 * time.Second
	defaultCacheStaleTTL   = time.Hour
	defaultNotFoundTTL     = 10 * time.Second
	defaultRateLimit       = 10
	defaultTimeout         = 5 * time.Second
	defaultConcurrency     = 100 // a level of one page of parents goes out in one round
	defaultLocalMB         = 64
	defaultMaxBodyMB       = 8 // upstream.DefaultMaxBody: over 8 times the largest real page
	defaultResponseMB      = 32
	defaultRequestTimeout  = 10 * time.Second
	defaultMaxPause        = time.Minute // Auth0's buckets refill within a minute
	maxMaxPause            = time.Hour
	defaultKeyPrefix       = "orgraph:"
	defaultIdentityScopes  = "PM.Group.Read"
	defaultPartitionKey    = "partitionGlobalId"
	defaultOrganizationKey = "uipathOrganization"
	maxConcurrency         = 256
)

// The values of UPSTREAM_AUTH_MODE.
const (
	AuthModeGateway = "gateway"
	AuthModeForward = "forward"
)

// Load reads and checks every setting.
func Load(lookup Lookup) (Config, error) {
	r := reader{lookup: lookup}
	var c Config

	c.Auth0.BaseURL = r.url("AUTH0_BASE_URL", false)
	c.Demo = c.Auth0.BaseURL == "" && !r.isSet("AUTH0_BASE_URL")
	c.Addr = r.str("GATEWAY_ADDR", map[bool]string{true: defaultDemoAddr, false: defaultAddr}[c.Demo])
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		r.fail("GATEWAY_ADDR", "must be host:port (for example :8080)")
	}

	switch c.UpstreamAuthMode = r.str("UPSTREAM_AUTH_MODE", AuthModeGateway); c.UpstreamAuthMode {
	case AuthModeGateway:
	case AuthModeForward:
		if c.Demo {
			r.fail("UPSTREAM_AUTH_MODE", "forward needs AUTH0_BASE_URL: the demo's simulated Auth0 knows no caller tokens")
		}
	default:
		r.fail("UPSTREAM_AUTH_MODE", "must be gateway or forward")
	}
	c.Auth0.Token = r.str("AUTH0_TOKEN", "")
	c.Auth0.ClientID = r.str("AUTH0_CLIENT_ID", "")
	c.Auth0.ClientSecret = r.str("AUTH0_CLIENT_SECRET", "")
	c.Auth0.Audience = r.str("AUTH0_AUDIENCE", "")
	c.Identity.BaseURL = r.url("IDENTITY_BASE_URL", true)
	c.Identity.Token = r.str("IDENTITY_TOKEN", "")
	c.Identity.ClientID = r.str("IDENTITY_CLIENT_ID", "")
	c.Identity.ClientSecret = r.str("IDENTITY_CLIENT_SECRET", "")
	c.Identity.Scopes = strings.Fields(r.str("IDENTITY_SCOPES", defaultIdentityScopes))
	c.Identity.PartitionMetadataKey = r.str("IDENTITY_PARTITION_METADATA_KEY", defaultPartitionKey)
	c.Identity.OrganizationMetadataKey = r.str("IDENTITY_ORGANIZATION_METADATA_KEY", defaultOrganizationKey)
	if c.Demo {
		for _, name := range []string{"AUTH0_TOKEN", "AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_AUDIENCE", "IDENTITY_BASE_URL", "IDENTITY_TOKEN", "IDENTITY_CLIENT_ID", "IDENTITY_CLIENT_SECRET"} {
			if r.isSet(name) {
				r.fail(name, "needs AUTH0_BASE_URL (without it the gateway runs its demo on simulated upstreams)")
			}
		}
	} else {
		if c.UpstreamAuthMode == AuthModeForward {
			if c.Auth0.Token != "" || c.Auth0.ClientID != "" || c.Auth0.ClientSecret != "" {
				r.fail("AUTH0_TOKEN", "must not be set with UPSTREAM_AUTH_MODE=forward: Auth0 is called with each caller's own token")
			}
		} else {
			r.credentials("AUTH0", c.Auth0.Token, c.Auth0.ClientID, c.Auth0.ClientSecret, true)
		}
		if c.Auth0.Audience == "" && c.Auth0.BaseURL != "" {
			c.Auth0.Audience = strings.TrimRight(c.Auth0.BaseURL, "/") + "/api/v2/"
		}
		if c.Identity.BaseURL != "" {
			r.credentials("IDENTITY", c.Identity.Token, c.Identity.ClientID, c.Identity.ClientSecret, true)
		}
	}

	c.RedisURL = r.str("REDIS_URL", "")
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			r.fail("REDIS_URL", "must be a redis:// or rediss:// URL")
		} else if !hostPorts(u.Query()["addr"]) {
			r.fail("REDIS_URL", "each addr= of a Cluster URL must be host:port")
		}
	}
	r.redisSentinel(&c)
	c.RedisKeyPrefix = r.str("REDIS_KEY_PREFIX", defaultKeyPrefix)
	if c.RedisKeyPrefix == "" || len(c.RedisKeyPrefix) > 64 {
		r.fail("REDIS_KEY_PREFIX", "must be 1 to 64 characters")
	}
	c.CacheTTL = r.duration("CACHE_TTL", defaultCacheTTL)
	c.CacheStaleTTL = r.duration("CACHE_STALE_TTL", defaultCacheStaleTTL)
	c.CacheNotFoundTTL = r.duration("CACHE_NOT_FOUND_TTL", defaultNotFoundTTL)
	c.CacheLocalBytes = int64(r.intRange("CACHE_LOCAL_MAX_MB", defaultLocalMB, 1, 1<<16)) << 20
	c.ResponseCache = r.boolean("RESPONSE_CACHE", true) && c.CacheTTL > 0
	c.ResponseCacheBytes = int64(r.intRange("RESPONSE_CACHE_MAX_MB", defaultResponseMB, 1, 1<<16)) << 20
	c.ResponseCoalescing = r.boolean("RESPONSE_COALESCING", true)
	c.Federation = r.boolean("FEDERATION", false)

	c.UpstreamRateLimit = r.positiveFloat("UPSTREAM_RATE_LIMIT", defaultRateLimit)
	c.UpstreamTimeout = r.duration("UPSTREAM_TIMEOUT", defaultTimeout)
	if c.UpstreamTimeout == 0 {
		r.fail("UPSTREAM_TIMEOUT", "must be greater than zero")
	}
	c.UpstreamConcurrency = r.intRange("UPSTREAM_CONCURRENCY", defaultConcurrency, 1, maxConcurrency)
	c.UpstreamMaxPause = r.duration("UPSTREAM_MAX_PAUSE", defaultMaxPause)
	if c.UpstreamMaxPause < time.Second || c.UpstreamMaxPause > maxMaxPause {
		r.fail("UPSTREAM_MAX_PAUSE", "must be a Go duration from 1s to 1h")
	}
	c.UpstreamMaxBodyBytes = int64(r.intRange("UPSTREAM_MAX_BODY_MB", defaultMaxBodyMB, 1, 1024)) << 20
	c.RequestTimeout = r.duration("REQUEST_TIMEOUT", defaultRequestTimeout)
	if c.RequestTimeout == 0 {
		r.fail("REQUEST_TIMEOUT", "must be greater than zero")
	}

	c.AuthIssuer = r.str("AUTH_ISSUER", "")
	c.AuthAudience = r.str("AUTH_AUDIENCE", "")
	c.AuthJWKSURL = r.str("AUTH_JWKS_URL", "")
	c.AuthDisabled = r.boolean("AUTH_DISABLED", false)
	callerAuth := c.AuthIssuer != "" || c.AuthAudience != "" || c.AuthJWKSURL != ""
	switch {
	case callerAuth && c.AuthDisabled:
		r.fail("AUTH_DISABLED", "must not be true while AUTH_ISSUER, AUTH_AUDIENCE or AUTH_JWKS_URL is set: say which one you mean")
	case callerAuth:
		if c.AuthIssuer == "" || !absoluteURL(c.AuthIssuer) {
			r.fail("AUTH_ISSUER", "must be the token issuer's URL, exactly as in the tokens' iss claim")
		}
		if c.AuthAudience == "" {
			// Without an audience any token of the issuer (for another API)
			// would be accepted.
			r.fail("AUTH_AUDIENCE", "must be set with AUTH_ISSUER: the API identifier tokens for this gateway carry")
		}
		if c.AuthJWKSURL == "" && absoluteURL(c.AuthIssuer) {
			c.AuthJWKSURL = strings.TrimRight(c.AuthIssuer, "/") + "/.well-known/jwks.json"
		} else if c.AuthJWKSURL != "" {
			c.AuthJWKSURL = r.url("AUTH_JWKS_URL", false)
		}
	case !c.Demo && !c.AuthDisabled:
		r.fail("AUTH_DISABLED", "outside demo mode set AUTH_ISSUER and AUTH_AUDIENCE (caller JWTs), or AUTH_DISABLED=true to serve without caller authentication on purpose")
	case c.Demo:
		c.AuthDisabled = true // the demo serves without caller auth, and says so
	}
	if c.UpstreamAuthMode == AuthModeForward && c.AuthDisabled && c.Identity.BaseURL != "" {
		// Auth0 checks a forwarded token, but groups are read with the
		// gateway's own UiPath credentials and never touch Auth0: any made-up
		// bearer token would read them, members' emails included.
		r.fail("UPSTREAM_AUTH_MODE", "forward with AUTH_DISABLED=true must not be combined with IDENTITY_BASE_URL: "+
			"groups are read with the gateway's own UiPath credentials, so any made-up bearer token would read them; "+
			"set AUTH_ISSUER and AUTH_AUDIENCE to verify callers, or leave IDENTITY_BASE_URL unset")
	}
	c.CORSOrigins = r.origins("CORS_ALLOWED_ORIGINS")

	c.PersistedOnly = r.boolean("PERSISTED_OPERATIONS_ONLY", false)
	c.ManifestPath = r.str("PERSISTED_OPERATIONS_MANIFEST", "")
	if c.ManifestPath == "" && c.PersistedOnly {
		r.fail("PERSISTED_OPERATIONS_MANIFEST", "must name the manifest file of allowed operations when PERSISTED_OPERATIONS_ONLY=true")
	}
	// Up to the 1 MiB body limit: a larger query could not be sent at all.
	c.PersistedQueryMaxBytes = r.intRange("PERSISTED_QUERY_MAX_KB", persisted.DefaultMaxBytes>>10, 1, 1024) << 10

	d := limits.Defaults()
	c.Limits = limits.Config{
		MaxTokens:        r.intRange("MAX_QUERY_TOKENS", d.MaxTokens, 1, 1_000_000),
		MaxFields:        r.intRange("MAX_QUERY_FIELDS", d.MaxFields, 1, 1_000_000),
		MaxDepth:         r.intRange("MAX_QUERY_DEPTH", d.MaxDepth, 1, 1000),
		MaxAliases:       r.intRange("MAX_QUERY_ALIASES", d.MaxAliases, 1, 10000),
		MaxComplexity:    r.intRange("MAX_QUERY_COMPLEXITY", d.MaxComplexity, 1, 1_000_000),
		MaxUpstreamCalls: r.intRange("MAX_UPSTREAM_CALLS", d.MaxUpstreamCalls, 1, 1_000_000),
	}
	c.Introspection = r.boolean("INTROSPECTION", c.Demo)
	c.MetricsOperationNames = r.intRange("METRICS_OPERATION_NAMES", metrics.DefaultOperationNames, 1, 10000)

	c.Events.Auth = r.str("AUTH0_EVENTS_AUTH", "bearer")
	c.Events.Secret = r.str("AUTH0_EVENTS_SECRET", "")
	c.Events.Header = r.str("AUTH0_EVENTS_HEADER", "")
	switch c.Events.Auth {
	case "bearer", "basic":
		if r.isSet("AUTH0_EVENTS_HEADER") {
			r.fail("AUTH0_EVENTS_HEADER", "is only for AUTH0_EVENTS_AUTH=header")
		}
	case "header":
		if !httpToken(c.Events.Header) || strings.EqualFold(c.Events.Header, "Authorization") {
			r.fail("AUTH0_EVENTS_HEADER", "must be an HTTP header name other than Authorization with AUTH0_EVENTS_AUTH=header")
		}
	default:
		r.fail("AUTH0_EVENTS_AUTH", "must be bearer, basic or header")
	}
	c.Events.Enabled = c.Events.Secret != ""
	switch {
	case (r.isSet("AUTH0_EVENTS_AUTH") || r.isSet("AUTH0_EVENTS_HEADER")) && !c.Events.Enabled:
		// The endpoint is asked for: it must not run without a secret.
		r.fail("AUTH0_EVENTS_SECRET", "must be set when AUTH0_EVENTS_AUTH or AUTH0_EVENTS_HEADER is (the webhook never runs without one)")
	case r.isSet("AUTH0_EVENTS_SECRET") && c.Events.Secret == "":
		r.fail("AUTH0_EVENTS_SECRET", "must not be empty")
	case c.Events.Enabled && len(c.Events.Secret) < 16:
		r.fail("AUTH0_EVENTS_SECRET", "must be at least 16 characters")
	case c.Events.Enabled && c.Events.Auth == "basic" && !strings.Contains(c.Events.Secret, ":"):
		r.fail("AUTH0_EVENTS_SECRET", "must be user:password with AUTH0_EVENTS_AUTH=basic")
	}

	c.Tracing = r.tracing()
	c.GOGCSet, c.GOMEMLIMITSet = r.isSet("GOGC"), r.isSet("GOMEMLIMIT")

	c.LogLevel = r.level("LOG_LEVEL")
	c.LogFormat = r.str("LOG_FORMAT", "json")
	if c.LogFormat != "json" && c.LogFormat != "text" {
		r.fail("LOG_FORMAT", "must be json or text")
	}
	return c, errors.Join(r.errs...)
}

// httpToken reports whether s is an HTTP header name (RFC 9110 token).
func httpToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// The OpenTelemetry variables Load reads: whether to trace, where, and over
// which protocol. The exporter and SDK read the rest of the standard's
// variables (headers, timeouts, TLS, sampler, resource, batching) themselves:
// they are the standard's, with its parsing rules, and the gateway adds none.
const (
	envOTLPEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envOTLPProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envOTLPTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envOTelSDKDisabled    = "OTEL_SDK_DISABLED"
)

// tracing reads the OTLP export settings. The signal-specific variables win
// over the general ones, as the specification says; the general endpoint is
// a base URL to which OTLP/HTTP adds /v1/traces, the traces one is used as
// it is.
func (r *reader) tracing() tracing.Config {
	if strings.EqualFold(r.str(envOTelSDKDisabled, ""), "true") {
		return tracing.Config{}
	}
	endpointName, endpoint := envOTLPTracesEndpoint, r.str(envOTLPTracesEndpoint, "")
	if endpoint == "" {
		endpointName, endpoint = envOTLPEndpoint, r.str(envOTLPEndpoint, "")
	}
	if endpoint == "" {
		return tracing.Config{} // no collector named: no spans at all
	}
	protoName, protocol := envOTLPTracesProtocol, r.str(envOTLPTracesProtocol, "")
	if protocol == "" {
		protoName, protocol = envOTLPProtocol, r.str(envOTLPProtocol, "")
	}
	switch protocol {
	case "":
		protocol = tracing.ProtocolHTTP
	case tracing.ProtocolHTTP, tracing.ProtocolGRPC:
	default:
		// http/json is not supported by the Go exporter: stopping start-up
		// beats sending nothing.
		r.fail(protoName, "must be http/protobuf or grpc")
		return tracing.Config{}
	}
	if !absoluteURL(endpoint) {
		r.fail(endpointName, "must be an http:// or https:// URL")
		return tracing.Config{}
	}
	if endpointName == envOTLPEndpoint && protocol == tracing.ProtocolHTTP {
		endpoint = strings.TrimRight(endpoint, "/") + "/v1/traces"
	}
	return tracing.Config{Endpoint: endpoint, Protocol: protocol}
}

// absoluteURL reports whether s is an http(s) URL with a host.
func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// origins reads a comma-separated list of browser origins
// (scheme://host[:port], no path). "*" is refused: the gateway serves data
// that only some sites should read.
func (r *reader) origins(name string) []string {
	v := r.str(name, "")
	if v == "" {
		return nil
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			r.fail(name, "must list origins like https://app.example.com, separated by commas (no *, paths or queries)")
			return nil
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// RedisSentinel is a Redis master that Sentinel watches and fails over:
// the gateway asks the sentinels where the master is, and follows it.
type RedisSentinel struct {
	// Master is the name the sentinels monitor it under
	// (REDIS_SENTINEL_MASTER); empty when Sentinel is not used.
	Master string
	// Addrs are the sentinels' host:port (REDIS_SENTINEL_ADDRS,
	// comma-separated).
	Addrs []string
	// Password authenticates to the sentinels (REDIS_SENTINEL_PASSWORD).
	Password string
}

// redisSentinel reads the REDIS_SENTINEL_* settings and REDIS_PASSWORD.
// They describe the same Redis as REDIS_URL would, so they exclude it.
func (r *reader) redisSentinel(c *Config) {
	s := &c.RedisSentinel
	s.Master = r.str("REDIS_SENTINEL_MASTER", "")
	if addrs := r.str("REDIS_SENTINEL_ADDRS", ""); addrs != "" {
		for _, a := range strings.Split(addrs, ",") {
			s.Addrs = append(s.Addrs, strings.TrimSpace(a))
		}
		if !hostPorts(s.Addrs) {
			r.fail("REDIS_SENTINEL_ADDRS", "must be host:port of each sentinel, separated by commas")
		}
	}
	s.Password, _ = r.lookup("REDIS_SENTINEL_PASSWORD")
	switch {
	case s.Master != "" && c.RedisURL != "":
		r.fail("REDIS_SENTINEL_MASTER", "set either REDIS_URL or REDIS_SENTINEL_MASTER, not both")
	case s.Master != "" && len(s.Addrs) == 0:
		r.fail("REDIS_SENTINEL_ADDRS", "must be set with REDIS_SENTINEL_MASTER")
	case s.Master == "" && (len(s.Addrs) > 0 || s.Password != ""):
		r.fail("REDIS_SENTINEL_MASTER", "must be set with REDIS_SENTINEL_ADDRS and REDIS_SENTINEL_PASSWORD")
	}
	// REDIS_PASSWORD is read only with Sentinel: a REDIS_URL carries its
	// own password, and deployments that give the gateway REDIS_PASSWORD
	// for other reasons (the Redis pod's own setting) start as before.
	if s.Master != "" {
		c.RedisPassword, _ = r.lookup("REDIS_PASSWORD")
	}
}

// hostPorts reports whether every address is host:port with a port number.
func hostPorts(addrs []string) bool {
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return false
		}
	}
	return true
}

// reader collects problems while reading.
type reader struct {
	lookup Lookup
	errs   []error
}

func (r *reader) fail(name, rule string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, rule))
}

func (r *reader) isSet(name string) bool {
	_, ok := r.lookup(name)
	return ok
}

func (r *reader) str(name, def string) string {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	return strings.TrimSpace(v)
}

// url reads an http(s) base URL without query, fragment or credentials.
func (r *reader) url(name string, placeholderAllowed bool) string {
	v := r.str(name, "")
	if !r.isSet(name) {
		return ""
	}
	check := v
	if placeholderAllowed {
		check = strings.ReplaceAll(v, "{organizationName}", "org")
	}
	u, err := url.Parse(check)
	switch {
	case err != nil || u.Host == "":
		r.fail(name, "must be an absolute http:// or https:// URL")
	case u.Scheme != "https" && u.Scheme != "http":
		r.fail(name, "must use https:// (or http:// for local tests)")
	case u.User != nil:
		r.fail(name, "must not carry credentials; use the token or client settings")
	case u.RawQuery != "" || u.Fragment != "":
		r.fail(name, "must not have a query or fragment")
	}
	return strings.TrimRight(v, "/")
}

func (r *reader) credentials(prefix, token, id, secret string, required bool) {
	switch {
	case token != "" && (id != "" || secret != ""):
		r.fail(prefix+"_TOKEN", "set either "+prefix+"_TOKEN or "+prefix+"_CLIENT_ID and "+prefix+"_CLIENT_SECRET, not both")
	case token == "" && id == "" && secret == "":
		if required {
			r.fail(prefix+"_TOKEN", "set "+prefix+"_TOKEN or "+prefix+"_CLIENT_ID and "+prefix+"_CLIENT_SECRET")
		}
	case token == "" && (id == "" || secret == ""):
		r.fail(prefix+"_CLIENT_ID", prefix+"_CLIENT_ID and "+prefix+"_CLIENT_SECRET must be set together")
	}
}

// parse is the one reader of a value kind: unset or empty gives def; a
// value conv refuses fails with rule (which never quotes the value) and
// gives def, so Load goes on and reports every problem at once.
func parse[T any](r *reader, name string, def T, rule string, conv func(string) (T, bool)) T {
	v := r.str(name, "")
	if !r.isSet(name) || v == "" {
		return def
	}
	out, ok := conv(v)
	if !ok {
		r.fail(name, rule)
		return def
	}
	return out
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	return parse(r, name, def, "must be a non-negative Go duration such as 60s or 5m", parseDuration)
}

func (r *reader) positiveFloat(name string, def float64) float64 {
	return parse(r, name, def, "must be a positive number of requests per second", parsePositiveFloat)
}

func (r *reader) intRange(name string, def, lo, hi int) int {
	return parse(r, name, def, fmt.Sprintf("must be a whole number from %d to %d", lo, hi), intBetween(lo, hi))
}

func (r *reader) boolean(name string, def bool) bool {
	return parse(r, name, def, "must be true or false", parseBool)
}

func parseDuration(v string) (time.Duration, bool) {
	d, err := time.ParseDuration(v)
	return d, err == nil && d >= 0
}

// parsePositiveFloat refuses NaN (f != f) and rates no upstream could serve.
func parsePositiveFloat(v string) (float64, bool) {
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil && f > 0 && f == f && f <= 1e6
}

func intBetween(lo, hi int) func(string) (int, bool) {
	return func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= lo && n <= hi
	}
}

func parseBool(v string) (bool, bool) {
	b, err := strconv.ParseBool(v)
	return b, err == nil
}

func (r *reader) level(name string) slog.Level {
	switch strings.ToLower(r.str(name, "info")) {
	case "debug":
		return slog.LevelDebug
	case "info", "":
		return slog.LevelInfo
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	r.fail(name, "must be debug, info, warn or error")
	return slog.LevelInfo
}
