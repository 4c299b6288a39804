// Package auth authenticates the gateway's callers and decides what each may
// read. The gateway holds credentials that can read a whole tenant, and
// browsers call it, so every GraphQL request must carry a bearer JWT signed
// by the configured issuer for the configured audience; the scopes it grants
// gate fields one by one (the schema's @requiresScope directive).
//
// Verification is github.com/golang-jwt/jwt/v5 (signature, exp, nbf, iss,
// aud; asymmetric algorithms only, so "none" and HMAC-with-the-public-key
// tricks are refused) with keys from the issuer's JWKS through
// github.com/MicahParks/keyfunc/v3, which caches them, refreshes them
// hourly and, at most every few seconds, when a token names a key it does
// not know (key rotation).
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Config configures a Verifier.
type Config struct {
	// Issuer must equal the token's iss claim exactly (Auth0's ends with "/").
	Issuer string
	// Audience must be among the token's aud claim.
	Audience string
	// JWKSURL serves the issuer's public keys.
	JWKSURL string
	// HTTPClient fetches the JWKS; nil means http.DefaultClient.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Verifier checks callers' bearer tokens.
type Verifier struct {
	keys   keyfunc.Keyfunc
	parser *jwt.Parser
}

// algorithms are the signature algorithms accepted: asymmetric ones, as an
// issuer publishes in a JWKS. "none" and HS* are never accepted.
var algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// leeway absorbs clock skew between the issuer and the gateway.
const leeway = 30 * time.Second

// unknownKeyRefresh bounds how often a token naming an unknown key id makes
// the gateway fetch the JWKS again: often enough to follow a rotation at
// once, rarely enough that forged key ids cannot hammer the issuer.
const unknownKeyRefresh = 5 * time.Second

// New starts a Verifier: it fetches the JWKS in the background (a fetch
// failure is logged and retried; tokens are refused meanwhile) until ctx ends.
func New(ctx context.Context, cfg Config) (*Verifier, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:            client,
		HTTPTimeout:       5 * time.Second,
		RefreshInterval:   time.Hour,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKeyRefresh), 1),
		// A token with an unknown key id waits at most this long for a
		// refresh allowed by the limiter above, then is refused.
		RateLimitWaitMax: 100 * time.Millisecond,
		RefreshErrorHandlerFunc: func(string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "caller auth: fetching the JWKS failed", slog.String("error", err.Error()))
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("caller auth: %w", err)
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(algorithms),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(leeway),
	)
	return &Verifier{keys: keys, parser: parser}, nil
}

// claims are the registered claims plus the two ways Auth0 grants scopes.
type claims struct {
	jwt.RegisteredClaims
	Scope       string   `json:"scope"`
	Permissions []string `json:"permissions"`
}

// Verify checks a raw token and returns the caller it authenticates. The
// error says what was wrong in general terms only: it reaches the caller.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Caller, error) {
	var c claims
	if _, err := v.parser.ParseWithClaims(raw, &c, v.keys.KeyfuncCtx(ctx)); err != nil {
		return nil, reason(err)
	}
	scopes := strings.Fields(c.Scope)
	scopes = append(scopes, c.Permissions...)
	slices.Sort(scopes)
	return &Caller{Subject: c.Subject, scopes: slices.Compact(scopes), token: raw}, nil
}

// ErrInvalidToken wraps every verification failure.
var ErrInvalidToken = errors.New("invalid token")

func reason(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return fmt.Errorf("%w: expired", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: not valid yet", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return fmt.Errorf("%w: wrong audience", ErrInvalidToken)
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fmt.Errorf("%w: malformed", ErrInvalidToken)
	default:
		// Bad signature, unknown key, refused algorithm: one answer, so a
		// caller cannot probe which.
		return fmt.Errorf("%w: signature not verified", ErrInvalidToken)
	}
}

// Caller is an authenticated caller.
type Caller struct {
	Subject string
	scopes  []string // sorted, unique
	all     bool     // every scope: caller auth is disabled
	token   string
}

// Unrestricted is the caller of a gateway that runs without caller auth
// (AUTH_DISABLED=true, or the demo): it holds every scope.
var Unrestricted = &Caller{Subject: "anonymous", all: true}

// Has reports whether the caller holds scope.
func (c *Caller) Has(scope string) bool {
	if c == nil {
		return false
	}
	if c.all {
		return true
	}
	_, found := slices.BinarySearch(c.scopes, scope)
	return found
}

// Token is the caller's raw bearer token ("" without caller auth).
func (c *Caller) Token() string {
	if c == nil {
		return ""
	}
	return c.token
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller in ctx, or nil.
func CallerFrom(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// ErrForbidden is returned by RequireScope.
var ErrForbidden = errors.New("missing scope")

// RequireScope returns nil when the caller in ctx holds scope, and otherwise
// an error wrapping ErrForbidden that names the scope.
func RequireScope(ctx context.Context, scope string) error {
	if CallerFrom(ctx).Has(scope) {
		return nil
	}
	return fmt.Errorf("%w: this field needs the %s scope", ErrForbidden, scope)
}
