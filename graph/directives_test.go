package graph

import (
	"context"
	"errors"
	"testing"

	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/auth"
)

// TestRequiresScope: a field runs only for a caller holding its scope; any
// other caller (none at all included) gets FORBIDDEN and the field's
// resolver never runs, so no loader or upstream is reached.
func TestRequiresScope(t *testing.T) {
	for _, tc := range []struct {
		name    string
		caller  *auth.Caller
		allowed bool
	}{
		{"no caller", nil, false},
		{"caller without scopes", &auth.Caller{Subject: "x"}, false},
		{"unrestricted", auth.Unrestricted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.caller != nil {
				ctx = auth.WithCaller(ctx, tc.caller)
			}
			ran := false
			res, err := RequiresScope(ctx, nil, func(context.Context) (any, error) {
				ran = true
				return "value", nil
			}, "read:organizations")
			if tc.allowed {
				if err != nil || !ran || res != "value" {
					t.Fatalf("got (%v, %v), ran %v: want the field's value", res, err, ran)
				}
				return
			}
			var ae *apperr.Error
			if ran || res != nil || !errors.As(err, &ae) || ae.Code != apperr.Forbidden || !errors.Is(err, auth.ErrForbidden) {
				t.Fatalf("got (%v, %v), ran %v: want FORBIDDEN without running the field", res, err, ran)
			}
		})
	}
}
