package testutil

import (
	"embed"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// Recordings are real upstream response bodies (see testdata/recordings/*.source.txt).
//
//go:embed testdata/recordings/*.json
var Recordings embed.FS

// Recording returns one recorded body by name (without .json).
func Recording(t testing.TB, name string) []byte {
	t.Helper()
	b, err := Recordings.ReadFile("testdata/recordings/" + name + ".json")
	if err != nil {
		t.Fatalf("recording %s: %v", name, err)
	}
	return b
}

// Reply is what a replay route answers.
type Reply struct {
	Status int
	Body   []byte
	Header map[string]string
}

// Replay is an HTTP server that answers recorded bodies by route. A route key
// is "METHOD escaped-path", optionally followed by "?from=<value>" to tell
// checkpoint pages apart. It records every request's Authorization header.
type Replay struct {
	URL    string
	mu     sync.Mutex
	routes map[string]Reply
	hits   map[string]int
	auth   []string
}

// StartReplay serves routes until the test ends. Unknown routes answer 599 so
// a test cannot pass by accident on a path it did not mean.
func StartReplay(t testing.TB, routes map[string]Reply) *Replay {
	t.Helper()
	rp := &Replay{routes: routes, hits: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(rp.serve))
	t.Cleanup(srv.Close)
	rp.URL = srv.URL
	return rp
}

func (rp *Replay) serve(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.EscapedPath()
	if from := r.URL.Query().Get("from"); from != "" {
		key += "?from=" + from
	}
	rp.mu.Lock()
	reply, ok := rp.routes[key]
	rp.hits[key]++
	rp.auth = append(rp.auth, r.Header.Get("Authorization"))
	rp.mu.Unlock()
	if !ok {
		http.Error(w, "no recording for "+strconv.Quote(key), 599)
		return
	}
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(reply.Body)
}

// Hits returns how often key was requested.
func (rp *Replay) Hits(key string) int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.hits[key]
}

// Authorizations returns the Authorization headers seen, in order.
func (rp *Replay) Authorizations() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.auth...)
}
