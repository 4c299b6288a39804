package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/orgraph/orgraph/internal/loadgen"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// BenchmarkNestedQueries runs the load driver's named queries through the
// whole stack over loopback HTTP: gateway, loaders, upstream client and the
// simulator (0 ms latency). It reports ns/op, allocs/op and upstream
// calls/op, in two modes:
//
//   - uncached (CACHE_TTL=0): each op is a new request after the previous
//     one finished, so nothing is shared between ops and calls/op is what
//     one query costs cold: the loaders' work;
//   - cached (the default in-process cache): the hot path of a repeated
//     query, answered from the in-process tier.
//
// allocs/op counts the whole process, the in-process simulator and the
// benchmark's HTTP client included.
//
//	go test ./internal/server -run '^$' -bench NestedQueries -benchtime 300x
func BenchmarkNestedQueries(b *testing.B) {
	for _, mode := range []struct {
		name string
		env  map[string]string
	}{
		{"uncached", map[string]string{"CACHE_TTL": "0"}},
		{"cached", nil},
	} {
		b.Run(mode.name, func(b *testing.B) { benchmarkQueries(b, mode.env) })
	}
}

func benchmarkQueries(b *testing.B, env map[string]string) {
	gw, sim := testutil.StartGatewayOnSimulator(b, upstreamsim.Config{
		Organizations: 60, ConnectionsPerOrg: 2, Partitions: 4, GroupsPerPartition: 2, MembersPerGroup: 3,
		Users: 20, MembershipsPerUser: 3,
	}, env)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for _, q := range loadgen.Queries() {
		body, err := q.Body()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(q.Name, func(b *testing.B) {
			sim.Reset()
			ops := 0
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Post(gw.URL+"/graphql", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				var out struct {
					Data   json.RawMessage
					Errors []any
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || len(out.Errors) > 0 || len(out.Data) < 10 {
					b.Fatalf("%s: bad answer %v %v", q.Name, err, out.Errors)
				}
				ops++
			}
			b.ReportMetric(float64(sim.Total())/float64(ops), "upstream-calls/op")
		})
	}
}
