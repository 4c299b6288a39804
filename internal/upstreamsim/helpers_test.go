package upstreamsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// Recorded upstream bodies (copied from the upstream contract's recordings) that the simulator
// must reproduce byte for byte.
const (
	recOrgNotFound        = `{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}`
	recConnectionNotFound = `{"statusCode":404,"error":"Not Found","message":"No connection found by that id"}`
	recUserNotFound       = `{"statusCode":404,"error":"Not Found","message":"The user does not exist.","errorCode":"inexistent_user"}`
	recTooManyAuth0       = `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`
	recInvalidPaging      = `{"statusCode":400,"error":"Bad Request","message":"Requesting page exceeds the allowed maximum of 1000 records.","errorCode":"invalid_paging"}`
	recInvalidToken       = `{"statusCode":401,"error":"Unauthorized","message":"Invalid token."}`
	recTokenDenied        = `{"error":"access_denied","error_description":"Unauthorized"}`
	recIdentityNotFound   = `{"errorMessage":"The entity was not found."}`
	recIdentityForbidden  = `{"errorMessage":"Caller is not authorized to list groups for the organization"}`
	recIdentityNoAPIScope = `{"errorMessage":"OAuth authorization failed. 'IdentityServerApi' scope not found."}`
	recIdentityTooMany    = `{"errorMessage":"Too many requests."}`
	recInvalidClient      = `{"error":"invalid_client"}`
	// The members checkpoint cursors recorded for the same three users and membership time.
	recMembersNext1 = "MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGQzOGIzZTAyYjc3ZmRkNjYw"
	recMembersNext2 = "MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGRkMzUzNGJlOGIyZGMzN2Rh"
)

type env struct {
	sim *Simulator
	srv *httptest.Server
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	sim := New(cfg)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(t *testing.T, method, path string, header http.Header, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func (e *env) get(t *testing.T, path string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, nil, nil)
}

func (e *env) getAuth(t *testing.T, path, token string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, http.Header{"Authorization": {"Bearer " + token}}, nil)
}

func (e *env) postForm(t *testing.T, path string, form url.Values) response {
	t.Helper()
	return e.do(t, http.MethodPost, path, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		strings.NewReader(form.Encode()))
}

func (r response) wantStatus(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

func (r response) wantBody(t *testing.T, status int, body string) {
	t.Helper()
	r.wantStatus(t, status)
	if string(r.body) != body {
		t.Fatalf("body = %s\nwant   %s", r.body, body)
	}
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// keys returns the top-level keys of a JSON object body.
func (r response) keys(t *testing.T) []string {
	t.Helper()
	var m map[string]json.RawMessage
	r.decode(t, &m)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// jsonEqual compares two JSON documents semantically.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode got %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("decode want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON mismatch\n got %s\nwant %s", got, compact(want))
	}
}

func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

func ids(orgs []Organization) []string {
	out := make([]string, len(orgs))
	for i, o := range orgs {
		out[i] = o.ID
	}
	return out
}
