package upstream_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// countingTransport counts the response body bytes the client reads.
type countingTransport struct{ read atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &t.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestBodyOverTheBoundIsReadNoFurther: a 200 body longer than MaxBody is an
// upstream error (body_too_large); the client reads at most the bound and
// one byte (nothing when the length is declared), and hangs up instead of
// draining the rest. A body of exactly the bound is an answer.
func TestBodyOverTheBoundIsReadNoFurther(t *testing.T) {
	const bound = 1 << 20
	// {"id":"x","name":"x","display_name":"…"}: 37 bytes around the string.
	const wrapper = len(`{"id":"x","name":"x","display_name":""}`)
	for _, tc := range []struct {
		name     string
		answer   http.HandlerFunc
		maxRead  int64
		tooLarge bool
		dropped  bool // the body is far larger than socket buffers: its writer must see the hang-up
	}{
		{"declared length over the bound", testutil.PaddedBody(`{"id":"x"}`, 100<<20), 0, true, true},
		{"undeclared length over the bound", testutil.HugeJSONString("x", 100<<20), bound + 1, true, true},
		{"undeclared length one byte over", testutil.HugeJSONString("x", int64(bound-wrapper+1)), bound + 1, true, false},
		{"undeclared length at the bound", testutil.HugeJSONString("x", int64(bound-wrapper)), bound + 1, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, base := testutil.StartSimulator(t, upstreamsim.Config{})
			fault := testutil.StartFaultUpstream(t, base)
			answer, written := testutil.CountWritten(tc.answer)
			fault.Fault(http.MethodGet, "/big", answer)
			tr := &countingTransport{}
			c := upstream.NewClient("auth0", &http.Client{Transport: tr}, nil, 30*time.Second)
			c.MaxBody = bound

			var out map[string]any
			err := c.GetJSON(context.Background(), "GET /big", fault.URL+"/big", &out)
			var ue *upstream.Error
			if tc.tooLarge != (errors.As(err, &ue) && ue.Code == "body_too_large" && ue.Kind == upstream.KindOther && ue.Status == 200) {
				t.Fatalf("err = %v, want body_too_large: %v", err, tc.tooLarge)
			}
			if read := tr.read.Load(); read > tc.maxRead {
				t.Fatalf("read %d body bytes, want at most %d", read, tc.maxRead)
			}
			if !tc.dropped {
				return
			}
			select {
			case <-written.Done():
			case <-time.After(time.Minute): // a failure bound, not a measurement
				t.Fatal("the upstream is still writing: the body is being drained")
			}
			if !written.Broken() {
				t.Fatalf("the upstream wrote its whole body (%d bytes): the connection was drained, not dropped", written.Bytes())
			}
		})
	}
}

// TestGatewayMemoryUnderHugeUpstreamBodies runs the gateway binary against
// an upstream whose organizations are 30 MiB each (100 distinct ones) and
// prints the gateway's peak RSS, which must stay under 150 MiB: each body
// is read to the bound and no further, and nothing of it is kept.
func TestGatewayMemoryUnderHugeUpstreamBodies(t *testing.T) {
	const answers, size = 100, 30 << 20
	_, base := testutil.StartSimulator(t, upstreamsim.Config{})
	fault := testutil.StartFaultUpstream(t, base)
	fault.Fault(http.MethodGet, "/api/v2/organizations/*", func(w http.ResponseWriter, r *http.Request) {
		testutil.HugeJSONString(path.Base(r.URL.Path), size)(w, r)
	})
	p := testutil.StartGatewayProcess(t, testutil.UpstreamEnv(fault.URL))
	gw := p.Gateway()
	start, err := testutil.RSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for i := range answers {
		id := "org_huge" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		r := gw.Query(t, `{ organization(id: "`+id+`") { id displayName } }`, nil)
		if len(r.Errors) == 1 && r.Errors[0].Code() == "UPSTREAM_ERROR" {
			refused++
		}
	}
	if n := fault.Hits(http.MethodGet, "/api/v2/organizations/*"); n != answers {
		t.Fatalf("%d upstream requests, want %d", n, answers)
	}
	peak, err := testutil.PeakRSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := testutil.RSS(p.PID)
	t.Logf("gateway RSS after %d distinct %d MiB upstream answers: peak (VmHWM) %d MiB, now %d MiB, at start %d MiB",
		answers, size>>20, peak>>20, now>>20, start>>20)
	if refused != answers {
		t.Errorf("%d of %d oversized answers were refused with UPSTREAM_ERROR", refused, answers)
	}
	if peak >= 150<<20 {
		t.Fatalf("peak RSS %d MiB, want under 150 MiB", peak>>20)
	}
}

// TestGatewayMemoryUnderHugeBodiesAtOnce is the same hostile upstream met by
// one query whose calls go out side by side: a page of 100 organizations
// whose enabled connections each answer 30 MiB. MaxBody bounds each body;
// the bodies read at once are bounded together (BodyMemory), so the peak
// does not grow with the width of a level.
func TestGatewayMemoryUnderHugeBodiesAtOnce(t *testing.T) {
	const orgs, size = 100, 30 << 20
	_, base := testutil.StartSimulator(t, upstreamsim.Config{Organizations: orgs})
	fault := testutil.StartFaultUpstream(t, base)
	fault.Fault(http.MethodGet, "/api/v2/organizations/*", func(w http.ResponseWriter, r *http.Request) {
		testutil.HugeJSONString(r.URL.Path, size)(w, r)
	})
	p := testutil.StartGatewayProcess(t, testutil.UpstreamEnv(fault.URL))
	r := p.Gateway().Query(t, `{ organizations(first: 100) { nodes { id connections { name } } } }`, nil)
	peak, err := testutil.PeakRSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gateway RSS after %d %d MiB upstream answers at once: peak (VmHWM) %d MiB", orgs, size>>20, peak>>20)
	if calls := fault.Hits(http.MethodGet, "/api/v2/organizations/*"); calls != orgs {
		t.Errorf("%d connections calls, want %d", calls, orgs)
	}
	failed := 0
	for _, e := range r.Errors {
		if e.Code() != "UPSTREAM_ERROR" {
			t.Fatalf("error %q (%s), want UPSTREAM_ERROR", e.Message, e.Code())
		}
		failed++
	}
	if failed != orgs {
		t.Errorf("%d of %d connections failed, want all", failed, orgs)
	}
	if peak >= 150<<20 {
		t.Fatalf("peak RSS %d MiB, want under 150 MiB", peak>>20)
	}
}
