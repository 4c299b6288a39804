package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestResponseCacheAnswersARepeatWithTheSameBytes: the second time an
// operation comes, it is answered with the bytes of the first, with no
// upstream call, no loader batch and no data-cache lookup; GET and POST are
// stored apart; a caller asking for a fresh answer (Cache-Control: no-cache)
// gets an executed one.
func TestResponseCacheAnswersARepeatWithTheSameBytes(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 10, ConnectionsPerOrg: 2}, nil)
	query := `query Orgs { organizations(first: 5) { nodes { id name connections { id name } } } }`
	first := gw.Query(t, query, nil)
	if len(first.Errors) > 0 {
		t.Fatalf("%s", first.Raw)
	}
	cold := sim.Total()
	second := gw.Query(t, query, nil)
	if !bytes.Equal(second.Raw, first.Raw) || sim.Total() != cold {
		t.Fatalf("repeat: %d more calls, same bytes %v", sim.Total()-cold, bytes.Equal(second.Raw, first.Raw))
	}
	if second.Header.Get("Content-Type") != "application/json" || second.Header.Get("Content-Length") != fmt.Sprint(len(second.Raw)) {
		t.Fatalf("headers of the hit: %v", second.Header)
	}
	lines := gw.AccessLogLines()
	if last := lines[len(lines)-1]; last["response_cache"] != "hit" || last["operation"] != "Orgs" || last["upstream_batches"] != float64(0) {
		t.Fatalf("access log of the hit: %v", last)
	}

	// GET is its own entry: first executed (from the data cache), then a hit.
	get := func() (int, string) {
		return testutil.Get(t, gw.URL+"/graphql?query="+url.QueryEscape(query))
	}
	if status, body := get(); status != http.StatusOK || !strings.Contains(body, `"connections"`) {
		t.Fatalf("GET: %d %s", status, body)
	}
	if last := gw.AccessLogLines(); last[len(last)-1]["response_cache"] != "miss" {
		t.Fatalf("the first GET is not the POST's entry: %v", last[len(last)-1])
	}
	get()
	if last := gw.AccessLogLines(); last[len(last)-1]["response_cache"] != "hit" {
		t.Fatalf("second GET: %v", last[len(last)-1])
	}

	h := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-cache"}}
	body, _ := json.Marshal(map[string]any{"query": query})
	fresh := gw.PostWith(t, h, body)
	last := gw.AccessLogLines()[len(gw.AccessLogLines())-1]
	if !bytes.Equal(fresh.Raw, first.Raw) || last["response_cache"] != "bypass" || last["cache_hits"].(float64) < 2 {
		t.Fatalf("no-cache: %v", last)
	}
	if sim.Total() != cold {
		t.Fatalf("%d upstream calls after the first answer", sim.Total()-cold)
	}
}

// TestResponseCacheNeverStoresErrors: an answer with an error is not kept,
// so once the upstream recovers the next request is executed and correct.
func TestResponseCacheNeverStoresErrors(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	query := `{ organization(id: "` + hogwartsID + `") { name connections { id } } }`
	sim.SetFault("/api/v2/organizations/"+hogwartsID+"/enabled_connections", http.StatusBadRequest)
	failed := gw.Query(t, query, nil)
	if e := failed.OnlyError(t); e.PathString() != "organization.connections" {
		t.Fatalf("%s", failed.Raw)
	}
	sim.ClearFaults()
	sim.Reset()
	again := gw.Query(t, query, nil)
	if len(again.Errors) > 0 || !strings.Contains(string(again.Data), `"connections":[{`) {
		t.Fatalf("after recovery: %s", again.Raw)
	}
	if n := sim.Count(upstreamsim.RouteEnabledConnections); n != 1 {
		t.Fatalf("the failed answer was served again: %d connection calls, want 1", n)
	}
}

// TestResponseCacheLivesNoLongerThanItsSoonestEntry: an answer built from an
// entry that is fresh for a short time (a 404, CACHE_NOT_FOUND_TTL 2 s) is
// executed again once that entry is stale, while an answer built only from
// long-lived entries (CACHE_TTL 1 h) is still served whole.
func TestResponseCacheLivesNoLongerThanItsSoonestEntry(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"CACHE_TTL": "1h", "CACHE_NOT_FOUND_TTL": "2s"})
	withMissing := `{ a: organization(id: "` + hogwartsID + `") { name } b: organization(id: "org_doesnotexist00") { name } }`
	longLived := `{ organization(id: "` + hogwartsID + `") { id name } }`
	for _, q := range []string{withMissing, longLived, withMissing, longLived} {
		if r := gw.Query(t, q, nil); len(r.Errors) > 0 {
			t.Fatalf("%s", r.Raw)
		}
	}
	if n := sim.Count(upstreamsim.RouteOrganization); n != 2 {
		t.Fatalf("%d organization calls, want 2 (the repeats are stored answers)", n)
	}
	time.Sleep(2500 * time.Millisecond) // past 2 s plus its 10% jitter
	sim.Reset()
	gw.Query(t, longLived, nil)
	if n := sim.Total(); n != 0 {
		t.Fatalf("the long-lived answer cost %d calls", n)
	}
	gw.Query(t, withMissing, nil)
	if n := sim.Count(upstreamsim.RouteOrganization); n != 1 {
		t.Fatalf("the answer with the expired 404 cost %d organization calls, want 1 (the 404 again)", n)
	}
}

// TestResponseCacheKeyedByScopes: a caller without
// read:organization_connections never gets an answer stored for a caller
// with it, though the request bytes are the same; a caller with the same
// scopes shares the answer.
func TestResponseCacheKeyedByScopes(t *testing.T) {
	is := testutil.StartIssuer(t)
	gw, sim := startAuthGateway(t, is)
	query := `{ organization(id: "` + hogwartsID + `") { name connections { id } } }`
	full := is.Token(callerAudience, testutil.Claims{Scope: strings.Join(allScopes, " ")})
	if r := gw.QueryAs(t, full, query, nil); len(r.Errors) > 0 {
		t.Fatalf("%s", r.Raw)
	}
	narrow := is.Token(callerAudience, testutil.Claims{Scope: "read:organizations read:users"})
	r := gw.QueryAs(t, narrow, query, nil)
	if e := r.OnlyError(t); e.Code() != "FORBIDDEN" || e.PathString() != "organization.connections" || strings.Contains(string(r.Data), "con_") {
		t.Fatalf("narrow caller got %s", r.Raw)
	}
	sim.Reset()
	other := is.Token(callerAudience, testutil.Claims{Scope: strings.Join(allScopes, " "), Subject: "another-user"})
	if r := gw.QueryAs(t, other, query, nil); len(r.Errors) > 0 || sim.Total() != 0 {
		t.Fatalf("same scopes: %s with %d calls", r.Raw, sim.Total())
	}
	if last := gw.AccessLogLines(); last[len(last)-1]["response_cache"] != "hit" {
		t.Fatalf("same scopes did not share the stored answer: %v", last[len(last)-1])
	}
	if r := gw.QueryAs(t, "", query, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("a stored answer skipped caller authentication: %d %s", r.Status, r.Raw)
	}
}

// TestResponseCacheKeyedByForwardedToken: in forward mode each caller's
// token fetches and stores its own answers.
func TestResponseCacheKeyedByForwardedToken(t *testing.T) {
	const tokenA, tokenB = "bff-a", "bff-b"
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Tokens: map[string][]string{tokenA: upstreamsim.AllAuth0Scopes(), tokenB: upstreamsim.AllAuth0Scopes()},
	})
	env := with(testutil.UpstreamEnv(base), map[string]string{"UPSTREAM_AUTH_MODE": "forward"})
	delete(env, "AUTH0_TOKEN")
	// Without caller auth, forward mode serves no groups (see TestForwardModeNeverReadsGroupsForUnverifiedCallers).
	delete(env, "IDENTITY_BASE_URL")
	delete(env, "IDENTITY_TOKEN")
	gw := testutil.StartGateway(t, env)
	query := `{ organization(id: "` + hogwartsID + `") { name } }`
	for _, tok := range []string{tokenA, tokenA, tokenB, tokenB} {
		if r := gw.QueryAs(t, tok, query, nil); len(r.Errors) > 0 {
			t.Fatalf("%s", r.Raw)
		}
	}
	if n := sim.Count(upstreamsim.RouteOrganization); n != 2 {
		t.Fatalf("%d organization calls for two tokens asking twice, want 2 (one each)", n)
	}
	lines := gw.AccessLogLines()
	var outcomes []any
	for _, l := range lines {
		outcomes = append(outcomes, l["response_cache"])
	}
	if want := []any{"miss", "hit", "miss", "hit"}; !slices.Equal(outcomes, want) {
		t.Fatalf("response cache outcomes %v, want %v", outcomes, want)
	}
}

// TestResponseCacheOff: RESPONSE_CACHE=false and CACHE_TTL=0 both execute
// every repeat.
func TestResponseCacheOff(t *testing.T) {
	for _, env := range []map[string]string{{"RESPONSE_CACHE": "false"}, {"CACHE_TTL": "0"}} {
		gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, env)
		query := `{ organization(id: "` + hogwartsID + `") { name } }`
		gw.Query(t, query, nil)
		gw.Query(t, query, nil)
		for _, l := range gw.AccessLogLines() {
			if l["response_cache"] != "" {
				t.Fatalf("%v: response cache %v", env, l["response_cache"])
			}
		}
	}
}

// TestWarmExecutionDecodesNothing: with the data cache warm, executing a
// query again decodes no upstream body (orgraph_upstream_decodes_total does
// not move), however many objects it answers.
func TestWarmExecutionDecodesNothing(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, peerData, map[string]string{"RESPONSE_CACHE": "false"})
	q1, q3 := peerQueries[0].query, peerQueries[2].query
	gw.Query(t, q1, nil)
	gw.Query(t, q3, nil)
	before := metricSum(t, gw, "orgraph_upstream_decodes_total")
	if before < 3 {
		t.Fatalf("cold queries decoded %v bodies: the metric does not count", before)
	}
	for range 3 {
		for _, q := range []string{q1, q3} {
			if r := gw.Query(t, q, nil); len(r.Errors) > 0 {
				t.Fatalf("%s", r.Raw)
			}
		}
	}
	if after := metricSum(t, gw, "orgraph_upstream_decodes_total"); after != before {
		t.Fatalf("warm executions decoded %v bodies, want none", after-before)
	}
}

// metricSum adds up every series of a counter family in /metrics.
func metricSum(t *testing.T, gw *testutil.Gateway, family string) float64 {
	t.Helper()
	_, body := testutil.Get(t, gw.URL+"/metrics")
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, family+"{") && !strings.HasPrefix(line, family+" ") {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// TestIdenticalQueriesAtOnceShareValuesSafely: many identical queries run
// at once on warm, shared values, executed (the response cache and
// coalescing off), cold (CACHE_TTL=0: waiting for one execution's answer)
// and through the response cache; every answer is the same, and the race
// detector (./scripts/test runs -race) sees no write to a shared value.
func TestIdenticalQueriesAtOnceShareValuesSafely(t *testing.T) {
	for _, env := range []map[string]string{
		{"RESPONSE_CACHE": "false", "RESPONSE_COALESCING": "false"}, // 16 executions on the same decoded values
		{"CACHE_TTL": "0"}, // cold each time: upstream answers decoded while others wait for them, answers shared
		nil,                // stored answers
	} {
		gw, sim := testutil.StartGatewayOnSimulator(t, peerData, env)
		vars := map[string]any{"id": sim.Dataset().Users[len(sim.Dataset().Users)-1].UserID}
		for _, q := range peerQueries {
			want := gw.Query(t, q.query, vars)
			if len(want.Errors) > 0 {
				t.Fatalf("%s", want.Raw)
			}
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					if got := gw.Query(t, q.query, vars); !bytes.Equal(got.Data, want.Data) {
						t.Errorf("%v: %s: an answer differs under concurrency", env, q.name)
					}
				})
			}
			wg.Wait()
		}
		for _, l := range gw.AccessLogLines() {
			if l["status"] != float64(200) || l["outcome"] != "ok" {
				t.Fatalf("%v: %v", env, l)
			}
		}
	}
}
