package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// peerQueries are the three queries of the peer benchmark
// (../shared/bench: Q1, Q2, Q3), in this schema's shape.
var peerQueries = []struct{ name, query string }{
	{"Q1", `query Q1 { organizations(first: 50) { nodes { id name connections { name strategy } } } }`},
	{"Q2", `query Q2($id: ID!) { user(id: $id) { id organizations { id name connections { name } } } }`},
	{"Q3", `query Q3 { organizations(first: 20) { nodes { id name groups { name members { email } } } } }`},
}

// peerData is shaped like the peer benchmark's data where the three queries
// look: 2–4 connections an organization, a user in 5 organizations, a
// partition of its own per organization with 6 groups of about 10 members.
var peerData = upstreamsim.Config{
	Organizations: 60, ConnectionsPerOrg: 3,
	Users: 20, MembershipsPerUser: 5,
	Partitions: 60, GroupsPerPartition: 4, MembersPerGroup: 10,
}

// BenchmarkPeerQueries runs Q1–Q3 of the peer benchmark on warm data,
// through the gateway's whole HTTP handler (middleware, response cache,
// gqlgen, loaders, the data layer) in-process, with no network in the way:
//
//   - executed: RESPONSE_CACHE=false (and RESPONSE_COALESCING=false, as
//     compare.sh's executed column needs under 32 connections; this loop is
//     sequential anyway), every operation is parsed (from the
//     query cache), validated, executed and marshalled, from the in-process
//     tier of decoded values;
//   - response-cache: the default, an operation seen before is answered
//     with its stored bytes.
//
// Besides ns/op and allocs/op it reports cpu-ms/op (the process's user and
// system CPU over the loop, per operation: the figure compare.sh reports per
// query, without the HTTP server's own parsing), upstream-calls/op (0 when
// warm) and batches/op (many-key lookups per operation, from the access
// log).
//
//	go test ./internal/server -run '^$' -bench PeerQueries -benchtime 2000x
func BenchmarkPeerQueries(b *testing.B) {
	for _, mode := range []struct {
		name string
		env  map[string]string
	}{
		{"executed", map[string]string{"RESPONSE_CACHE": "false", "RESPONSE_COALESCING": "false"}},
		{"response-cache", nil},
	} {
		b.Run(mode.name, func(b *testing.B) {
			env := map[string]string{"LOG_LEVEL": "info"}
			for k, v := range mode.env {
				env[k] = v
			}
			gw, sim := testutil.StartGatewayOnSimulator(b, peerData, env)
			ds := sim.Dataset()
			vars := map[string]any{"id": ds.Users[len(ds.Users)-1].UserID}
			for _, q := range peerQueries {
				body, err := json.Marshal(map[string]any{"query": q.query, "variables": vars})
				if err != nil {
					b.Fatal(err)
				}
				b.Run(q.name, func(b *testing.B) { benchmarkWarm(b, gw, sim, body) })
			}
		})
	}
}

func benchmarkWarm(b *testing.B, gw *testutil.Gateway, sim *upstreamsim.Simulator, body []byte) {
	w := &discardWriter{header: http.Header{}}
	serve := func() {
		w.reset()
		req, _ := http.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		gw.Handler.ServeHTTP(w, req)
		if w.status != http.StatusOK || w.n < 100 || bytes.Contains(w.head.Bytes(), []byte(`"errors"`)) {
			b.Fatalf("bad answer: status %d, %d bytes, %s", w.status, w.n, w.head.Bytes())
		}
	}
	serve() // warm: everything it needs is now in-process
	serve()
	calls0 := sim.Total()
	logged := strings.Count(gw.Logs.String(), "\n")
	b.ReportAllocs()
	cpu0 := cpuTime()
	ops := 0
	for b.Loop() {
		serve()
		ops++
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(ops), "cpu-ms/op")
	b.ReportMetric(float64(sim.Total()-calls0)/float64(ops), "upstream-calls/op")
	b.ReportMetric(batchesPerRequest(b, gw.Logs.String(), logged), "batches/op")
}

// batchesPerRequest averages upstream_batches over the access-log lines
// after the first skip lines.
func batchesPerRequest(b *testing.B, logs string, skip int) float64 {
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	var lines, batches int
	for i := 0; sc.Scan(); i++ {
		if i < skip {
			continue
		}
		var l struct {
			Msg     string `json:"msg"`
			Batches int    `json:"upstream_batches"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "request" {
			lines++
			batches += l.Batches
		}
	}
	if lines == 0 {
		b.Fatal("no access-log lines")
	}
	return float64(batches) / float64(lines)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardWriter is a ResponseWriter that keeps the status, the size and
// the first bytes of the body.
type discardWriter struct {
	header http.Header
	status int
	n      int
	head   bytes.Buffer
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status, w.n = 0, 0
	w.head.Reset()
}

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := 64 - w.head.Len(); room > 0 {
		w.head.Write(p[:min(room, len(p))])
	}
	w.n += len(p)
	return len(p), nil
}
