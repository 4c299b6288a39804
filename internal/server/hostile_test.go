package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/limits"
	"github.com/orgraph/orgraph/internal/server"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// hostileDocument is a request built to make one request expensive, and
// what the gateway answers it.
type hostileDocument struct {
	name   string
	query  string
	vars   map[string]any
	status int
	code   string // of the first error, "" for none
	limit  string // extensions.limit.name of that error, "" for none
	calls  int64  // upstream calls it may make
}

// suffixRoom is what a caller may add to a document (a comment that makes
// it new to the gateway's caches) and still stay within the body limit.
const suffixRoom = 32

// hostileDocuments are the shapes that cost a GraphQL server work out of
// proportion to their size: each filling the 1 MiB body limit, and each
// built to be as costly as the default limits still let through.
func hostileDocuments() []hostileDocument {
	const (
		org    = `organization(id: "org_Hg7bQ2mN4pLk9TzA")`
		size   = server.MaxBodyBytes - suffixRoom
		refuse = http.StatusOK // application/json: the errors say it did not run
		tokens = "tokens"
		name   = "nameLength"
		valid  = "GRAPHQL_VALIDATION_FAILED"
		limit  = "BAD_USER_INPUT"
	)
	long := strings.Repeat("x", size-200)
	l := limits.Defaults()
	f, tk := l.MaxFields, l.MaxTokens
	k := int(math.Sqrt(float64(f))) // a square of fields: k selections of k fields
	return []hostileDocument{
		// As large as the body limit lets them be.
		{name: "repeated-field", query: fill(size, "{ ", repeat("__typename "), "}"), status: refuse, code: limit, limit: tokens},
		{name: "repeated-field-with-selection", query: fill(size, "{ ", repeat(org+" { id } "), "}"), status: refuse, code: limit, limit: tokens},
		{name: "repeated-nested-field", query: fill(size, "{ "+org+" { ", repeat("connections { id } "), "} }"), status: refuse, code: limit, limit: tokens},
		{name: "aliases", query: fill(size, "{ ", numbered("a%d: __typename "), "}"), status: refuse, code: limit, limit: tokens},
		{name: "directives", query: fill(size, "{ __typename ", repeat("@include(if: true) "), "}"), status: refuse, code: limit, limit: tokens},
		{name: "arguments", query: fill(size, "{ __typename(", numbered("a%d: 1 "), ") }"), status: refuse, code: limit, limit: tokens},
		{name: "variables", query: fill(size, "query(", numbered("$v%d: Int "), ") { __typename }"), status: refuse, code: limit, limit: tokens},
		{name: "operations", query: fill(size, "", numbered("query q%d { ...F } "), "fragment F on Query { __typename }"), status: refuse, code: limit, limit: tokens},
		{name: "fragment-spreads", query: fill(size, "{ ...F0 } fragment F0 on Query { __typename ", repeat("...F0 "), "}"), status: refuse, code: limit, limit: tokens},
		{name: "fragments", query: fill(size, "{ __typename } ", numbered("fragment F%d on Query { __typename } "), ""), status: refuse, code: limit, limit: tokens},
		{name: "fragment-fan-out", query: fill(size, "{ ...F0 } ", func(i int) string {
			return fmt.Sprintf("fragment F%d on Query { __typename ...F%d ...F%d } ", i, i+1, i+2)
		}, ""), status: refuse, code: limit, limit: tokens},
		{name: "list-tokens", query: fill(size, "{ organizations(first: [", repeat("1 "), "]) { totalCount } }"), status: refuse, code: limit, limit: tokens},
		{name: "nested-lists", query: fill(size, "{ organizations(first: ", repeat("["), ""), status: refuse, code: limit, limit: tokens},
		{name: "nested-selections", query: fill(size, "{ ", repeat("... on Query { "), ""), status: refuse, code: limit, limit: tokens},
		{name: "comments", query: fill(size, "{ __typename }\n", repeat("#\n"), ""), status: refuse, code: limit, limit: tokens},
		{name: "long-string", query: `{ organization(id: "` + long + `") { id } }`, status: http.StatusOK, code: limit},
		{name: "long-string-as-int", query: `{ organizations(first: "` + long + `") { totalCount } }`, status: refuse, code: valid},
		{name: "long-number", query: `{ organizations(first: 1` + strings.Repeat("0", size-200) + `) { totalCount } }`, status: refuse, code: valid},
		{name: "long-field-name", query: "{ " + long + " }", status: refuse, code: limit, limit: name},
		{name: "long-argument-name", query: "{ organizations(" + long + ": 1) { totalCount } }", status: refuse, code: limit, limit: name},
		{name: "long-fragment-name", query: "{ ..." + long + " }", status: refuse, code: limit, limit: name},
		{name: "long-directive-name", query: "{ __typename @" + long + " }", status: refuse, code: limit, limit: name},
		{name: "long-type-name", query: "query($v: " + long + ") { __typename }", status: refuse, code: limit, limit: name},
		{name: "large-variables", query: "query($v: [Int]) { __typename }", vars: map[string]any{"v": make([]int, size/2-100)},
			status: http.StatusRequestEntityTooLarge, code: "BAD_REQUEST"},

		// As costly as the default limits let through: validated whole.
		{name: "fields-over-limit", query: "{ " + strings.Repeat("__typename ", f+1) + "}", status: refuse, code: limit, limit: "fields"},
		{name: "repeated-field-at-field-limit", query: "{ " + strings.Repeat("__typename ", f) + "}", status: http.StatusOK},
		{name: "nested-repeats-at-field-limit", query: "{ " + strings.Repeat(org+" { "+strings.Repeat("id ", f/k-1)+"} ", k) + "}", status: http.StatusOK, calls: 1},
		{name: "fragment-pairs-at-field-limit", query: "{ " + spreads(f/2) + "} " + fragments(f/2, "__typename"), status: http.StatusOK},
		{name: "fragment-repeats-at-field-limit", query: "{ " + spreads(k) + "} " + fragments(k, strings.Repeat("__typename ", f/k-1)), status: http.StatusOK},
		{name: "fragment-fan-out-at-field-limit", query: "{ ...F0 } " + fanOut(f/3), status: http.StatusOK},
		{name: "operations-at-field-limit", query: times("query q%d { ...F } ", f-1) + "fragment F on Query { __typename }", status: refuse, code: valid},
		{name: "directives-at-token-limit", query: "{ __typename " + strings.Repeat("@include(if: true) ", tk/7-3) + "}", status: refuse, code: valid},
		{name: "arguments-at-token-limit", query: "{ __typename(" + times("a%d: 1 ", tk/3-3) + ") }", status: refuse, code: valid},
		{name: "variables-at-token-limit", query: "query(" + times("$v%d: Int ", tk/4-3) + ") { __typename }", status: refuse, code: valid},
		{name: "list-at-token-limit", query: "{ organizations(first: [" + strings.Repeat("1 ", tk-12) + "]) { totalCount } }", status: refuse, code: valid},
		{name: "variables-at-size-limit", query: "query($v: [Int]) { __typename }", vars: map[string]any{"v": make([]int, 30000)}, status: refuse, code: valid},
	}
}

// body is the request body of d, with suffix appended to its document.
func (d hostileDocument) body(t testing.TB, suffix string) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": d.query + suffix, "variables": d.vars})
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > server.MaxBodyBytes {
		t.Fatalf("%s: %d bytes, over the body limit", d.name, len(body))
	}
	return body
}

// TestHostileDocumentsAreRefusedWithACode: every shape that fits the body
// limit gets its answer with a code, in a response of a few KiB at most
// (errors are neither echoed whole nor multiplied), and no upstream call
// beyond what a valid operation needs.
func TestHostileDocumentsAreRefusedWithACode(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 5}, nil)
	for _, d := range hostileDocuments() {
		t.Run(d.name, func(t *testing.T) {
			sim.Reset()
			resp := gw.Post(t, "application/json", d.body(t, ""))
			if resp.Status != d.status {
				t.Fatalf("status %d, want %d: %.300s", resp.Status, d.status, resp.Raw)
			}
			if len(resp.Raw) > 20<<10 {
				t.Fatalf("a %d-byte response", len(resp.Raw))
			}
			if d.code == "" {
				if len(resp.Errors) > 0 || len(resp.Data) == 0 {
					t.Fatalf("answer %.300s", resp.Raw)
				}
			} else {
				if len(resp.Errors) == 0 || resp.Errors[0].Code() != d.code {
					t.Fatalf("want code %s: %.300s", d.code, resp.Raw)
				}
				limit, _ := resp.Errors[0].Extensions["limit"].(map[string]any)
				if got, _ := limit["name"].(string); got != d.limit {
					t.Fatalf("limit %q, want %q: %.300s", got, d.limit, resp.Raw)
				}
			}
			if n := sim.Total(); n > d.calls {
				t.Fatalf("%d upstream calls, want at most %d", n, d.calls)
			}
		})
	}
}

// BenchmarkHostileDocuments sends every hostile document through the
// gateway's whole handler (in-process, no network), each one new to the
// gateway's caches (a comment makes it so), and reports the CPU of one
// request: worst-ms/op is the most any shape costs on average, max-ms the
// most one request cost (GC of earlier ones included). The CPU is the
// process's user and system time around each request.
//
//	go test ./internal/server -run '^$' -bench HostileDocuments -benchtime 20x
func BenchmarkHostileDocuments(b *testing.B) {
	gw, _ := testutil.StartGatewayOnSimulator(b, upstreamsim.Config{}, map[string]string{"LOG_LEVEL": "error"})
	docs := hostileDocuments()
	w := &discardWriter{header: http.Header{}}
	cpu := make([]time.Duration, len(docs))
	var most time.Duration
	rounds := 0
	for b.Loop() {
		for i, d := range docs {
			body := d.body(b, fmt.Sprintf("\n# %d", rounds))
			w.reset()
			req, _ := http.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			// The garbage of building the body (and of the requests before)
			// is collected first: what is measured is this request's own
			// work, with the collections its own garbage needs.
			runtime.GC()
			c0 := cpuTime()
			gw.Handler.ServeHTTP(w, req)
			c := cpuTime() - c0
			if w.status != d.status {
				b.Fatalf("%s: status %d, want %d: %s", d.name, w.status, d.status, w.head.Bytes())
			}
			cpu[i] += c
			most = max(most, c)
		}
		rounds++
	}
	worst := 0.0
	for i, d := range docs {
		ms := float64(cpu[i].Microseconds()) / 1000 / float64(rounds)
		b.ReportMetric(ms, d.name+"-ms")
		worst = max(worst, ms)
	}
	b.ReportMetric(worst, "worst-ms/op")
	b.ReportMetric(float64(most.Microseconds())/1000, "max-ms")
}

// fill repeats unit(i) between prefix and suffix as often as a request body
// of at most size bytes holds it.
func fill(size int, prefix string, unit func(i int) string, suffix string) string {
	var b strings.Builder
	b.WriteString(prefix)
	room := size - jsonLen(prefix) - jsonLen(suffix) - len(`{"query":"","variables":null}`)
	for i := 0; ; i++ {
		u := unit(i)
		if room -= jsonLen(u); room < 0 {
			break
		}
		b.WriteString(u)
	}
	b.WriteString(suffix)
	return b.String()
}

func jsonLen(s string) int {
	b, _ := json.Marshal(s)
	return len(b) - 2
}

func repeat(s string) func(int) string { return func(int) string { return s } }

func numbered(format string) func(int) string {
	return func(i int) string { return fmt.Sprintf(format, i) }
}

// times is format for 0 … n-1, joined.
func times(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// spreads spreads F0 … Fn-1.
func spreads(n int) string { return times("...F%d ", n) }

// fragments defines F0 … Fn-1, each selecting sel.
func fragments(n int, sel string) string {
	return times("fragment F%d on Query { "+strings.ReplaceAll(sel, "%", "%%")+" } ", n)
}

// fanOut defines F0 … Fn-1, each spreading the next two.
func fanOut(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { __typename ", i)
		if i+2 < n {
			fmt.Fprintf(&b, "...F%d ...F%d ", i+1, i+2)
		}
		b.WriteString("} ")
	}
	return b.String()
}
