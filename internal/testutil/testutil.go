// Package testutil starts the real parts tests run against: the upstream
// simulator and the gateway over loopback HTTP, a replay server for recorded
// upstream bodies, and a GraphQL client that decodes responses with their
// extensions. Tests in several packages share it instead of copying helpers.
package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/orgraph/orgraph/internal/config"
	"github.com/orgraph/orgraph/internal/gateway"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// Tokens the simulator accepts in tests; they grant every scope.
const (
	Auth0Token    = "test-auth0-token"
	IdentityToken = "test-identity-token"
)

// StartSimulator serves a simulator for the test and returns it with its base URL.
func StartSimulator(t testing.TB, cfg upstreamsim.Config) (*upstreamsim.Simulator, string) {
	t.Helper()
	if cfg.Auth0Tokens == nil && cfg.Auth0Clients == nil {
		cfg.Auth0Tokens = map[string][]string{Auth0Token: upstreamsim.AllAuth0Scopes()}
	}
	if cfg.IdentityTokens == nil && cfg.IdentityClients == nil {
		cfg.IdentityTokens = map[string][]string{IdentityToken: upstreamsim.AllIdentityScopes()}
	}
	sim := upstreamsim.New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

// UpstreamEnv returns the settings that point a gateway at upstreamBase
// (a simulator or a replay server) with the test tokens.
func UpstreamEnv(upstreamBase string) map[string]string {
	return map[string]string{
		"AUTH0_BASE_URL":    upstreamBase,
		"AUTH0_TOKEN":       Auth0Token,
		"IDENTITY_BASE_URL": upstreamBase + "/{organizationName}/identity_",
		"IDENTITY_TOKEN":    IdentityToken,
		"AUTH_DISABLED":     "true",
		"INTROSPECTION":     "true",
		// Tests count upstream calls, not seconds: the governor's default
		// budget (10/s) would only slow them. Tests of the governor set it.
		"UPSTREAM_RATE_LIMIT": "100000",
	}
}

// Gateway is a gateway under test.
type Gateway struct {
	URL     string
	Config  config.Config
	Logs    *SyncBuffer
	Handler http.Handler // what URL serves, for benchmarks that skip the network
	Server  *gateway.Gateway
}

// StartGateway builds the gateway from env exactly as main does (config.Load,
// gateway.New) and serves it over loopback HTTP.
func StartGateway(t testing.TB, env map[string]string) *Gateway {
	t.Helper()
	cfg, err := config.Load(MapLookup(env))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &SyncBuffer{}
	level := slog.LevelDebug
	if _, set := env["LOG_LEVEL"]; set {
		level = cfg.LogLevel
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	gw, err := gateway.New(cfg, log)
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	srv := httptest.NewServer(gw.Handler)
	t.Cleanup(func() {
		srv.Close()
		_ = gw.Shutdown(context.Background())
	})
	return &Gateway{URL: srv.URL, Config: gw.Config, Logs: logs, Handler: gw.Handler, Server: gw}
}

// StartGatewayOnSimulator starts a simulator with cfg and a gateway pointed at it.
func StartGatewayOnSimulator(t testing.TB, cfg upstreamsim.Config, extraEnv map[string]string) (*Gateway, *upstreamsim.Simulator) {
	t.Helper()
	sim, base := StartSimulator(t, cfg)
	env := UpstreamEnv(base)
	for k, v := range extraEnv {
		env[k] = v
	}
	return StartGateway(t, env), sim
}

// MapLookup adapts a map to config.Lookup.
func MapLookup(env map[string]string) config.Lookup {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

// Response is a decoded GraphQL response.
type Response struct {
	Status int
	Header http.Header
	Data   json.RawMessage `json:"data"`
	Errors []Error         `json:"errors"`
	Raw    []byte
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e Error) Code() string {
	s, _ := e.Extensions["code"].(string)
	return s
}

// PathString joins the error's path with dots.
func (e Error) PathString() string {
	parts := make([]string, len(e.Path))
	for i, p := range e.Path {
		switch v := p.(type) {
		case string:
			parts[i] = v
		default:
			b, _ := json.Marshal(v)
			parts[i] = string(b)
		}
	}
	return strings.Join(parts, ".")
}

// AccessLogLines are the gateway's access-log lines so far (its JSON log
// lines with msg "request"), decoded.
func (g *Gateway) AccessLogLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(g.Logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// Query POSTs a GraphQL request and decodes the answer.
func (g *Gateway) Query(t testing.TB, query string, vars map[string]any) Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return g.Post(t, "application/json", body)
}

// QueryAs is Query with "Authorization: Bearer token" (none when token is "").
func (g *Gateway) QueryAs(t testing.TB, token, query string, vars map[string]any) Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return g.PostWith(t, h, body)
}

// Post sends a raw body to /graphql.
func (g *Gateway) Post(t testing.TB, contentType string, body []byte) Response {
	t.Helper()
	return g.PostWith(t, http.Header{"Content-Type": {contentType}}, body)
}

// PostWith sends a raw body to /graphql with the given headers.
func (g *Gateway) PostWith(t testing.TB, header http.Header, body []byte) Response {
	t.Helper()
	r, err := g.send(header, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// QueryErr is Query for goroutines other than the test's own, where
// t.Fatal must not be called: a failure to get a JSON answer is returned.
func (g *Gateway) QueryErr(query string, vars map[string]any) (Response, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return Response{}, err
	}
	return g.send(http.Header{"Content-Type": {"application/json"}}, body)
}

func (g *Gateway) send(header http.Header, body []byte) (Response, error) {
	req, err := http.NewRequest(http.MethodPost, g.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("POST /graphql: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("POST /graphql: reading the answer: %w", err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("response is not JSON (status %d): %s", resp.StatusCode, raw)
	}
	return r, nil
}

// Decode unmarshals the response's data into v, failing the test on errors
// the caller did not expect.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %s", r.Raw)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode data: %v in %s", err, r.Raw)
	}
}

// OnlyError returns the response's single error, failing otherwise.
func (r Response) OnlyError(t testing.TB) Error {
	t.Helper()
	if len(r.Errors) != 1 {
		t.Fatalf("want exactly one error, got %d: %s", len(r.Errors), r.Raw)
	}
	return r.Errors[0]
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers (log handlers).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Get fetches url and returns the status and body.
func Get(t testing.TB, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return Do(t, req)
}

// Do sends req with the default client and returns the status and body.
func Do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
