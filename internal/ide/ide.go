// Package ide serves GraphiQL, an in-browser GraphQL IDE, for orgraph's
// GraphQL endpoint.
//
// Frontend developers use the IDE to explore the schema (the docs explorer
// reads it by introspection) and to try queries against the gateway. It has to
// work where the gateway runs, which is often a machine or network without
// internet access, so nothing is loaded from a CDN: GraphiQL and the React
// builds it needs are embedded in the binary with //go:embed (see
// assets/README.md for their exact versions and fetch-assets.sh to upgrade
// them), and the page refers only to those same-origin files.
//
// Mount the handler at the root of a mux, next to the GraphQL endpoint:
//
//	mux.Handle("/graphql", gateway)
//	mux.Handle("/", ide.Handler(ide.Options{Title: "orgraph", Endpoint: "/graphql"}))
//
// It serves the page at "/" and the assets at "/ide/assets/<file>". The page
// refers to the assets by relative URLs, so it can also be mounted under a
// prefix with http.StripPrefix, as long as the page's URL ends in a slash.
package ide

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Options configures the IDE page.
type Options struct {
	// Title is the page title; empty means "GraphiQL".
	Title string
	// Endpoint is the path of the GraphQL endpoint the IDE POSTs to, e.g.
	// "/graphql"; empty means "/graphql". It must be on the page's origin:
	// the page's Content-Security-Policy allows connections only there.
	Endpoint string
	// DefaultQuery is shown in the editor on first open (GraphiQL then keeps
	// the user's own query in the browser's local storage). Empty means
	// GraphiQL's built-in welcome text.
	DefaultQuery string
}

// Paths and headers of what Handler serves.
const (
	// assetsPath is where the assets are served, and assetsRef how the page
	// refers to them (relative, so that the page works under a prefix).
	assetsPath = "/ide/assets/"
	assetsRef  = "ide/assets/"

	// contentSecurityPolicy is sent with the page. All scripts are
	// same-origin files (the options reach init.js as a JSON data block), so
	// no inline script is allowed; GraphiQL and CodeMirror set inline styles,
	// and GraphiQL's CSS carries its fonts and a few images as data: URLs.
	contentSecurityPolicy = "default-src 'self'; script-src 'self'; " +
		"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
		"frame-ancestors 'none'"

	// immutable is the Cache-Control of assets whose name changes with their
	// content: a version number for the npm builds, a hash for our own files.
	immutable = "public, max-age=31536000, immutable"
)

//go:embed index.html
var pageSource string

var pageTemplate = template.Must(template.New("index.html").Parse(pageSource))

//go:embed assets/*.js assets/*.css assets/LICENSE.*
var embedded embed.FS

// asset is one embedded file as served.
type asset struct {
	data         []byte
	contentType  string
	cacheControl string
	etag         string
}

// pageAssets holds the URLs by which the page refers to its assets.
type pageAssets struct {
	CSS, PageCSS, React, ReactDOM, GraphiQL, Init string
}

// catalog is the set of embedded assets, keyed by the name in their URL.
type catalog struct {
	byName map[string]*asset
	page   pageAssets
}

// loadCatalog reads the embedded assets once. The files are fixed at build
// time, so a failure is a packaging bug (caught by the tests): it panics.
var loadCatalog = sync.OnceValue(func() *catalog {
	c, err := newCatalog(embedded)
	if err != nil {
		panic("ide: " + err.Error())
	}
	return c
})

func newCatalog(fsys embed.FS) (*catalog, error) {
	c := &catalog{byName: make(map[string]*asset)}

	// add serves file under url (a name in assetsPath) and returns the
	// reference to it for the page.
	add := func(file, url, cacheControl string) (string, error) {
		data, err := fsys.ReadFile("assets/" + file)
		if err != nil {
			return "", err
		}
		if len(data) == 0 {
			return "", fmt.Errorf("asset %s is empty", file)
		}
		c.byName[url] = &asset{
			data:         data,
			contentType:  contentType(file),
			cacheControl: cacheControl,
			etag:         etag(data),
		}
		return assetsRef + url, nil
	}
	// vendor serves the one npm build whose name matches pattern; its name
	// carries the package version.
	vendor := func(pattern string) (string, error) {
		matches, err := fs.Glob(fsys, "assets/"+pattern)
		if err != nil {
			return "", err
		}
		if len(matches) != 1 {
			return "", fmt.Errorf("want exactly one asset matching %s, have %q (run fetch-assets.sh)", pattern, matches)
		}
		name := path.Base(matches[0])
		return add(name, name, immutable)
	}
	// own serves one of orgraph's own files under a name that carries a
	// hash of its content, e.g. init.0123456789ab.js.
	own := func(file string) (string, error) {
		data, err := fsys.ReadFile("assets/" + file)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		ext := path.Ext(file)
		url := strings.TrimSuffix(file, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		return add(file, url, immutable)
	}

	var err error
	step := func(ref *string, f func(string) (string, error), arg string) {
		if err == nil {
			*ref, err = f(arg)
		}
	}
	step(&c.page.CSS, vendor, "graphiql-*.min.css")
	step(&c.page.GraphiQL, vendor, "graphiql-*.min.js")
	step(&c.page.React, vendor, "react-[0-9]*.production.min.js")
	step(&c.page.ReactDOM, vendor, "react-dom-[0-9]*.production.min.js")
	step(&c.page.PageCSS, own, "ide.css")
	step(&c.page.Init, own, "init.js")
	if err != nil {
		return nil, err
	}

	// The licenses of the embedded builds travel with the binary, and are
	// served too; their names carry no version, so they are not immutable.
	licenses, err := fs.Glob(fsys, "assets/LICENSE.*")
	if err != nil {
		return nil, err
	}
	for _, l := range licenses {
		name := path.Base(l)
		if _, err := add(name, name, "public, max-age=86400"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// contentType returns the Content-Type of an embedded file, by its name.
func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".js"):
		return "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".css"):
		return "text/css; charset=utf-8"
	default:
		return "text/plain; charset=utf-8"
	}
}

// Handler returns the handler of the IDE: GET (or HEAD) "/" is the GraphiQL
// page and GET "/ide/assets/<file>" an embedded asset; any other path is 404,
// and any other method on those paths 405.
func Handler(opts Options) http.Handler {
	c := loadCatalog()
	page := renderPage(opts, c.page)
	pageETag := etag(page)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		// Revalidate, so that a new binary's asset names are picked up.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", pageETag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(page))
	})
	mux.HandleFunc("GET "+assetsPath+"{name}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := c.byName[r.PathValue("name")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", a.cacheControl)
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

// renderPage renders the page for opts. The options reach the browser as
// a JSON data block, escaped by html/template for its <script> context, so
// no option value can end the block or inject markup.
func renderPage(opts Options, assets pageAssets) []byte {
	if opts.Title == "" {
		opts.Title = "GraphiQL"
	}
	if opts.Endpoint == "" {
		opts.Endpoint = "/graphql"
	}
	data := struct {
		Title  string
		Assets pageAssets
		Config any
	}{
		Title:  opts.Title,
		Assets: assets,
		Config: struct {
			Endpoint     string `json:"endpoint"`
			DefaultQuery string `json:"defaultQuery"`
		}{opts.Endpoint, opts.DefaultQuery},
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		// Only a broken template fails, and the tests execute it.
		panic("ide: rendering the page: " + err.Error())
	}
	return buf.Bytes()
}

// etag returns a strong ETag for data.
func etag(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
