package loadgen

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGateway is a tiny GraphQL endpoint: the driver is a client, and what
// these tests check is its counting, so the server only has to answer in the
// right shape and count what it received.
type fakeGateway struct {
	*httptest.Server
	requests atomic.Int64

	mu    sync.Mutex
	byOp  map[string]int
	bodys []requestBody
}

// startFake serves /graphql with answer(n, w), n being the 1-based number of
// the request, and everything else with mux (which may be nil).
func startFake(t *testing.T, answer func(n int64, w http.ResponseWriter, r *http.Request), mux *http.ServeMux) *fakeGateway {
	t.Helper()
	f := &fakeGateway{byOp: map[string]int{}}
	if mux == nil {
		mux = http.NewServeMux()
	}
	mux.HandleFunc("POST /graphql", func(w http.ResponseWriter, r *http.Request) {
		n := f.requests.Add(1)
		var body requestBody
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil || body.Query == "" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.byOp[body.OperationName]++
		f.bodys = append(f.bodys, body)
		f.mu.Unlock()
		if answer == nil {
			writeData(w)
			return
		}
		answer(n, w, r)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func writeData(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"data":{}}`)
}

// testConfig is a valid config aimed at url, bounded by requests; the long
// duration is only a safety net, the request limit ends the run.
func testConfig(url string, requests int64) Config {
	return Config{
		URL:         url,
		Mix:         DefaultMix(),
		Concurrency: 4,
		MaxInFlight: 100,
		Duration:    30 * time.Second,
		Requests:    requests,
		Timeout:     5 * time.Second,
	}
}
