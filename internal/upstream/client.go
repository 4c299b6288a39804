package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxBody bounds a successful response body. The largest page the gateway
// asks for is 100 organizations or members (a few hundred KiB); UiPath group
// lists are unpaged but small.
const maxBody = 32 << 20

// Client performs authenticated JSON GETs against one upstream service. It is
// the one place every upstream request passes, so it is where identical
// in-flight calls are collapsed and where the rate governor hooks in.
type Client struct {
	Service string       // "auth0" or "identity": error and metric label
	HTTP    *http.Client // shared transport with keep-alive
	Tokens  TokenSource  // nil: requests carry no Authorization header
	Timeout time.Duration

	flight singleflight.Group
	recent recentResults
	now    func() time.Time
}

// NewClient returns a Client for service. timeout bounds one upstream call,
// including the token fetch it may need.
func NewClient(service string, httpClient *http.Client, tokens TokenSource, timeout time.Duration) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{Service: service, HTTP: httpClient, Tokens: tokens, Timeout: timeout, now: time.Now}
}

// GetJSON fetches rawURL and decodes the JSON body into out. route is the
// route template used in errors and metrics (never the raw URL: ids are
// personal data and tokens could ride in query strings).
//
// Identical calls (same service, credentials scope and URL) from overlapping
// requests share one upstream request (see share.go): the shared request runs
// detached from any single caller's cancellation, bounded by the client's
// timeout, while each caller still stops waiting when its own context ends.
func (c *Client) GetJSON(ctx context.Context, route, rawURL string, out any) error {
	key := c.Service + "\x00" + c.scope() + "\x00" + rawURL
	began, hasStart := requestStart(ctx)
	if hasStart {
		if body, ok := c.recent.get(key, began, c.now()); ok {
			return c.decode(route, body, out)
		}
	}
	ch := c.flight.DoChan(key, func() (any, error) {
		// Checked again here: the result may have been stored between the
		// check above and this flight starting.
		if hasStart {
			if body, ok := c.recent.get(key, began, c.now()); ok {
				return body, nil
			}
		}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
		defer cancel()
		body, err := c.get(callCtx, route, rawURL)
		if err == nil {
			c.recent.put(key, body, c.now())
		}
		return body, err
	})
	select {
	case <-ctx.Done():
		return &Error{Service: c.Service, Route: route, Kind: KindUnavailable, Err: ctx.Err()}
	case res := <-ch:
		if res.Err != nil {
			return res.Err
		}
		return c.decode(route, res.Val.([]byte), out)
	}
}

func (c *Client) decode(route string, body []byte, out any) error {
	if err := json.Unmarshal(body, out); err != nil {
		return &Error{Service: c.Service, Route: route, Status: http.StatusOK, Kind: KindOther, Code: "invalid_json", Err: err}
	}
	return nil
}

func (c *Client) scope() string {
	if c.Tokens == nil {
		return "anonymous"
	}
	return c.Tokens.Scope()
}

// get performs the request. When the upstream refuses the token (it may have
// been revoked or rotated early) and the source can hand out a different one,
// it retries once with that; a static token is not retried.
func (c *Client) get(ctx context.Context, route, rawURL string) ([]byte, error) {
	token, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	body, err := c.getOnce(ctx, route, rawURL, token)
	var ue *Error
	if c.Tokens == nil || !errors.As(err, &ue) || ue.Status != http.StatusUnauthorized {
		return body, err
	}
	c.Tokens.Invalidate(token)
	fresh, terr := c.token(ctx)
	if terr != nil || fresh == token {
		return nil, err
	}
	return c.getOnce(ctx, route, rawURL, fresh)
}

func (c *Client) token(ctx context.Context) (string, error) {
	if c.Tokens == nil {
		return "", nil
	}
	return c.Tokens.Token(ctx)
}

func (c *Client) getOnce(ctx context.Context, route, rawURL, token string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &Error{Service: c.Service, Route: route, Kind: KindOther, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, &Error{Service: c.Service, Route: route, Kind: KindUnavailable, Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	if err := CheckResponse(c.Service, route, resp, c.now()); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &Error{Service: c.Service, Route: route, Status: resp.StatusCode, Kind: KindUnavailable, Err: err}
	}
	return body, nil
}

// redactURLError drops the URL from transport errors: it holds ids (personal
// data) and, for some deployments, credentials in the userinfo part.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return errors.New(ue.Op + ": " + ue.Err.Error())
	}
	return err
}

// PathEscape escapes one path segment so that no id can change the route it is
// placed in: '/' becomes %2F, '|' %7C, and the dot segments "." and ".." are
// fully percent-encoded so no client, proxy or server normalises them away.
func PathEscape(segment string) string {
	if segment == "." || segment == ".." {
		return strings.Repeat("%2E", len(segment))
	}
	return url.PathEscape(segment)
}
