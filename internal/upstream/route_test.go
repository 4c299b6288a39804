package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/cache"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstream"
)

// thing is what the test routes decode to.
type thing struct{ Key string }

// keyServer answers /k/{key} with {"Key": key}, /k/missing with a 404 and
// /k/fail with a 400, and records the paths it was asked for.
type keyServer struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
	hold  func() // run inside each request before it answers
}

func newKeyServer(t *testing.T) *keyServer {
	s := &keyServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		hold := s.hold
		s.mu.Unlock()
		if hold != nil {
			hold()
		}
		key := strings.TrimPrefix(r.URL.Path, "/k/")
		switch key {
		case "missing":
			http.Error(w, `{"statusCode":404,"error":"Not Found","message":"No organization found by that id or name"}`, http.StatusNotFound)
		case "fail":
			http.Error(w, `{"statusCode":400,"error":"Bad Request","message":"no"}`, http.StatusBadRequest)
		default:
			_ = json.NewEncoder(w).Encode(thing{Key: key})
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *keyServer) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.paths)
}

// decodeCounter is a Recorder that counts decoded bodies.
type decodeCounter struct{ upstream, redis atomic.Int64 }

func (*decodeCounter) UpstreamRequest(string, string, int, time.Duration) {}
func (*decodeCounter) CacheLookups(string, string, string, int)           {}
func (*decodeCounter) RateLimitRemaining(string, int)                     {}
func (d *decodeCounter) Decoded(_, _, source string) {
	if source == "redis" {
		d.redis.Add(1)
	} else {
		d.upstream.Add(1)
	}
}

func thingRoute(base string) *upstream.Route[string, *thing] {
	return upstream.NewRoute("GET /k/{key}",
		func(dst []byte, k string) ([]byte, error) {
			if k == "" {
				return dst, errors.New("empty key")
			}
			return append(dst, base+"/k/"+upstream.PathEscape(k)...), nil
		},
		func(body []byte) (*thing, error) {
			v := new(thing)
			return v, json.Unmarshal(body, v)
		}, nil)
}

func newThingClient(c *cache.Cache, concurrency int) (*upstream.Client, *decodeCounter) {
	cl := upstream.NewClient("auth0", http.DefaultClient, nil, 5*time.Second)
	cl.Cache, cl.Concurrency = c, concurrency
	d := &decodeCounter{}
	cl.Metrics = d
	return cl, d
}

// TestGetManyAnswersEveryKeyInKeyOrder: one Result per key, in key order: a
// value, Found false for a 404, the error for a failure or a refused key
// (which costs no request).
func TestGetManyAnswersEveryKeyInKeyOrder(t *testing.T) {
	srv := newKeyServer(t)
	c, _ := newThingClient(nil, 4)
	keys := []string{"z", "missing", "a", "fail", "", "m"}
	res := upstream.GetMany(context.Background(), c, thingRoute(srv.URL), keys)
	if len(res) != len(keys) {
		t.Fatalf("%d results for %d keys", len(res), len(keys))
	}
	for i, k := range keys {
		r := res[i]
		switch k {
		case "missing":
			if r.Found || r.Err != nil || r.Value != nil {
				t.Errorf("%q: %+v, want not found", k, r)
			}
		case "fail":
			var ue *upstream.Error
			if !errors.As(r.Err, &ue) || ue.Status != http.StatusBadRequest {
				t.Errorf("%q: %+v, want the upstream's 400", k, r)
			}
		case "":
			if r.Err == nil {
				t.Errorf("refused key answered %+v", r)
			}
		default:
			if r.Err != nil || !r.Found || r.Value.Key != k {
				t.Errorf("%q: %+v", k, r)
			}
		}
	}
	if n := len(srv.asked()); n != 5 {
		t.Fatalf("%d requests, want 5 (the refused key costs none)", n)
	}
}

// TestGetManyBoundsItsConcurrency: with Concurrency 3, ten keys go out
// three at a time: the server holds each request until three are in flight
// (or two seconds pass), so a lookup that sent fewer at once, or more,
// shows a different peak.
func TestGetManyBoundsItsConcurrency(t *testing.T) {
	srv := newKeyServer(t)
	var inFlight, peak atomic.Int32
	var mu sync.Mutex
	three := sync.NewCond(&mu)
	srv.hold = func() {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		mu.Lock()
		defer mu.Unlock()
		three.Broadcast()
		deadline := time.Now().Add(2 * time.Second)
		for inFlight.Load() < 3 && time.Now().Before(deadline) {
			go func() { time.Sleep(10 * time.Millisecond); three.Broadcast() }()
			three.Wait()
		}
	}
	c, _ := newThingClient(nil, 3)
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"}
	for _, r := range upstream.GetMany(context.Background(), c, thingRoute(srv.URL), keys) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak of %d requests in flight, want 3", p)
	}
}

// TestGetManySendsOverflowInURLOrder: more keys than may go at once are
// sent in URL order, whatever order they were asked in, so identical
// lookups side by side send the same requests at the same moments.
func TestGetManySendsOverflowInURLOrder(t *testing.T) {
	srv := newKeyServer(t)
	c, _ := newThingClient(nil, 1)
	upstream.GetMany(context.Background(), c, thingRoute(srv.URL), []string{"d", "b", "a", "c"})
	if got := strings.Join(srv.asked(), " "); got != "/k/a /k/b /k/c /k/d" {
		t.Fatalf("requests in order %s", got)
	}
}

// TestWarmLookupsDecodeNothingAndShareOneValue: a body is decoded once per
// process: the first lookup decodes what it fetched, the next ones decode
// nothing and get the very same value; a second replica sharing Redis
// decodes each entry once from Redis, in one round trip, then nothing.
func TestWarmLookupsDecodeNothingAndShareOneValue(t *testing.T) {
	srv := newKeyServer(t)
	rdb, prefix := redistest.Client(t)
	commands := redistest.CountCommands(rdb)
	newCache := func() *cache.Cache {
		c, err := cache.New(cache.Config{Redis: rdb, Prefix: prefix, TTL: time.Minute, StaleTTL: time.Hour, NotFoundTTL: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	route := thingRoute(srv.URL)
	keys := []string{"a", "b", "c", "missing"}
	ctx := context.Background()

	first, decoded := newThingClient(newCache(), 4)
	commands.Reset()
	cold := upstream.GetMany(ctx, first, route, keys)
	if n := decoded.upstream.Load(); n != 3 {
		t.Fatalf("cold lookup decoded %d bodies, want 3 (a 404 has none)", n)
	}
	if n := commands.Load(); n != 2 {
		t.Fatalf("cold lookup took %d Redis round trips, want 2 (one read, one write)", n)
	}
	commands.Reset()
	for range 3 {
		warm := upstream.GetMany(ctx, first, route, keys)
		for i := range 3 {
			if warm[i].Value != cold[i].Value {
				t.Fatalf("key %s: a warm lookup got another value than the one decoded", keys[i])
			}
		}
		if warm[3].Found || warm[3].Err != nil {
			t.Fatalf("cached 404: %+v", warm[3])
		}
	}
	if n := decoded.upstream.Load() + decoded.redis.Load(); n != 3 {
		t.Fatalf("warm lookups decoded %d more bodies, want none", n-3)
	}
	if n := commands.Load(); n != 0 {
		t.Fatalf("warm lookups took %d Redis round trips", n)
	}

	replica, decodedThere := newThingClient(newCache(), 4)
	commands.Reset()
	for range 3 {
		res := upstream.GetMany(ctx, replica, route, keys)
		if res[0].Value.Key != "a" || res[3].Found {
			t.Fatalf("replica: %+v", res)
		}
	}
	if n := decodedThere.redis.Load(); n != 3 || decodedThere.upstream.Load() != 0 {
		t.Fatalf("replica decoded %d from Redis and %d from upstream, want 3 and 0", n, decodedThere.upstream.Load())
	}
	if n := commands.Load(); n != 1 {
		t.Fatalf("replica took %d Redis round trips, want 1", n)
	}
	if n := len(srv.asked()); n != 4 {
		t.Fatalf("%d upstream requests, want 4", n)
	}
}

// TestRelatedEntriesAnswerTheOtherRoute: a value fetched by one route is
// also kept under the URLs its related entries name, so the other route
// finds it without a request.
func TestRelatedEntriesAnswerTheOtherRoute(t *testing.T) {
	srv := newKeyServer(t)
	c, err := cache.New(cache.Config{TTL: time.Minute, StaleTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, _ := newThingClient(c, 1)
	alias := upstream.NewRoute("GET /alias/{key}", func(dst []byte, k string) ([]byte, error) { return append(dst, srv.URL+"/alias/"+k...), nil },
		func([]byte) (*thing, error) { return nil, errors.New("never decoded") }, nil)
	withRelated := upstream.NewRoute("GET /k/{key}", func(dst []byte, k string) ([]byte, error) { return append(dst, srv.URL+"/k/"+k...), nil },
		func(body []byte) (*thing, error) { v := new(thing); return v, json.Unmarshal(body, v) },
		func(v *thing, body []byte) []upstream.Related {
			return []upstream.Related{{URL: srv.URL + "/alias/" + v.Key, Value: v, Body: body}}
		})
	got := upstream.Get(context.Background(), cl, withRelated, "x")
	other := upstream.Get(context.Background(), cl, alias, "x")
	if other.Err != nil || other.Value != got.Value {
		t.Fatalf("related entry: %+v, want the value %p", other, got.Value)
	}
	if n := len(srv.asked()); n != 1 {
		t.Fatalf("%d requests, want 1: %v", n, srv.asked())
	}
}
