package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orgraph/orgraph/graph/model"
	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/loaders"
	"github.com/orgraph/orgraph/internal/pager"
)

// nonNil turns a nil list (an upstream 404 on a list edge) into an empty one,
// because the schema's lists are non-null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func organizationPage(p pager.Page[auth0.Organization]) *model.OrganizationPage {
	out := &model.OrganizationPage{
		Nodes: p.Items,
		Edges: make([]model.OrganizationEdge, len(p.Items)),
	}
	for i := range p.Items {
		out.Edges[i] = model.OrganizationEdge{Cursor: p.Cursors[i], Node: &p.Items[i]}
	}
	out.PageInfo = pageInfo(p.HasNextPage, p.EndCursor)
	return out
}

// userPage maps members to users. A member list carries email, name and
// picture, so those fields cost no further call.
func userPage(p pager.Page[auth0.Member]) *model.UserPage {
	users := make([]model.User, len(p.Items))
	profiles := make([]auth0.User, len(p.Items))
	out := &model.UserPage{Nodes: users, Edges: make([]model.UserEdge, len(p.Items))}
	for i, m := range p.Items {
		profiles[i] = auth0.User{UserID: m.UserID, Email: m.Email, Name: m.Name, Picture: m.Picture}
		users[i] = model.User{ID: m.UserID, Profile: &profiles[i]}
		out.Edges[i] = model.UserEdge{Cursor: p.Cursors[i], Node: &users[i]}
	}
	out.PageInfo = pageInfo(p.HasNextPage, p.EndCursor)
	return out
}

func pageInfo(hasNext bool, end string) model.PageInfo {
	info := model.PageInfo{HasNextPage: hasNext}
	if end != "" {
		info.EndCursor = &end
	}
	return info
}

// profileFields are the User fields that need GET /users/{id}.
var profileFields = map[string]bool{"email": true, "name": true, "picture": true}

// profileScope is the scope the profile fields need (see the schema).
const profileScope = "read:users"

// selectsProfile reports whether the current field's selection asks for a
// profile field the caller may read, so user(id) reads the profile only when
// it is wanted and allowed (a forbidden profile field must cost no call).
func selectsProfile(ctx context.Context) bool {
	if auth.RequireScope(ctx, profileScope) != nil {
		return false
	}
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if profileFields[f.Name] {
			return true
		}
	}
	return false
}

// profile returns the user's profile, loading it when the user arrived
// without one. A user that does not exist has a nil profile.
func profile(ctx context.Context, u *model.User) (*auth0.User, error) {
	if u.Profile != nil {
		return u.Profile, nil
	}
	l, err := loaders.For(ctx)
	if err != nil {
		return nil, err
	}
	return l.UserProfileByID(ctx, u.ID)
}

// partitionOf finds the UiPath partition an organization links to through
// its metadata (design §1), and whether there is one.
func (r *Resolver) partitionOf(l *loaders.Loaders, org *auth0.Organization) (loaders.PartitionKey, bool) {
	if !l.GroupsEnabled() {
		return loaders.PartitionKey{}, false
	}
	pid, ok := org.MetadataValue(r.PartitionMetadataKey)
	if !ok {
		return loaders.PartitionKey{}, false
	}
	key := loaders.PartitionKey{PartitionID: pid}
	if l.GroupsNeedOrganizationName() {
		name, ok := org.MetadataValue(r.OrganizationMetadataKey)
		if !ok {
			name = org.Name
		}
		key.OrganizationName = name
	}
	return key, true
}

// partitionArgs validates the arguments of the top-level group queries. The
// organization name is dropped when the base URL does not use it, so the
// same partition asked with and without a name is one fetch.
func partitionArgs(l *loaders.Loaders, partitionID string, organizationName *string) (loaders.PartitionKey, error) {
	if !l.GroupsEnabled() {
		return loaders.PartitionKey{}, apperr.BadInput("groups are not enabled on this gateway")
	}
	if err := checkUUID("partitionGlobalId", partitionID); err != nil {
		return loaders.PartitionKey{}, err
	}
	key := loaders.PartitionKey{PartitionID: partitionID}
	if !l.GroupsNeedOrganizationName() {
		if organizationName != nil {
			return key, checkText("organizationName", *organizationName, maxUiPathOrgName)
		}
		return key, nil
	}
	if organizationName == nil {
		return key, apperr.BadInput("organizationName is required: the identity upstream is addressed per organization")
	}
	if err := checkText("organizationName", *organizationName, maxUiPathOrgName); err != nil {
		return key, err
	}
	key.OrganizationName = *organizationName
	return key, nil
}
