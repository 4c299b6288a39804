package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// Each test starts a cold gateway and asserts exactly how many upstream calls
// a query costs, per route, from the simulator's counters: one per distinct
// resource the query touches.

func assertCalls(t *testing.T, sim *upstreamsim.Simulator, want map[string]int64) {
	t.Helper()
	got := sim.Counts()
	var total int64
	for route, n := range want {
		total += n
		if got[route] != n {
			t.Errorf("%s: %d calls, want %d", route, got[route], n)
		}
	}
	if sim.Total() != total {
		t.Errorf("total %d calls, want %d: %v", sim.Total(), total, got)
	}
}

func TestFiftyOrganizationsWithConnections(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 60, ConnectionsPerOrg: 2}, nil)
	resp := gw.Query(t, `{ organizations(first: 50) { nodes { id connections { id name } } } }`, nil)
	var data struct {
		Organizations struct {
			Nodes []struct{ Connections []struct{ ID string } }
		}
	}
	resp.Decode(t, &data)
	if len(data.Organizations.Nodes) != 50 {
		t.Fatalf("got %d organizations", len(data.Organizations.Nodes))
	}
	assertCalls(t, sim, map[string]int64{upstreamsim.RouteOrganizations: 1, upstreamsim.RouteEnabledConnections: 50})
}

func TestUserInKOrganizationsWithConnections(t *testing.T) {
	for _, k := range []int{1, 4, 9} {
		t.Run(string(rune('0'+k)), func(t *testing.T) {
			gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 30, Users: 5, MembershipsPerUser: k}, nil)
			ds := sim.Dataset()
			user := ds.Users[len(ds.Users)-1].UserID // a generated user
			if got := len(ds.UserOrganizations[user]); got != k {
				t.Fatalf("user is in %d organizations, want %d", got, k)
			}
			resp := gw.Query(t, `query($id: ID!) { user(id: $id) { organizations { id name connections { id } } } }`, map[string]any{"id": user})
			var data struct{ User struct{ Organizations []any } }
			resp.Decode(t, &data)
			if len(data.User.Organizations) != k {
				t.Fatalf("got %d organizations", len(data.User.Organizations))
			}
			assertCalls(t, sim, map[string]int64{upstreamsim.RouteUserOrganizations: 1, upstreamsim.RouteEnabledConnections: int64(k)})
		})
	}
}

func TestTwentyOrganizationsWithGroupsSharingPartitions(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 30, Partitions: 3, GroupsPerPartition: 2, MembersPerGroup: 3}, nil)
	ds := sim.Dataset()
	partitions := map[string]bool{}
	for _, o := range ds.Organizations[:20] {
		if p := o.Metadata[upstreamsim.MetadataPartitionKey]; p != "" {
			partitions[p] = true
		}
	}
	resp := gw.Query(t, `{ organizations(first: 20) { nodes { id groups { id name members { identifier displayName } } } } }`, nil)
	var data struct {
		Organizations struct {
			Nodes []struct {
				Groups []struct{ Members []any }
			}
		}
	}
	resp.Decode(t, &data)
	if len(data.Organizations.Nodes) != 20 {
		t.Fatalf("got %d organizations", len(data.Organizations.Nodes))
	}
	if len(partitions) >= 20 || len(partitions) < 3 {
		t.Fatalf("test data should share partitions: %d distinct", len(partitions))
	}
	assertCalls(t, sim, map[string]int64{upstreamsim.RouteOrganizations: 1, upstreamsim.RouteGroups: int64(len(partitions))})
}

func TestSameOrganizationByIDByNameAndThroughUser(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	ds := sim.Dataset()
	resp := gw.Query(t, `query($id: ID!, $user: ID!) {
		byID: organization(id: $id) { id name connections { id } }
		byName: organizationByName(name: "hogwarts") { id displayName connections { id } }
		user(id: $user) { organizations { id name connections { id } } }
	}`, map[string]any{"id": hogwartsID, "user": demoUserID})
	var data struct {
		ByID, ByName struct{ ID string }
		User         struct{ Organizations []struct{ ID string } }
	}
	resp.Decode(t, &data)
	if data.ByID.ID != hogwartsID || data.ByName.ID != hogwartsID {
		t.Fatalf("%+v", data)
	}
	// The organization is fetched at most once: by id, by name, or not at all
	// when the user's organization list arrives first (root fields resolve
	// concurrently, so which path gets there first is the scheduler's
	// choice). Its connections are fetched once although three paths ask.
	counts := sim.Counts()
	if n := counts[upstreamsim.RouteOrganization] + counts[upstreamsim.RouteOrganizationByName]; n > 1 {
		t.Fatalf("organization fetched %d times: %v", n, counts)
	}
	if counts[upstreamsim.RouteUserOrganizations] != 1 || counts[upstreamsim.RouteEnabledConnections] != int64(len(ds.UserOrganizations[demoUserID])) {
		t.Fatalf("calls %v: want 1 user-organizations call and one connections call per organization", counts)
	}
	if other := sim.Total() - counts[upstreamsim.RouteOrganization] - counts[upstreamsim.RouteOrganizationByName] -
		counts[upstreamsim.RouteUserOrganizations] - counts[upstreamsim.RouteEnabledConnections]; other != 0 {
		t.Fatalf("unexpected calls: %v", counts)
	}
}

func TestByIDAndByNameFetchOnce(t *testing.T) {
	// Caching off, so each repetition is cold.
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"CACHE_TTL": "0"})
	// No list in the query, so the organization is fetched exactly once:
	// whichever lookup's batch runs first fetches, the other waits for it
	// and is answered from it. Repeated because the order varies.
	for i := 0; i < 20; i++ {
		sim.Reset()
		resp := gw.Query(t, `query($id: ID!) {
			byID: organization(id: $id) { id }
			byName: organizationByName(name: "hogwarts") { id }
		}`, map[string]any{"id": hogwartsID})
		var data struct{ ByID, ByName struct{ ID string } }
		resp.Decode(t, &data)
		if data.ByName.ID != hogwartsID {
			t.Fatalf("%+v", data)
		}
		counts := sim.Counts()
		if n := counts[upstreamsim.RouteOrganization] + counts[upstreamsim.RouteOrganizationByName]; n != 1 || sim.Total() != 1 {
			t.Fatalf("calls %v, want one organization fetch", counts)
		}
	}
}

func TestOrganizationsFromAListCostNothingMore(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	// organization(id) inside the members' organizations: every organization
	// there arrived in a list, so nothing is fetched by id or name.
	resp := gw.Query(t, `query($id: ID!) {
		organization(id: $id) { members(first: 10) { nodes { organizations { id name } } } }
	}`, map[string]any{"id": hogwartsID})
	var data struct {
		Organization struct {
			Members struct {
				Nodes []struct{ Organizations []any }
			}
		}
	}
	resp.Decode(t, &data)
	members := len(sim.Dataset().Members[hogwartsID])
	assertCalls(t, sim, map[string]int64{
		upstreamsim.RouteOrganization:      1,
		upstreamsim.RouteMembers:           1,
		upstreamsim.RouteUserOrganizations: int64(members),
	})
}

// TestSameFieldUnderTwoAliases: the same field asked under two aliases
// costs one call. The organization asked by id is one the page does not
// hold: root fields run side by side, and an organization the page holds
// would come from it or from its own call, as the scheduler has it.
func TestSameFieldUnderTwoAliases(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 10, Partitions: 2}, nil)
	ds := sim.Dataset()
	last := ds.Organizations[len(ds.Organizations)-1]
	if slices.ContainsFunc(ds.Organizations[:5], func(o upstreamsim.Organization) bool { return o.ID == last.ID }) {
		t.Fatal("test data: the organization is on the first page")
	}
	resp := gw.Query(t, `query($id: ID!) {
		a: organization(id: $id) { name connections { id } groups { name } }
		b: organization(id: $id) { displayName connections { name } groups { id } }
		c: organizations(first: 5) { nodes { id } }
		d: organizations(first: 5) { nodes { name } }
	}`, map[string]any{"id": last.ID})
	var data map[string]any
	resp.Decode(t, &data)
	assertCalls(t, sim, map[string]int64{
		upstreamsim.RouteOrganization:       1,
		upstreamsim.RouteEnabledConnections: 1,
		upstreamsim.RouteGroups:             1,
		upstreamsim.RouteOrganizations:      1,
	})
}

// TestConcurrentIdenticalQueriesCostWhatOneCosts sends 100 identical queries
// at once to a cold gateway. The simulator answers after 100 ms, as a real
// upstream takes a while, so the queries overlap; identical upstream calls in
// flight, or fetched after a request began, are shared across requests, so
// the count holds however the scheduler spreads the requests' work, and also
// when the fan-out (20) exceeds UPSTREAM_CONCURRENCY (16).
func TestConcurrentIdenticalQueriesCostWhatOneCosts(t *testing.T) {
	const query = `{ organizations(first: 20) { nodes { id connections { id } groups { name } } } }`
	one, oneSim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 30, Partitions: 3}, nil)
	one.Query(t, query, nil).Decode(t, &map[string]any{})
	single := oneSim.Counts()

	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 30, Partitions: 3, Latency: 100 * time.Millisecond}, nil)
	body, _ := json.Marshal(map[string]string{"query": query})
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := http.Post(gw.URL+"/graphql", "application/json", bytesReader(body))
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			var out struct{ Errors []any }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != 200 || len(out.Errors) > 0 {
				errs <- resp.Status
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("a query failed: %s", e)
	}
	want := map[string]int64{}
	for route, n := range single {
		want[route] = n
	}
	assertCalls(t, sim, want)
}

// TestOneLevelIsOneBatch: a level of the query is one many-key lookup, not
// one per key or per scheduler tick: fifty organizations and their
// connections are two batches cold (the page, then all fifty connection
// lists), and one warm (the page is answered in-process without a batch),
// whatever order the organizations' fields run in.
func TestOneLevelIsOneBatch(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 60, ConnectionsPerOrg: 2},
		map[string]string{"RESPONSE_CACHE": "false"})
	query := `{ organizations(first: 50) { nodes { id connections { id name } } } }`
	for range 3 {
		if r := gw.Query(t, query, nil); len(r.Errors) > 0 {
			t.Fatalf("%s", r.Raw)
		}
	}
	lines := gw.AccessLogLines()
	if got := []any{lines[0]["upstream_batches"], lines[1]["upstream_batches"], lines[2]["upstream_batches"]}; !slices.Equal(got, []any{2.0, 1.0, 1.0}) {
		t.Fatalf("batches per request %v, want 2 cold then 1 warm", got)
	}
	assertCalls(t, sim, map[string]int64{upstreamsim.RouteOrganizations: 1, upstreamsim.RouteEnabledConnections: 50})
}
