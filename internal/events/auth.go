package events

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

// Authorization methods of a stream's webhook (AUTH0_EVENTS_AUTH), as the
// stream's destination configures them.
const (
	AuthBearer = "bearer" // Authorization: Bearer <secret>
	AuthBasic  = "basic"  // Authorization: Basic base64(<secret>), the secret being user:password
	AuthHeader = "header" // <AUTH0_EVENTS_HEADER>: <secret>
)

// Auth checks a delivery's authorization.
type Auth struct {
	Method string // AuthBearer, AuthBasic or AuthHeader
	Secret string
	Header string // the header's name, for AuthHeader
}

// header is the header a delivery must carry, and its expected value.
func (a Auth) header() (name, value string) {
	switch a.Method {
	case AuthBasic:
		return "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Secret))
	case AuthHeader:
		return a.Header, a.Secret
	default:
		return "Authorization", "Bearer " + a.Secret
	}
}

// Apply sets the authorization a delivery carries (the simulator sends
// deliveries as Auth0 would).
func (a Auth) Apply(h http.Header) {
	name, value := a.header()
	h.Set(name, value)
}

// Check reports whether h carries the configured authorization. The
// comparison takes the same time whatever the value sent (both sides are
// hashed first, so not even the secret's length shows), and an empty
// secret never matches.
func (a Auth) Check(h http.Header) bool {
	if a.Secret == "" {
		return false
	}
	name, want := a.header()
	values := h.Values(name)
	got := ""
	if len(values) == 1 {
		got = values[0]
	}
	gh, wh := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(gh[:], wh[:]) == 1 && len(values) == 1
}
