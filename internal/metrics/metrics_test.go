package metrics

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

func TestOperationNameIsBounded(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "anonymous"},
		{"UserOrgs_2", "UserOrgs_2"},
		{strings.Repeat("a", 100), strings.Repeat("a", 64)},
		{"bad name", "invalid"},
		{"x\ny", "invalid"},
	}
	for _, tt := range tests {
		if got := operationName(tt.in); got != tt.want {
			t.Errorf("operationName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	errs := gqlerror.List{{Message: "x"}}
	tests := []struct {
		resp *graphql.Response
		want string
	}{
		{&graphql.Response{Data: json.RawMessage(`{"a":1}`)}, "ok"},
		{&graphql.Response{Data: json.RawMessage(`{"a":null}`), Errors: errs}, "partial"},
		{&graphql.Response{Data: json.RawMessage(`null`), Errors: errs}, "error"},
		{&graphql.Response{Errors: errs}, "error"},
		{nil, "ok"},
	}
	for _, tt := range tests {
		if got := Outcome(tt.resp); got != tt.want {
			t.Errorf("Outcome(%+v) = %q, want %q", tt.resp, got, tt.want)
		}
	}
}
