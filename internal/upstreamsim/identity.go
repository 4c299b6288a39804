package upstreamsim

import (
	"net/http"
	"strconv"
	"strings"
)

func (s *Simulator) serveIdentity(w http.ResponseWriter, r *http.Request, m *match) {
	switch m.id {
	case routeUnknown:
		w.WriteHeader(http.StatusNotFound) // ASP.NET answers unmatched routes with an empty 404
		return
	case routeIdentityToken:
		s.identityToken(w, r)
		return
	}
	if !s.checkIdentity(w, r, m.id) {
		return
	}
	switch m.id {
	case routeGroups, routeGroup, routeGroupMembers:
		s.serveGroups(w, r, m)
	case routeIdentityUser:
		if !isUUID(m.p1) {
			identityValidation(w, "userId", "The value '"+m.p1+"' is not valid.")
			return
		}
		u, ok := s.Dataset().IdentityUsers[strings.ToLower(m.p1)]
		if !ok {
			writeRaw(w, http.StatusNotFound, bodyIdentityNotFound)
			return
		}
		writeJSON(w, http.StatusOK, u)
	}
}

func (s *Simulator) serveGroups(w http.ResponseWriter, r *http.Request, m *match) {
	if !isUUID(m.p1) {
		identityValidation(w, "partitionGlobalId", "The value '"+m.p1+"' is not valid.")
		return
	}
	if m.id != routeGroups && !isUUID(m.p2) {
		identityValidation(w, "groupId", "The value '"+m.p2+"' is not valid.")
		return
	}
	pid := strings.ToLower(m.p1)
	groups, ok := s.Dataset().Groups[pid]
	if !ok {
		writeRaw(w, http.StatusNotFound, bodyIdentityNotFound)
		return
	}
	// The org-scoped base must name the UiPath organization that owns the partition (or the
	// partition itself, as the admin console does); the host-level base skips the check.
	if m.org != "" && !strings.EqualFold(m.org, s.Dataset().PartitionOrganization[pid]) && !strings.EqualFold(m.org, pid) {
		writeRaw(w, http.StatusForbidden, bodyIdentityOrgForbidden)
		return
	}
	if m.id == routeGroups {
		writeJSON(w, http.StatusOK, groups)
		return
	}
	i, ok := s.Dataset().groupByID[pid][strings.ToLower(m.p2)]
	if !ok {
		writeRaw(w, http.StatusNotFound, bodyIdentityNotFound)
		return
	}
	g := &groups[i]
	if m.id == routeGroup {
		writeJSON(w, http.StatusOK, g)
		return
	}

	q := r.URL.Query()
	top, ok := identityInt(w, q.Get("top"), q.Has("top"), "top", 10, 0, 1000)
	if !ok {
		return
	}
	skip, ok := identityInt(w, q.Get("skip"), q.Has("skip"), "skip", 0, 0, -1)
	if !ok {
		return
	}
	type memberRef struct {
		ID   string `json:"id"`
		Type int    `json:"type"`
	}
	results := []memberRef{}
	for i := skip; i < len(g.Members) && len(results) < top; i++ {
		results = append(results, memberRef{g.Members[i].Identifier, memberUserType(&g.Members[i])})
	}
	writeJSON(w, http.StatusOK, struct {
		TotalCount int         `json:"totalCount"`
		Results    []memberRef `json:"results"`
	}{len(g.Members), results})
}

// identityInt binds an integer query value the way ASP.NET model binding and [Range] report errors.
func identityInt(w http.ResponseWriter, v string, present bool, name string, def, lo, hi int) (int, bool) {
	if !present || v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		identityValidation(w, name, "The value '"+v+"' is not valid.")
		return 0, false
	}
	if n < lo || (hi >= 0 && n > hi) {
		msg := "The field " + name + " must be between " + strconv.Itoa(lo) + " and " + strconv.Itoa(hi) + "."
		if hi < 0 {
			msg = "The field " + name + " must be between " + strconv.Itoa(lo) + " and 2147483647."
		}
		identityValidation(w, name, msg)
		return 0, false
	}
	return n, true
}

// isUUID accepts the canonical 8-4-4-4-12 hex form, which is what .NET's Guid binder needs here.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
