package upstreamsim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"time"
)

const (
	auth0TimeLayout    = "2006-01-02T15:04:05.000Z07:00"
	identityTimeLayout = "2006-01-02T15:04:05.0000000"
	pictureURL         = "https://example-picture-url.jpg"
)

var (
	orgEpoch        = time.Date(2023, 3, 14, 11, 17, 19, 466_000_000, time.UTC)
	membershipEpoch = time.Date(2023, 3, 14, 13, 36, 13, 829_000_000, time.UTC)
	userEpoch       = time.Date(2023, 3, 14, 13, 36, 13, 123_000_000, time.UTC)
	genUserEpoch    = time.Date(2023, 6, 1, 8, 0, 0, 0, time.UTC)
	genGroupEpoch   = time.Date(2022, 1, 3, 9, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func auth0Time(t time.Time) string { return t.UTC().Format(auth0TimeLayout) }

// builder accumulates the dataset; generated parts draw from one seeded source in a fixed order,
// so the same Config always yields the same data.
type builder struct {
	d   *Dataset
	rng *rand.Rand
	// directory user identifier -> UserDto overrides for built-in users
	lastLogin map[string]string
}

func buildDataset(cfg Config) *Dataset {
	b := &builder{
		d: &Dataset{
			Connections:           make(map[string][]EnabledConnection),
			Members:               make(map[string][]string),
			MemberRoles:           make(map[string]map[string][]Role),
			Groups:                make(map[string][]Group),
			PartitionOrganization: make(map[string]string),
			IdentityUsers:         make(map[string]IdentityUser),
			memberSince:           make(map[string][]time.Time),
		},
		rng:       rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6f72677261706821)),
		lastLogin: make(map[string]string),
	}
	var partitions []string
	partitions = append(partitions, b.builtIns()...)
	partitions = append(partitions, b.generate(cfg)...)
	b.identityUsers(partitions)
	b.d.index()
	return b.d
}

func (b *builder) addMember(orgID, userID string, since time.Time) {
	b.d.Members[orgID] = append(b.d.Members[orgID], userID)
	b.d.memberSince[orgID] = append(b.d.memberSince[orgID], since)
}

// builtIns adds the fixed data the README and tests rely on and returns its partitions in order.
func (b *builder) builtIns() []string {
	d := b.d
	d.Organizations = append(d.Organizations,
		Organization{
			ID: OrgHogwartsID, Name: "hogwarts", DisplayName: "Hogwarts School of Witchcraft and Wizardry",
			Branding: &Branding{LogoURL: "https://example.com/hogwarts.svg",
				Colors: &BrandingColors{Primary: "#7f0909", PageBackground: "#ffc500"}},
			Metadata:  map[string]string{MetadataPartitionKey: PartitionHogwartsID, MetadataOrganizationKey: "hogwarts"},
			CreatedAt: orgEpoch,
		},
		Organization{
			ID: OrgDurmstrangID, Name: "durmstrang", DisplayName: "Durmstrang Institute",
			Branding:               &Branding{LogoURL: "https://example.com/durmstrang.svg"},
			Metadata:               map[string]string{MetadataPartitionKey: PartitionDurmstrangID},
			ThirdPartyClientAccess: "block",
			CreatedAt:              orgEpoch.Add(time.Second),
		},
		Organization{
			ID: OrgBeauxbatonsID, Name: "beauxbatons", DisplayName: "Beauxbatons Academy of Magic",
			CreatedAt: orgEpoch.Add(2 * time.Second),
		},
	)

	db := ConnectionRef{Name: "Username-Password-Authentication", Strategy: "auth0"}
	okta := ConnectionRef{Name: "hogwarts-okta", Strategy: "okta"}
	d.Connections[OrgHogwartsID] = []EnabledConnection{
		{ConnectionID: ConnectionDatabaseID, AssignMembershipOnLogin: true, IsSignupEnabled: ptr(true), ShowAsButton: ptr(true), Connection: db},
		{ConnectionID: ConnectionOktaID, AssignMembershipOnLogin: false, ShowAsButton: ptr(true), Connection: okta},
	}
	d.Connections[OrgDurmstrangID] = []EnabledConnection{
		{ConnectionID: ConnectionDatabaseID, AssignMembershipOnLogin: false, IsSignupEnabled: ptr(false), ShowAsButton: ptr(false), Connection: db},
	}

	dbIdentity := func(id string) []UserIdentity {
		return []UserIdentity{{Connection: db.Name, UserID: id[len("auth0|"):], Provider: "auth0"}}
	}
	d.Users = append(d.Users,
		User{
			UserID: UserChuck938ID, Email: "chuck938@example.com", EmailVerified: ptr(true), Name: "Chuck Norris",
			Nickname: "chuck938", Picture: pictureURL, GivenName: "Chuck", FamilyName: "Norris",
			CreatedAt: auth0Time(userEpoch), UpdatedAt: auth0Time(userEpoch.Add(90 * 24 * time.Hour)),
			Identities: dbIdentity(UserChuck938ID),
		},
		User{
			UserID: UserChuck703ID, Email: "chuck703@example.com", EmailVerified: ptr(false), Name: "chuck703@example.com",
			Nickname: "chuck703", Picture: pictureURL,
			CreatedAt: auth0Time(userEpoch.Add(time.Second)), UpdatedAt: auth0Time(userEpoch.Add(time.Second)),
			Identities: dbIdentity(UserChuck703ID),
		},
		User{
			UserID: UserChuck849ID, Email: "chuck849@example.com", EmailVerified: ptr(false), Name: "chuck849@example.com",
			Nickname: "chuck849", Picture: pictureURL,
			CreatedAt: auth0Time(userEpoch.Add(2 * time.Second)), UpdatedAt: auth0Time(userEpoch.Add(2 * time.Second)),
			Identities: dbIdentity(UserChuck849ID),
		},
		User{
			UserID: UserGoogleID, Email: "minerva.mcgonagall@example.com", EmailVerified: ptr(true), Name: "Minerva McGonagall",
			Nickname: "minerva.mcgonagall", Picture: "https://lh3.googleusercontent.com/a/default-user=s96-c",
			GivenName: "Minerva", FamilyName: "McGonagall",
			CreatedAt: auth0Time(userEpoch.Add(3 * time.Second)), UpdatedAt: auth0Time(userEpoch.Add(3 * time.Second)),
			Identities: []UserIdentity{{Connection: "google-oauth2", UserID: "108091299999329986433", Provider: "google-oauth2", IsSocial: true}},
		},
	)
	// Same membership timestamp for all three, as in the recorded cursors; order is creation order.
	b.addMember(OrgHogwartsID, UserChuck938ID, membershipEpoch)
	b.addMember(OrgHogwartsID, UserChuck703ID, membershipEpoch)
	b.addMember(OrgHogwartsID, UserChuck849ID, membershipEpoch)
	b.addMember(OrgDurmstrangID, UserChuck938ID, membershipEpoch.Add(time.Minute))
	b.addMember(OrgBeauxbatonsID, UserChuck849ID, membershipEpoch.Add(2*time.Minute))
	d.MemberRoles[OrgHogwartsID] = map[string][]Role{UserChuck938ID: {{ID: "rol_Hg0Headmaster001", Name: "headmaster"}}}

	// Partition of hogwarts: exactly the UiPath "Get All Groups" documentation example.
	hp := func(first, last, display, id, name, email string) GroupMember {
		return GroupMember{ObjectType: ObjectTypeDirectoryUser, FirstName: first, LastName: last, DisplayName: display,
			Source: "local", Identifier: id, Name: name, Email: email}
	}
	d.Groups[PartitionHogwartsID] = []Group{
		{ID: GroupEveryoneID, Name: "Everyone", DisplayName: "Everyone", Type: GroupTypeBuiltIn,
			CreationTime: "2021-10-13T18:37:26.6025799", LastModificationTime: "2021-10-13T18:37:26.6025799", Members: []GroupMember{}},
		{ID: GroupAdministratorsID, Name: "Administrators", DisplayName: "Administrators", Type: GroupTypeBuiltIn,
			CreationTime: "2021-10-13T18:37:26.602463", LastModificationTime: "2021-10-13T18:37:26.6024632", Members: []GroupMember{}},
		{ID: GroupDaniCID, Name: "DaniC", DisplayName: "DaniC", Type: GroupTypeCustom,
			CreationTime: "2021-10-14T18:17:14.0952117", LastModificationTime: "2021-10-14T18:17:28.6967052",
			Members: []GroupMember{
				hp("Hermione", "Granger", "Hermione Granger", DirectoryUserHermioneID, "Hermione", "hermione@hogwarts.com"),
				hp("Harry", "Potter", "Harry Potter", DirectoryUserHarryID, "Harry", "harry@hogwarts.com"),
				hp("Ron", "Weasley", "Ron Weasley", DirectoryUserRonID, "Ron", "ron@hogwarts.com"),
			}},
		{ID: GroupAutomationDevelopersID, Name: "Automation Developers", DisplayName: "Automation Developers", Type: GroupTypeBuiltIn,
			CreationTime: "2021-10-13T18:37:26.6025676", LastModificationTime: "2021-10-13T18:37:26.6025676", Members: []GroupMember{}},
	}
	d.PartitionOrganization[PartitionHogwartsID] = "hogwarts"

	d.Groups[PartitionDurmstrangID] = []Group{
		{ID: GroupEveryoneID, Name: "Everyone", DisplayName: "Everyone", Type: GroupTypeBuiltIn,
			CreationTime: "2022-02-07T09:12:44.1873215", LastModificationTime: "2022-02-07T09:12:44.1873215", Members: []GroupMember{}},
		{ID: GroupAdministratorsID, Name: "Administrators", DisplayName: "Administrators", Type: GroupTypeBuiltIn,
			CreationTime: "2022-02-07T09:12:44.1871904", LastModificationTime: "2022-02-07T09:30:02.5518764",
			Members: []GroupMember{
				hp("Igor", "Karkaroff", "Igor Karkaroff", DirectoryUserIgorID, "igor", "igor@durmstrang.example"),
				{ObjectType: ObjectTypeDirectoryRobotUser, DisplayName: "CI Robot", Source: "local", Identifier: DirectoryRobotCIID, Name: "robot-ci"},
			}},
	}
	d.PartitionOrganization[PartitionDurmstrangID] = "durmstrang"

	b.lastLogin[DirectoryUserHermioneID] = "2021-11-02T08:41:17.1180255"
	b.lastLogin[DirectoryUserHarryID] = "2021-11-05T16:03:51.907341"
	b.lastLogin[DirectoryUserIgorID] = "2022-03-01T07:55:10.4417002"
	return []string{PartitionHogwartsID, PartitionDurmstrangID}
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (b *builder) base62(n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = base62[b.rng.IntN(len(base62))]
	}
	return string(out)
}

func (b *builder) hex(n int) string {
	const digits = "0123456789abcdef"
	out := make([]byte, n)
	for i := range out {
		out[i] = digits[b.rng.IntN(16)]
	}
	return string(out)
}

func (b *builder) uuid() string {
	hi, lo := b.rng.Uint64(), b.rng.Uint64()
	hi = hi&^(0xf<<12) | 0x4<<12 // version 4
	lo = lo&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// unique draws ids until one is new; collisions are astronomically rare but cheap to rule out.
func unique(seen map[string]bool, draw func() string) string {
	for {
		id := draw()
		if !seen[id] {
			seen[id] = true
			return id
		}
	}
}

var enterpriseStrategies = []string{"okta", "samlp", "waad", "ad", "oidc", "google-apps"}

// generate appends the Config-driven data after the built-ins and returns the generated partitions.
func (b *builder) generate(cfg Config) []string {
	d := b.d
	seen := map[string]bool{}

	// Connection pool: half database, half enterprise.
	var pool []EnabledConnection
	if cfg.ConnectionsPerOrg > 0 {
		n := 2 * cfg.ConnectionsPerOrg
		for i := range n {
			id := unique(seen, func() string { return "con_" + b.base62(16) })
			if i%2 == 0 {
				pool = append(pool, EnabledConnection{ConnectionID: id,
					Connection: ConnectionRef{Name: fmt.Sprintf("gen-db-%02d", i/2), Strategy: "auth0"}})
			} else {
				pool = append(pool, EnabledConnection{ConnectionID: id,
					Connection: ConnectionRef{Name: fmt.Sprintf("gen-enterprise-%02d", i/2),
						Strategy: enterpriseStrategies[(i/2)%len(enterpriseStrategies)]}})
			}
		}
	}

	// Partitions and their groups.
	partitions := make([]string, cfg.Partitions)
	for p := range partitions {
		pid := unique(seen, b.uuid)
		partitions[p] = pid
		d.PartitionOrganization[pid] = fmt.Sprintf("gen-tenant-%03d", p)
		created := genGroupEpoch.Add(time.Duration(p) * time.Hour)
		ts := func(t time.Time) string { return t.Format(identityTimeLayout) }
		groups := []Group{
			{ID: GroupEveryoneID, Name: "Everyone", DisplayName: "Everyone", Type: GroupTypeBuiltIn,
				CreationTime: ts(created), LastModificationTime: ts(created), Members: []GroupMember{}},
			{ID: GroupAdministratorsID, Name: "Administrators", DisplayName: "Administrators", Type: GroupTypeBuiltIn,
				CreationTime: ts(created), LastModificationTime: ts(created), Members: []GroupMember{}},
		}
		for g := range cfg.GroupsPerPartition {
			gc := created.Add(time.Duration(g+1)*time.Minute + time.Duration(b.rng.IntN(10_000_000))*100)
			grp := Group{ID: unique(seen, b.uuid), Name: fmt.Sprintf("gen-group-%03d", g), DisplayName: fmt.Sprintf("gen-group-%03d", g),
				Type: GroupTypeCustom, CreationTime: ts(gc), LastModificationTime: ts(gc.Add(time.Duration(b.rng.IntN(3600)) * time.Second)),
				Members: make([]GroupMember, 0, cfg.MembersPerGroup)}
			for m := range cfg.MembersPerGroup {
				name := fmt.Sprintf("gen-user-p%03d-g%03d-m%03d", p, g, m)
				grp.Members = append(grp.Members, GroupMember{ObjectType: ObjectTypeDirectoryUser,
					FirstName: fmt.Sprintf("Member%d", m), LastName: fmt.Sprintf("Group%d", g),
					DisplayName: fmt.Sprintf("Member%d Group%d", m, g), Source: "local",
					Identifier: unique(seen, b.uuid), Name: name, Email: name + "@example.com"})
			}
			groups = append(groups, grp)
		}
		d.Groups[pid] = groups
	}

	// Organizations, created after the built-ins, one second apart plus a random millisecond part.
	genOrgs := make([]string, cfg.Organizations)
	for i := range genOrgs {
		o := Organization{
			ID:          unique(seen, func() string { return "org_" + b.base62(16) }),
			Name:        fmt.Sprintf("gen-org-%05d", i),
			DisplayName: fmt.Sprintf("Generated Org %d", i),
			CreatedAt:   orgEpoch.Add(time.Duration(3+i)*time.Second + time.Duration(b.rng.IntN(1000))*time.Millisecond),
		}
		if b.rng.IntN(2) == 0 {
			o.Branding = &Branding{LogoURL: fmt.Sprintf("https://example.com/logos/gen-org-%05d.png", i)}
			if b.rng.IntN(2) == 0 {
				o.Branding.Colors = &BrandingColors{Primary: fmt.Sprintf("#%06x", b.rng.IntN(1<<24)), PageBackground: "#ffffff"}
			}
		}
		if cfg.Partitions > 0 {
			p := i % cfg.Partitions
			o.Metadata = map[string]string{MetadataPartitionKey: partitions[p], MetadataOrganizationKey: fmt.Sprintf("gen-tenant-%03d", p)}
		}
		if b.rng.IntN(8) == 0 {
			o.ThirdPartyClientAccess = []string{"block", "allow"}[b.rng.IntN(2)]
		}
		d.Organizations = append(d.Organizations, o)
		genOrgs[i] = o.ID

		if len(pool) > 0 {
			start := b.rng.IntN(len(pool))
			cs := make([]EnabledConnection, 0, cfg.ConnectionsPerOrg)
			for k := range cfg.ConnectionsPerOrg {
				c := pool[(start+k)%len(pool)]
				c.AssignMembershipOnLogin = b.rng.IntN(2) == 0
				c.ShowAsButton = ptr(b.rng.IntN(4) != 0)
				if c.Connection.Strategy == "auth0" {
					// upstream rejects signup without assign_membership_on_login
					c.IsSignupEnabled = ptr(c.AssignMembershipOnLogin && b.rng.IntN(2) == 0)
				}
				cs = append(cs, c)
			}
			d.Connections[o.ID] = cs
		}
	}

	// Users and their memberships (user j joins orgs (j*7+k*13) % Organizations).
	for j := range cfg.Users {
		hex := unique(seen, func() string { return b.hex(24) })
		created := genUserEpoch.Add(time.Duration(j)*time.Second + time.Duration(b.rng.IntN(1000))*time.Millisecond)
		d.Users = append(d.Users, User{
			UserID: "auth0|" + hex, Email: fmt.Sprintf("user%05d@example.com", j), EmailVerified: ptr(b.rng.IntN(2) == 0),
			Name: fmt.Sprintf("Generated User %d", j), Nickname: fmt.Sprintf("user%05d", j),
			Picture:   fmt.Sprintf("https://example.com/avatars/user%05d.png", j),
			CreatedAt: auth0Time(created), UpdatedAt: auth0Time(created),
			Identities: []UserIdentity{{Connection: "Username-Password-Authentication", UserID: hex, Provider: "auth0"}},
		})
		if cfg.Organizations == 0 {
			continue
		}
		joined := map[int]bool{}
		for k := range cfg.MembershipsPerUser {
			idx := (j*7 + k*13) % cfg.Organizations
			if joined[idx] {
				continue
			}
			joined[idx] = true
			b.addMember(genOrgs[idx], "auth0|"+hex, created.Add(time.Hour+time.Duration(k)*time.Millisecond))
		}
	}
	return partitions
}

// identityUsers derives a UserDto for every DirectoryUser member, in partition and group order.
func (b *builder) identityUsers(partitions []string) {
	d := b.d
	for _, pid := range partitions {
		for _, g := range d.Groups[pid] {
			for _, m := range g.Members {
				if m.ObjectType != ObjectTypeDirectoryUser {
					continue
				}
				u, ok := d.IdentityUsers[m.Identifier]
				if !ok {
					h := fnv.New32a()
					h.Write([]byte(m.Identifier))
					u = IdentityUser{
						ID: m.Identifier, UserName: m.Name, Email: m.Email, EmailConfirmed: true,
						Name: m.FirstName, Surname: m.LastName, DisplayName: m.DisplayName,
						CreationTime: g.CreationTime, LastModificationTime: g.LastModificationTime,
						GroupIDs: []string{}, LegacyID: int64(h.Sum32()%9_000_000) + 1_000_000,
						IsActive: true, InvitationAccepted: true,
					}
					if t, ok := b.lastLogin[m.Identifier]; ok {
						u.LastLoginTime = ptr(t)
					}
				}
				u.GroupIDs = append(u.GroupIDs, g.ID)
				d.IdentityUsers[m.Identifier] = u
			}
		}
	}
}
