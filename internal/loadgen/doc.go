// Package loadgen drives load against an orgraph gateway and reports what it
// saw: throughput, latency percentiles, HTTP and GraphQL errors and, when the
// upstream simulator is reachable, how many upstream calls each GraphQL
// request cost.
//
// It exists so that caching and batching changes in the gateway can be judged
// by numbers from the real HTTP path rather than by micro-benchmarks: the
// driver is an ordinary HTTP client, and the simulator's /_sim/counters give
// the upstream side of the same run.
//
// Two load models are offered because they answer different questions. The
// closed loop ([Config.Concurrency]) keeps N requests in flight and measures
// the throughput the gateway can sustain; the open loop ([Config.Rate])
// schedules requests at a fixed rate regardless of answers, so a slow gateway
// shows up as growing latency and dropped requests instead of silently
// lowering the offered load.
//
// Several gateway replicas can be measured as one: [Config.URL] (-url) takes
// a comma-separated list and request n goes to URL n modulo their number, so
// what the replicas share (cache, upstream rate budget) shows in the upstream
// numbers of a single run.
//
// The built-in queries ([Queries], [Lookup]) are exported so tests and
// benchmarks elsewhere in the module can reuse the same documents. Most have
// fixed variables, so after the first request the gateway answers them from
// its cache; a query with a [Query.Spread] (org-by-name-spread) instead walks
// many variable sets in turn, like many users asking for different
// resources, so that a run keeps costing upstream calls and the rate
// governor has something to govern.
//
// Traffic is only sent to loopback hosts unless the caller opts out
// ([CheckTarget]), because a load driver pointed at a shared or production
// host by a typo does real damage.
package loadgen
