package ide

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// nastyQuery tries to end the config block, open a comment and break out of
// JSON and JS strings.
const nastyQuery = "query Q { echo(s: \"</script><script>alert('x')</script><!--\") } # it's \u2028 & \\ done"

var (
	refRE    = regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	configRE = regexp.MustCompile(`(?s)<script type="application/json" id="ide-config">(.*?)</script>`)
)

// get serves one request through h and returns the response.
func get(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assetRefs returns the asset URLs the page refers to, as absolute paths.
func assetRefs(t *testing.T, page string) []string {
	t.Helper()
	var refs []string
	for _, m := range refRE.FindAllStringSubmatch(page, -1) {
		if strings.HasPrefix(m[1], "data:") {
			continue
		}
		if !strings.HasPrefix(m[1], assetsRef) {
			t.Errorf("page refers to %q, outside %s", m[1], assetsRef)
			continue
		}
		refs = append(refs, "/"+m[1])
	}
	return refs
}

func TestPage(t *testing.T) {
	h := Handler(Options{Title: `orgraph <IDE> & "co"`, Endpoint: "/api/graphql", DefaultQuery: nastyQuery})
	res := get(t, h, http.MethodGet, "/", nil)
	page := body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", res.StatusCode)
	}

	for name, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-cache",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(contentSecurityPolicy, "script-src 'self';") {
		t.Errorf("CSP %q allows more than same-origin scripts", contentSecurityPolicy)
	}

	if want := "<title>orgraph &lt;IDE&gt; &amp; &#34;co&#34;</title>"; !strings.Contains(page, want) {
		t.Errorf("page lacks the escaped title %s:\n%s", want, page)
	}
	for _, scheme := range []string{"http://", "https://", "//"} {
		if strings.Contains(page, scheme) {
			t.Errorf("page contains %q:\n%s", scheme, page)
		}
	}

	// The config block holds the options as JSON, intact, and the query's
	// "</script>" did not end it.
	m := configRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no config block:\n%s", page)
	}
	if strings.Contains(m[1], "<") {
		t.Errorf("config block contains an unescaped '<': %s", m[1])
	}
	var config struct {
		Endpoint     string `json:"endpoint"`
		DefaultQuery string `json:"defaultQuery"`
	}
	if err := json.Unmarshal([]byte(m[1]), &config); err != nil {
		t.Fatalf("config block is not JSON: %v\n%s", err, m[1])
	}
	if config.Endpoint != "/api/graphql" || config.DefaultQuery != nastyQuery {
		t.Errorf("config = %+v, want endpoint /api/graphql and the default query %q", config, nastyQuery)
	}
	if n := strings.Count(page, "<script"); n != strings.Count(page, "</script>") {
		t.Errorf("page has %d <script but %d </script>", n, strings.Count(page, "</script>"))
	}

	// Every asset the page loads is served, with the files it must load.
	refs := assetRefs(t, page)
	for _, want := range []string{"graphiql-", "react-", "react-dom-", "init.", "ide."} {
		found := false
		for _, ref := range refs {
			found = found || strings.HasPrefix(ref, assetsPath+want)
		}
		if !found {
			t.Errorf("page refers to no asset %s*: %q", want, refs)
		}
	}
	for _, ref := range refs {
		res := get(t, h, http.MethodGet, ref, nil)
		b := body(t, res)
		wantType := "text/javascript; charset=utf-8"
		if strings.HasSuffix(ref, ".css") {
			wantType = "text/css; charset=utf-8"
		}
		switch {
		case res.StatusCode != http.StatusOK:
			t.Errorf("GET %s = %d, want 200", ref, res.StatusCode)
		case len(b) == 0:
			t.Errorf("GET %s: empty body", ref)
		case res.Header.Get("Content-Type") != wantType:
			t.Errorf("GET %s: Content-Type %q, want %q", ref, res.Header.Get("Content-Type"), wantType)
		case res.Header.Get("Cache-Control") != immutable:
			t.Errorf("GET %s: Cache-Control %q, want %q", ref, res.Header.Get("Cache-Control"), immutable)
		case res.Header.Get("X-Content-Type-Options") != "nosniff":
			t.Errorf("GET %s: no X-Content-Type-Options: nosniff", ref)
		}
	}
}

func TestPageDefaults(t *testing.T) {
	page := body(t, get(t, Handler(Options{}), http.MethodGet, "/", nil))
	if !strings.Contains(page, "<title>GraphiQL</title>") {
		t.Errorf("page lacks the default title:\n%s", page)
	}
	if !strings.Contains(page, `"endpoint":"/graphql"`) {
		t.Errorf("page lacks the default endpoint:\n%s", page)
	}
}

func TestRoutes(t *testing.T) {
	h := Handler(Options{DefaultQuery: "{ __typename }"})
	page := body(t, get(t, h, http.MethodGet, "/", nil))
	init := ""
	for _, ref := range assetRefs(t, page) {
		if strings.HasPrefix(ref, assetsPath+"init.") {
			init = ref
		}
	}
	pageETag := get(t, h, http.MethodGet, "/", nil).Header.Get("ETag")
	initETag := get(t, h, http.MethodGet, init, nil).Header.Get("ETag")
	if pageETag == "" || initETag == "" {
		t.Fatalf("no ETag on the page (%q) or on %s (%q)", pageETag, init, initETag)
	}

	tests := []struct {
		name      string
		method    string
		target    string
		header    http.Header
		want      int
		wantAllow bool
		wantBody  bool
	}{
		{name: "page", method: http.MethodGet, target: "/", want: 200, wantBody: true},
		{name: "page HEAD", method: http.MethodHead, target: "/", want: 200},
		{name: "page revalidated", method: http.MethodGet, target: "/", header: http.Header{"If-None-Match": {pageETag}}, want: 304},
		{name: "asset revalidated", method: http.MethodGet, target: init, header: http.Header{"If-None-Match": {initETag}}, want: 304},
		{name: "asset HEAD", method: http.MethodHead, target: init, want: 200},
		{name: "license", method: http.MethodGet, target: assetsPath + "LICENSE.graphiql", want: 200, wantBody: true},
		{name: "unknown asset", method: http.MethodGet, target: assetsPath + "nope.js", want: 404, wantBody: true},
		{name: "unversioned init", method: http.MethodGet, target: assetsPath + "init.js", want: 404, wantBody: true},
		{name: "assets dir", method: http.MethodGet, target: assetsPath, want: 404, wantBody: true},
		{name: "nested asset", method: http.MethodGet, target: assetsPath + "x/y.js", want: 404, wantBody: true},
		{name: "escaped traversal", method: http.MethodGet, target: assetsPath + "..%2Fide.go", want: 404, wantBody: true},
		{name: "readme not served", method: http.MethodGet, target: assetsPath + "README.md", want: 404, wantBody: true},
		{name: "unknown path", method: http.MethodGet, target: "/nope", want: 404, wantBody: true},
		{name: "page POST", method: http.MethodPost, target: "/", want: 405, wantAllow: true, wantBody: true},
		{name: "page DELETE", method: http.MethodDelete, target: "/", want: 405, wantAllow: true, wantBody: true},
		{name: "asset POST", method: http.MethodPost, target: init, want: 405, wantAllow: true, wantBody: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, h, tt.method, tt.target, tt.header)
			b := body(t, res)
			if res.StatusCode != tt.want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.target, res.StatusCode, tt.want)
			}
			if allow := res.Header.Get("Allow"); tt.wantAllow && !strings.Contains(allow, "GET") {
				t.Errorf("Allow = %q, want GET in it", allow)
			}
			if (len(b) > 0) != tt.wantBody {
				t.Errorf("body has %d bytes, want a body: %v", len(b), tt.wantBody)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no X-Content-Type-Options: nosniff")
			}
		})
	}
}
