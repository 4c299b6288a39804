package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orgraph/orgraph/graph/model"
	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/loaders"
)

// Federation entities (federation.graphqls). A router's _entities call hands
// every representation of a type to one resolver, which answers them as one
// level of keys, so N representations cost what N lookups of the same
// organizations or users cost in one query. An entity needs the scope of the
// root field that finds it by key, and its fields keep their own
// @requiresScope.

// organizationScope is what Query.organization, the by-id lookup an
// Organization representation stands for, needs (see schema.graphqls).
const organizationScope = "read:organizations"

// organizationEntities answers Organization representations: ids checked as
// Query.organization checks its argument, then every valid id in one
// by-id batch (an id repeated, or already seen in this request, is read
// once). An organization that does not exist is null, without an error.
func organizationEntities(ctx context.Context, reps []*model.OrganizationByIDsInput) ([]*auth0.Organization, error) {
	if err := auth.RequireScope(ctx, organizationScope); err != nil {
		return nil, forbidden(organizationScope, err)
	}
	ids, at, errs := entityIDs(reps, func(r *model.OrganizationByIDsInput) string { return r.ID }, maxOrganizationID)
	l, err := loaders.For(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*auth0.Organization, len(reps))
	if len(ids) > 0 {
		orgs, loadErrs := l.OrganizationsByIDs(ctx, ids)
		for j, i := range at {
			if loadErrs != nil && loadErrs[j] != nil {
				errs = failAt(errs, len(reps), i, loadErrs[j])
				continue
			}
			out[i] = orgs[j]
		}
	}
	if errs != nil {
		return out, errs
	}
	return out, nil
}

// userEntities answers User representations as Query.user answers one
// user: the profiles are read, in one batch, only when a profile field is
// selected and allowed; a user that does not exist is then null.
func userEntities(ctx context.Context, reps []*model.UserByIDsInput) ([]*model.User, error) {
	ids, at, errs := entityIDs(reps, func(r *model.UserByIDsInput) string { return r.ID }, maxUserID)
	out := make([]*model.User, len(reps))
	if !selectsProfile(ctx, entityUser) {
		for _, i := range at {
			out[i] = &model.User{ID: reps[i].ID}
		}
	} else if len(ids) > 0 {
		l, err := loaders.For(ctx)
		if err != nil {
			return nil, err
		}
		profiles, loadErrs := l.UserProfilesByIDs(ctx, ids)
		for j, i := range at {
			switch {
			case loadErrs != nil && loadErrs[j] != nil:
				errs = failAt(errs, len(reps), i, loadErrs[j])
			case profiles[j] != nil:
				out[i] = &model.User{ID: ids[j], Profile: profiles[j]}
			}
		}
	}
	if errs != nil {
		return out, errs
	}
	return out, nil
}

// entityUser is what a User representation's selection is collected for:
// the fields of `... on User` fragments, not those of other entity types
// (an Organization's name is no profile field).
var entityUser = []string{"User"}

// entityIDs checks every representation's id; the valid ones are returned
// with their places, the others get BAD_USER_INPUT at their own index.
func entityIDs[R any](reps []R, id func(R) string, max int) (ids []string, at []int, errs graphql.BatchErrorList) {
	for i, r := range reps {
		v := id(r)
		if err := checkText("id", v, max); err != nil {
			errs = failAt(errs, len(reps), i, err)
			continue
		}
		ids = append(ids, v)
		at = append(at, i)
	}
	return ids, at, errs
}

// failAt records err for the representation at i, making the list on the
// first failure.
func failAt(errs graphql.BatchErrorList, n, i int, err error) graphql.BatchErrorList {
	if errs == nil {
		errs = make(graphql.BatchErrorList, n)
	}
	errs[i] = err
	return errs
}

// forbidden is the FORBIDDEN error of a missing scope, as @requiresScope
// gives it.
func forbidden(scope string, err error) error {
	return &apperr.Error{Code: apperr.Forbidden, Message: "the caller's token lacks the " + scope + " scope this field needs", Err: err}
}
