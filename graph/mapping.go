package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orgraph/orgraph/graph/model"
	"github.com/orgraph/orgraph/internal/apperr"
	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/identity"
	"github.com/orgraph/orgraph/internal/loaders"
	"github.com/orgraph/orgraph/internal/pager"
)

// withLoaders runs f with the request's loaders.
func withLoaders[V any](ctx context.Context, f func(*loaders.Loaders) (V, error)) (V, error) {
	l, err := loaders.For(ctx)
	if err != nil {
		var zero V
		return zero, err
	}
	return f(l)
}

func organizationID(o *auth0.Organization) string { return o.ID }

func userID(u *model.User) string { return u.ID }

// byParent answers a batch resolver: every parent of a list at once, as one
// level of keys in one lookup (many), or, for a parent that is not in a
// list, through the single-key loader (one), which batches it with its
// siblings. A parent whose value does not exist gets an empty list: the
// schema's relation lists are lists of what there is. Per-parent errors go
// back as a graphql.BatchErrorList, each on its own parent's path.
func byParent[P any, K comparable, V any](ctx context.Context, parents []*P, key func(*P) K,
	one func(*loaders.Loaders, context.Context, K) ([]V, error),
	many func(*loaders.Loaders, context.Context, []K) ([][]V, []error)) ([][]V, error) {
	l, err := loaders.For(ctx)
	if err != nil {
		return nil, err
	}
	if len(parents) == 1 {
		v, err := one(l, ctx, key(parents[0]))
		if err != nil {
			return [][]V{nil}, graphql.BatchErrorList{err}
		}
		return [][]V{nonNil(v)}, nil
	}
	keys := make([]K, len(parents))
	for i, p := range parents {
		keys[i] = key(p)
	}
	values, errs := many(l, ctx, keys)
	for i := range values {
		if errs == nil || errs[i] == nil {
			values[i] = nonNil(values[i])
		}
	}
	if errs != nil {
		return values, graphql.BatchErrorList(errs)
	}
	return values, nil
}

// nonNil turns a nil list (an upstream 404 on a list edge) into an empty one.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// connectionsOf answers Organization.connections for a level of
// organizations, each connection wrapped with its organization's id: the
// flags are per organization, so the object's id must be too.
func connectionsOf(ctx context.Context, orgs []*auth0.Organization) ([][]model.Connection, error) {
	lists, err := byParent(ctx, orgs, organizationID, (*loaders.Loaders).ConnectionsByOrganizationID, (*loaders.Loaders).ConnectionsOfOrganizations)
	if lists == nil {
		return nil, err
	}
	out := make([][]model.Connection, len(lists))
	for i, list := range lists {
		if list != nil { // nil: this organization's error is in err
			out[i] = model.ConnectionsOf(orgs[i].ID, list)
		}
	}
	return out, err
}

// groupsOf answers Organization.groups for a level of organizations: those
// linked to a UiPath partition through their metadata get its groups (a
// partition shared by several is read once), the others an empty list. Each
// group is wrapped with its partition, since built-in groups repeat their id
// in every partition.
func (r *Resolver) groupsOf(ctx context.Context, orgs []*auth0.Organization) ([][]model.Group, error) {
	l, err := loaders.For(ctx)
	if err != nil {
		return nil, err
	}
	out := make([][]model.Group, len(orgs))
	var keys []identity.PartitionKey
	var at []int
	for i, o := range orgs {
		out[i] = []model.Group{}
		if key, ok := r.partitionOf(l, o); ok {
			keys = append(keys, key)
			at = append(at, i)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	if len(orgs) == 1 {
		groups, err := l.GroupsByPartition(ctx, keys[0])
		if err != nil {
			return [][]model.Group{nil}, graphql.BatchErrorList{err}
		}
		return [][]model.Group{model.GroupsOf(keys[0].PartitionID, groups)}, nil
	}
	groups, errs := l.GroupsOfPartitions(ctx, keys)
	var batchErrs graphql.BatchErrorList
	for j, i := range at {
		if errs != nil && errs[j] != nil {
			if batchErrs == nil {
				batchErrs = make(graphql.BatchErrorList, len(orgs))
			}
			batchErrs[i], out[i] = errs[j], nil
			continue
		}
		out[i] = model.GroupsOf(keys[j].PartitionID, groups[j])
	}
	if batchErrs != nil {
		return out, batchErrs
	}
	return out, nil
}

// membersOf answers Organization.members for a level of organizations: the
// first page of each is read in one lookup, then each is paged on its own
// (a page past the first is rare: first is at most 100). A cursor pages only
// the organization it came from; on any other it is BAD_USER_INPUT, with no
// upstream call for that organization.
func membersOf(ctx context.Context, orgs []*auth0.Organization, first *int, after *string) ([]*model.UserPage, error) {
	n, err := pageFirst(first)
	if err != nil {
		return nil, err
	}
	l, err := loaders.For(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*model.UserPage, len(orgs))
	var errs graphql.BatchErrorList
	fail := func(i int, err error) {
		if errs == nil {
			errs = make(graphql.BatchErrorList, len(orgs))
		}
		errs[i] = err
	}
	curs := make([]pager.Cursor, len(orgs))
	ok := make([]bool, len(orgs))
	var keys []auth0.MembersKey
	for i, o := range orgs {
		list := pager.MembersOf(o.ID)
		if curs[i], err = pageAfter(list, after); err != nil {
			fail(i, err)
			continue
		}
		ok[i] = true
		from, take := pager.FirstFetch(list, n, curs[i])
		keys = append(keys, auth0.MembersKey{OrganizationID: o.ID, From: from, Take: take})
	}
	if len(keys) > 1 {
		l.PrimeMembersPages(ctx, keys)
	}
	for i, o := range orgs {
		if !ok[i] {
			continue
		}
		page, err := pager.Collect(ctx, pager.MembersOf(o.ID), n, curs[i], func(ctx context.Context, from string, take int) ([]auth0.Member, string, error) {
			p, err := l.MembersPage(ctx, auth0.MembersKey{OrganizationID: o.ID, From: from, Take: take})
			if err != nil { // p is nil then
				return nil, "", err
			}
			return p.Members, p.Next, nil
		})
		if err != nil {
			fail(i, err)
			continue
		}
		out[i] = userPage(page)
	}
	if errs != nil {
		return out, errs
	}
	return out, nil
}

// organizationsPage answers Query.organizations: Relay paging over
// checkpoint pages.
func organizationsPage(ctx context.Context, first *int, after *string) (*model.OrganizationPage, error) {
	n, err := pageFirst(first)
	if err != nil {
		return nil, err
	}
	cur, err := pageAfter(pager.Organizations, after)
	if err != nil {
		return nil, err
	}
	return withLoaders(ctx, func(l *loaders.Loaders) (*model.OrganizationPage, error) {
		page, err := pager.Collect(ctx, pager.Organizations, n, cur, func(ctx context.Context, from string, take int) ([]auth0.Organization, string, error) {
			p, err := l.OrganizationsPage(ctx, auth0.PageKey{From: from, Take: take})
			if err != nil { // p is nil then
				return nil, "", err
			}
			return p.Organizations, p.Next, nil
		})
		if err != nil {
			return nil, err
		}
		return organizationPage(page), nil
	})
}

// lookUp validates a text argument and loads by it.
func lookUp[V any](ctx context.Context, arg, v string, max int, load func(*loaders.Loaders, context.Context, string) (V, error)) (V, error) {
	if err := checkText(arg, v, max); err != nil {
		var zero V
		return zero, err
	}
	return withLoaders(ctx, func(l *loaders.Loaders) (V, error) { return load(l, ctx, v) })
}

// userByID answers Query.user: the profile is read first, and only when a
// profile field is selected and allowed, so the profile fields themselves
// resolve inline; a user that does not exist is then null.
func userByID(ctx context.Context, id string) (*model.User, error) {
	if err := checkText("id", id, maxUserID); err != nil {
		return nil, err
	}
	if !selectsProfile(ctx, nil) {
		return &model.User{ID: id}, nil
	}
	return withLoaders(ctx, func(l *loaders.Loaders) (*model.User, error) {
		profile, err := l.UserProfileByID(ctx, id)
		if err != nil || profile == nil {
			return nil, err
		}
		return &model.User{ID: id, Profile: profile}, nil
	})
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
// satisfies picks the fragments that apply (nil: all of them).
func selectsProfile(ctx context.Context, satisfies []string) bool {
	if auth.RequireScope(ctx, profileScope) != nil {
		return false
	}
	for _, f := range graphql.CollectFieldsCtx(ctx, satisfies) {
		if profileFields[f.Name] {
			return true
		}
	}
	return false
}

// partitionOf finds the UiPath partition an organization links to through
// its metadata (design §1), and whether there is one.
func (r *Resolver) partitionOf(l *loaders.Loaders, org *auth0.Organization) (identity.PartitionKey, bool) {
	if !l.GroupsEnabled() {
		return identity.PartitionKey{}, false
	}
	pid, ok := org.MetadataValue(r.PartitionMetadataKey)
	if !ok {
		return identity.PartitionKey{}, false
	}
	key := identity.PartitionKey{PartitionID: pid}
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
func partitionArgs(l *loaders.Loaders, partitionID string, organizationName *string) (identity.PartitionKey, error) {
	if !l.GroupsEnabled() {
		return identity.PartitionKey{}, apperr.BadInput("groups are not enabled on this gateway")
	}
	if err := checkUUID("partitionGlobalId", partitionID); err != nil {
		return identity.PartitionKey{}, err
	}
	key := identity.PartitionKey{PartitionID: partitionID}
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
