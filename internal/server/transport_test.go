package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestPOSTStatusAndCodes: what a POST gets back for each kind of request,
// with both response media types; a malformed body is never echoed, and a
// request that did not run has no data entry.
func TestPOSTStatusAndCodes(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	const marker = "zz-marker-zz"
	tests := []struct {
		name, accept, body string
		status             int
		code               string // of the first error; "" = no error
	}{
		{"valid", "", `{"query":"{ organization(id: \"` + hogwartsID + `\") { id } }"}`, 200, ""},
		{"not JSON", "", `{ organization(id: "` + marker + `") { id } }`, 400, "BAD_REQUEST"},
		{"query not a string", "", `{"query":1,"x":"` + marker + `"}`, 400, "BAD_REQUEST"},
		{"variables not an object", "", `{"query":"{ __typename }","variables":"` + marker + `"}`, 400, "BAD_REQUEST"},
		{"an array", "", `["` + marker + `"]`, 400, "BAD_REQUEST"},
		{"unknown field, application/json", "application/json", `{"query":"{ nope }"}`, 200, "GRAPHQL_VALIDATION_FAILED"},
		{"syntax error, application/json", "", `{"query":"{ organization( }"}`, 200, "GRAPHQL_PARSE_FAILED"},
		{"unknown field, graphql-response+json", "application/graphql-response+json", `{"query":"{ nope }"}`, 400, "GRAPHQL_VALIDATION_FAILED"},
		{"syntax error", "application/graphql-response+json", `{"query":"{ organization( }"}`, 400, "GRAPHQL_PARSE_FAILED"},
		{"an empty object", "", `{}`, 400, "BAD_REQUEST"},
		{"null", "", `null`, 400, "BAD_REQUEST"},
		{"an empty query", "", `{"query":"","variables":{"x":"` + marker + `"}}`, 400, "BAD_REQUEST"},
		{"data after the object", "", `{"query":"{ __typename }"} ` + marker, 400, "BAD_REQUEST"},
		{"two objects", "", `{"query":"{ __typename }"}{"query":"` + marker + `"}`, 400, "BAD_REQUEST"},
		{"white space after the object", "", "{\"query\":\"{ __typename }\"} \n\t ", 200, ""},
		{"a persisted query's hash alone", "", `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("0", 64) + `"}}}`, 200, "PERSISTED_QUERY_NOT_FOUND"},
		{"variables over 64 KiB", "", `{"query":"{ __typename }","variables":{"x":"` + strings.Repeat(marker, 6000) + `"}}`, 413, "BAD_REQUEST"},
		{"a long unknown operation name", "", `{"query":"{ __typename }","operationName":"` + strings.Repeat("o", 50000) + marker + strings.Repeat("o", 50000) + `"}`, 200, "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			if tt.accept != "" {
				h.Set("Accept", tt.accept)
			}
			resp := gw.PostWith(t, h, []byte(tt.body))
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tt.status, resp.Raw)
			}
			if tt.code == "" {
				if len(resp.Errors) > 0 {
					t.Fatalf("errors: %s", resp.Raw)
				}
				return
			}
			if len(resp.Errors) == 0 || resp.Errors[0].Code() != tt.code {
				t.Fatalf("want code %s: %s", tt.code, resp.Raw)
			}
			if strings.Contains(string(resp.Raw), marker) || len(resp.Raw) > 1000 {
				t.Fatalf("the body is echoed: %.2000s", resp.Raw)
			}
			var entries map[string]json.RawMessage
			if err := json.Unmarshal(resp.Raw, &entries); err != nil {
				t.Fatal(err)
			}
			if _, hasData := entries["data"]; hasData && tt.code != "PERSISTED_QUERY_NOT_FOUND" {
				t.Fatalf("a request that did not run has a data entry: %s", resp.Raw)
			}
		})
	}
	for _, tt := range []struct {
		method, contentType string
		status              int
	}{
		{http.MethodPost, "text/plain", http.StatusUnsupportedMediaType},
		{http.MethodPost, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{http.MethodPut, "application/json", http.StatusMethodNotAllowed},
		{http.MethodDelete, "", http.StatusMethodNotAllowed},
	} {
		req, _ := http.NewRequest(tt.method, gw.URL+"/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
		if tt.contentType != "" {
			req.Header.Set("Content-Type", tt.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Errors []testutil.Error
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || len(body.Errors) != 1 || body.Errors[0].Code() != "BAD_REQUEST" {
			t.Fatalf("%s %s: status %d, errors %+v", tt.method, tt.contentType, resp.StatusCode, body.Errors)
		}
	}
	if n := sim.Total(); n != 1 {
		t.Fatalf("%d upstream calls, want 1 (the valid request only)", n)
	}
}

// TestGETStatusAndNegotiation: GET runs queries with the same status codes
// as POST, answers in the media type asked for, refuses malformed
// parameters with a code, and any operation but a query with 405 (also
// when, as here, the schema has no mutations, so it would not validate).
func TestGETStatusAndNegotiation(t *testing.T) {
	gw, _ := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	query := url.QueryEscape(`{ organization(id: "` + hogwartsID + `") { name } }`)
	tests := []struct {
		name, rawQuery, accept string
		status                 int
		contentType, code      string
	}{
		{"query", "query=" + query, "", 200, "application/json", ""},
		{"query, graphql-response+json", "query=" + query, "application/graphql-response+json", 200, "application/graphql-response+json", ""},
		{"variables not JSON", "query=" + query + "&variables=%7Bnope", "", 400, "application/json", "BAD_REQUEST"},
		{"extensions not an object", "query=" + query + "&extensions=%5B%5D", "", 400, "application/json", "BAD_REQUEST"},
		{"validation error, json", "query=" + url.QueryEscape("{ nope }"), "application/json", 200, "application/json", "GRAPHQL_VALIDATION_FAILED"},
		{"validation error, graphql-response+json", "query=" + url.QueryEscape("{ nope }"), "application/graphql-response+json", 400, "application/graphql-response+json", "GRAPHQL_VALIDATION_FAILED"},
		{"no query", "", "", 400, "application/json", "BAD_REQUEST"},
		{"no query, graphql-response+json", "", "application/graphql-response+json", 400, "application/graphql-response+json", "BAD_REQUEST"},
		{"a mutation", "query=" + url.QueryEscape("mutation { __typename }"), "", 405, "application/json", "BAD_REQUEST"},
		{"a mutation, graphql-response+json", "query=" + url.QueryEscape("mutation { __typename }"), "application/graphql-response+json", 405, "application/graphql-response+json", "BAD_REQUEST"},
		{"a subscription", "query=" + url.QueryEscape("subscription { __typename }"), "", 405, "application/json", "BAD_REQUEST"},
		{"the mutation of two operations", "query=" + url.QueryEscape("query Q { __typename } mutation M { nope }") + "&operationName=M", "", 405, "application/json", "BAD_REQUEST"},
		{"the query of a document with a mutation", "query=" + url.QueryEscape("query Q { __typename } mutation M { __typename }") + "&operationName=Q", "", 200, "application/json", "GRAPHQL_VALIDATION_FAILED"},
		{"an empty query", "query=&variables=%7B%7D", "", 400, "application/json", "BAD_REQUEST"},
		{"a persisted query's hash alone", "extensions=" + url.QueryEscape(`{"persistedQuery":{"version":1,"sha256Hash":"`+strings.Repeat("0", 64)+`"}}`), "", 200, "application/json", "PERSISTED_QUERY_NOT_FOUND"},
		{"variables over 64 KiB", "query=" + query + "&variables=" + url.QueryEscape(`{"x":"`+strings.Repeat("x", 70000)+`"}`), "", 413, "application/json", "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, gw.URL+"/graphql?"+tt.rawQuery, nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Data   json.RawMessage
				Errors []testutil.Error
			}
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("status %d, Content-Type %q; want %d %q (%s)", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.contentType, raw)
			}
			if allow := resp.Header.Get("Allow"); tt.status == http.StatusMethodNotAllowed && allow != "POST" {
				t.Fatalf("405 with Allow %q, want POST", allow)
			}
			if tt.code != "" && tt.code != "PERSISTED_QUERY_NOT_FOUND" && body.Data != nil {
				t.Fatalf("a request that did not run has a data entry: %s", raw)
			}
			if tt.code == "" {
				if len(body.Errors) > 0 || string(body.Data) != `{"organization":{"name":"hogwarts"}}` {
					t.Fatalf("answer %s %+v", body.Data, body.Errors)
				}
				return
			}
			if len(body.Errors) == 0 || body.Errors[0].Code() != tt.code {
				t.Fatalf("errors %+v, want %s", body.Errors, tt.code)
			}
		})
	}
}

// TestVariablesAreCoercedAsTheSpecSays: GraphQL's input coercion of
// variables, which gqlparser alone does not quite do: a JSON string is no
// Int ("5"), a JSON number no String, an Int has 32 bits. Refusals are
// variable errors with a code, and nothing reaches an upstream.
func TestVariablesAreCoercedAsTheSpecSays(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	const (
		intVar    = `query($n: Int) { organizations(first: $n) { nodes { id } } }`
		stringVar = `query($a: String) { organizations(first: 1, after: $a) { nodes { id } } }`
		idVar     = `query($id: ID!) { organization(id: $id) { id } }`
	)
	tests := []struct {
		name, query string
		vars        map[string]any
		ok          bool
	}{
		{"an Int", intVar, map[string]any{"n": 2}, true},
		{"a string for an Int", intVar, map[string]any{"n": "5"}, false},
		{"a fraction for an Int", intVar, map[string]any{"n": 1.5}, false},
		{"an Int over 32 bits", intVar, map[string]any{"n": int64(1) << 32}, false},
		{"null for an Int", intVar, map[string]any{"n": nil}, true},
		{"a number for a String", stringVar, map[string]any{"a": 5}, false},
		{"a string for an ID", idVar, map[string]any{"id": hogwartsID}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim.Reset()
			resp := gw.Query(t, tt.query, tt.vars)
			if tt.ok {
				if resp.Status != http.StatusOK || len(resp.Errors) > 0 {
					t.Fatalf("status %d: %s", resp.Status, resp.Raw)
				}
				return
			}
			e := resp.OnlyError(t)
			if resp.Status != http.StatusOK || e.Code() != "GRAPHQL_VALIDATION_FAILED" || !strings.HasPrefix(e.PathString(), "variable.") {
				t.Fatalf("status %d: %s, want 200 (application/json) and a variable error with a code", resp.Status, resp.Raw)
			}
			if n := sim.Total(); n != 0 {
				t.Fatalf("%d upstream calls", n)
			}
		})
	}
}

// TestRequestTimeoutBeforeExecution: when REQUEST_TIMEOUT passes before
// the operation runs (here at once, while the document is checked), the
// answer is an error with a code and 503, never the body `null`, and
// nothing is parsed, validated or sent upstream.
func TestRequestTimeoutBeforeExecution(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, map[string]string{"REQUEST_TIMEOUT": "1ns"})
	for _, q := range []string{
		`{ organization(id: "` + hogwartsID + `") { id } }`,
		"{ " + strings.Repeat("__typename ", 20000) + "}",
	} {
		resp := gw.Query(t, q, nil)
		if e := resp.OnlyError(t); resp.Status != http.StatusServiceUnavailable || e.Code() != "UPSTREAM_UNAVAILABLE" {
			t.Fatalf("status %d: %.300s", resp.Status, resp.Raw)
		}
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("%d upstream calls", n)
	}
}

// TestValidationErrorsAreCutAtAHundred: a document that fails validation
// in many places gets its first 100 errors and one more saying how many
// were left out, with the code of the first; a document with 100 errors
// gets them all. Without the cut, a document of a few KiB could make a
// response of an error per field.
func TestValidationErrorsAreCutAtAHundred(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	tests := []struct {
		unknownFields int
		errors        int    // in the response, the note included
		note          string // the last error's message; "" when none is cut
	}{
		{unknownFields: 100, errors: 100},
		{unknownFields: 101, errors: 101, note: "1 more errors are not shown"},
		{unknownFields: 250, errors: 101, note: "150 more errors are not shown"},
	}
	for _, tt := range tests {
		var doc strings.Builder
		doc.WriteString("{ ")
		for i := range tt.unknownFields {
			fmt.Fprintf(&doc, "nope%d ", i)
		}
		doc.WriteString("}")
		body, err := json.Marshal(map[string]string{"query": doc.String()})
		if err != nil {
			t.Fatal(err)
		}
		resp := gw.PostWith(t, http.Header{"Content-Type": {"application/json"}}, body)
		if resp.Status != http.StatusOK || len(resp.Errors) != tt.errors {
			t.Fatalf("%d unknown fields: status %d, %d errors, want 200 and %d", tt.unknownFields, resp.Status, len(resp.Errors), tt.errors)
		}
		for i, e := range resp.Errors {
			if e.Code() != "GRAPHQL_VALIDATION_FAILED" {
				t.Fatalf("%d unknown fields: error %d has code %q: %+v", tt.unknownFields, i, e.Code(), e)
			}
		}
		if last := resp.Errors[len(resp.Errors)-1].Message; tt.note != "" && last != tt.note {
			t.Fatalf("%d unknown fields: last error %q, want %q", tt.unknownFields, last, tt.note)
		}
	}
	if n := sim.Total(); n != 0 {
		t.Fatalf("%d upstream calls for documents that do not validate", n)
	}
}
