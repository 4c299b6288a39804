package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orgraph/orgraph/internal/auth"
)

// RequiresScope implements @requiresScope: the field resolves only when the
// caller's token grants scope. It runs before the field's resolver, so a
// forbidden field never reaches a loader or an upstream.
func RequiresScope(ctx context.Context, _ any, next graphql.Resolver, scope string) (any, error) {
	if err := auth.RequireScope(ctx, scope); err != nil {
		return nil, forbidden(scope, err)
	}
	return next(ctx)
}
