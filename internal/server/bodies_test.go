package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// What upstreams send back, end to end: gateways over a fault upstream in
// front of the simulator, with a real Redis, so that both cache tiers are
// seen to keep nothing of an answer that is not a well-formed one.

// badAnswerCase is one misbehaviour of one route, and the query that meets it.
type badAnswerCase struct {
	name      string
	path      string // the faulted upstream path
	answer    http.HandlerFunc
	query     string
	errorCode string // extensions.upstream.errorCode
}

// checkBadAnswerNotCached faults tc.path once, expects UPSTREAM_ERROR with
// tc.errorCode on the query, then expects the recovered upstream to be
// asked again and answer: nothing of the bad answer was kept, in-process or
// in Redis, and Redis stayed healthy.
func checkBadAnswerNotCached(t *testing.T, tc badAnswerCase) {
	t.Helper()
	redisEnv, rdb := redistest.Env(t)
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	fault := testutil.StartFaultUpstream(t, base)
	gw := testutil.StartGateway(t, with(testutil.UpstreamEnv(fault.URL), redisEnv))
	fault.FaultTimes(http.MethodGet, tc.path, 1, tc.answer)

	resp := gw.Query(t, tc.query, nil)
	if len(resp.Errors) != 1 {
		t.Fatalf("want one error, got %d: %.300s", len(resp.Errors), resp.Raw)
	}
	e := resp.Errors[0]
	up, _ := e.Extensions["upstream"].(map[string]any)
	if e.Code() != "UPSTREAM_ERROR" || up["errorCode"] != tc.errorCode || up["status"] != float64(200) {
		t.Fatalf("error = %s %v, want UPSTREAM_ERROR with status 200 and errorCode %s", e.Code(), e.Extensions, tc.errorCode)
	}
	// Other routes the query passed (an organization before its
	// connections) are cached as ever; nothing is under the faulted path.
	keys, _ := rdb.Keys(t.Context(), redisEnv["REDIS_KEY_PREFIX"]+"v1:*").Result()
	escaped := strings.ReplaceAll(tc.path, "|", "%7C")
	for _, k := range keys {
		if strings.HasSuffix(k, escaped) || strings.Contains(k, escaped+"?") {
			t.Fatalf("Redis holds %q after a bad answer", k)
		}
	}
	again := gw.Query(t, tc.query, nil)
	if len(again.Errors) > 0 || !strings.Contains(string(again.Data), `"id":"`) {
		t.Fatalf("after the upstream recovered: %.300s", again.Raw)
	}
	if n := fault.Hits(http.MethodGet, tc.path); n != 2 {
		t.Fatalf("%s: %d upstream requests, want 2 (the bad answer, then the good one)", tc.path, n)
	}
	if strings.Contains(gw.Logs.String(), "cache degraded") {
		t.Fatalf("a bad answer marked Redis as down: %s", gw.Logs.String())
	}
}

const hogwartsPath = "/api/v2/organizations/" + hogwartsID

var hogwartsQuery = `{ organization(id: "` + hogwartsID + `") { id name displayName } }`

// TestOversizedUpstreamBodyIsAnError: a 200 body over UPSTREAM_MAX_BODY_MB
// (8 by default), declared or streamed, is an UPSTREAM_ERROR
// (body_too_large) and is cached nowhere; before, bodies were cut at 32 MiB
// without a word, and a valid object padded with spaces was accepted and
// kept.
func TestOversizedUpstreamBodyIsAnError(t *testing.T) {
	for _, tc := range []badAnswerCase{
		{name: "padded with 100 MB of spaces", answer: testutil.PaddedBody(`{"id":"`+hogwartsID+`","name":"hogwarts"}`, 100<<20)},
		{name: "a 30 MiB string", answer: testutil.HugeJSONString(hogwartsID, 30<<20)},
		{name: "a 9 MiB string", answer: testutil.HugeJSONString(hogwartsID, 9<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.path, tc.query, tc.errorCode = hogwartsPath, hogwartsQuery, "body_too_large"
			checkBadAnswerNotCached(t, tc)
		})
	}
}

func json200(body string) http.HandlerFunc {
	return testutil.Answer(http.StatusOK, "application/json", body)
}

// TestBadAnswersAreErrorsAndNeverCached: a 200 that is not a well-formed
// answer of its route is an UPSTREAM_ERROR and is kept in neither tier, so
// the recovered upstream is asked again at once: HTML, cut JSON and wrong
// types (invalid_json), and JSON of the right types that is no answer
// (malformed): null, a missing list, an organization, connection, member,
// user or group without the field that identifies it. Before, those decoded
// to phantoms (an organization with id "", an empty list) and were cached
// for CACHE_TTL.
func TestBadAnswersAreErrorsAndNeverCached(t *testing.T) {
	usersPath := "/api/v2/users/" + demoUserID
	groupsPath := "/hogwarts/identity_/api/Group/" + upstreamsim.PartitionHogwartsID
	orgQuery := hogwartsQuery
	byName := `{ organizationByName(name: "hogwarts") { id name } }`
	page := `{ organizations(first: 5) { nodes { id } } }`
	connections := `{ organization(id: "` + hogwartsID + `") { connections { id } } }`
	members := `{ organization(id: "` + hogwartsID + `") { members(first: 5) { nodes { id } } } }`
	userOrgs := `{ user(id: "` + demoUserID + `") { organizations { id } } }`
	user := `{ user(id: "` + demoUserID + `") { id email } }`
	groups := `{ groups(partitionGlobalId: "` + upstreamsim.PartitionHogwartsID + `", organizationName: "hogwarts") { id } }`
	group := `{ group(partitionGlobalId: "` + upstreamsim.PartitionHogwartsID + `", groupId: "` + upstreamsim.GroupDaniCID + `", organizationName: "hogwarts") { id } }`
	for _, tc := range []badAnswerCase{
		{"organization: HTML", hogwartsPath, testutil.HTMLPage(), orgQuery, "invalid_json"},
		{"organization: cut JSON", hogwartsPath, testutil.InvalidJSON(), orgQuery, "invalid_json"},
		{"organization: wrong types", hogwartsPath, json200(`{"id":5,"name":["x"]}`), orgQuery, "invalid_json"},
		{"organization: null", hogwartsPath, json200(`null`), orgQuery, "malformed"},
		{"organization: an array", hogwartsPath, json200(`[]`), orgQuery, "invalid_json"},
		{"organization: no id", hogwartsPath, json200(`{"name":"hogwarts"}`), orgQuery, "malformed"},
		{"organization by name: empty object", "/api/v2/organizations/name/hogwarts", json200(`{}`), byName, "malformed"},
		{"organizations page: null list", "/api/v2/organizations", json200(`{"organizations":null,"next":""}`), page, "malformed"},
		{"organizations page: no list", "/api/v2/organizations", json200(`{"next":"x"}`), page, "malformed"},
		{"organizations page: an item without id", "/api/v2/organizations", json200(`{"organizations":[{"name":"x"}]}`), page, "malformed"},
		{"connections: null", hogwartsPath + "/enabled_connections", json200(`null`), connections, "malformed"},
		{"connections: envelope without its list", hogwartsPath + "/enabled_connections", json200(`{"start":0,"limit":0,"total":0}`), connections, "malformed"},
		{"connections: no connection_id", hogwartsPath + "/enabled_connections", json200(`[{"connection":{"name":"db","strategy":"auth0"}}]`), connections, "malformed"},
		{"members: null", hogwartsPath + "/members", json200(`null`), members, "malformed"},
		{"members: no user_id", hogwartsPath + "/members", json200(`{"members":[{"email":"a@b.c"}]}`), members, "malformed"},
		{"user's organizations: null", usersPath + "/organizations", json200(`null`), userOrgs, "malformed"},
		{"user's organizations: no id", usersPath + "/organizations", json200(`[{"name":"hogwarts"}]`), userOrgs, "malformed"},
		{"user: null", usersPath, json200(`null`), user, "malformed"},
		{"user: no user_id", usersPath, json200(`{"email":"a@b.c"}`), user, "malformed"},
		{"groups: null", groupsPath, json200(`null`), groups, "malformed"},
		{"groups: an object", groupsPath, json200(`{"value":[]}`), groups, "invalid_json"},
		{"groups: no id", groupsPath, json200(`[{"name":"Everyone","type":0}]`), groups, "malformed"},
		{"group: null", groupsPath + "/" + upstreamsim.GroupDaniCID, json200(`null`), group, "malformed"},
		{"group: no id", groupsPath + "/" + upstreamsim.GroupDaniCID, json200(`{"name":"DaniC","type":1}`), group, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkBadAnswerNotCached(t, tc) })
	}
}

// TestFailedPageIsAnUpstreamError: a page of organizations or members that
// fails upstream is that field's UPSTREAM_ERROR; it used to panic the
// resolver (a nil page read before its error) and come back as
// INTERNAL_SERVER_ERROR.
func TestFailedPageIsAnUpstreamError(t *testing.T) {
	for _, tc := range []struct{ path, query, errPath string }{
		{"/api/v2/organizations", `{ organizations(first: 5) { nodes { id } } }`, "organizations"},
		{hogwartsPath + "/members", `{ organization(id: "` + hogwartsID + `") { members(first: 5) { nodes { id } } } }`, "organization.members"},
	} {
		t.Run(tc.errPath, func(t *testing.T) {
			_, base := testutil.StartSimulator(t, upstreamsim.Config{})
			fault := testutil.StartFaultUpstream(t, base)
			gw := testutil.StartGateway(t, testutil.UpstreamEnv(fault.URL))
			fault.Fault(http.MethodGet, tc.path, testutil.Answer(http.StatusBadRequest, "application/json",
				`{"statusCode":400,"error":"Bad Request","message":"Invalid request","errorCode":"invalid_query_string"}`))
			e := gw.Query(t, tc.query, nil).OnlyError(t)
			if e.Code() != "UPSTREAM_ERROR" || e.PathString() != tc.errPath {
				t.Fatalf("error = %s at %s, want UPSTREAM_ERROR at %s", e.Code(), e.PathString(), tc.errPath)
			}
		})
	}
}

// TestRefusedRedisWriteIsNotAnOutage: when Redis answers a write with an
// error (here: full under noeviction), that entry stays in-process only;
// Redis is not marked down, so entries already in it are still read. Before,
// one refused value marked Redis degraded and reads skipped it.
func TestRefusedRedisWriteIsNotAnOutage(t *testing.T) {
	srv := redistest.StartServer(t)
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{})
	env := with(testutil.UpstreamEnv(base), map[string]string{"REDIS_URL": srv.URL(), "REDIS_KEY_PREFIX": "refused:"})
	durmstrang := `{ organization(id: "` + upstreamsim.OrgDurmstrangID + `") { id name } }`
	var warm struct{ Organization struct{ ID string } }
	testutil.StartGateway(t, env).Query(t, durmstrang, nil).Decode(t, &warm) // now in Redis

	gw := testutil.StartGateway(t, env) // an empty in-process tier
	rdb := srv.Client()
	for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", "1"}} {
		if err := rdb.ConfigSet(t.Context(), kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var data struct{ Organization struct{ ID string } }
	gw.Query(t, hogwartsQuery, nil).Decode(t, &data) // fetched; Redis refuses its write
	sim.Reset()
	gw.Query(t, durmstrang, nil).Decode(t, &data)
	if data.Organization.ID != warm.Organization.ID {
		t.Fatalf("got %+v", data)
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("%d upstream calls for an entry in Redis, want 0: %v", n, sim.Counts())
	}
	logs := gw.Logs.String()
	if strings.Contains(logs, "cache degraded") || !strings.Contains(logs, "Redis refused a write") {
		t.Fatalf("a refused write must be logged as such and not mark Redis down:\n%s", logs)
	}
}
