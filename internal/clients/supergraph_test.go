package clients_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// The supergraph queries, in one place. orgFields is orgraph's part of an
// Organization; the supergraph queries add billing's plan to it, and
// orgraph's own answers, which the supergraph's must equal, select it alone.
const (
	orgFields = `id name connections { name }`
	// billedQuery starts in billing, which holds only ids: orgraph answers
	// orgFields through one _entities call.
	billedQuery = `{ billedOrganizations { ` + orgFields + ` plan } }`
	// pageQuery starts in orgraph: billing answers plan through _entities.
	pageQuery = `{ organizations(first: 10) { nodes { ` + orgFields + ` plan } } }`
)

// supergraphStartTimeout bounds how long the node script may take to
// compose and listen; a failure bound, never a measurement.
const supergraphStartTimeout = 90 * time.Second

// TestSupergraphAcrossTwoSubgraphs composes orgraph (FEDERATION=true, on the
// simulator) with billing, a second subgraph that adds Organization.plan,
// runs Hive Gateway in front of both (supergraph/supergraph.mjs, npm
// packages in supergraph/), and queries across them from either side. The
// answers must equal orgraph's own, each with billing's plan, and the
// upstream calls are exact: ten organizations reached through _entities
// cost ten lookups and ten connection lists, in two batches, as ten
// organization(id) fields in one query do.
func TestSupergraphAcrossTwoSubgraphs(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 40, ConnectionsPerOrg: 2},
		map[string]string{"FEDERATION": "true", "RESPONSE_CACHE": "false"})
	ds := sim.Dataset()
	var billed []string // disjoint from the first page, so no answer is cached for the other query
	for _, o := range ds.Organizations[20:30] {
		billed = append(billed, o.ID)
	}
	router, billingCalls := startSupergraph(t, gw.URL+"/graphql", billed)
	if n := sim.Total(); n != 0 {
		t.Fatalf("composing made %d upstream calls", n)
	}

	// From billing into orgraph.
	var fromBilling struct{ BilledOrganizations []map[string]any }
	postQuery(t, router, billedQuery, &fromBilling)
	calls := sim.Counts()
	t.Logf("supergraph %s: orgraph's upstream calls %v", billedQuery, calls)
	if calls[upstreamsim.RouteOrganization] != 10 || calls[upstreamsim.RouteEnabledConnections] != 10 || sim.Total() != 20 {
		t.Fatalf("upstream calls %v, want 10 organization lookups and 10 connection lists", calls)
	}
	var entities []map[string]any
	for _, line := range gw.AccessLogLines() {
		if line["upstream_calls"] == 20.0 {
			entities = append(entities, line)
		}
	}
	if len(entities) != 1 || entities[0]["upstream_batches"] != 2.0 {
		t.Fatalf("orgraph's _entities requests %v, want one with 2 batches (lookups, connections)", entities)
	}
	var own map[string]map[string]any
	var q strings.Builder
	for i, id := range billed {
		fmt.Fprintf(&q, " o%d: organization(id: %q) { %s }", i, id, orgFields)
	}
	gw.Query(t, "{"+q.String()+" }", nil).Decode(t, &own)
	if len(fromBilling.BilledOrganizations) != len(billed) {
		t.Fatalf("%d billed organizations, want %d", len(fromBilling.BilledOrganizations), len(billed))
	}
	for i, o := range fromBilling.BilledOrganizations {
		checkOrganization(t, o, own[fmt.Sprintf("o%d", i)])
	}

	// From orgraph into billing.
	before := sim.Counts()
	var fromOrgraph struct {
		Organizations struct{ Nodes []map[string]any }
	}
	postQuery(t, router, pageQuery, &fromOrgraph)
	after := sim.Counts()
	t.Logf("supergraph %s: orgraph's upstream calls %v (before: %v)", pageQuery, after, before)
	if after[upstreamsim.RouteOrganizations]-before[upstreamsim.RouteOrganizations] != 1 ||
		after[upstreamsim.RouteEnabledConnections]-before[upstreamsim.RouteEnabledConnections] != 10 ||
		after[upstreamsim.RouteOrganization] != before[upstreamsim.RouteOrganization] {
		t.Fatalf("upstream calls went from %v to %v, want one page and 10 connection lists", before, after)
	}
	if n := billingCalls(); n != 1 {
		t.Fatalf("billing's _entities was called %d times, want once for the whole page", n)
	}
	var ownPage struct {
		Organizations struct{ Nodes []map[string]any }
	}
	gw.Query(t, `{ organizations(first: 10) { nodes { `+orgFields+` } } }`, nil).Decode(t, &ownPage)
	if len(fromOrgraph.Organizations.Nodes) != 10 || len(ownPage.Organizations.Nodes) != 10 {
		t.Fatalf("%d organizations through the supergraph, %d from orgraph; want 10", len(fromOrgraph.Organizations.Nodes), len(ownPage.Organizations.Nodes))
	}
	for i, o := range fromOrgraph.Organizations.Nodes {
		checkOrganization(t, o, ownPage.Organizations.Nodes[i])
	}
}

// checkOrganization compares an organization from the supergraph with
// orgraph's own answer for it, and its plan with billing's rule.
func checkOrganization(t *testing.T, got, own map[string]any) {
	t.Helper()
	id, _ := got["id"].(string)
	if len(id) < 4 || got["plan"] != "plan-"+id[len(id)-4:] {
		t.Fatalf("organization %v: plan is not billing's", got)
	}
	rest := map[string]any{}
	for k, v := range got {
		if k != "plan" {
			rest[k] = v
		}
	}
	if !reflect.DeepEqual(rest, own) {
		t.Fatalf("through the supergraph %v, from orgraph %v", rest, own)
	}
}

// startSupergraph runs supergraph/supergraph.mjs against orgraph and returns
// the router's /graphql URL, and a function reading billing's count of
// _entities calls. The node process is killed when the test ends.
func startSupergraph(t *testing.T, orgraphURL string, billed []string) (string, func() int) {
	t.Helper()
	node, dir := nodeProject(t, "supergraph")
	cmd := exec.Command(node, "supergraph.mjs", orgraphURL, strings.Join(billed, ","))
	cmd.Dir = dir
	stderr := &testutil.SyncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
				ready <- f[1:]
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case urls := <-ready:
		return urls[0], func() int {
			var c struct{ Entities int }
			resp, err := http.Get(urls[1])
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
				t.Fatal(err)
			}
			return c.Entities
		}
	case <-exited:
		t.Fatalf("supergraph.mjs exited before it was ready:\n%s", stderr.String())
	case <-time.After(supergraphStartTimeout):
		t.Fatalf("supergraph.mjs was not ready within %v:\n%s", supergraphStartTimeout, stderr.String())
	}
	return "", nil
}

// postQuery sends query to the router and decodes its data, failing on
// any error.
func postQuery(t *testing.T, url, query string, v any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   json.RawMessage
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("router answered %s with no JSON: %v", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || len(out.Errors) > 0 {
		t.Fatalf("router answered %s: %v", resp.Status, out.Errors)
	}
	if err := json.Unmarshal(out.Data, v); err != nil {
		t.Fatal(err)
	}
}
