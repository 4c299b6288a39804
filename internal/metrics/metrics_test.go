package metrics

import (
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

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
