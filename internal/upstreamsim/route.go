package upstreamsim

import (
	"net/url"
	"strings"
)

type routeID int

const (
	routeOrganizations routeID = iota
	routeOrganization
	routeOrganizationByName
	routeEnabledConnections
	routeEnabledConnection
	routeMembers
	routeUserOrganizations
	routeUser
	routeAuth0Token
	routeGroups
	routeGroup
	routeGroupMembers
	routeIdentityUser
	routeIdentityToken
	numRoutes
	routeUnknown routeID = -1
)

var routeKeys = [numRoutes]string{
	routeOrganizations:      RouteOrganizations,
	routeOrganization:       RouteOrganization,
	routeOrganizationByName: RouteOrganizationByName,
	routeEnabledConnections: RouteEnabledConnections,
	routeEnabledConnection:  RouteEnabledConnection,
	routeMembers:            RouteMembers,
	routeUserOrganizations:  RouteUserOrganizations,
	routeUser:               RouteUser,
	routeAuth0Token:         RouteAuth0Token,
	routeGroups:             RouteGroups,
	routeGroup:              RouteGroup,
	routeGroupMembers:       RouteGroupMembers,
	routeIdentityUser:       RouteIdentityUser,
	routeIdentityToken:      RouteIdentityToken,
}

var routeByKey = func() map[string]routeID {
	m := make(map[string]routeID, numRoutes)
	for id, k := range routeKeys {
		m[k] = routeID(id)
	}
	return m
}()

type upstream int

const (
	upUnknown upstream = iota
	upAuth0
	upIdentity
)

var upstreamNames = [...]string{upUnknown: "unknown", upAuth0: "auth0", upIdentity: "identity"}

// match is a routed request: which route, which upstream, and the unescaped path parameters.
type match struct {
	id  routeID
	up  upstream
	key string // counter key when id == routeUnknown
	p1  string // org id / name / user id / partition id
	p2  string // connection id / group id
	// org is the Identity {organizationName} segment; "" for the host-level /identity_ base.
	org string
}

// matchRoute routes on the escaped path split at "/" and unescapes each segment afterwards, so an
// id that contains an encoded "/" (or "..") stays one segment and can never reach another route.
func matchRoute(method, escapedPath string) match {
	raw := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	segs := make([]string, len(raw))
	bad := false
	for i, r := range raw {
		u, err := url.PathUnescape(r)
		if err != nil {
			bad = true
		}
		segs[i] = u
	}
	var m match
	switch {
	case len(segs) >= 1 && segs[0] == "identity_":
		m.up = upIdentity
		if !bad {
			m.id = matchIdentity(method, segs[1:], &m)
		} else {
			m.id = routeUnknown
		}
	case len(segs) >= 2 && segs[1] == "identity_" && segs[0] != "":
		m.up = upIdentity
		m.org = segs[0]
		if !bad {
			m.id = matchIdentity(method, segs[2:], &m)
		} else {
			m.id = routeUnknown
		}
	case len(segs) >= 2 && segs[0] == "api" && segs[1] == "v2":
		m.up = upAuth0
		if !bad {
			m.id = matchAuth0(method, segs[2:], &m)
		} else {
			m.id = routeUnknown
		}
	case len(segs) >= 1 && segs[0] == "oauth":
		m.up = upAuth0
		m.id = routeUnknown
		if len(segs) == 2 && segs[1] == "token" && method == "POST" {
			m.id = routeAuth0Token
		}
	default:
		m.up = upUnknown
		m.id = routeUnknown
	}
	if m.id == routeUnknown {
		m.key = upstreamNames[m.up] + " " + method + " unknown"
	}
	return m
}

func matchAuth0(method string, s []string, m *match) routeID {
	if method != "GET" || len(s) == 0 {
		return routeUnknown
	}
	switch s[0] {
	case "organizations":
		switch len(s) {
		case 1:
			return routeOrganizations
		case 2:
			m.p1 = s[1]
			return routeOrganization
		case 3:
			if s[1] == "name" {
				m.p1 = s[2]
				return routeOrganizationByName
			}
			m.p1 = s[1]
			switch s[2] {
			case "enabled_connections":
				return routeEnabledConnections
			case "members":
				return routeMembers
			}
		case 4:
			if s[2] == "enabled_connections" {
				m.p1, m.p2 = s[1], s[3]
				return routeEnabledConnection
			}
		}
	case "users":
		switch len(s) {
		case 2:
			m.p1 = s[1]
			return routeUser
		case 3:
			if s[2] == "organizations" {
				m.p1 = s[1]
				return routeUserOrganizations
			}
		}
	}
	return routeUnknown
}

// matchIdentity routes below the identity_ base. ASP.NET routing is case-insensitive, so the
// literal segments are too.
func matchIdentity(method string, s []string, m *match) routeID {
	if len(s) == 2 && strings.EqualFold(s[0], "connect") && strings.EqualFold(s[1], "token") {
		if method == "POST" {
			return routeIdentityToken
		}
		return routeUnknown
	}
	if method != "GET" || len(s) < 3 || !strings.EqualFold(s[0], "api") {
		return routeUnknown
	}
	switch {
	case strings.EqualFold(s[1], "Group"):
		m.p1 = s[2]
		switch len(s) {
		case 3:
			return routeGroups
		case 4:
			m.p2 = s[3]
			return routeGroup
		case 5:
			if strings.EqualFold(s[4], "Members") {
				m.p2 = s[3]
				return routeGroupMembers
			}
		}
	case strings.EqualFold(s[1], "User") && len(s) == 3:
		m.p1 = s[2]
		return routeIdentityUser
	}
	return routeUnknown
}
