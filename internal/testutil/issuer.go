package testutil

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is a token issuer for tests: it serves its public keys as a JWKS
// over loopback HTTP and signs caller tokens, so tests of caller auth run
// against a real JWKS endpoint and real signatures.
type Issuer struct {
	t       testing.TB
	URL     string // the iss claim, with a trailing slash as Auth0 has it
	JWKSURL string

	mu      sync.Mutex
	keys    []*issuerKey // served in the JWKS
	signing *issuerKey
}

type issuerKey struct {
	kid string
	key *rsa.PrivateKey
}

// StartIssuer starts an issuer with one signing key.
func StartIssuer(t testing.TB) *Issuer {
	t.Helper()
	is := &Issuer{t: t}
	is.Rotate()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(is.jwks())
	}))
	t.Cleanup(srv.Close)
	is.URL = srv.URL + "/"
	is.JWKSURL = srv.URL + "/.well-known/jwks.json"
	return is
}

// Rotate makes a new signing key and serves it alone: tokens signed before
// no longer verify once the gateway has fetched the new set.
func (is *Issuer) Rotate() {
	k := is.newKey()
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys = []*issuerKey{k}
	is.signing = k
}

func (is *Issuer) newKey() *issuerKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		is.t.Fatal(err)
	}
	return &issuerKey{kid: rand.Text(), key: key}
}

func (is *Issuer) jwks() map[string]any {
	is.mu.Lock()
	defer is.mu.Unlock()
	keys := make([]map[string]string, 0, len(is.keys))
	for _, k := range is.keys {
		keys = append(keys, map[string]string{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
			"n": base64.RawURLEncoding.EncodeToString(k.key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.key.E)).Bytes()),
		})
	}
	return map[string]any{"keys": keys}
}

// Claims are a test token's claims; zero fields get working defaults.
type Claims struct {
	Issuer, Audience, Subject string
	Scope                     string   // space-separated
	Permissions               []string // Auth0 RBAC
	ExpiresIn                 time.Duration
	NotBefore                 time.Time
}

// Token signs c with the current key (RS256). audience is the gateway's.
func (is *Issuer) Token(audience string, c Claims) string {
	is.mu.Lock()
	k := is.signing
	is.mu.Unlock()
	return is.sign(jwt.SigningMethodRS256, k.key, k.kid, audience, c)
}

// TokenSignedBy signs c with a key the issuer never published, under the
// current key id: the signature cannot verify.
func (is *Issuer) TokenSignedBy(audience string, c Claims) string {
	is.mu.Lock()
	kid := is.signing.kid
	is.mu.Unlock()
	return is.sign(jwt.SigningMethodRS256, is.newKey().key, kid, audience, c)
}

// TokenWithKeyID signs c with the current key but names kid in the header.
func (is *Issuer) TokenWithKeyID(kid, audience string, c Claims) string {
	is.mu.Lock()
	k := is.signing
	is.mu.Unlock()
	return is.sign(jwt.SigningMethodRS256, k.key, kid, audience, c)
}

// UnsignedToken is c with "alg": "none".
func (is *Issuer) UnsignedToken(audience string, c Claims) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodNone, is.claims(audience, c)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		is.t.Fatal(err)
	}
	return tok
}

func (is *Issuer) sign(m jwt.SigningMethod, key any, kid, audience string, c Claims) string {
	tok := jwt.NewWithClaims(m, is.claims(audience, c))
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		is.t.Fatal(err)
	}
	return s
}

func (is *Issuer) claims(audience string, c Claims) jwt.MapClaims {
	if c.Issuer == "" {
		c.Issuer = is.URL
	}
	if c.Audience == "" {
		c.Audience = audience
	}
	if c.Subject == "" {
		c.Subject = "auth0|tester"
	}
	if c.ExpiresIn == 0 {
		c.ExpiresIn = time.Hour
	}
	now := time.Now()
	m := jwt.MapClaims{
		"iss": c.Issuer, "aud": []string{c.Audience}, "sub": c.Subject,
		"iat": now.Unix(), "exp": now.Add(c.ExpiresIn).Unix(),
	}
	if c.Scope != "" {
		m["scope"] = c.Scope
	}
	if c.Permissions != nil {
		m["permissions"] = c.Permissions
	}
	if !c.NotBefore.IsZero() {
		m["nbf"] = c.NotBefore.Unix()
	}
	return m
}
