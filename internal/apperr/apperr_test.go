package apperr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/orgraph/orgraph/internal/upstream"
)

func present(t *testing.T, err error) (code string, msg string, ext map[string]any, logs string) {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, nil)
	e := Presenter(log)(ctx, err)
	c, _ := e.Extensions["code"].(string)
	return c, e.Message, e.Extensions, buf.String()
}

func TestPresenterMapsEveryKind(t *testing.T) {
	cases := []struct {
		err     error
		code    string
		extKey  string
		logged  bool
		private string
	}{
		{BadInput("name must be at most %d characters", 50), "BAD_USER_INPUT", "", false, ""},
		{&upstream.Error{Service: "auth0", Kind: upstream.KindRateLimited, Status: 429, RetryAfter: 1500 * time.Millisecond, Message: "Global limit has been reached"}, "RATE_LIMITED", "retryAfter", false, "Global limit"},
		{&upstream.Error{Service: "auth0", Kind: upstream.KindForbidden, Status: 403, Message: "Insufficient scope"}, "FORBIDDEN", "", false, "Insufficient"},
		{&upstream.Error{Service: "auth0", Kind: upstream.KindUnauthorized, Status: 401, Message: "Invalid token."}, "UPSTREAM_UNAUTHORIZED", "", true, "Invalid token"},
		{&upstream.Error{Service: "auth0", Kind: upstream.KindCallerUnauthorized, Status: 401, Message: "Invalid token."}, "UNAUTHENTICATED", "", false, "Invalid token"},
		{fmt.Errorf("wrapped: %w", &upstream.Error{Service: "identity", Kind: upstream.KindOther, Status: 500, Code: "boom"}), "UPSTREAM_ERROR", "upstream", false, ""},
		{&upstream.Error{Service: "identity", Kind: upstream.KindUnavailable, Err: errors.New("dial tcp 10.0.0.1:443: refused")}, "UPSTREAM_UNAVAILABLE", "", false, "10.0.0.1"},
		{context.DeadlineExceeded, "UPSTREAM_UNAVAILABLE", "", false, ""},
		{errors.New("db password=hunter2 in a message"), "INTERNAL_SERVER_ERROR", "", true, "hunter2"},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			code, msg, ext, logs := present(t, tc.err)
			if code != tc.code {
				t.Fatalf("code %s, want %s", code, tc.code)
			}
			if tc.extKey != "" && ext[tc.extKey] == nil {
				t.Fatalf("extensions lack %s: %v", tc.extKey, ext)
			}
			if tc.private != "" && strings.Contains(msg, tc.private) {
				t.Fatalf("message shows %q: %s", tc.private, msg)
			}
			if tc.logged != (logs != "") {
				t.Fatalf("logged=%v, want %v: %s", logs != "", tc.logged, logs)
			}
		})
	}
	_, _, ext, _ := present(t, &upstream.Error{Kind: upstream.KindRateLimited, RetryAfter: 1500 * time.Millisecond})
	if ext["retryAfter"] != 2 {
		t.Fatalf("retryAfter %v, want 2 (rounded up)", ext["retryAfter"])
	}
}

func TestPanicBecomesInternalErrorAndIsLoggedNotShown(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	err := Recover(log)(context.Background(), "secret detail in a panic")
	code, msg, _, _ := present(t, err)
	if code != "INTERNAL_SERVER_ERROR" || strings.Contains(msg, "secret detail") {
		t.Fatalf("%s %q", code, msg)
	}
	if !strings.Contains(buf.String(), "secret detail in a panic") || !strings.Contains(buf.String(), "goroutine") {
		t.Fatalf("panic and stack not logged: %s", buf.String())
	}
}

// TestCallBudgetIsBadUserInputNamingTheLimit: an operation that ran out of
// upstream calls asked for too much; it is not an upstream failure, so it
// is neither logged nor shown as one.
func TestCallBudgetIsBadUserInputNamingTheLimit(t *testing.T) {
	ctx := upstream.WithCallBudget(context.Background(), 1)
	if err := upstream.SpendCall(ctx); err != nil {
		t.Fatal(err)
	}
	err := upstream.SpendCall(ctx)
	code, msg, ext, logs := present(t, fmt.Errorf("loading connections: %w", err))
	if code != "BAD_USER_INPUT" {
		t.Fatalf("code %s, want BAD_USER_INPUT", code)
	}
	want := map[string]any{"name": "upstreamCalls", "max": 1, "actual": 2}
	if fmt.Sprint(ext["limit"]) != fmt.Sprint(want) {
		t.Fatalf("extensions.limit %v, want %v", ext["limit"], want)
	}
	if !strings.Contains(msg, "more than 1 upstream calls") {
		t.Fatalf("message does not name the limit: %q", msg)
	}
	if logs != "" {
		t.Fatalf("a caller's oversized query was logged as a failure: %s", logs)
	}
}

// TestLongMessagesOfGqlgenAreCut: gqlgen's own messages quote the request;
// one over 300 bytes keeps its start and its end (where the message says
// what is wrong) and loses the middle, on a rune boundary. Short ones stay.
func TestLongMessagesOfGqlgenAreCut(t *testing.T) {
	short := `Cannot query field "nope" on type "Query".`
	if _, msg, _, _ := present(t, gqlerror.Errorf("%s", short)); msg != short {
		t.Fatalf("%q, want it unchanged", msg)
	}
	long := "operation " + strings.Repeat("é", 50000) + "MARKER" + strings.Repeat("é", 50000) + " not found"
	_, msg, _, _ := present(t, gqlerror.Errorf("%s", long))
	if len(msg) > 300 || !strings.HasPrefix(msg, "operation éé") || !strings.HasSuffix(msg, "éé not found") ||
		!strings.Contains(msg, "…") || strings.Contains(msg, "MARKER") || !utf8.ValidString(msg) {
		t.Fatalf("%d bytes: %q", len(msg), msg)
	}
}
