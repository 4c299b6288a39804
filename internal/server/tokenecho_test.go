package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestTokenEndpointEchoingTheFormLeaksNothing: a token endpoint that echoes
// the posted form (grant_type=…&client_id=…&client_secret=…) in every place
// an answer can carry text never gets the secret into the caller's answer,
// the open /readyz or the logs. The secret is lowercase, so that an echo of
// it alone looks like an OAuth error code and only the secret check stops it.
func TestTokenEndpointEchoingTheFormLeaksNothing(t *testing.T) {
	const secret = "echoed-client-secret-4d9e7a"
	_, base := testutil.StartSimulator(t, upstreamsim.Config{
		Auth0Clients: map[string]upstreamsim.Client{"gw": {Secret: secret, Scopes: upstreamsim.AllAuth0Scopes()}},
	})
	fault := testutil.StartFaultUpstream(t, base)
	gw := testutil.StartGateway(t, map[string]string{
		"AUTH0_BASE_URL": fault.URL, "AUTH0_CLIENT_ID": "gw", "AUTH0_CLIENT_SECRET": secret,
		"AUTH_DISABLED": "true", "UPSTREAM_RATE_LIMIT": "100000", "LOG_LEVEL": "debug",
	})
	cases := []struct {
		name string
		echo func(w http.ResponseWriter, form string)
	}{
		{"form as the JSON error code", func(w http.ResponseWriter, form string) {
			writeJSON(w, http.StatusUnauthorized, `{"error":`+quote(form)+`,"error_description":`+quote(form)+`}`)
		}},
		{"bare secret as the JSON error code", func(w http.ResponseWriter, _ string) {
			writeJSON(w, http.StatusUnauthorized, `{"error":"`+secret+`"}`)
		}},
		{"form as a form-encoded error", func(w http.ResponseWriter, form string) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "error="+url.QueryEscape(form))
		}},
		{"form in expires_in of a 200", func(w http.ResponseWriter, form string) {
			writeJSON(w, http.StatusOK, `{"access_token":"x","token_type":"Bearer","expires_in":`+quote(form)+`}`)
		}},
		{"form as a 429's error code", func(w http.ResponseWriter, form string) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, `{"error":`+quote(form)+`}`)
		}},
		{"form as the HTTP status code", func(w http.ResponseWriter, form string) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 " + form + " Bad\r\nContent-Length: 0\r\n\r\n")
			_ = buf.Flush()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fault.Clear()
			fault.Fault(http.MethodPost, "/oauth/token", func(w http.ResponseWriter, r *http.Request) {
				form, _ := io.ReadAll(r.Body)
				if !contains(string(form), "client_secret=") {
					t.Errorf("the token request carried no client_secret field: the test proves nothing")
				}
				tc.echo(w, string(form))
			})
			resp := gw.Query(t, `{ organization(id: "`+hogwartsID+`") { name } }`, nil)
			if len(resp.Errors) == 0 {
				t.Fatalf("no error for a broken token endpoint: %s", resp.Raw)
			}
			status, ready := testutil.Get(t, gw.URL+"/readyz")
			if status != http.StatusServiceUnavailable {
				t.Fatalf("/readyz %d %s, want 503", status, ready)
			}
			for where, out := range map[string]string{"response": string(resp.Raw), "/readyz": ready, "logs": gw.Logs.String()} {
				if contains(out, secret) || contains(out, url.QueryEscape(secret)) {
					t.Errorf("the client secret appears in the %s: %s", where, out)
				}
			}
		})
	}
	// The endpoint's identifier-shaped codes still reach the operator.
	fault.Clear()
	fault.Fault(http.MethodPost, "/oauth/token", testutil.Answer(http.StatusUnauthorized, "application/json",
		`{"error":"access_denied","error_description":"Unauthorized"}`))
	if status, ready := testutil.Get(t, gw.URL+"/readyz"); status != http.StatusServiceUnavailable || !contains(ready, "(access_denied)") {
		t.Fatalf("/readyz %d %s, want 503 naming access_denied", status, ready)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
