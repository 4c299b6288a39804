package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	orgraph "github.com/orgraph/orgraph"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/wait"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestShutdownDrainsInFlightRequests cancels run's context (what SIGTERM
// does) while a slow request is in flight: the request completes and run
// returns nil, so the process exits 0.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := testutil.UpstreamEnv(base)
	env["GATEWAY_ADDR"] = "127.0.0.1:0"
	url, _, cancel, done := startRun(t, env)
	sim.SetLatency(500 * time.Millisecond)
	type result struct {
		status int
		body   string
	}
	answered := make(chan result, 1)
	go func() {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"query":"{ organization(id: \"org_Hg7bQ2mN4pLk9TzA\") { name } }"}`))
		if err != nil {
			answered <- result{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- result{resp.StatusCode, string(b)}
	}()
	// Cancel once the upstream has the request, i.e. it is in flight.
	for deadline := time.Now().Add(30 * time.Second); sim.Count(upstreamsim.RouteOrganization) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the request did not reach the upstream within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	r := <-answered
	if r.status != 200 || !strings.Contains(r.body, `"name":"hogwarts"`) {
		t.Fatalf("in-flight request: %d %s", r.status, r.body)
	}
	if err := <-done; err != nil {
		t.Fatalf("run returned %v, want nil", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

var listening = regexp.MustCompile(`"graphql":"(http://[^"]+)"`)

// startRun runs the gateway as main does, on env, until cancel; done receives
// run's result. It returns once the gateway logs its GraphQL URL.
func startRun(t *testing.T, env map[string]string) (url string, logs *testutil.SyncBuffer, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	logs = &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- run(ctx, nil, testutil.MapLookup(env), io.Discard, logs) }()
	var m []string
	wait.Until(t, func() bool {
		m = listening.FindStringSubmatch(logs.String())
		return m != nil
	})
	return m[1], logs, cancel, result
}

func TestBadSettingStopsStartupNamingTheVariable(t *testing.T) {
	const secret = "not-a-url-but-a-secret"
	err := run(context.Background(), nil, testutil.MapLookup(map[string]string{"AUTH0_BASE_URL": secret, "AUTH0_TOKEN": "t", "AUTH_DISABLED": "true"}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "AUTH0_BASE_URL") || strings.Contains(err.Error(), secret) {
		t.Fatalf("got %v", err)
	}
}

func TestSchemaCommandPrintsTheSDL(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"schema"}, testutil.MapLookup(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != orgraph.Schema || !strings.Contains(out.String(), "type Organization") {
		t.Fatal("schema output differs from schema.graphqls")
	}
}

func TestSchemaFederationPrintsTheSubgraphSDL(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"schema", "--federation"}, testutil.MapLookup(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if out.String() != orgraph.SubgraphSchema || !strings.HasPrefix(out.String(), orgraph.Schema) ||
		!strings.Contains(out.String(), `extend type Organization @key(fields: "id")`) {
		t.Fatalf("schema --federation printed %d bytes, not the subgraph SDL", out.Len())
	}
	if err := run(context.Background(), []string{"schema", "--sdl"}, testutil.MapLookup(nil), io.Discard, io.Discard); err == nil {
		t.Fatal("an unknown schema flag was accepted")
	}
}

func TestHelpPrintsTheCommands(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{arg}, testutil.MapLookup(nil), &out, io.Discard); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if !strings.Contains(out.String(), "orgraph schema") || !strings.Contains(out.String(), "Configuration") {
			t.Fatalf("%s printed %q", arg, out.String())
		}
	}
	if err := run(context.Background(), []string{"serve-please"}, testutil.MapLookup(nil), io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "help") {
		t.Fatalf("an unknown command: %v, want an error naming help", err)
	}
}

func TestDemoModeServesTheExampleQuery(t *testing.T) {
	url, logs, cancel, done := startRun(t, map[string]string{"GATEWAY_ADDR": "127.0.0.1:0"})
	defer cancel()
	if !strings.Contains(logs.String(), "caller authentication is off") {
		t.Fatalf("demo mode does not say caller auth is off: %s", logs.String())
	}
	body, _ := json.Marshal(map[string]string{"query": demoExampleQuery(t, url)})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			User struct {
				Email         string
				Organizations []struct {
					Connections []struct{ ID string }
					Groups      []struct{ Name string }
				}
			}
		}
		Errors []any
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if len(out.Errors) > 0 || out.Data.User.Email == "" || len(out.Data.User.Organizations) < 2 ||
		len(out.Data.User.Organizations[0].Connections) == 0 || len(out.Data.User.Organizations[0].Groups) == 0 {
		t.Fatalf("example query answer: %+v", out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// demoExampleQuery reads the query the IDE opens with from the IDE page, so
// the test runs exactly what a person would.
func demoExampleQuery(t *testing.T, graphqlURL string) string {
	t.Helper()
	status, page := testutil.Get(t, strings.TrimSuffix(graphqlURL, "graphql"))
	m := regexp.MustCompile(`(?s)<script type="application/json" id="ide-config">(.*?)</script>`).FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("IDE page %d without its config", status)
	}
	var cfg struct {
		DefaultQuery string `json:"defaultQuery"`
	}
	if err := json.Unmarshal([]byte(m[1]), &cfg); err != nil || cfg.DefaultQuery == "" {
		t.Fatalf("IDE config %s: %v", m[1], err)
	}
	return cfg.DefaultQuery
}

// TestDemoShowsAChangeAtOnce: in the demo, a change made through the
// simulator's API (on the gateway's own port) is delivered to the demo's
// webhook as an Auth0 event, and the next query shows it, although the
// answer before it was cached.
func TestDemoShowsAChangeAtOnce(t *testing.T) {
	url, _, cancel, done := startRun(t, map[string]string{"GATEWAY_ADDR": "127.0.0.1:0"})
	defer cancel()
	base := strings.TrimSuffix(url, "/graphql")
	query := func() string {
		body, _ := json.Marshal(map[string]string{"query": `{ organization(id: "org_Hg7bQ2mN4pLk9TzA") { displayName } }`})
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := query(); !strings.Contains(got, "Hogwarts School") {
		t.Fatalf("before: %s", got)
	}
	req, _ := http.NewRequest(http.MethodPatch, base+"/_sim/organizations/org_Hg7bQ2mN4pLk9TzA", strings.NewReader(`{"display_name":"Hogwarts, renamed"}`))
	if status, b := testutil.Do(t, req); status != http.StatusOK || !strings.Contains(b, `"status":200`) {
		t.Fatalf("change: %d %s", status, b)
	}
	if got := query(); !strings.Contains(got, "Hogwarts, renamed") {
		t.Fatalf("after the change: %s", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
