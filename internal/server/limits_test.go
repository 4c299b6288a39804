package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/server"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestHostileDocumentsAreRefusedWithoutUpstreamCalls: each refusal is a
// clear error naming its limit, and nothing reaches an upstream.
func TestHostileDocumentsAreRefusedWithoutUpstreamCalls(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 5}, nil)
	var aliases strings.Builder
	for i := range 40 {
		fmt.Fprintf(&aliases, "a%d: organization(id: %q) { id } ", i, hogwartsID)
	}
	// organizations → members → organizations → members …: valid, and deep.
	nested := "id"
	for range 5 {
		nested = "id members(first: 1) { nodes { organizations { " + nested + " } } }"
	}
	tests := []struct {
		name, query, limit string
	}{
		{"deep nesting", "{ organizations(first: 1) { nodes { " + nested + " } } }", "depth"},
		{"alias flood", "{ " + aliases.String() + "}", "aliases"},
		{"huge lists", `{ organizations(first: 100) { nodes { members(first: 100) { nodes { organizations { connections { id } } } } } } }`, "complexity"},
		{"huge lists through variables", `query($n: Int) { organizations(first: $n) { nodes { members(first: $n) { nodes { organizations { id } } } } } }`, "complexity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim.Reset()
			resp := gw.Query(t, tt.query, map[string]any{"n": 100})
			e := resp.OnlyError(t)
			limit, _ := e.Extensions["limit"].(map[string]any)
			if e.Code() != "BAD_USER_INPUT" || limit["name"] != tt.limit || !strings.Contains(e.Message, "limit") {
				t.Fatalf("answer %d: %s, want BAD_USER_INPUT naming the %s limit", resp.Status, resp.Raw, tt.limit)
			}
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d, want 200 (application/json: the errors say it did not run)", resp.Status)
			}
			body, _ := json.Marshal(map[string]any{"query": tt.query, "variables": map[string]any{"n": 100}})
			strict := gw.PostWith(t, http.Header{"Content-Type": {"application/json"}, "Accept": {"application/graphql-response+json"}}, body)
			if e := strict.OnlyError(t); strict.Status != http.StatusBadRequest || e.Code() != "BAD_USER_INPUT" || strict.Data != nil {
				t.Fatalf("graphql-response+json: status %d: %s, want 400 and no data entry", strict.Status, strict.Raw)
			}
			if n := sim.Total(); n != 0 {
				t.Fatalf("refused query made %d upstream calls", n)
			}
		})
	}

	t.Run("oversized body", func(t *testing.T) {
		sim.Reset()
		body := `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", server.MaxBodyBytes) + `"}}`
		resp, err := http.Post(gw.URL+"/graphql", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || sim.Total() != 0 {
			t.Fatalf("status %d, %d upstream calls; want 413 and none", resp.StatusCode, sim.Total())
		}
	})

	// The README's examples and the IDE's own introspection stay within the
	// default limits.
	t.Run("defaults allow the flagship query", func(t *testing.T) {
		if resp := gw.Query(t, flagshipQuery, map[string]any{"id": demoUserID}); len(resp.Errors) > 0 {
			t.Fatalf("%s", resp.Raw)
		}
	})
}

// TestUpstreamCallBudgetPerOperation: with MAX_UPSTREAM_CALLS=3 an
// operation sends exactly three upstream requests; the fields it could not
// pay for carry an error naming the limit, the rest comes back.
func TestUpstreamCallBudgetPerOperation(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{Organizations: 10, ConnectionsPerOrg: 1},
		map[string]string{"MAX_UPSTREAM_CALLS": "3", "UPSTREAM_CONCURRENCY": "1"})
	resp := gw.Query(t, `{ organizations(first: 10) { nodes { name connections { id } } } }`, nil)
	if n := sim.Total(); n != 3 {
		t.Fatalf("%d upstream calls, want 3", n)
	}
	if len(resp.Errors) != 8 {
		t.Fatalf("%d errors, want 8 (10 connections, 2 paid for): %s", len(resp.Errors), resp.Raw)
	}
	for _, e := range resp.Errors {
		limit, _ := e.Extensions["limit"].(map[string]any)
		if e.Code() != "BAD_USER_INPUT" || limit["name"] != "upstreamCalls" || !strings.HasSuffix(e.PathString(), ".connections") {
			t.Fatalf("error %+v", e)
		}
	}
	if !strings.Contains(string(resp.Data), `"name"`) {
		t.Fatalf("the page itself is missing: %s", resp.Raw)
	}
}
