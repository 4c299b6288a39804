package upstreamsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

func (s *Simulator) serveAuth0(w http.ResponseWriter, r *http.Request, m *match) {
	switch m.id {
	case routeUnknown:
		writeRaw(w, http.StatusNotFound, bodyAuth0RouteNotFound)
		return
	case routeAuth0Token:
		s.auth0Token(w, r)
		return
	}
	g, ok := s.checkAuth0(w, r, m.id)
	if !ok {
		return
	}
	q := r.URL.Query()
	switch m.id {
	case routeOrganizations:
		s.listOrganizations(w, q)
	case routeOrganization:
		s.getOrganization(w, m.p1)
	case routeOrganizationByName:
		s.getOrganizationByName(w, m.p1)
	case routeEnabledConnections:
		s.listEnabledConnections(w, q, m.p1)
	case routeEnabledConnection:
		s.getEnabledConnection(w, m.p1, m.p2)
	case routeMembers:
		s.listMembers(w, q, m.p1, g)
	case routeUserOrganizations:
		s.listUserOrganizations(w, q, m.p1)
	case routeUser:
		s.getUser(w, q, m.p1)
	}
}

type orgsOffsetPage struct {
	Organizations []Organization `json:"organizations"`
	Start         int            `json:"start"`
	Limit         int            `json:"limit"`
	Total         int            `json:"total"`
}

type orgsCheckpointPage struct {
	Organizations []Organization `json:"organizations"`
	Next          string         `json:"next,omitempty"`
}

// parseSort validates Auth0's "field:1|-1" sort syntax.
func parseSort(q url.Values) (field string, desc bool, err error) {
	v, ok := q["sort"]
	if !ok {
		return "created_at", false, nil
	}
	bad := queryError("Query validation error: 'String does not match pattern ^(([a-zA-Z0-9_\\.]+))\\:(1|-1)$' on property sort.")
	if len(v[0]) > 15 {
		return "", false, queryError("Query validation error: 'String is too long (" + itoa64(int64(len(v[0]))) + " chars), maximum 15' on property sort.")
	}
	f, dir, ok := strings.Cut(v[0], ":")
	if !ok || (dir != "1" && dir != "-1") {
		return "", false, bad
	}
	switch f {
	case "name", "display_name", "created_at":
	default:
		return "", false, queryError("Query validation error: 'Invalid sort field' on property sort.")
	}
	return f, dir == "-1", nil
}

func (s *Simulator) listOrganizations(w http.ResponseWriter, q url.Values) {
	off, cp, err := parsePaging(q)
	if err != nil {
		auth0BadQuery(w, err.Error())
		return
	}
	sortField, desc, err := parseSort(q)
	if err != nil {
		auth0BadQuery(w, err.Error())
		return
	}
	orgs := s.Dataset().Organizations
	if cp.active {
		if sortField != "created_at" || desc {
			// Cursors encode created_at, so only the natural order can be resumed.
			auth0BadQuery(w, "Query validation error: 'Only created_at:1 is supported with checkpoint pagination' on property sort.")
			return
		}
		start := 0
		if cp.from != "" {
			t, id, err := decodeCursor(cp.from)
			if err != nil {
				auth0BadQuery(w, err.Error())
				return
			}
			start = sort.Search(len(orgs), func(i int) bool {
				o := &orgs[i]
				return o.CreatedAt.After(t) || (o.CreatedAt.Equal(t) && o.ID > id)
			})
		}
		end := min(start+cp.take, len(orgs))
		page := orgsCheckpointPage{Organizations: orgs[start:end:end]}
		if end < len(orgs) && end > start { // the last page has no "next"
			page.Next = OrganizationCursor(orgs[end-1])
		}
		writeJSON(w, http.StatusOK, page)
		return
	}
	if off.exceedsCeiling() {
		writeRaw(w, http.StatusBadRequest, bodyAuth0InvalidPaging)
		return
	}
	start, lo, end := off.window(len(orgs))
	var items []Organization
	if sortField == "created_at" && !desc {
		items = orgs[lo:end:end]
	} else {
		var order []int
		if sortField == "created_at" {
			order = nil // reverse of natural order, computed by index arithmetic
		} else {
			order = s.orgOrder(sortField)
		}
		items = make([]Organization, 0, end-lo)
		for i := lo; i < end; i++ {
			k := i
			if desc {
				k = len(orgs) - 1 - i
			}
			if order != nil {
				k = order[k]
			}
			items = append(items, orgs[k])
		}
	}
	if off.totals {
		writeJSON(w, http.StatusOK, orgsOffsetPage{items, start, off.perPage, len(orgs)})
		return
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Simulator) getOrganization(w http.ResponseWriter, id string) {
	o, ok := s.Dataset().OrganizationByID(id)
	if !ok {
		writeRaw(w, http.StatusNotFound, bodyAuth0OrgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// checkPathLength applies the OpenAPI length limits of path parameters (400 invalid_uri).
func checkPathLength(w http.ResponseWriter, value, prop string, maxLen int) bool {
	n := utf8.RuneCountInString(value)
	switch {
	case n < 1:
		auth0BadURI(w, "Path validation error: 'String is too short (0 chars), minimum 1' on property "+prop+".")
		return false
	case n > maxLen:
		auth0BadURI(w, "Path validation error: 'String is too long ("+itoa64(int64(n))+" chars), maximum "+itoa64(int64(maxLen))+"' on property "+prop+".")
		return false
	}
	return true
}

func (s *Simulator) getOrganizationByName(w http.ResponseWriter, name string) {
	if !checkPathLength(w, name, "name (name of the organization to retrieve)", 50) {
		return
	}
	o, ok := s.Dataset().OrganizationByName(name)
	if !ok {
		writeRaw(w, http.StatusNotFound, bodyAuth0OrgNotFound)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

type connectionsPage struct {
	EnabledConnections []EnabledConnection `json:"enabled_connections"`
	Start              int                 `json:"start"`
	Limit              int                 `json:"limit"`
	Total              int                 `json:"total"`
}

func (s *Simulator) listEnabledConnections(w http.ResponseWriter, q url.Values, orgID string) {
	if !checkPathLength(w, orgID, "id (Organization identifier.)", 50) {
		return
	}
	off, err := parseOffset(q, -1)
	if err != nil {
		auth0BadQuery(w, err.Error())
		return
	}
	if _, ok := s.Dataset().orgByID[orgID]; !ok {
		writeRaw(w, http.StatusNotFound, bodyAuth0OrgNotFound)
		return
	}
	all := s.Dataset().Connections[orgID]
	start, lo, end := off.window(len(all))
	items := all[lo:end:end]
	if items == nil {
		items = []EnabledConnection{}
	}
	if off.totals {
		// Upstream quirk: limit is the number of items returned, not per_page.
		writeJSON(w, http.StatusOK, connectionsPage{items, start, len(items), len(all)})
		return
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Simulator) getEnabledConnection(w http.ResponseWriter, orgID, connID string) {
	if !checkPathLength(w, orgID, "id (Organization identifier.)", 50) ||
		!checkPathLength(w, connID, "connectionId (Connection identifier.)", 50) {
		return
	}
	if _, ok := s.Dataset().orgByID[orgID]; !ok {
		writeRaw(w, http.StatusNotFound, bodyAuth0OrgNotFound)
		return
	}
	i, ok := s.Dataset().connByID[orgID][connID]
	if !ok {
		writeRaw(w, http.StatusNotFound, bodyAuth0ConnectionNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.Dataset().Connections[orgID][i])
}

type memberItem struct {
	UserID  string  `json:"user_id,omitempty"`
	Email   string  `json:"email,omitempty"`
	Picture string  `json:"picture,omitempty"`
	Name    string  `json:"name,omitempty"`
	Roles   *[]Role `json:"roles,omitempty"`
}

type membersOffsetPage struct {
	Members []memberItem `json:"members"`
	Start   int          `json:"start"`
	Limit   int          `json:"limit"`
	Total   int          `json:"total"`
}

type membersCheckpointPage struct {
	Members []memberItem `json:"members"`
	Next    string       `json:"next,omitempty"`
}

func (s *Simulator) listMembers(w http.ResponseWriter, q url.Values, orgID string, g *grant) {
	if !checkPathLength(w, orgID, "id (Organization identifier.)", 50) {
		return
	}
	off, cp, err := parsePaging(q)
	if err != nil {
		auth0BadQuery(w, err.Error())
		return
	}
	fields, err := parseMemberFields(q)
	if err != nil {
		auth0BadQuery(w, err.Error())
		return
	}
	if fields.roles && g != nil && !g.hasAny(scopeMemberRoles) {
		auth0InsufficientScope(w, []string{scopeMemberRoles})
		return
	}
	if _, ok := s.Dataset().orgByID[orgID]; !ok {
		writeRaw(w, http.StatusNotFound, bodyAuth0OrgNotFound)
		return
	}
	ids := s.Dataset().Members[orgID]
	if cp.active {
		start := 0
		if cp.from != "" {
			t, uid, err := decodeCursor(cp.from)
			if err != nil {
				auth0BadQuery(w, err.Error())
				return
			}
			start = s.memberResume(orgID, t, uid)
		}
		end := min(start+cp.take, len(ids))
		page := membersCheckpointPage{Members: s.memberItems(orgID, ids[start:end], fields)}
		// Upstream quirk: every non-empty page has "next"; the end is a terminal empty page.
		if end > start {
			page.Next = encodeCursor(s.Dataset().memberSince[orgID][end-1], ids[end-1])
		}
		writeJSON(w, http.StatusOK, page)
		return
	}
	if off.exceedsCeiling() {
		writeRaw(w, http.StatusBadRequest, bodyAuth0InvalidPaging)
		return
	}
	start, lo, end := off.window(len(ids))
	items := s.memberItems(orgID, ids[lo:end], fields)
	if off.totals {
		writeJSON(w, http.StatusOK, membersOffsetPage{items, start, off.perPage, len(ids)})
		return
	}
	writeJSON(w, http.StatusOK, items)
}

// memberResume finds where a members cursor continues: after every membership at or before the
// cursor's (timestamp, user id), so a cursor stays valid even if that member has left.
func (s *Simulator) memberResume(orgID string, t time.Time, uid string) int {
	since, ids := s.Dataset().memberSince[orgID], s.Dataset().Members[orgID]
	return sort.Search(len(since), func(i int) bool {
		return since[i].After(t) || (since[i].Equal(t) && ids[i] > uid)
	})
}

func (s *Simulator) memberItems(orgID string, ids []string, f memberFields) []memberItem {
	items := make([]memberItem, 0, len(ids))
	roles := s.Dataset().MemberRoles[orgID]
	for _, uid := range ids {
		u, _ := s.Dataset().UserByID(uid)
		var it memberItem
		if f.userID {
			it.UserID = u.UserID
		}
		if f.email {
			it.Email = u.Email
		}
		if f.picture {
			it.Picture = u.Picture
		}
		if f.name {
			it.Name = u.Name
		}
		if f.roles {
			rs := roles[uid]
			if rs == nil {
				rs = []Role{}
			}
			it.Roles = &rs
		}
		items = append(items, it)
	}
	return items
}

func (s *Simulator) listUserOrganizations(w http.ResponseWriter, q url.Values, userID string) {
	off, err := parseOffset(q, 1000)
	if err != nil {
		auth0BadQuery(w, err.Error())
		return
	}
	ids := s.Dataset().UserOrganizations[userID] // unknown user: empty list, like Auth0
	start, lo, end := off.window(len(ids))
	items := make([]Organization, 0, end-lo)
	for _, id := range ids[lo:end] {
		items = append(items, s.Dataset().Organizations[s.Dataset().orgByID[id]])
	}
	if off.totals {
		writeJSON(w, http.StatusOK, orgsOffsetPage{items, start, off.perPage, len(ids)})
		return
	}
	writeJSON(w, http.StatusOK, items)
}

func (s *Simulator) getUser(w http.ResponseWriter, q url.Values, userID string) {
	u, ok := s.Dataset().UserByID(userID)
	if !ok {
		writeRaw(w, http.StatusNotFound, bodyAuth0UserNotFound)
		return
	}
	include, err := boolParam(q, "include_fields", true)
	if err != nil {
		auth0BadQuery(w, err.Error())
		return
	}
	list := q.Get("fields")
	if list == "" {
		writeJSON(w, http.StatusOK, u)
		return
	}
	// fields is rare, so the generic route (through a map) is fine here.
	b, _ := json.Marshal(u)
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(b, &obj)
	named := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		named[strings.TrimSpace(f)] = true
	}
	for k := range obj {
		if named[k] != include {
			delete(obj, k)
		}
	}
	writeJSON(w, http.StatusOK, obj)
}
