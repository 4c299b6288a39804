package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TokenSource supplies the bearer token the gateway presents upstream.
type TokenSource interface {
	// Token returns a valid token, fetching one when needed.
	Token(ctx context.Context) (string, error)
	// Invalidate drops token if it is the cached one, so the next Token call
	// fetches a new one (after the upstream answered 401).
	Invalidate(token string)
	// Scope names whose credentials these are without revealing them; cache
	// keys and coalescing keys include it so that different credentials never
	// share data. ctx matters for credentials that differ per request (a
	// caller's forwarded token).
	Scope(ctx context.Context) string
}

// StaticToken is a fixed token from configuration (AUTH0_TOKEN, IDENTITY_TOKEN).
type StaticToken struct {
	token string
	scope string
}

// NewStaticToken wraps a fixed token.
func NewStaticToken(token string) *StaticToken {
	return &StaticToken{token: token, scope: "static-" + fingerprint(token)}
}

// Token returns the fixed token.
func (s *StaticToken) Token(context.Context) (string, error) { return s.token, nil }

// Invalidate does nothing: a static token cannot be renewed.
func (s *StaticToken) Invalidate(string) {}

// Scope identifies the token by a short hash of it.
func (s *StaticToken) Scope(context.Context) string { return s.scope }

// fingerprint is a short, non-reversible identifier of a secret.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:8])
}

// ClientCredentials fetches tokens with the OAuth2 client-credentials grant
// (golang.org/x/oauth2/clientcredentials) and caches each until shortly before
// it expires.
type ClientCredentials struct {
	service string
	cfg     clientcredentials.Config
	client  *http.Client
	scope   string
	early   time.Duration
	now     func() time.Time

	mu  sync.Mutex
	tok *oauth2.Token
}

// NewClientCredentials returns a token source for clientID/secret at tokenURL.
// params go in the form body (Auth0 needs audience); scopes are requested as a
// space-separated list (UiPath needs them).
func NewClientCredentials(service, tokenURL, clientID, clientSecret string, scopes []string, params map[string]string, httpClient *http.Client) *ClientCredentials {
	values := make(map[string][]string, len(params))
	for k, v := range params {
		values[k] = []string{v}
	}
	return &ClientCredentials{
		service: service,
		cfg: clientcredentials.Config{
			ClientID:       clientID,
			ClientSecret:   clientSecret,
			TokenURL:       tokenURL,
			Scopes:         scopes,
			EndpointParams: values,
			AuthStyle:      oauth2.AuthStyleInParams,
		},
		client: WithoutRedirects(httpClient),
		scope:  "client-" + fingerprint(service+"\x00"+tokenURL+"\x00"+clientID),
		early:  time.Minute,
		now:    time.Now,
	}
}

// Token returns the cached token while it has more than a minute left, and
// fetches a new one otherwise. Concurrent callers wait for one fetch.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && (c.tok.Expiry.IsZero() || c.now().Add(c.early).Before(c.tok.Expiry)) {
		return c.tok.AccessToken, nil
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.client)
	tok, err := c.cfg.Token(ctx)
	if err != nil {
		return "", c.tokenError(err)
	}
	c.tok = tok
	return tok.AccessToken, nil
}

// tokenError turns an oauth2 failure into an *Error that holds nothing the
// token endpoint wrote except its status and, when it is identifier-shaped
// (safeCode) and does not contain the secret, its OAuth error code. That
// error reaches callers, the open /readyz and the logs, and the endpoint was
// just sent the client secret: one that echoes the form (a misconfigured
// proxy, a hostile server) would otherwise publish it.
func (c *ClientCredentials) tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		e := &Error{Service: c.service, Route: "token", Status: re.Response.StatusCode, Kind: KindUnauthorized, Code: c.shownCode(re.ErrorCode)}
		switch {
		case re.Response.StatusCode == http.StatusTooManyRequests:
			e.Kind = KindRateLimited
			e.RetryAfter = retryAfter(re.Response.Header, ParseRateLimit(re.Response.Header), c.now())
		case re.Response.StatusCode >= 500:
			e.Kind = KindOther
		case isRedirect(re.Response.StatusCode): // not followed (WithoutRedirects)
			e.Kind, e.Code = KindOther, codeRedirect
		}
		return e
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		// oauth2's own failures over a 2xx answer ("cannot parse json: …",
		// a strconv error on expires_in) can quote the body.
		return &Error{Service: c.service, Route: "token", Kind: KindUnavailable, Err: errUnusableToken}
	}
	cause := redactURLError(err)
	if c.holdsSecret(cause.Error()) {
		// net/http quotes a malformed status line or header back.
		cause = errUnusableToken
	}
	return &Error{Service: c.service, Route: "token", Kind: KindUnavailable, Err: cause}
}

// errUnusableToken stands for a token answer whose details are withheld.
var errUnusableToken = errors.New("the token endpoint's answer was not a usable token (details withheld: they may quote the request)")

// shownCode is code when it may be shown (see tokenError), else "".
func (c *ClientCredentials) shownCode(code string) string {
	if !safeCode(code) || c.holdsSecret(code) {
		return ""
	}
	return code
}

// holdsSecret reports whether s contains the client secret as sent (form
// encoded) or as decoded.
func (c *ClientCredentials) holdsSecret(s string) bool {
	secret := c.cfg.ClientSecret
	return secret != "" && (strings.Contains(s, secret) || strings.Contains(s, url.QueryEscape(secret)))
}

// Invalidate forgets token if it is still the cached one.
func (c *ClientCredentials) Invalidate(token string) {
	c.mu.Lock()
	if c.tok != nil && c.tok.AccessToken == token {
		c.tok = nil
	}
	c.mu.Unlock()
}

// Scope identifies the client id and token endpoint, not the secret.
func (c *ClientCredentials) Scope(context.Context) string { return c.scope }

// ForwardedToken sends each request with the caller's own token, which the
// server records on the request (Request.SetForwardedToken) in
// UPSTREAM_AUTH_MODE=forward, for BFF layers that hold their own Management
// API tokens. Its scope is a hash of that token, so cache entries and shared
// calls are never served to a request carrying another token.
type ForwardedToken struct{}

// ErrNoForwardedToken means a request in forward mode carried no token.
var ErrNoForwardedToken = errors.New("no caller token to forward")

// Token returns the caller's token.
func (ForwardedToken) Token(ctx context.Context) (string, error) {
	if r := RequestFrom(ctx); r != nil && r.forwarded != "" {
		return r.forwarded, nil
	}
	return "", ErrNoForwardedToken
}

// Invalidate does nothing: the caller's token is the caller's to renew.
func (ForwardedToken) Invalidate(string) {}

// Scope is "caller-" and a hash of the caller's token, computed once per
// request.
func (ForwardedToken) Scope(ctx context.Context) string {
	if r := RequestFrom(ctx); r != nil && r.scope != "" {
		return r.scope
	}
	return "caller-" + fingerprint("")
}
