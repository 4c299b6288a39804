package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// @defer over real HTTP: a gateway over a fault upstream in front of the
// simulator, whose enabled-connections call the test holds.

const (
	hogwartsConnectionsPath = hogwartsPath + "/enabled_connections"
	deferredQuery           = `query Deferred { organization(id: "` + hogwartsID + `") { id name ... @defer(label: "connections") { connections { id name } } } }`
	undeferredQuery         = `query Deferred { organization(id: "` + hogwartsID + `") { id name ... { connections { id name } } } }`
)

// postQuery sends query with the Accept header accept and returns the
// response, unread.
func postQuery(t *testing.T, gw *testutil.Gateway, accept, query string) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, gw.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

// readPart reads the next part of mr as JSON into v.
func readPart(t *testing.T, mr *multipart.Reader, v any) string {
	t.Helper()
	part, err := mr.NextPart()
	if err != nil {
		t.Fatalf("next part: %v", err)
	}
	if ct := part.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("part Content-Type = %q, want application/json", ct)
	}
	raw, err := io.ReadAll(part)
	if err != nil {
		t.Fatalf("read part: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("part is not JSON: %v: %s", err, raw)
	}
	return string(raw)
}

// TestDeferDeliversInitialPartFirst: with Accept multipart/mixed the
// initial payload arrives, and is read, while the deferred field's
// upstream call is still held; once released, the second part brings the
// deferred data with hasNext false and the stream ends. Before, the answer
// was one JSON object with the deferred field null, hasNext true, and
// nothing after it.
func TestDeferDeliversInitialPartFirst(t *testing.T) {
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	fault := testutil.StartFaultUpstream(t, base)
	gw := testutil.StartGateway(t, testutil.UpstreamEnv(fault.URL))
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	fault.Fault(http.MethodGet, hogwartsConnectionsPath, fault.Hold(arrived, release))

	resp := postQuery(t, gw, "multipart/mixed;deferSpec=20220824, application/json", deferredQuery)
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || err != nil || mediaType != "multipart/mixed" || params["deferspec"] != "20220824" {
		t.Fatalf("status %d, Content-Type %q: want 200 multipart/mixed;deferSpec=20220824", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])

	var initial struct {
		Data struct {
			Organization map[string]any `json:"organization"`
		} `json:"data"`
		Errors  []any `json:"errors"`
		HasNext *bool `json:"hasNext"`
	}
	raw := readPart(t, mr, &initial)
	org := initial.Data.Organization
	if org["id"] != hogwartsID || org["name"] != "hogwarts" || len(initial.Errors) > 0 || initial.HasNext == nil || !*initial.HasNext {
		t.Fatalf("initial part: %s, want hogwarts' id and name and hasNext true", raw)
	}
	if c, ok := org["connections"]; ok && c != nil {
		t.Fatalf("initial part already has the deferred connections: %s", raw)
	}
	<-arrived // the deferred resolver is waiting on its upstream call
	if n := fault.Hits(http.MethodGet, hogwartsConnectionsPath); n != 1 {
		t.Fatalf("%d enabled-connections calls before the release, want 1", n)
	}
	close(release)

	var next struct {
		Incremental []struct {
			Data struct {
				Connections []struct{ ID, Name string } `json:"connections"`
			} `json:"data"`
			Path   []any  `json:"path"`
			Label  string `json:"label"`
			Errors []any  `json:"errors"`
		} `json:"incremental"`
		HasNext *bool `json:"hasNext"`
	}
	raw = readPart(t, mr, &next)
	if next.HasNext == nil || *next.HasNext || len(next.Incremental) != 1 {
		t.Fatalf("second part: %s, want one incremental result and hasNext false", raw)
	}
	inc := next.Incremental[0]
	if inc.Label != "connections" || len(inc.Path) != 1 || inc.Path[0] != "organization" || len(inc.Errors) > 0 || len(inc.Data.Connections) == 0 {
		t.Fatalf("second part: %s, want the connections of hogwarts at [organization], labelled", raw)
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("after the last part: %v, want the end of the stream", err)
	}
	if n := fault.Hits(http.MethodGet, hogwartsConnectionsPath); n != 1 {
		t.Fatalf("%d enabled-connections calls, want 1", n)
	}
}

// TestDeferJSONClientGetsWholeAnswer: a client that does not accept
// multipart/mixed gets the deferred fields resolved and merged into one
// plain response, the same as without @defer, with no hasNext.
func TestDeferJSONClientGetsWholeAnswer(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"RESPONSE_CACHE": "false"})
	want := gw.Query(t, undeferredQuery, nil)
	if len(want.Errors) > 0 || !strings.Contains(string(want.Data), `"connections":[{`) {
		t.Fatalf("without @defer: %s", want.Raw)
	}
	for _, accept := range []string{"application/json", "application/graphql-response+json", ""} {
		resp := postQuery(t, gw, accept, deferredQuery)
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/") {
			t.Fatalf("Accept %q: status %d, Content-Type %q", accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if got := string(raw); got != string(want.Raw) {
			t.Fatalf("Accept %q:\n got %s\nwant %s", accept, got, want.Raw)
		}
	}
	// GET too, as parts or whole.
	for _, accept := range []string{"application/json", "multipart/mixed;deferSpec=20220824"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, gw.URL+"/graphql?query="+url.QueryEscape(deferredQuery), nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		isParts := strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/mixed")
		if resp.StatusCode != http.StatusOK || isParts != strings.HasPrefix(accept, "multipart/") ||
			!isParts && string(raw) != string(want.Raw) || isParts && !strings.Contains(string(raw), `"connections":[{`) {
			t.Fatalf("GET with Accept %q: status %d, Content-Type %q: %s", accept, resp.StatusCode, resp.Header.Get("Content-Type"), raw)
		}
	}
}

// TestDeferredResponseNeverStored: the response cache keeps the answer of
// an operation, but never one that deferred something, however it was
// asked for (the merged JSON answer has no hasNext, which is what the
// cache looked at before): each deferred request runs again.
func TestDeferredResponseNeverStored(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"RESPONSE_CACHE": "true", "CACHE_TTL": "1h"})
	for _, accept := range []string{"application/json", "multipart/mixed;deferSpec=20220824", "application/json", "multipart/mixed;deferSpec=20220824"} {
		resp := postQuery(t, gw, accept, deferredQuery)
		if _, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("Accept %q: status %d, %v", accept, resp.StatusCode, err)
		}
	}
	// The same selection without @defer is stored: the cache is on.
	plain := strings.Replace(undeferredQuery, "query Deferred", "query Plain", 1)
	for range 2 {
		if resp := gw.Query(t, plain, nil); len(resp.Errors) > 0 {
			t.Fatalf("without @defer: %s", resp.Raw)
		}
	}
	outcomes := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(gw.Logs.String()), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) != nil || entry["msg"] != "request" {
			continue
		}
		op, _ := entry["operation"].(string)
		rc, _ := entry["response_cache"].(string)
		outcomes[op] = append(outcomes[op], rc)
	}
	if got := strings.Join(outcomes["Deferred"], ","); got != "miss,miss,miss,miss" {
		t.Fatalf("response cache outcomes of the deferred operation: %s, want a miss each time", got)
	}
	if got := strings.Join(outcomes["Plain"], ","); got != "miss,hit" {
		t.Fatalf("response cache outcomes without @defer: %s, want miss,hit", got)
	}
}

// readParts reads every part of a multipart/mixed answer: the initial
// payload, then the incremental results in the order they came, and
// whether the last said hasNext false.
func readParts(t *testing.T, resp *http.Response) (initial map[string]any, incremental []map[string]any, done bool) {
	t.Helper()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", resp.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	readPart(t, mr, &initial)
	for hasNext := initial["hasNext"] == true; hasNext; {
		var next struct {
			Incremental []map[string]any `json:"incremental"`
			HasNext     bool             `json:"hasNext"`
		}
		readPart(t, mr, &next)
		incremental = append(incremental, next.Incremental...)
		hasNext = next.HasNext
	}
	_, err = mr.NextPart()
	return initial, incremental, err == io.EOF
}

// TestDeferInListsAndNested: fragments deferred in every element of a
// list, and one deferred inside another, arrive one part each with their
// paths, and a JSON client gets them merged into exactly the answer
// without @defer, fields in the order they were selected.
func TestDeferInListsAndNested(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"RESPONSE_CACHE": "false"})
	const deferred = `query Deep { user(id: "auth0|6410784d38b3e02b77fdd660") { id organizations { id
		... @defer(label: "org") { name connections { id name } ... @defer(label: "groups") { groups { name members { displayName } } } }
		displayName } } }`
	plain := strings.NewReplacer(`@defer(label: "org")`, "", `@defer(label: "groups")`, "").Replace(deferred)
	want := gw.Query(t, plain, nil)
	if len(want.Errors) > 0 || strings.Count(string(want.Data), `"connections":[`) < 2 {
		t.Fatalf("without @defer: %s", want.Raw)
	}
	resp := postQuery(t, gw, "application/json", deferred)
	got, _ := io.ReadAll(resp.Body)
	if string(got) != string(want.Raw) {
		t.Fatalf("merged:\n got %s\nwant %s", got, want.Raw)
	}

	initial, incremental, done := readParts(t, postQuery(t, gw, "multipart/mixed;deferSpec=20220824", deferred))
	var orgs []any
	if data, _ := initial["data"].(map[string]any); data != nil {
		user, _ := data["user"].(map[string]any)
		orgs, _ = user["organizations"].([]any)
	}
	if len(orgs) < 2 || !done {
		t.Fatalf("initial part %v, stream ended: %v", initial, done)
	}
	labels := map[string]int{}
	for _, inc := range incremental {
		label, _ := inc["label"].(string)
		labels[label]++
		if path, _ := inc["path"].([]any); len(path) != 3 || path[0] != "user" || path[1] != "organizations" {
			t.Fatalf("incremental result at %v, want [user organizations i]", inc["path"])
		}
	}
	if labels["org"] != len(orgs) || labels["groups"] != len(orgs) || len(incremental) != 2*len(orgs) {
		t.Fatalf("incremental results by label %v for %d organizations, want one of each per organization", labels, len(orgs))
	}
}

// TestDeferCountsOneOperation: an answer in parts is one operation in the
// metrics and the access log, whose outcome is "partial" when a deferred
// fragment failed; before, each part (and the end of the stream) counted.
func TestDeferCountsOneOperation(t *testing.T) {
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	fault := testutil.StartFaultUpstream(t, base)
	gw := testutil.StartGateway(t, testutil.UpstreamEnv(fault.URL))
	fault.Fault(http.MethodGet, hogwartsConnectionsPath, testutil.HTMLPage())

	initial, incremental, done := readParts(t, postQuery(t, gw, "multipart/mixed;deferSpec=20220824", deferredQuery))
	if initial["errors"] != nil || len(incremental) != 1 || incremental[0]["errors"] == nil || !done {
		t.Fatalf("initial %v, incremental %v: want the deferred fragment alone to fail", initial, incremental)
	}
	resp, err := http.Get(gw.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	ops := families["orgraph_graphql_operations_total"]
	if ops == nil {
		t.Fatal("no orgraph_graphql_operations_total")
	}
	if all, partial := seriesValue(ops, map[string]string{"operation": "Deferred"}), seriesValue(ops, map[string]string{"operation": "Deferred", "outcome": "partial"}); all != 1 || partial != 1 {
		t.Fatalf("operations counted for Deferred: %v, partial: %v; want 1 and 1", all, partial)
	}
	if logs := gw.Logs.String(); strings.Count(logs, `"operation":"Deferred"`) != 1 || !strings.Contains(logs, `"operation":"Deferred","outcome":"partial"`) {
		t.Fatalf("access log: want one line for Deferred with outcome partial: %s", logs)
	}
}

// TestDeferNotCoalesced: with RESPONSE_COALESCING on, an identical
// deferred request that comes while the first one's deferred fragment is
// held gets its own initial part at once; before, it waited for the whole
// first answer (which is never shared) and then ran, so a client reading
// parts saw nothing until then. (Before the fix this test blocks.)
func TestDeferNotCoalesced(t *testing.T) {
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	fault := testutil.StartFaultUpstream(t, base)
	gw := testutil.StartGateway(t, with(testutil.UpstreamEnv(fault.URL), map[string]string{"RESPONSE_COALESCING": "true"}))
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	fault.Fault(http.MethodGet, hogwartsConnectionsPath, fault.Hold(arrived, release))

	initials := make([]map[string]any, 2)
	readers := make([]*multipart.Reader, 2)
	for i := range initials {
		resp := postQuery(t, gw, "multipart/mixed;deferSpec=20220824", deferredQuery)
		_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("request %d: Content-Type %q", i, resp.Header.Get("Content-Type"))
		}
		readers[i] = multipart.NewReader(resp.Body, params["boundary"])
		readPart(t, readers[i], &initials[i])
		if initials[i]["hasNext"] != true {
			t.Fatalf("request %d: initial part %v", i, initials[i])
		}
	}
	close(release)
	for i, mr := range readers {
		var next map[string]any
		if raw := readPart(t, mr, &next); next["hasNext"] != false || !strings.Contains(raw, `"connections":[{`) {
			t.Fatalf("request %d: second part %s", i, raw)
		}
	}
}

// TestDeferCORS: a browser on an allowed origin may ask for parts (the
// preflight allows its Accept header) and reads them (the answer in parts
// carries Access-Control-Allow-Origin; its Content-Type needs no exposing).
func TestDeferCORS(t *testing.T) {
	const origin = "https://app.example.com"
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"CORS_ALLOWED_ORIGINS": origin})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, gw.URL+"/graphql", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	req.Header.Set("Access-Control-Request-Headers", "accept,content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "accept") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	body, _ := json.Marshal(map[string]any{"query": deferredQuery})
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, gw.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Origin", origin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "multipart/mixed;deferSpec=20220824,application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.Header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("answer in parts without Access-Control-Allow-Origin: %v", resp.Header)
	}
	if _, incremental, done := readParts(t, resp); len(incremental) != 1 || !done {
		t.Fatalf("incremental %v, stream ended: %v", incremental, done)
	}
}
