package server_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/orgraph/orgraph/internal/persisted"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/testutil/wait"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestMetricsAfterAScriptedRun drives hits, misses, stale serves, an
// upstream 429 and a governor refusal through a gateway with Redis, then
// reads /metrics (open, without a token) and checks every family and its
// labels: route templates, never raw ids; no credential anywhere.
func TestMetricsAfterAScriptedRun(t *testing.T) {
	redisEnv, _ := redistest.Env(t)
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 3, RatePerSecond: 1000},
		// The data cache's own hits are the point here: the response cache
		// would answer the repeats whole (its metric has a test of its own).
		with(redisEnv, map[string]string{"CACHE_TTL": "200ms", "REQUEST_TIMEOUT": "500ms", "RESPONSE_CACHE": "false"}))
	ds := sim.Dataset()
	named := `query Flagship($id: ID!) { user(id: $id) { id organizations { id connections { id } groups { name } } } }`
	flagship := func() { gw.Query(t, named, map[string]any{"id": demoUserID}) }
	orgsLoader := "GET /api/v2/users/{id}/organizations"
	flagship() // misses, upstream calls
	// The steps below depend on time: a hit within CACHE_TTL of the fetch, a
	// refusal while the pause a 429 starts still outlasts REQUEST_TIMEOUT.
	// A loaded machine may overrun either window, so each step is repeated
	// until /metrics shows it happened; a repeat that came too late is only
	// another miss or stale serve.
	queryUntilCounted(t, gw, "orgraph_cache_lookups_total", map[string]string{"upstream": "auth0", "loader": orgsLoader, "outcome": "hit"}, flagship)
	// Stale serves: once CACHE_TTL has passed (the stale window is an hour).
	queryUntilCounted(t, gw, "orgraph_cache_lookups_total", map[string]string{"upstream": "auth0", "outcome": "stale"}, flagship)
	unseen := ds.Organizations[len(ds.Organizations)-1].ID // a generated organization: not the demo user's
	sim.SetFault("/api/v2/organizations/"+unseen, http.StatusTooManyRequests)
	queryUntilCounted(t, gw, "orgraph_governor_refusals_total", map[string]string{"upstream": "auth0"}, func() {
		gw.Query(t, `query Limited($id: ID!) { organization(id: $id) { id } }`, map[string]any{"id": unseen})                 // 429: pauses auth0
		gw.Query(t, `query Refused($id: ID!) { organization(id: $id) { id } }`, map[string]any{"id": ds.Organizations[2].ID}) // refused during the pause
	})
	gw.Query(t, `{ organization(id: "`+hogwartsID+`") { id } }`, nil) // anonymous

	raw := []byte(scrapeText(t, gw))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	want := []struct {
		family string
		labels map[string]string // labels one series must have
	}{
		{"orgraph_graphql_operations_total", map[string]string{"operation": "Flagship", "outcome": "ok"}},
		{"orgraph_graphql_operations_total", map[string]string{"operation": "Limited", "outcome": "partial"}},
		{"orgraph_graphql_operations_total", map[string]string{"operation": "anonymous", "outcome": "ok"}},
		{"orgraph_graphql_operation_duration_seconds", map[string]string{"operation": "Flagship", "outcome": "ok"}},
		{"orgraph_upstream_requests_total", map[string]string{"upstream": "auth0", "route": "GET /api/v2/users/{id}/organizations", "status": "200"}},
		{"orgraph_upstream_requests_total", map[string]string{"upstream": "auth0", "route": "GET /api/v2/organizations/{id}", "status": "429"}},
		{"orgraph_upstream_requests_total", map[string]string{"upstream": "identity", "status": "200"}},
		{"orgraph_upstream_request_duration_seconds", map[string]string{"upstream": "auth0", "route": "GET /api/v2/organizations/{id}/enabled_connections"}},
		{"orgraph_cache_lookups_total", map[string]string{"upstream": "auth0", "loader": "GET /api/v2/users/{id}/organizations", "outcome": "miss"}},
		{"orgraph_cache_lookups_total", map[string]string{"upstream": "auth0", "loader": "GET /api/v2/users/{id}/organizations", "outcome": "hit"}},
		{"orgraph_cache_lookups_total", map[string]string{"upstream": "auth0", "outcome": "stale"}},
		{"orgraph_governor_waits_total", map[string]string{"upstream": "auth0"}},
		{"orgraph_governor_refusals_total", map[string]string{"upstream": "auth0"}},
		{"orgraph_governor_allowed_total", map[string]string{"upstream": "identity"}},
		{"orgraph_governor_pauses_total", map[string]string{"upstream": "auth0"}},
		{"orgraph_upstream_ratelimit_remaining", map[string]string{"upstream": "auth0"}},
		{"orgraph_redis_up", nil},
	}
	for _, w := range want {
		f, ok := families[w.family]
		if !ok {
			t.Errorf("family %s missing", w.family)
			continue
		}
		if !hasSeries(f, w.labels) {
			t.Errorf("%s has no series with %v", w.family, w.labels)
		}
	}
	if v := families["orgraph_governor_refusals_total"]; v != nil && seriesValue(v, map[string]string{"upstream": "auth0"}) < 1 {
		t.Errorf("no governor refusal counted")
	}
	if v := families["orgraph_redis_up"]; v != nil && v.Metric[0].GetGauge().GetValue() != 1 {
		t.Errorf("orgraph_redis_up = %v with Redis up", v.Metric[0].GetGauge().GetValue())
	}
	text := string(raw)
	if strings.Contains(text, "org_") || strings.Contains(text, "auth0|") {
		t.Errorf("a raw id is in a label")
	}
	if strings.Contains(text, testutil.Auth0Token) || strings.Contains(text, testutil.IdentityToken) {
		t.Errorf("a credential is in /metrics")
	}
}

// queryUntilCounted runs send until /metrics counts the series of family
// with labels, for a step whose outcome depends on how soon it runs; it
// fails the test when wait.Deadline passes first.
func queryUntilCounted(t *testing.T, gw *testutil.Gateway, family string, labels map[string]string, send func()) {
	t.Helper()
	wait.Until(t, func() bool {
		send()
		f := scrape(t, gw)[family]
		return f != nil && seriesValue(f, labels) > 0
	})
}

func hasSeries(f *dto.MetricFamily, labels map[string]string) bool {
	for _, m := range f.Metric {
		if matches(m, labels) {
			return true
		}
	}
	return false
}

func seriesValue(f *dto.MetricFamily, labels map[string]string) float64 {
	var sum float64
	for _, m := range f.Metric {
		if matches(m, labels) {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

func matches(m *dto.Metric, labels map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.Label {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestOperationLabelsAreBounded: callers choose operation names, so only
// names of operations that ran become label values, at most
// METRICS_OPERATION_NAMES of them; refused operations and the names after
// the bound share "other". 300 distinct names, each sent once succeeding
// and once failing validation (named in operationName too), leave /metrics
// a bounded number of lines.
func TestOperationLabelsAreBounded(t *testing.T) {
	const bound = 20
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{},
		map[string]string{"METRICS_OPERATION_NAMES": strconv.Itoa(bound)})
	for i := range 300 {
		if r := gw.Query(t, fmt.Sprintf(`query Ok%d { __typename }`, i), nil); len(r.Errors) > 0 {
			t.Fatalf("ok: %s", r.Raw)
		}
		bad := mustJSON(map[string]any{"query": fmt.Sprintf(`query Bad%d { nosuchfield }`, i), "operationName": fmt.Sprintf("Bad%d", i)})
		if e := gw.Post(t, "application/json", bad).OnlyError(t); e.Code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Fatalf("bad: %s", e.Code())
		}
	}
	gw.Query(t, `{ __typename }`, nil)

	families := scrape(t, gw)
	labels := map[string]bool{}
	for _, name := range []string{"orgraph_graphql_operations_total", "orgraph_graphql_operation_duration_seconds"} {
		for _, m := range families[name].GetMetric() {
			for _, l := range m.Label {
				if l.GetName() == "operation" {
					labels[l.GetValue()] = true
				}
			}
		}
	}
	// The first names that ran, "other" and "anonymous": no name of a
	// refused operation.
	if len(labels) != bound+2 || !labels["Ok0"] || !labels["Ok19"] || labels["Ok20"] || !labels["other"] || !labels["anonymous"] || labels["Bad0"] {
		t.Fatalf("%d operation label values: %v", len(labels), labels)
	}
	if v := seriesValue(families["orgraph_graphql_operations_total"], map[string]string{"operation": "other", "outcome": "error"}); v != 300 {
		t.Errorf("refused operations counted as other: %v, want 300", v)
	}
	if v := seriesValue(families["orgraph_graphql_operations_total"], map[string]string{"operation": "other", "outcome": "ok"}); v != 300-bound {
		t.Errorf("names after the bound counted as other: %v, want %d", v, 300-bound)
	}
	// 22 label values, one outcome each but "other" with two: 23 counter
	// lines and 23 histograms of 16 lines (13 buckets, +Inf, sum, count).
	lines := 0
	for _, l := range strings.Split(scrapeText(t, gw), "\n") {
		if strings.HasPrefix(l, "orgraph_graphql_operation") {
			lines++
		}
	}
	if want := (bound + 3) * 17; lines != want {
		t.Errorf("%d lines of operation series, want %d", lines, want)
	}
}

func scrapeText(t *testing.T, gw *testutil.Gateway) string {
	t.Helper()
	resp, err := http.Get(gw.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(raw)
}

func scrape(t *testing.T, gw *testutil.Gateway) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(scrapeText(t, gw)))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return families
}

// TestManifestOperationsAreLabelled: the operations of the
// persisted-operations manifest keep their names as label values whatever
// METRICS_OPERATION_NAMES says: the operator chose them.
func TestManifestOperationsAreLabelled(t *testing.T) {
	ops := []string{`query First { __typename }`, `query Second { __typename }`}
	manifest := map[string]string{}
	for _, op := range ops {
		manifest[persisted.Hash(op)] = op
	}
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, mustJSON(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{
		"PERSISTED_OPERATIONS_ONLY": "true", "PERSISTED_OPERATIONS_MANIFEST": path, "METRICS_OPERATION_NAMES": "1"})
	for _, op := range ops {
		if r := gw.Query(t, op, nil); len(r.Errors) > 0 {
			t.Fatalf("%s: %s", op, r.Raw)
		}
	}
	f := scrape(t, gw)["orgraph_graphql_operations_total"]
	for _, name := range []string{"First", "Second"} {
		if seriesValue(f, map[string]string{"operation": name, "outcome": "ok"}) != 1 {
			t.Errorf("no series for manifest operation %s", name)
		}
	}
}
