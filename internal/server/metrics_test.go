package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
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
	gw.Query(t, named, map[string]any{"id": demoUserID}) // misses, upstream calls
	gw.Query(t, named, map[string]any{"id": demoUserID}) // hits
	time.Sleep(300 * time.Millisecond)
	gw.Query(t, named, map[string]any{"id": demoUserID})   // stale serves
	unseen := ds.Organizations[len(ds.Organizations)-1].ID // a generated organization: not the demo user's
	sim.SetFault("/api/v2/organizations/"+unseen, http.StatusTooManyRequests)
	gw.Query(t, `query Limited($id: ID!) { organization(id: $id) { id } }`, map[string]any{"id": unseen})                 // 429: pauses auth0
	gw.Query(t, `query Refused($id: ID!) { organization(id: $id) { id } }`, map[string]any{"id": ds.Organizations[2].ID}) // refused during the pause
	gw.Query(t, `{ organization(id: "`+hogwartsID+`") { id } }`, nil)                                                     // anonymous

	resp, err := http.Get(gw.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
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
