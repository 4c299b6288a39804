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
	if keys, _ := rdb.Keys(t.Context(), redisEnv["REDIS_KEY_PREFIX"]+"v1:*").Result(); len(keys) != 0 {
		t.Fatalf("Redis holds %q after a bad answer", keys)
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
