package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/limits"
	"github.com/orgraph/orgraph/internal/tracing"
)

func lookup(env map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDemoDefaults(t *testing.T) {
	c, err := Load(lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Demo || c.Addr != "127.0.0.1:8080" || !c.AuthDisabled || !c.Introspection {
		t.Fatalf("demo defaults: %+v", c)
	}
	if c.CacheTTL != 60*time.Second || c.CacheStaleTTL != time.Hour || c.CacheNotFoundTTL != 10*time.Second {
		t.Fatalf("cache defaults: %+v", c)
	}
	if c.UpstreamRateLimit != 10 || c.UpstreamTimeout != 5*time.Second || c.UpstreamConcurrency != 100 || c.UpstreamMaxBodyBytes != 8<<20 {
		t.Fatalf("upstream defaults: %+v", c)
	}
	if c.Identity.PartitionMetadataKey != "partitionGlobalId" || c.Identity.OrganizationMetadataKey != "uipathOrganization" {
		t.Fatalf("metadata keys: %+v", c.Identity)
	}
	if !c.ResponseCache || c.ResponseCacheBytes != 32<<20 || c.CacheLocalBytes != 64<<20 {
		t.Fatalf("in-process cache defaults: %+v", c)
	}
	if c.PersistedQueryMaxBytes != 16<<10 {
		t.Fatalf("persisted query bound %d, want 16 KiB", c.PersistedQueryMaxBytes)
	}
	if c.Limits != limits.Defaults() {
		t.Fatalf("limits %+v, want the defaults %+v", c.Limits, limits.Defaults())
	}
}

// TestResponseCacheSetting: RESPONSE_CACHE=false turns the response cache
// off, and so does CACHE_TTL=0 (nothing cached means nothing stored whole);
// coalescing identical operations has its own switch and stays on with
// CACHE_TTL=0, like the coalescing of upstream calls.
func TestResponseCacheSetting(t *testing.T) {
	for _, tc := range []struct {
		env               map[string]string
		cache, coalescing bool
	}{
		{map[string]string{}, true, true},
		{map[string]string{"RESPONSE_CACHE": "false"}, false, true},
		{map[string]string{"CACHE_TTL": "0"}, false, true},
		{map[string]string{"CACHE_TTL": "0", "RESPONSE_CACHE": "true"}, false, true},
		{map[string]string{"RESPONSE_CACHE_MAX_MB": "8"}, true, true},
		{map[string]string{"RESPONSE_COALESCING": "false"}, true, false},
	} {
		c, err := Load(lookup(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		if c.ResponseCache != tc.cache || c.ResponseCoalescing != tc.coalescing {
			t.Errorf("%v: response cache %v, coalescing %v; want %v, %v",
				tc.env, c.ResponseCache, c.ResponseCoalescing, tc.cache, tc.coalescing)
		}
	}
}

func TestFederationSetting(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{nil, false}, // off unless asked for: the public schema stays as it is
		{map[string]string{"FEDERATION": "true"}, true},
		{map[string]string{"FEDERATION": "false"}, false},
	} {
		c, err := Load(lookup(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		if c.Federation != tc.want {
			t.Errorf("%v: federation %v, want %v", tc.env, c.Federation, tc.want)
		}
	}
}

func TestProductionSettings(t *testing.T) {
	c, err := Load(lookup(map[string]string{
		"AUTH0_BASE_URL":      "https://tenant.eu.auth0.com/",
		"AUTH0_CLIENT_ID":     "id",
		"AUTH0_CLIENT_SECRET": "secret",
		"IDENTITY_BASE_URL":   "https://cloud.uipath.com/{organizationName}/identity_",
		"IDENTITY_TOKEN":      "tok",
		"IDENTITY_SCOPES":     "PM.Group.Read PM.User.Read",
		"AUTH_DISABLED":       "true",
		"CACHE_TTL":           "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Demo || c.Addr != ":8080" || c.Introspection {
		t.Fatalf("production defaults: %+v", c)
	}
	if c.Auth0.BaseURL != "https://tenant.eu.auth0.com" || c.Auth0.Audience != "https://tenant.eu.auth0.com/api/v2/" {
		t.Fatalf("auth0: %+v", c.Auth0)
	}
	if len(c.Identity.Scopes) != 2 || c.CacheTTL != 0 {
		t.Fatalf("identity/cache: %+v %v", c.Identity, c.CacheTTL)
	}
	if c.UpstreamMaxPause != time.Minute {
		t.Fatalf("UPSTREAM_MAX_PAUSE default %v, want 1m", c.UpstreamMaxPause)
	}
}

func TestBadSettingsNameTheVariableNotTheValue(t *testing.T) {
	const secret = "s3cr3t-value-that-must-not-leak"
	prod := map[string]string{"AUTH0_BASE_URL": "https://t.auth0.com", "AUTH0_TOKEN": "x", "AUTH_DISABLED": "true"}
	with := func(kv ...string) map[string]string {
		env := map[string]string{}
		for k, v := range prod {
			env[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<unset>" {
				delete(env, kv[i])
				continue
			}
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	cases := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"base URL not a URL", with("AUTH0_BASE_URL", secret), "AUTH0_BASE_URL"},
		{"base URL with credentials", with("AUTH0_BASE_URL", "https://user:"+secret+"@t.auth0.com"), "AUTH0_BASE_URL"},
		{"base URL ftp", with("AUTH0_BASE_URL", "ftp://t.auth0.com"), "AUTH0_BASE_URL"},
		{"base URL set but empty", with("AUTH0_BASE_URL", ""), "AUTH0_BASE_URL"},
		{"no auth0 credentials", with("AUTH0_TOKEN", "<unset>"), "AUTH0_TOKEN"},
		{"token and client both", with("AUTH0_CLIENT_ID", "id", "AUTH0_CLIENT_SECRET", secret), "AUTH0_TOKEN"},
		{"client id without secret", with("AUTH0_TOKEN", "<unset>", "AUTH0_CLIENT_ID", secret), "AUTH0_CLIENT_ID"},
		{"identity without credentials", with("IDENTITY_BASE_URL", "https://cloud.uipath.com/{organizationName}/identity_"), "IDENTITY_TOKEN"},
		{"identity URL with query", with("IDENTITY_BASE_URL", "https://x/?"+secret, "IDENTITY_TOKEN", "t"), "IDENTITY_BASE_URL"},
		{"redis not a redis URL", with("REDIS_URL", "http://"+secret), "REDIS_URL"},
		{"redis cluster addr without a port", with("REDIS_URL", "redis://n1:6379/0?addr="+secret), "REDIS_URL"},
		{"sentinel and REDIS_URL both", with("REDIS_URL", "redis://n1:6379/0", "REDIS_SENTINEL_MASTER", secret, "REDIS_SENTINEL_ADDRS", "s1:26379"), "REDIS_SENTINEL_MASTER"},
		{"sentinel master without addresses", with("REDIS_SENTINEL_MASTER", secret), "REDIS_SENTINEL_ADDRS"},
		{"sentinel address without a port", with("REDIS_SENTINEL_MASTER", "m", "REDIS_SENTINEL_ADDRS", "s1:26379,"+secret), "REDIS_SENTINEL_ADDRS"},
		{"sentinel addresses without a master", with("REDIS_SENTINEL_ADDRS", "s1:26379"), "REDIS_SENTINEL_MASTER"},
		{"sentinel password without a master", with("REDIS_SENTINEL_PASSWORD", secret), "REDIS_SENTINEL_MASTER"},
		{"bad duration", with("CACHE_TTL", secret), "CACHE_TTL"},
		{"negative duration", with("CACHE_STALE_TTL", "-1s"), "CACHE_STALE_TTL"},
		{"zero timeout", with("UPSTREAM_TIMEOUT", "0s"), "UPSTREAM_TIMEOUT"},
		{"rate limit not a number", with("UPSTREAM_RATE_LIMIT", secret), "UPSTREAM_RATE_LIMIT"},
		{"rate limit zero", with("UPSTREAM_RATE_LIMIT", "0"), "UPSTREAM_RATE_LIMIT"},
		{"concurrency too high", with("UPSTREAM_CONCURRENCY", "100000"), "UPSTREAM_CONCURRENCY"},
		{"max pause not a duration", with("UPSTREAM_MAX_PAUSE", secret), "UPSTREAM_MAX_PAUSE"},
		{"max pause under a second", with("UPSTREAM_MAX_PAUSE", "500ms"), "UPSTREAM_MAX_PAUSE"},
		{"max pause over an hour", with("UPSTREAM_MAX_PAUSE", "2h"), "UPSTREAM_MAX_PAUSE"},
		{"body bound zero", with("UPSTREAM_MAX_BODY_MB", "0"), "UPSTREAM_MAX_BODY_MB"},
		{"body bound not a number", with("UPSTREAM_MAX_BODY_MB", secret), "UPSTREAM_MAX_BODY_MB"},
		{"auth disabled not a bool", with("AUTH_DISABLED", secret), "AUTH_DISABLED"},
		{"production without caller auth", with("AUTH_DISABLED", "<unset>"), "AUTH_DISABLED"},
		{"caller auth and AUTH_DISABLED both", with("AUTH_ISSUER", "https://issuer/", "AUTH_AUDIENCE", "https://api/"), "AUTH_DISABLED"},
		{"issuer without audience", with("AUTH_DISABLED", "<unset>", "AUTH_ISSUER", "https://issuer/"), "AUTH_AUDIENCE"},
		{"issuer not a URL", with("AUTH_DISABLED", "<unset>", "AUTH_ISSUER", secret, "AUTH_AUDIENCE", "api"), "AUTH_ISSUER"},
		{"audience without issuer", with("AUTH_DISABLED", "<unset>", "AUTH_AUDIENCE", "api"), "AUTH_ISSUER"},
		{"JWKS URL with a query", with("AUTH_DISABLED", "<unset>", "AUTH_ISSUER", "https://issuer/", "AUTH_AUDIENCE", "api", "AUTH_JWKS_URL", "https://issuer/jwks?"+secret), "AUTH_JWKS_URL"},
		{"CORS wildcard", with("CORS_ALLOWED_ORIGINS", "*"), "CORS_ALLOWED_ORIGINS"},
		{"allow-list without a manifest", with("PERSISTED_OPERATIONS_ONLY", "true"), "PERSISTED_OPERATIONS_MANIFEST"},
		{"tracing protocol http/json", with("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL", secret), "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"tracing traces protocol", with("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", secret), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{"tracing endpoint not a URL", with("OTEL_EXPORTER_OTLP_ENDPOINT", secret), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"tracing traces endpoint not a URL", with("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4317/"+secret), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"no operation names for metrics", with("METRICS_OPERATION_NAMES", "0"), "METRICS_OPERATION_NAMES"},
		{"persisted query bound over the body limit", with("PERSISTED_QUERY_MAX_KB", "1025"), "PERSISTED_QUERY_MAX_KB"},
		{"depth limit zero", with("MAX_QUERY_DEPTH", "0"), "MAX_QUERY_DEPTH"},
		{"token limit zero", with("MAX_QUERY_TOKENS", "0"), "MAX_QUERY_TOKENS"},
		{"field limit not a number", with("MAX_QUERY_FIELDS", secret), "MAX_QUERY_FIELDS"},
		{"bad auth mode", with("UPSTREAM_AUTH_MODE", secret), "UPSTREAM_AUTH_MODE"},
		{"forward, unverified callers and groups", with("AUTH0_TOKEN", "<unset>", "UPSTREAM_AUTH_MODE", "forward",
			"IDENTITY_BASE_URL", "https://cloud.uipath.com/{organizationName}/identity_", "IDENTITY_CLIENT_ID", "id", "IDENTITY_CLIENT_SECRET", secret), "UPSTREAM_AUTH_MODE"},
		{"CORS origin with a path", with("CORS_ALLOWED_ORIGINS", "https://app.example/"+secret), "CORS_ALLOWED_ORIGINS"},
		{"bad log level", with("LOG_LEVEL", secret), "LOG_LEVEL"},
		{"bad log format", with("LOG_FORMAT", "xml"), "LOG_FORMAT"},
		{"bad address", with("GATEWAY_ADDR", secret), "GATEWAY_ADDR"},
		{"response cache not a bool", with("RESPONSE_CACHE", secret), "RESPONSE_CACHE"},
		{"response cache size zero", with("RESPONSE_CACHE_MAX_MB", "0"), "RESPONSE_CACHE_MAX_MB"},
		{"coalescing not a bool", with("RESPONSE_COALESCING", secret), "RESPONSE_COALESCING"},
		{"federation not a bool", with("FEDERATION", secret), "FEDERATION"},
		{"local tier size not a number", with("CACHE_LOCAL_MAX_MB", secret), "CACHE_LOCAL_MAX_MB"},
		{"demo with a token", map[string]string{"AUTH0_TOKEN": secret}, "AUTH0_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(lookup(tc.env))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.wantVar+":") {
				t.Fatalf("error does not name %s: %v", tc.wantVar, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error echoes the value: %v", err)
			}
		})
	}
}

// TestRedisSettings: the three shapes of Redis read as they are written,
// and a single-node REDIS_URL leaves the Sentinel settings empty.
func TestRedisSettings(t *testing.T) {
	base := map[string]string{"AUTH0_BASE_URL": "https://t.auth0.com", "AUTH0_TOKEN": "x", "AUTH_DISABLED": "true"}
	tests := []struct {
		name string
		env  map[string]string
		url  string
		want RedisSentinel
		pass string
	}{
		{"one node", map[string]string{"REDIS_URL": "redis://:pw@r1:6379/0"}, "redis://:pw@r1:6379/0", RedisSentinel{}, ""},
		// REDIS_PASSWORD beside a REDIS_URL (the Redis pod's own setting) is left alone, as before.
		{"one node, REDIS_PASSWORD ignored", map[string]string{"REDIS_URL": "redis://r1:6379/0", "REDIS_PASSWORD": "x"}, "redis://r1:6379/0", RedisSentinel{}, ""},
		{"cluster", map[string]string{"REDIS_URL": "redis://n1:6379/0?addr=n2:6379&addr=n3:6379"}, "redis://n1:6379/0?addr=n2:6379&addr=n3:6379", RedisSentinel{}, ""},
		{"sentinel", map[string]string{"REDIS_SENTINEL_MASTER": "mymaster", "REDIS_SENTINEL_ADDRS": "s1:26379, s2:26379,s3:26379",
			"REDIS_SENTINEL_PASSWORD": "sp", "REDIS_PASSWORD": "mp"},
			"", RedisSentinel{Master: "mymaster", Addrs: []string{"s1:26379", "s2:26379", "s3:26379"}, Password: "sp"}, "mp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := Load(lookup(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.RedisURL != tc.url || c.RedisPassword != tc.pass || !reflect.DeepEqual(c.RedisSentinel, tc.want) {
				t.Fatalf("got URL %q, sentinel %+v, password %q", c.RedisURL, c.RedisSentinel, c.RedisPassword)
			}
		})
	}
}

func TestCallerAuthSettings(t *testing.T) {
	base := map[string]string{"AUTH0_BASE_URL": "https://t.auth0.com", "AUTH0_TOKEN": "x"}
	tests := []struct {
		name     string
		env      map[string]string
		disabled bool
		jwks     string
		origins  []string
	}{
		{"JWKS from the issuer", map[string]string{"AUTH_ISSUER": "https://t.auth0.com/", "AUTH_AUDIENCE": "https://orgraph/"},
			false, "https://t.auth0.com/.well-known/jwks.json", nil},
		{"explicit JWKS", map[string]string{"AUTH_ISSUER": "https://t.auth0.com/", "AUTH_AUDIENCE": "a", "AUTH_JWKS_URL": "https://keys.example/jwks.json"},
			false, "https://keys.example/jwks.json", nil},
		{"disabled on purpose", map[string]string{"AUTH_DISABLED": "true"}, true, "", nil},
		{"CORS origins", map[string]string{"AUTH_DISABLED": "true", "CORS_ALLOWED_ORIGINS": "https://app.example.com, http://localhost:3000"},
			true, "", []string{"https://app.example.com", "http://localhost:3000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := Load(lookup(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.AuthDisabled != tt.disabled || c.AuthJWKSURL != tt.jwks || strings.Join(c.CORSOrigins, " ") != strings.Join(tt.origins, " ") {
				t.Fatalf("disabled %v, JWKS %q, origins %v", c.AuthDisabled, c.AuthJWKSURL, c.CORSOrigins)
			}
		})
	}
	// The demo serves without caller auth unless told otherwise.
	if c, err := Load(lookup(map[string]string{})); err != nil || !c.AuthDisabled {
		t.Fatalf("demo: %v, AuthDisabled %v", err, c.AuthDisabled)
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := Load(lookup(map[string]string{"CACHE_TTL": "x", "LOG_FORMAT": "xml", "UPSTREAM_CONCURRENCY": "0"}))
	for _, name := range []string{"CACHE_TTL", "LOG_FORMAT", "UPSTREAM_CONCURRENCY"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Fatalf("missing %s in %v", name, err)
		}
	}
}

// TestEventSettings: the webhook is on when a secret is set, and never
// without one; a wrong setting stops start-up naming the variable, never
// the secret.
func TestEventSettings(t *testing.T) {
	const secret = "a-long-enough-secret-value"
	for _, tc := range []struct {
		name    string
		env     map[string]string
		enabled bool
		method  string
		bad     string // the variable the error names; "" for none
	}{
		{"off by default", map[string]string{}, false, "bearer", ""},
		{"a secret turns it on", map[string]string{"AUTH0_EVENTS_SECRET": secret}, true, "bearer", ""},
		{"basic", map[string]string{"AUTH0_EVENTS_AUTH": "basic", "AUTH0_EVENTS_SECRET": "user:" + secret}, true, "basic", ""},
		{"a custom header", map[string]string{"AUTH0_EVENTS_AUTH": "header", "AUTH0_EVENTS_HEADER": "X-Orgraph-Events", "AUTH0_EVENTS_SECRET": secret}, true, "header", ""},
		{"a method without a secret", map[string]string{"AUTH0_EVENTS_AUTH": "bearer"}, false, "", "AUTH0_EVENTS_SECRET"},
		{"an empty secret", map[string]string{"AUTH0_EVENTS_AUTH": "bearer", "AUTH0_EVENTS_SECRET": ""}, false, "", "AUTH0_EVENTS_SECRET"},
		{"a short secret", map[string]string{"AUTH0_EVENTS_SECRET": "short-secret"}, false, "", "AUTH0_EVENTS_SECRET"},
		{"basic without user:password", map[string]string{"AUTH0_EVENTS_AUTH": "basic", "AUTH0_EVENTS_SECRET": secret}, false, "", "AUTH0_EVENTS_SECRET"},
		{"an unknown method", map[string]string{"AUTH0_EVENTS_AUTH": "hmac", "AUTH0_EVENTS_SECRET": secret}, false, "", "AUTH0_EVENTS_AUTH"},
		{"header without a name", map[string]string{"AUTH0_EVENTS_AUTH": "header", "AUTH0_EVENTS_SECRET": secret}, false, "", "AUTH0_EVENTS_HEADER"},
		{"header named Authorization", map[string]string{"AUTH0_EVENTS_AUTH": "header", "AUTH0_EVENTS_HEADER": "authorization", "AUTH0_EVENTS_SECRET": secret}, false, "", "AUTH0_EVENTS_HEADER"},
		{"a header name for bearer", map[string]string{"AUTH0_EVENTS_HEADER": "X-Events", "AUTH0_EVENTS_SECRET": secret}, false, "", "AUTH0_EVENTS_HEADER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(lookup(tc.env))
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad+":") {
					t.Fatalf("want an error naming %s, got %v", tc.bad, err)
				}
				if v := tc.env["AUTH0_EVENTS_SECRET"]; v != "" && strings.Contains(err.Error(), v) {
					t.Fatalf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Events.Enabled != tc.enabled || c.Events.Auth != tc.method {
				t.Fatalf("events %+v, want enabled %v method %s", c.Events, tc.enabled, tc.method)
			}
		})
	}
}

func TestTracingSettings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want tracing.Config
	}{
		{"none", nil, tracing.Config{}},
		{"a protocol alone traces nothing", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, tracing.Config{}},
		{"general endpoint gets the traces path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
			tracing.Config{Endpoint: "http://collector:4318/v1/traces", Protocol: tracing.ProtocolHTTP}},
		{"traces endpoint as it is, over the general one", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b/otlp/traces"},
			tracing.Config{Endpoint: "https://b/otlp/traces", Protocol: tracing.ProtocolHTTP}},
		{"gRPC takes the general endpoint as it is", map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			tracing.Config{Endpoint: "http://collector:4317", Protocol: tracing.ProtocolGRPC}},
		{"traces protocol over the general one", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
			tracing.Config{Endpoint: "http://c:4317", Protocol: tracing.ProtocolGRPC}},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, tracing.Config{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(lookup(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Tracing != tc.want {
				t.Fatalf("tracing %+v, want %+v", c.Tracing, tc.want)
			}
		})
	}
}

func TestRuntimeSettingsNoticed(t *testing.T) {
	c, err := Load(lookup(map[string]string{"GOGC": "50"}))
	if err != nil || !c.GOGCSet || c.GOMEMLIMITSet {
		t.Fatalf("GOGC set: %v %v, %v", c.GOGCSet, c.GOMEMLIMITSet, err)
	}
	c, err = Load(lookup(map[string]string{"GOMEMLIMIT": "1GiB"}))
	if err != nil || c.GOGCSet || !c.GOMEMLIMITSet {
		t.Fatalf("GOMEMLIMIT set: %v %v, %v", c.GOGCSet, c.GOMEMLIMITSet, err)
	}
}

func TestLoadReadsNoFile(t *testing.T) {
	c, err := Load(lookup(map[string]string{"PERSISTED_OPERATIONS_ONLY": "true", "PERSISTED_OPERATIONS_MANIFEST": "/nonexistent/m.json"}))
	if err != nil || c.ManifestPath != "/nonexistent/m.json" || !c.PersistedOnly {
		t.Fatalf("%+v, %v", c, err)
	}
}

func TestValueKinds(t *testing.T) {
	tests := []struct {
		name, value string
		read        func(r *reader) any
		want        any
		wantErr     bool
	}{
		{"duration", "90s", func(r *reader) any { return r.duration("V", time.Second) }, 90 * time.Second, false},
		{"duration unset", "<unset>", func(r *reader) any { return r.duration("V", time.Second) }, time.Second, false},
		{"duration empty", " ", func(r *reader) any { return r.duration("V", time.Second) }, time.Second, false},
		{"duration negative", "-1s", func(r *reader) any { return r.duration("V", time.Second) }, time.Second, true},
		{"float", "2.5", func(r *reader) any { return r.positiveFloat("V", 1) }, 2.5, false},
		{"float NaN", "NaN", func(r *reader) any { return r.positiveFloat("V", 1) }, 1.0, true},
		{"float too large", "1e7", func(r *reader) any { return r.positiveFloat("V", 1) }, 1.0, true},
		{"int", "7", func(r *reader) any { return r.intRange("V", 3, 1, 10) }, 7, false},
		{"int below", "0", func(r *reader) any { return r.intRange("V", 3, 1, 10) }, 3, true},
		{"int above", "11", func(r *reader) any { return r.intRange("V", 3, 1, 10) }, 3, true},
		{"bool", "false", func(r *reader) any { return r.boolean("V", true) }, false, false},
		{"bool unset", "<unset>", func(r *reader) any { return r.boolean("V", true) }, true, false},
		{"bool bad", "yes", func(r *reader) any { return r.boolean("V", true) }, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"V": tc.value}
			if tc.value == "<unset>" {
				env = nil
			}
			r := &reader{lookup: lookup(env)}
			if got := tc.read(r); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if (len(r.errs) > 0) != tc.wantErr {
				t.Errorf("errors %v, want error %v", r.errs, tc.wantErr)
			}
			if tc.wantErr && !strings.HasPrefix(r.errs[0].Error(), "V: must be") {
				t.Errorf("error %v does not name V", r.errs[0])
			}
		})
	}
}
