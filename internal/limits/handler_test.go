package limits_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/limits"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// fakeSchema serves the gateway's schema with an executor the test
// provides, so these tests see what gqlgen does around execution without
// the resolvers (and without touching graph/).
type fakeSchema struct{ s *ast.Schema }

func (f fakeSchema) Schema() *ast.Schema { return f.s }

func (fakeSchema) Complexity(context.Context, string, string, int, map[string]any) (int, bool) {
	return 0, false
}

func (fakeSchema) Exec(context.Context) graphql.ResponseHandler {
	return graphql.OneShot(&graphql.Response{Data: []byte(`{}`)})
}

// execSchema runs exec as the operation's execution.
type execSchema struct {
	fakeSchema
	exec func(ctx context.Context)
}

func (e execSchema) Exec(context.Context) graphql.ResponseHandler {
	done := false
	return func(ctx context.Context) *graphql.Response {
		if done {
			return nil
		}
		done = true
		e.exec(ctx)
		return &graphql.Response{Data: []byte(`{}`)}
	}
}

// newHandler is the gateway's gqlgen handler as internal/server builds it,
// with the extension added the way the wiring should add it.
func newHandler(es graphql.ExecutableSchema, cfg limits.Config) http.Handler {
	gql := handler.New(es)
	gql.AddTransport(transport.GET{})
	gql.AddTransport(transport.POST{})
	gql.Use(limits.New(cfg))
	gql.SetErrorPresenter(apperr.Presenter(slog.New(slog.DiscardHandler)))
	return gql
}

type response struct {
	status int
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func post(t *testing.T, h http.Handler, query string) response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var r response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("%s: %v", rec.Body, err)
	}
	r.status = rec.Code
	return r
}

// TestRefusedOperationIsNeverExecuted: over a limit, the answer is one
// BAD_USER_INPUT error with extensions.limit, kept as they are by the
// gateway's error presenter, and nothing executes: no resolver, so no
// upstream call. The HTTP status of a refusal is the gateway's transport's
// decision (internal/server's limits tests); gqlgen's own transports used
// here answer 200.
func TestRefusedOperationIsNeverExecuted(t *testing.T) {
	var executed atomic.Int32
	h := newHandler(execSchema{fakeSchema{schema}, func(context.Context) { executed.Add(1) }}, limits.Config{})

	cases := []struct {
		name, query, limit string
	}{
		{"depth", `{ organization(id: "o") { ` + nest(5, "id") + ` } }`, "depth"},
		{"aliases", `{ ` + aliases(31, "__typename") + ` }`, "aliases"},
		{"complexity", `{ organizations(first: 100) { nodes { members(first: 100) { nodes { organizations { id } } } } } }`, "complexity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, h, tc.query)
			if r.status != http.StatusOK || len(r.Errors) != 1 {
				t.Fatalf("status %d, errors %+v; want one error", r.status, r.Errors)
			}
			ext := r.Errors[0].Extensions
			l, _ := ext["limit"].(map[string]any)
			if ext["code"] != "BAD_USER_INPUT" || l["name"] != tc.limit || l["max"] == nil || l["actual"] == nil {
				t.Fatalf("extensions %v, want BAD_USER_INPUT and limit %s", ext, tc.limit)
			}
		})
	}
	if n := executed.Load(); n != 0 {
		t.Fatalf("refused operations executed %d times", n)
	}
	if r := post(t, h, `{ organization(id: "o") { id } }`); r.status != http.StatusOK || len(r.Errors) != 0 || executed.Load() != 1 {
		t.Fatalf("accepted operation: status %d, errors %+v, executed %d", r.status, r.Errors, executed.Load())
	}
}

// TestOperationRunsUnderItsCallBudget: execution runs under a budget of
// MaxUpstreamCalls real upstream requests, one per operation: the third
// request of an operation with a budget of two is refused before it is
// sent, the error reaches the caller as BAD_USER_INPUT naming the limit, and
// the next operation has a budget of its own.
func TestOperationRunsUnderItsCallBudget(t *testing.T) {
	sim := upstreamsim.New(upstreamsim.Config{Auth0Tokens: map[string][]string{"t": upstreamsim.AllAuth0Scopes()}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	client := upstream.NewClient("auth0", srv.Client(), upstream.NewStaticToken("t"), 5*time.Second)

	var refused atomic.Int32
	exec := func(ctx context.Context) {
		for take := 1; take <= 3; take++ {
			var out any
			err := client.GetJSON(ctx, "GET /api/v2/organizations", fmt.Sprintf("%s/api/v2/organizations?take=%d", srv.URL, take), &out)
			var be *upstream.CallBudgetError
			if errors.As(err, &be) {
				refused.Add(1)
				graphql.AddError(ctx, err)
			} else if err != nil {
				t.Errorf("call %d: %v", take, err)
			}
		}
	}
	h := newHandler(execSchema{fakeSchema{schema}, exec}, limits.Config{MaxUpstreamCalls: 2})

	for op := 1; op <= 2; op++ {
		r := post(t, h, `{ organization(id: "o") { id } }`)
		if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Fatalf("operation %d: errors %+v, want the budget's", op, r.Errors)
		}
		if l, _ := r.Errors[0].Extensions["limit"].(map[string]any); l["name"] != "upstreamCalls" || l["max"] != 2.0 {
			t.Fatalf("operation %d: extensions.limit %v", op, l)
		}
		if n := sim.Count(upstreamsim.RouteOrganizations); n != int64(2*op) {
			t.Fatalf("after operation %d: %d upstream calls, want %d", op, n, 2*op)
		}
	}
	if n := refused.Load(); n != 2 {
		t.Fatalf("%d calls refused, want one per operation", n)
	}
}
