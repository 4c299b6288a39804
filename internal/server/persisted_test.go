package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/config"
	"github.com/orgraph/orgraph/internal/gateway"
	"github.com/orgraph/orgraph/internal/persisted"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// persistedRequest is a GraphQL request naming its query by hash, with the
// query text or without it.
func persistedRequest(t *testing.T, gw *testutil.Gateway, query string, withText bool) testutil.Response {
	t.Helper()
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": persisted.Hash(query)}}}
	if withText {
		body["query"] = query
	}
	b, _ := json.Marshal(body)
	return gw.Post(t, "application/json", b)
}

// TestAutomaticPersistedQueries: a hash alone is unknown at first; sent once
// with its text it is registered, in Redis too, so the next request, on this
// replica or another, needs only the hash.
func TestAutomaticPersistedQueries(t *testing.T) {
	redisEnv, _ := redistest.Env(t)
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := with(testutil.UpstreamEnv(base), redisEnv)
	a, b := testutil.StartGateway(t, env), testutil.StartGateway(t, env)
	query := `query APQ { organization(id: "` + hogwartsID + `") { name } }`

	if e := persistedRequest(t, a, query, false).OnlyError(t); e.Code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("unknown hash: %s", e.Code())
	}
	if r := persistedRequest(t, a, query, true); len(r.Errors) > 0 || string(r.Data) != `{"organization":{"name":"hogwarts"}}` {
		t.Fatalf("register: %s", r.Raw)
	}
	for _, gw := range []*testutil.Gateway{a, b} {
		if r := persistedRequest(t, gw, query, false); len(r.Errors) > 0 || string(r.Data) != `{"organization":{"name":"hogwarts"}}` {
			t.Fatalf("hash only: %s", r.Raw)
		}
	}
}

// TestPersistedQueryOverALimitIsNotRegistered: a document refused by the
// token limit is refused before the persisted queries see it, so its hash
// stays unknown: bad input changes nothing.
func TestPersistedQueryOverALimitIsNotRegistered(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"MAX_QUERY_TOKENS": "10"})
	query := `{ a: __typename b: __typename c: __typename d: __typename }`
	r := persistedRequest(t, gw, query, true)
	if e := r.OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Extensions["limit"].(map[string]any)["name"] != "tokens" {
		t.Fatalf("register: %s", r.Raw)
	}
	if e := persistedRequest(t, gw, query, false).OnlyError(t); e.Code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("hash only: %s, want it unknown", e.Code())
	}
}

// TestAllowListRefusesOtherOperations: with PERSISTED_OPERATIONS_ONLY=true
// only the manifest's operations run, by hash or by exact text; anything
// else is refused before any upstream call, and nothing can be registered.
// writeManifest writes an Apollo persisted-query manifest holding one query
// operation and returns its path.
func writeManifest(t *testing.T, name, query string) string {
	t.Helper()
	manifest := filepath.Join(t.TempDir(), "manifest.json")
	b, _ := json.Marshal(map[string]any{"format": "apollo-persisted-query-manifest", "version": 1,
		"operations": []any{map[string]any{"id": persisted.Hash(query), "body": query, "name": name, "type": "query"}}})
	if err := os.WriteFile(manifest, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return manifest
}

func TestAllowListRefusesOtherOperations(t *testing.T) {
	allowed := `query Allowed { organization(id: "` + hogwartsID + `") { name } }`
	manifest := writeManifest(t, "Allowed", allowed)
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{},
		map[string]string{"PERSISTED_OPERATIONS_ONLY": "true", "PERSISTED_OPERATIONS_MANIFEST": manifest})

	for name, r := range map[string]testutil.Response{
		"by hash": persistedRequest(t, gw, allowed, false),
		"by text": gw.Query(t, allowed, nil),
	} {
		if len(r.Errors) > 0 || string(r.Data) != `{"organization":{"name":"hogwarts"}}` {
			t.Fatalf("%s: %s", name, r.Raw)
		}
	}
	sim.Reset()
	other := `query Other { organization(id: "` + hogwartsID + `") { name displayName } }`
	for name, r := range map[string]testutil.Response{
		"other text":       gw.Query(t, other, nil),
		"other registered": persistedRequest(t, gw, other, true),
		"other hash":       persistedRequest(t, gw, other, false),
		"allowed hash, other text": gw.Post(t, "application/json", mustJSON(map[string]any{"query": other,
			"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": persisted.Hash(allowed)}}})),
	} {
		if e := r.OnlyError(t); e.Code() != persisted.NotAllowed || r.Status != http.StatusOK || r.Data != nil {
			t.Fatalf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("refused operations made %d upstream calls", n)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestRefusedRegistrationStoresNothing: a query sent for registration is
// kept only once it parsed, validated and passed the operation limits, and
// only up to PERSISTED_QUERY_MAX_KB. Each refusal has its code, and neither
// Redis nor the in-process tier keeps anything: the hash alone is still
// unknown afterwards, here and on another replica.
func TestRefusedRegistrationStoresNothing(t *testing.T) {
	redisEnv, rdb := redistest.Env(t)
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := with(testutil.UpstreamEnv(base), redisEnv)
	a, b := testutil.StartGateway(t, env), testutil.StartGateway(t, env)
	deep := `query Deep { organization(id: "` + hogwartsID + `") ` + strings.Repeat(`{ members { nodes { organizations `, 4) +
		`{ id }` + strings.Repeat(` } } }`, 4) + ` }`
	tests := []struct {
		name, query, code string
	}{
		// ~900 KB of text that is not GraphQL: refused before it is parsed.
		{"huge garbage", strings.Repeat("x", 900<<10), persisted.TooLarge},
		// A valid operation, padded past the bound.
		{"valid but too large", `query Padded { organization(id: "` + hogwartsID + `") { name } }` + strings.Repeat(" ", 17<<10), persisted.TooLarge},
		{"does not parse", `query Broken { organization(id: "x") { name `, "GRAPHQL_PARSE_FAILED"},
		{"does not validate", `query Unknown { organization(id: "` + hogwartsID + `") { nosuchfield } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"over the operation limits", deep, "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e := persistedRequest(t, a, tt.query, true).OnlyError(t); e.Code() != tt.code {
				t.Fatalf("register: code %s (%.200s), want %s", e.Code(), e.Message, tt.code)
			}
			for name, gw := range map[string]*testutil.Gateway{"same replica": a, "other replica": b} {
				if e := persistedRequest(t, gw, tt.query, false).OnlyError(t); e.Code() != "PERSISTED_QUERY_NOT_FOUND" || e.Message != "PersistedQueryNotFound" {
					t.Fatalf("%s, hash only: %s %.200s", name, e.Code(), e.Message)
				}
			}
		})
	}
	keys, err := rdb.Keys(context.Background(), redisEnv["REDIS_KEY_PREFIX"]+"apq:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("refused registrations left %d keys in Redis", len(keys))
	}
}

// TestBadManifestStopsStartUp: config.Load only names the manifest; building
// the gateway reads it, and a file that cannot be read or checked stops
// start-up naming the setting, never the path (which may say too much).
func TestBadManifestStopsStartUp(t *testing.T) {
	const secret = "s3cr3t-path"
	dir := t.TempDir()
	notJSON := filepath.Join(dir, secret+".json")
	if err := os.WriteFile(notJSON, []byte("allow everything"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"missing": filepath.Join(dir, secret, "none.json"), "not a manifest": notJSON} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(testutil.MapLookup(map[string]string{
				"PERSISTED_OPERATIONS_ONLY": "true", "PERSISTED_OPERATIONS_MANIFEST": path}))
			if err != nil {
				t.Fatalf("config.Load reads no file, yet: %v", err)
			}
			gw, err := gateway.New(cfg, slog.New(slog.DiscardHandler))
			if err == nil {
				_ = gw.Shutdown(context.Background())
				t.Fatal("want a start-up error")
			}
			if !strings.HasPrefix(err.Error(), "PERSISTED_OPERATIONS_MANIFEST: ") || strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q: want it to name the setting and not the path", err)
			}
		})
	}
}

// TestPersistedRefusalsAreRequestErrors: a refused persisted operation never
// ran, so under graphql-response+json it is a 400 without a data entry, like
// a validation failure; an unknown hash is a step of the APQ handshake that
// clients expect as a 200. The transport knows the refusal codes itself;
// nothing registers them in gqlgen's process-wide error registry.
func TestPersistedRefusalsAreRequestErrors(t *testing.T) {
	allowed := `query Allowed { organization(id: "` + hogwartsID + `") { name } }`
	manifest := writeManifest(t, "Allowed", allowed)
	open, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	allowList, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{},
		map[string]string{"PERSISTED_OPERATIONS_ONLY": "true", "PERSISTED_OPERATIONS_MANIFEST": manifest})
	deep := `query Deep { organization(id: "` + hogwartsID + `") ` + strings.Repeat(`{ members { nodes { organizations `, 4) +
		`{ id }` + strings.Repeat(` } } }`, 4) + ` }`
	padded := `query Padded { organization(id: "` + hogwartsID + `") { name } }` + strings.Repeat(" ", 17<<10)
	other := `query Other { organization(id: "` + hogwartsID + `") { name displayName } }`
	apq := func(query, hash string, withText bool) []byte {
		body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
		if withText {
			body["query"] = query
		}
		return mustJSON(body)
	}
	tests := []struct {
		name   string
		gw     *testutil.Gateway
		body   []byte
		code   string
		status int
	}{
		{"too large", open, apq(padded, persisted.Hash(padded), true), persisted.TooLarge, http.StatusBadRequest},
		{"hash does not match", open, apq(allowed, persisted.Hash(other), true), persisted.Invalid, http.StatusBadRequest},
		{"over the limits", open, apq(deep, persisted.Hash(deep), true), "BAD_USER_INPUT", http.StatusBadRequest},
		{"not in the allow-list", allowList, mustJSON(map[string]any{"query": other}), persisted.NotAllowed, http.StatusBadRequest},
		{"unknown hash", open, apq(other, persisted.Hash(other), false), "PERSISTED_QUERY_NOT_FOUND", http.StatusOK},
	}
	header := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/graphql-response+json"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.gw.PostWith(t, header, tt.body)
			requestError := tt.status != http.StatusOK // no data entry then
			if e := r.OnlyError(t); e.Code() != tt.code || r.Status != tt.status || (r.Data == nil) != requestError {
				t.Fatalf("got %d %s, want %d with %s (data entry: %v)", r.Status, r.Raw, tt.status, tt.code, !requestError)
			}
		})
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("refused operations made %d upstream calls", n)
	}
}
