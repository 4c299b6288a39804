package upstreamsim

import (
	"crypto/rand"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scopes each route accepts (any one of them). The Auth0 lists are in the order the upstream prints
// them in its 403 message.
var (
	auth0Scopes = [numRoutes][]string{
		routeOrganizations:      {"read:organizations", "read:organizations_summary"},
		routeOrganization:       {"read:organizations", "read:organizations_summary"},
		routeOrganizationByName: {"read:organizations"},
		routeEnabledConnections: {"read:organization_connections"},
		routeEnabledConnection:  {"read:organization_connections"},
		routeMembers:            {"read:organization_members"},
		routeUserOrganizations:  {"read:users", "read:organizations"},
		routeUser:               {"read:users", "read:current_user", "read:user_idp_tokens"},
	}
	identityScopes = [numRoutes][2]string{
		routeGroups:       {"PM.Group", "PM.Group.Read"},
		routeGroup:        {"PM.Group", "PM.Group.Read"},
		routeGroupMembers: {"PM.Group", "PM.Group.Read"},
		routeIdentityUser: {"PM.User", "PM.User.Read"},
	}
)

const scopeMemberRoles = "read:organization_member_roles"

// AllAuth0Scopes lists every Auth0 scope the simulator checks, for callers (the command, the demo
// mode) that want a static token allowed everywhere.
func AllAuth0Scopes() []string {
	return []string{"read:organizations", "read:organizations_summary", "read:organization_connections",
		"read:organization_members", scopeMemberRoles, "read:users"}
}

// AllIdentityScopes lists every Identity scope the simulator checks, for the same reason.
func AllIdentityScopes() []string {
	return []string{"PM.Group", "PM.Group.Read", "PM.User", "PM.User.Read"}
}

type grant struct {
	scopes  []string
	expires time.Time // zero for static tokens
}

func (g *grant) hasAny(want ...string) bool {
	for _, w := range want {
		if slices.Contains(g.scopes, w) {
			return true
		}
	}
	return false
}

// tokenStore holds one upstream's credentials: static tokens, registered clients and the tokens
// issued to them. Issued tokens live in a sync.Map so revocation is one Clear.
type tokenStore struct {
	required bool
	static   map[string]*grant
	clients  map[string]Client
	ttl      time.Duration
	issued   sync.Map // token -> *grant
}

func newTokenStore(static map[string][]string, clients map[string]Client, ttl time.Duration) *tokenStore {
	ts := &tokenStore{required: static != nil || clients != nil, clients: clients, ttl: ttl}
	ts.static = make(map[string]*grant, len(static))
	for tok, scopes := range static {
		ts.static[tok] = &grant{scopes: slices.Clone(scopes)}
	}
	return ts
}

func (ts *tokenStore) lookup(r *http.Request) (*grant, bool) {
	tok, ok := bearer(r)
	if !ok {
		return nil, false
	}
	if g, ok := ts.static[tok]; ok {
		return g, true
	}
	v, ok := ts.issued.Load(tok)
	if !ok {
		return nil, false
	}
	g := v.(*grant)
	if time.Now().After(g.expires) {
		ts.issued.Delete(tok)
		return nil, false
	}
	return g, true
}

func (ts *tokenStore) issue(scopes []string) string {
	tok := rand.Text() + rand.Text()
	ts.issued.Store(tok, &grant{scopes: scopes, expires: time.Now().Add(ts.ttl)})
	return tok
}

func (ts *tokenStore) revoke() { ts.issued.Clear() }

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(p):])
	return tok, tok != ""
}

// tokenRequest reads the client-credentials fields from a form or JSON body, and client_id /
// client_secret from HTTP Basic auth when present (both upstreams accept either).
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Audience     string `json:"audience"`
	Scope        string `json:"scope"`
}

func readTokenRequest(w http.ResponseWriter, r *http.Request) tokenRequest {
	var tr tokenRequest
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		_ = json.NewDecoder(r.Body).Decode(&tr)
	} else if r.ParseForm() == nil {
		f := r.PostForm
		tr = tokenRequest{f.Get("grant_type"), f.Get("client_id"), f.Get("client_secret"), f.Get("audience"), f.Get("scope")}
	}
	if id, secret, ok := r.BasicAuth(); ok {
		tr.ClientID, tr.ClientSecret = id, secret
	}
	return tr
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
	TokenType   string `json:"token_type"`
}

func (ts *tokenStore) client(tr tokenRequest) (Client, bool) {
	c, ok := ts.clients[tr.ClientID]
	if !ok || tr.ClientID == "" || c.Secret != tr.ClientSecret {
		return Client{}, false
	}
	return c, true
}

// auth0Token serves POST /oauth/token the way Auth0's client-credentials grant answers.
func (s *Simulator) auth0Token(w http.ResponseWriter, r *http.Request) {
	tr := readTokenRequest(w, r)
	if tr.GrantType == "" {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "Missing required parameter: grant_type"})
		return
	}
	if tr.GrantType != "client_credentials" {
		writeJSON(w, http.StatusForbidden, oauthError{"unauthorized_client", "Grant type '" + tr.GrantType + "' not allowed for the client."})
		return
	}
	c, ok := s.auth0Auth.client(tr)
	if !ok {
		writeRaw(w, http.StatusUnauthorized, bodyAuth0TokenDenied)
		return
	}
	switch {
	case tr.Audience == "":
		writeJSON(w, http.StatusForbidden, oauthError{"access_denied", "No audience parameter was provided, and no default audience has been configured"})
		return
	case !strings.HasSuffix(tr.Audience, "/api/v2/"):
		writeJSON(w, http.StatusForbidden, oauthError{"access_denied", "Service not enabled within domain: " + tr.Audience})
		return
	}
	scopes := slices.Clone(c.Scopes)
	if tr.Scope != "" { // Auth0 narrows the grant to what was asked for
		scopes = slices.DeleteFunc(scopes, func(sc string) bool { return !slices.Contains(strings.Fields(tr.Scope), sc) })
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: s.auth0Auth.issue(scopes),
		ExpiresIn:   int64(s.auth0Auth.ttl / time.Second),
		Scope:       strings.Join(scopes, " "),
		TokenType:   "Bearer",
	})
}

// identityToken serves POST .../identity_/connect/token like IdentityServer does.
func (s *Simulator) identityToken(w http.ResponseWriter, r *http.Request) {
	tr := readTokenRequest(w, r)
	if tr.GrantType != "client_credentials" {
		writeRaw(w, http.StatusBadRequest, bodyIdentityUnsupportedGrant)
		return
	}
	c, ok := s.identityAuth.client(tr)
	if !ok {
		writeRaw(w, http.StatusBadRequest, bodyIdentityInvalidClient)
		return
	}
	scopes := slices.Clone(c.Scopes)
	if req := strings.Fields(tr.Scope); len(req) > 0 {
		for _, sc := range req {
			if !slices.Contains(c.Scopes, sc) {
				writeRaw(w, http.StatusBadRequest, bodyIdentityInvalidScope)
				return
			}
		}
		scopes = req
	}
	writeJSON(w, http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
		Scope       string `json:"scope"`
	}{s.identityAuth.issue(scopes), int64(s.identityAuth.ttl / time.Second), "Bearer", strings.Join(scopes, " ")})
}

// checkAuth0 applies the bearer rules for one Auth0 route; it writes the error and returns false
// when the request must stop. The grant is nil when Auth0 needs no token.
func (s *Simulator) checkAuth0(w http.ResponseWriter, r *http.Request, id routeID) (*grant, bool) {
	if !s.auth0Auth.required {
		return nil, true
	}
	g, ok := s.auth0Auth.lookup(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="auth0", error="invalid_token"`)
		writeRaw(w, http.StatusUnauthorized, bodyAuth0InvalidToken)
		return nil, false
	}
	if want := auth0Scopes[id]; !g.hasAny(want...) {
		auth0InsufficientScope(w, want)
		return nil, false
	}
	return g, true
}

func (s *Simulator) checkIdentity(w http.ResponseWriter, r *http.Request, id routeID) bool {
	if !s.identityAuth.required {
		return true
	}
	g, ok := s.identityAuth.lookup(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeRaw(w, http.StatusUnauthorized, bodyIdentityInvalidToken)
		return false
	}
	if want := identityScopes[id]; !g.hasAny(want[:]...) {
		identityScopeInvalid(w, g.scopes, want)
		return false
	}
	return true
}
