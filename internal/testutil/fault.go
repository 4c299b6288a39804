package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// FaultUpstream is an HTTP server in front of a real upstream (usually the
// simulator) that passes every request through, except those a test told it
// to answer otherwise: it misbehaves the way broken upstreams and hostile
// servers do (HTML, invalid JSON, huge or padded bodies, redirects, odd
// headers) on chosen routes while the rest of the upstream stays real. It
// counts every request it receives, faulted or not, by method and path.
type FaultUpstream struct {
	URL string

	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	rules []faultRule
	hits  map[string]int
}

type faultRule struct {
	method, path string // path ends in "*": a prefix
	answer       http.HandlerFunc
	times        int // answers left; <0: until cleared
}

// StartFaultUpstream serves a fault upstream in front of target (a base URL)
// until the test ends.
func StartFaultUpstream(t testing.TB, target string) *FaultUpstream {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("fault upstream target %q: %v", target, err)
	}
	f := &FaultUpstream{proxy: httputil.NewSingleHostReverseProxy(u), hits: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Fault makes requests for method and path (a trailing "*" matches any path
// with that prefix) answer with answer instead of the upstream's, until
// Clear. A later fault for the same route takes precedence.
func (f *FaultUpstream) Fault(method, path string, answer http.HandlerFunc) {
	f.FaultTimes(method, path, -1, answer)
}

// FaultTimes is Fault for the next n matching requests only; after them the
// route is passed through again, as an upstream that recovers would.
func (f *FaultUpstream) FaultTimes(method, path string, n int, answer http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append([]faultRule{{method: method, path: path, answer: answer, times: n}}, f.rules...)
}

// Clear removes every fault: the upstream has recovered.
func (f *FaultUpstream) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Hits returns the requests received for method and path (a trailing "*"
// sums every path with that prefix).
func (f *FaultUpstream) Hits(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k, c := range f.hits {
		m, p, _ := strings.Cut(k, " ")
		if m == method && matchPath(path, p) {
			n += c
		}
	}
	return n
}

// Total returns every request received.
func (f *FaultUpstream) Total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.hits {
		n += c
	}
	return n
}

func matchPath(pattern, path string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return pattern == path
}

func (f *FaultUpstream) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.Method+" "+r.URL.Path]++
	var answer http.HandlerFunc
	for i := range f.rules {
		rule := &f.rules[i]
		if rule.method == r.Method && rule.times != 0 && matchPath(rule.path, r.URL.Path) {
			answer = rule.answer
			if rule.times > 0 {
				rule.times--
			}
			break
		}
	}
	f.mu.Unlock()
	if answer != nil {
		answer(w, r)
		return
	}
	f.proxy.ServeHTTP(w, r)
}

// Answer is a fault that answers status with body as contentType.
func Answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// HTMLPage is a 200 answer with the HTML a proxy or login wall sends.
func HTMLPage() http.HandlerFunc {
	return Answer(http.StatusOK, "text/html; charset=utf-8",
		"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>")
}

// InvalidJSON is a 200 answer whose JSON body is cut short.
func InvalidJSON() http.HandlerFunc {
	return Answer(http.StatusOK, "application/json", `{"id":"org_1","name":"cut`)
}

// Redirect answers status (a 3xx) with Location: location.
func Redirect(status int, location string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, location, status)
	}
}

// TooManyRequests is a 429 with the given Retry-After value ("" for none)
// and Auth0's error body.
func TooManyRequests(retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`)
	}
}

// PaddedBody is a 200 answer of body (valid JSON) followed by n bytes of
// spaces, streamed without holding them: JSON that is valid, and huge.
func PaddedBody(body string, n int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.FormatInt(int64(len(body))+n, 10))
		_, _ = io.WriteString(w, body)
		writeRepeated(w, ' ', n)
	}
}

// HugeJSONString is a 200 answer of a JSON object whose field name holds a
// string of n bytes, streamed without holding it; distinct values of seed
// give distinct bodies.
func HugeJSONString(seed string, n int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+seed+`","name":"`+seed+`","display_name":"`)
		writeRepeated(w, 'x', n)
		_, _ = io.WriteString(w, `"}`)
	}
}

func writeRepeated(w io.Writer, c byte, n int64) {
	chunk := []byte(strings.Repeat(string(c), 64<<10))
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return // the gateway stopped reading, as it should past its bound
		}
		n -= k
	}
}

// Written is what one fault answer wrote before it returned: a test tells
// from it whether the gateway hung up before the end of a body (a write
// failed) or drained it.
type Written struct {
	bytes  atomic.Int64
	broken atomic.Bool
	done   chan struct{}
	once   sync.Once
}

// CountWritten wraps answer, for one request, to count what it writes.
func CountWritten(answer http.HandlerFunc) (http.HandlerFunc, *Written) {
	c := &Written{done: make(chan struct{})}
	return func(w http.ResponseWriter, r *http.Request) {
		defer c.once.Do(func() { close(c.done) })
		answer(countingWriter{w, c}, r)
	}, c
}

// Done is closed when the answer has returned.
func (c *Written) Done() <-chan struct{} { return c.done }

// Bytes is how many body bytes the answer wrote successfully.
func (c *Written) Bytes() int64 { return c.bytes.Load() }

// Broken reports whether a write failed: the client closed the connection
// before the answer ended.
func (c *Written) Broken() bool { return c.broken.Load() }

type countingWriter struct {
	http.ResponseWriter
	c *Written
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.c.bytes.Add(int64(n))
	if err != nil {
		w.c.broken.Store(true)
	}
	return n, err
}

// Hold is a fault that passes a request through to the upstream only once
// release is closed, after sending on arrived (when not nil) that it came:
// a test holds one upstream call while it reads what the gateway answered
// before it. A request whose caller leaves first gets a 503.
func (f *FaultUpstream) Hold(arrived chan<- struct{}, release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if arrived != nil {
			select {
			case arrived <- struct{}{}:
			case <-r.Context().Done():
			}
		}
		select {
		case <-release:
			f.proxy.ServeHTTP(w, r)
		case <-r.Context().Done():
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}
}
