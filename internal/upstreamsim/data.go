package upstreamsim

import (
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// Built-in identifiers. They never change, because the gateway's README, examples and tests name
// them.
const (
	OrgHogwartsID    = "org_Hg7bQ2mN4pLk9TzA"
	OrgDurmstrangID  = "org_Dm4cR8sT2vWx6YzB"
	OrgBeauxbatonsID = "org_Bx5aU9eK3mQp7RsC"

	ConnectionDatabaseID = "con_Db0UsernamePwd01"
	ConnectionOktaID     = "con_Ok0HogwartsOkta1"

	UserChuck938ID = "auth0|6410784d38b3e02b77fdd660"
	UserChuck703ID = "auth0|6410784d38b3e02b77fdd65f"
	UserChuck849ID = "auth0|6410784dd3534be8b2dc37da"
	UserGoogleID   = "google-oauth2|108091299999329986433"

	PartitionHogwartsID   = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	PartitionDurmstrangID = "8c5e2d1a-4b6f-4e3a-9d7c-1f2e3a4b5c6d"

	// GroupEveryoneID and GroupAdministratorsID are the same in every UiPath organization.
	GroupEveryoneID             = "ce684f6f-5af3-4e43-8516-1adad6e98fc9"
	GroupAdministratorsID       = "35551807-06b1-4cda-90a1-2fb84851eee7"
	GroupDaniCID                = "9577fe24-a113-4f53-a1b5-8acbcd803c39"
	GroupAutomationDevelopersID = "4d161738-7204-4794-b839-8f7fed28366c"

	DirectoryUserHermioneID = "ce07aff0-79fc-4f4f-af38-299880191695"
	DirectoryUserHarryID    = "ea23b7d6-c7bc-4fc2-9ec9-4613e3365d8a"
	DirectoryUserRonID      = "ecde4791-a7f3-4fd8-9fa7-b37511e4e019"
	DirectoryUserIgorID     = "0b7c1e6a-2f4d-4c1b-9a8e-5d6f7a8b9c0d"
	DirectoryRobotCIID      = "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
)

// Metadata keys the built-in and generated organizations use to point at their UiPath partition,
// matching the gateway's defaults.
const (
	MetadataPartitionKey    = "partitionGlobalId"
	MetadataOrganizationKey = "uipathOrganization"
)

// Organization is an Auth0 organization as the Management API sends it: unset fields are omitted,
// never null.
type Organization struct {
	ID          string            `json:"id"`
	Name        string            `json:"name,omitempty"`
	DisplayName string            `json:"display_name,omitempty"`
	Branding    *Branding         `json:"branding,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// ThirdPartyClientAccess is a field newer than the published OpenAPI spec; some organizations
	// carry it so clients prove they ignore unknown fields.
	ThirdPartyClientAccess string `json:"third_party_client_access,omitempty"`
	// CreatedAt is not on the wire but orders lists and is encoded in checkpoint cursors.
	CreatedAt time.Time `json:"-"`
}

// Branding is an organization's optional login-page branding.
type Branding struct {
	LogoURL string          `json:"logo_url,omitempty"`
	Colors  *BrandingColors `json:"colors,omitempty"`
}

// BrandingColors holds both colors; Auth0 requires both when colors are set.
type BrandingColors struct {
	Primary        string `json:"primary"`
	PageBackground string `json:"page_background"`
}

// EnabledConnection is one connection enabled for an organization, key order as recorded.
// IsSignupEnabled is only ever set for database (strategy "auth0") connections, as upstream.
type EnabledConnection struct {
	ConnectionID            string        `json:"connection_id"`
	AssignMembershipOnLogin bool          `json:"assign_membership_on_login"`
	IsSignupEnabled         *bool         `json:"is_signup_enabled,omitempty"`
	ShowAsButton            *bool         `json:"show_as_button,omitempty"`
	Connection              ConnectionRef `json:"connection"`
}

// ConnectionRef is the connection summary nested in an enabled connection.
type ConnectionRef struct {
	Name     string `json:"name"`
	Strategy string `json:"strategy"`
}

// User is an Auth0 user as GET /api/v2/users/{id} sends it, unset fields omitted.
type User struct {
	UserID        string         `json:"user_id"`
	Email         string         `json:"email,omitempty"`
	EmailVerified *bool          `json:"email_verified,omitempty"`
	Name          string         `json:"name,omitempty"`
	Nickname      string         `json:"nickname,omitempty"`
	Picture       string         `json:"picture,omitempty"`
	GivenName     string         `json:"given_name,omitempty"`
	FamilyName    string         `json:"family_name,omitempty"`
	CreatedAt     string         `json:"created_at,omitempty"`
	UpdatedAt     string         `json:"updated_at,omitempty"`
	Identities    []UserIdentity `json:"identities,omitempty"`
}

// UserIdentity is one linked identity of a user.
type UserIdentity struct {
	Connection string `json:"connection"`
	UserID     string `json:"user_id"`
	Provider   string `json:"provider"`
	IsSocial   bool   `json:"isSocial"`
}

// Role is an organization role of a member; upstream sends only id and name in member lists.
type Role struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Group is a UiPath Identity group (GroupDto). Type is an integer on the wire: 0 built-in, 1 custom.
// Times are .NET local times without an offset.
type Group struct {
	ID                   string        `json:"id"`
	Name                 string        `json:"name"`
	DisplayName          string        `json:"displayName"`
	Type                 int           `json:"type"`
	CreationTime         string        `json:"creationTime"`
	LastModificationTime string        `json:"lastModificationTime"`
	Members              []GroupMember `json:"members"`
}

// Group types as sent on the wire.
const (
	GroupTypeBuiltIn = 0
	GroupTypeCustom  = 1
)

// Directory entity kinds (the objectType discriminator of group members).
const (
	ObjectTypeDirectoryUser      = "DirectoryUser"
	ObjectTypeDirectoryRobotUser = "DirectoryRobotUser"
)

// GroupMember is one polymorphic DirectoryEntity in a group's members. Empty strings go on the wire
// as null, because that is how the upstream reports unset attributes; DirectoryUser-only fields
// are left out for other object types.
type GroupMember struct {
	ObjectType  string
	FirstName   string
	LastName    string
	JobTitle    string
	CompanyName string
	City        string
	Department  string
	DisplayName string
	Source      string
	Identifier  string
	Name        string
	Email       string
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// MarshalJSON writes the member in the documented key order with nulls for unset attributes.
func (m GroupMember) MarshalJSON() ([]byte, error) {
	if m.ObjectType == ObjectTypeDirectoryUser {
		return json.Marshal(struct {
			ObjectType  string  `json:"objectType"`
			FirstName   *string `json:"firstName"`
			LastName    *string `json:"lastName"`
			JobTitle    *string `json:"jobTitle"`
			CompanyName *string `json:"companyName"`
			City        *string `json:"city"`
			Department  *string `json:"department"`
			DisplayName *string `json:"displayName"`
			Source      *string `json:"source"`
			Identifier  *string `json:"identifier"`
			Name        *string `json:"name"`
			Email       *string `json:"email"`
		}{m.ObjectType, nullable(m.FirstName), nullable(m.LastName), nullable(m.JobTitle), nullable(m.CompanyName),
			nullable(m.City), nullable(m.Department), nullable(m.DisplayName), nullable(m.Source),
			nullable(m.Identifier), nullable(m.Name), nullable(m.Email)})
	}
	return json.Marshal(struct {
		ObjectType  string  `json:"objectType"`
		DisplayName *string `json:"displayName"`
		Source      *string `json:"source"`
		Identifier  *string `json:"identifier"`
		Name        *string `json:"name"`
		Email       *string `json:"email"`
	}{m.ObjectType, nullable(m.DisplayName), nullable(m.Source), nullable(m.Identifier), nullable(m.Name), nullable(m.Email)})
}

// memberUserType maps a member to the UserType code the /Members endpoint reports
// (0 user, 2 directory user, 4 robot account).
func memberUserType(m *GroupMember) int {
	switch {
	case m.ObjectType == ObjectTypeDirectoryRobotUser:
		return 4
	case m.ObjectType == ObjectTypeDirectoryUser && m.Source != "" && m.Source != "local":
		return 2
	default:
		return 0
	}
}

// IdentityUser is a UserDto as GET .../api/User/{userId} sends it. Note the upstream's "groupIDs"
// casing.
type IdentityUser struct {
	ID                         string   `json:"id"`
	UserName                   string   `json:"userName"`
	Email                      string   `json:"email"`
	EmailConfirmed             bool     `json:"emailConfirmed"`
	Name                       string   `json:"name"`
	Surname                    string   `json:"surname"`
	DisplayName                string   `json:"displayName"`
	CreationTime               string   `json:"creationTime"`
	LastModificationTime       string   `json:"lastModificationTime"`
	LastLoginTime              *string  `json:"lastLoginTime"`
	GroupIDs                   []string `json:"groupIDs"`
	LegacyID                   int64    `json:"legacyId"`
	IsActive                   bool     `json:"isActive"`
	BypassBasicAuthRestriction bool     `json:"bypassBasicAuthRestriction"`
	Type                       int      `json:"type"`
	Category                   int      `json:"category"`
	InvitationAccepted         bool     `json:"invitationAccepted"`
}

// Dataset is everything the simulator serves, exposed so tests compute expected answers from the
// same data instead of hard-coding them. It is read-only once New returns.
type Dataset struct {
	// Organizations in upstream list order (created_at, then id).
	Organizations []Organization
	// Users in creation order.
	Users []User
	// Connections holds each organization's enabled connections, by organization id.
	Connections map[string][]EnabledConnection
	// Members holds each organization's member user ids in upstream order: by membership creation
	// time, then user id.
	Members map[string][]string
	// MemberRoles holds organization roles by organization id, then user id.
	MemberRoles map[string]map[string][]Role
	// UserOrganizations holds each user's organization ids in organization list order.
	UserOrganizations map[string][]string
	// Groups holds each partition's groups in upstream order, by partitionGlobalId.
	Groups map[string][]Group
	// PartitionOrganization names the UiPath organization owning each partition.
	PartitionOrganization map[string]string
	// IdentityUsers are the UserDtos of every DirectoryUser group member, by identifier.
	IdentityUsers map[string]IdentityUser

	orgByID     map[string]int
	orgByName   map[string]int
	userByID    map[string]int
	connByID    map[string]map[string]int // org -> connection id -> index
	memberSince map[string][]time.Time    // aligned with Members
	memberPos   map[string]map[string]int // org -> user id -> index in Members
	groupByID   map[string]map[string]int // partition -> group id -> index

	sortOnce sync.Once
	orders   map[string][]int // offset-mode sort key -> organization indexes
}

// OrganizationByID finds an organization the way GET /organizations/{id} does.
func (d *Dataset) OrganizationByID(id string) (Organization, bool) {
	i, ok := d.orgByID[id]
	if !ok {
		return Organization{}, false
	}
	return d.Organizations[i], true
}

// OrganizationByName finds an organization the way GET /organizations/name/{name} does.
func (d *Dataset) OrganizationByName(name string) (Organization, bool) {
	i, ok := d.orgByName[name]
	if !ok {
		return Organization{}, false
	}
	return d.Organizations[i], true
}

// UserByID finds an Auth0 user the way GET /users/{id} does.
func (d *Dataset) UserByID(id string) (User, bool) {
	i, ok := d.userByID[id]
	if !ok {
		return User{}, false
	}
	return d.Users[i], true
}

// Group finds one group of a partition the way GET /api/Group/{pid}/{gid} does.
func (d *Dataset) Group(partitionGlobalID, groupID string) (Group, bool) {
	i, ok := d.groupByID[partitionGlobalID][groupID]
	if !ok {
		return Group{}, false
	}
	return d.Groups[partitionGlobalID][i], true
}

// MembershipCursor returns the checkpoint cursor ("next") the members endpoint emits after the
// given member, so tests can resume paging from any point.
func (d *Dataset) MembershipCursor(orgID, userID string) (string, bool) {
	i, ok := d.memberPos[orgID][userID]
	if !ok {
		return "", false
	}
	return encodeCursor(d.memberSince[orgID][i], userID), true
}

// OrganizationCursor returns the checkpoint cursor the organizations list emits after org.
func OrganizationCursor(org Organization) string { return encodeCursor(org.CreatedAt, org.ID) }

func (d *Dataset) index() {
	sort.SliceStable(d.Organizations, func(i, j int) bool {
		a, b := &d.Organizations[i], &d.Organizations[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	d.orgByID = indexBy(d.Organizations, func(o Organization) string { return o.ID })
	d.orgByName = indexBy(d.Organizations, func(o Organization) string { return o.Name })
	d.userByID = indexBy(d.Users, func(u User) string { return u.UserID })
	d.connByID = make(map[string]map[string]int, len(d.Connections))
	for org, cs := range d.Connections {
		d.connByID[org] = indexBy(cs, func(c EnabledConnection) string { return c.ConnectionID })
	}
	d.memberPos = make(map[string]map[string]int, len(d.Members))
	d.UserOrganizations = make(map[string][]string)
	for _, u := range d.Users {
		d.UserOrganizations[u.UserID] = []string{}
	}
	for _, o := range d.Organizations { // organization order gives user-organization order
		ms, since := d.Members[o.ID], d.memberSince[o.ID]
		// Upstream order is (membership created_at, user id), which is also what cursors encode.
		sort.Sort(membershipOrder{ms, since})
		pos := make(map[string]int, len(ms))
		for i, uid := range ms {
			pos[uid] = i
			d.UserOrganizations[uid] = append(d.UserOrganizations[uid], o.ID)
		}
		d.memberPos[o.ID] = pos
	}
	d.groupByID = make(map[string]map[string]int, len(d.Groups))
	for pid, gs := range d.Groups {
		d.groupByID[pid] = indexBy(gs, func(g Group) string { return g.ID })
	}
}

// indexBy maps each item's key to its position.
func indexBy[T any](items []T, key func(T) string) map[string]int {
	m := make(map[string]int, len(items))
	for i, it := range items {
		m[key(it)] = i
	}
	return m
}

type membershipOrder struct {
	ids   []string
	since []time.Time
}

func (m membershipOrder) Len() int { return len(m.ids) }
func (m membershipOrder) Less(i, j int) bool {
	if !m.since[i].Equal(m.since[j]) {
		return m.since[i].Before(m.since[j])
	}
	return m.ids[i] < m.ids[j]
}
func (m membershipOrder) Swap(i, j int) {
	m.ids[i], m.ids[j] = m.ids[j], m.ids[i]
	m.since[i], m.since[j] = m.since[j], m.since[i]
}
