package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/orgraph/orgraph/internal/auth"
	"github.com/orgraph/orgraph/internal/testutil"
)

const audience = "https://orgraph.example/"

func newVerifier(t *testing.T, is *testutil.Issuer) *auth.Verifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := auth.New(ctx, auth.Config{Issuer: is.URL, Audience: audience, JWKSURL: is.JWKSURL})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	is := testutil.StartIssuer(t)
	v := newVerifier(t, is)
	hs256 := func() string {
		// The classic confusion: HMAC keyed with something public.
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": is.URL, "aud": audience, "exp": time.Now().Add(time.Hour).Unix()})
		s, err := tok.SignedString([]byte(is.JWKSURL))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name  string
		token string
		want  string // "" = valid; else the reason in the error
	}{
		{"valid", is.Token(audience, testutil.Claims{Scope: "read:organizations"}), ""},
		{"expired", is.Token(audience, testutil.Claims{ExpiresIn: -time.Hour}), "expired"},
		{"not valid yet", is.Token(audience, testutil.Claims{NotBefore: time.Now().Add(time.Hour)}), "not valid yet"},
		{"wrong issuer", is.Token(audience, testutil.Claims{Issuer: "https://evil.example/"}), "wrong issuer"},
		{"wrong audience", is.Token("https://other-api.example/", testutil.Claims{}), "wrong audience"},
		{"bad signature", is.TokenSignedBy(audience, testutil.Claims{}), "signature not verified"},
		{"unknown key id", is.TokenWithKeyID("no-such-key", audience, testutil.Claims{}), "signature not verified"},
		{"alg none", is.UnsignedToken(audience, testutil.Claims{}), "signature not verified"},
		{"HS256", hs256(), "signature not verified"},
		{"garbage", "not.a.jwt", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tt.token)
			if tt.want == "" {
				if err != nil || c == nil {
					t.Fatalf("valid token refused: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want invalid token: %s", err, tt.want)
			}
		})
	}
}

func TestScopesFromScopeAndPermissions(t *testing.T) {
	is := testutil.StartIssuer(t)
	v := newVerifier(t, is)
	c, err := v.Verify(context.Background(), is.Token(audience, testutil.Claims{
		Scope: "read:organizations read:users", Permissions: []string{"read:groups"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	for scope, want := range map[string]bool{
		"read:organizations": true, "read:users": true, "read:groups": true,
		"read:organization_members": false, "read:organization": false,
	} {
		if c.Has(scope) != want {
			t.Errorf("Has(%q) = %v, want %v", scope, !want, want)
		}
	}
	ctx := auth.WithCaller(context.Background(), c)
	if err := auth.RequireScope(ctx, "read:organization_members"); !errors.Is(err, auth.ErrForbidden) || !strings.Contains(err.Error(), "read:organization_members") {
		t.Fatalf("RequireScope = %v", err)
	}
	if auth.RequireScope(context.Background(), "read:users") == nil {
		t.Fatal("no caller in the context must hold no scope")
	}
	if !auth.Unrestricted.Has("anything") {
		t.Fatal("Unrestricted must hold every scope")
	}
}

// TestKeyRotation: after the issuer rotates its key, a token signed with the
// new key verifies (the unknown key id makes the verifier fetch the JWKS
// again), and one signed with the old key no longer does.
func TestKeyRotation(t *testing.T) {
	is := testutil.StartIssuer(t)
	v := newVerifier(t, is)
	old := is.Token(audience, testutil.Claims{})
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	is.Rotate()
	if _, err := v.Verify(context.Background(), is.Token(audience, testutil.Claims{})); err != nil {
		t.Fatalf("token with the new key: %v", err)
	}
	if _, err := v.Verify(context.Background(), old); err == nil {
		t.Fatal("token with the retired key still verifies")
	}
}

func TestMiddleware(t *testing.T) {
	is := testutil.StartIssuer(t)
	v := newVerifier(t, is)
	var reached *auth.Caller
	h := auth.Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = auth.CallerFrom(r.Context())
	}))
	tests := []struct {
		name, header string
		status       int
		challenge    string
	}{
		{"no header", "", 401, `Bearer realm="orgraph"`},
		{"basic auth", "Basic dXNlcjpwYXNz", 401, `Bearer realm="orgraph"`},
		{"empty bearer", "Bearer ", 401, `Bearer realm="orgraph"`},
		{"expired", "Bearer " + is.Token(audience, testutil.Claims{ExpiresIn: -time.Hour}), 401, `Bearer realm="orgraph", error="invalid_token"`},
		{"valid", "bearer " + is.Token(audience, testutil.Claims{Subject: "auth0|alice"}), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached = nil
			r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{__typename}"}`))
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("status %d, WWW-Authenticate %q", w.Code, w.Header().Get("WWW-Authenticate"))
			}
			if tt.status == 401 {
				if reached != nil {
					t.Fatal("a refused request reached the handler")
				}
				if !strings.Contains(w.Body.String(), `"code":"UNAUTHENTICATED"`) {
					t.Fatalf("body %s", w.Body.String())
				}
				return
			}
			if reached == nil || reached.Subject != "auth0|alice" {
				t.Fatalf("caller %+v", reached)
			}
		})
	}
}
