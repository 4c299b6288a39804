package loaders_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/loaders"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/wait"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestOrganizationsOfAListAnswerByIDAndByName: within one request, an
// organization that arrived in a page is answered by id and by name from
// the page, with no further call, although nothing is cached: the loaders'
// own priming does it. The Auth0 client goes over HTTP to the simulator.
func TestOrganizationsOfAListAnswerByIDAndByName(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{Organizations: 10})
	hc := upstream.NewClient("auth0", http.DefaultClient, upstream.NewStaticToken(testutil.Auth0Token), 5*time.Second)
	l := loaders.New(loaders.Upstreams{Auth0: auth0.New(base, hc)})
	ctx := upstream.WithRequest(context.Background(), upstream.NewRequest(time.Now()))
	page, err := l.OrganizationsPage(ctx, auth0.PageKey{Take: 5})
	if err != nil || len(page.Organizations) != 5 {
		t.Fatalf("page: %v, %+v", err, page)
	}
	want := page.Organizations[3]
	byID, err := l.OrganizationByID(ctx, want.ID)
	if err != nil || byID == nil || byID.Name != want.Name {
		t.Fatalf("by id: %v, %+v", err, byID)
	}
	byName, err := l.OrganizationByName(ctx, page.Organizations[4].Name)
	if err != nil || byName == nil || byName.ID != page.Organizations[4].ID {
		t.Fatalf("by name: %v, %+v", err, byName)
	}
	if c := sim.Counts(); sim.Total() != 1 || c[upstreamsim.RouteOrganizations] != 1 {
		t.Fatalf("calls %v, want the page alone", c)
	}
}

// TestByNameWaitsForAByIDFetchInFlight: a batch by name that starts while
// a batch by id is fetching waits for it and answers the organization it
// returned, instead of fetching it again by name. The id fetch is held at
// the upstream until the name lookup is either parked waiting (seen in its
// goroutine's stack) or has reached the upstream itself (the bug), so the
// order is forced by signals, not by timing.
func TestByNameWaitsForAByIDFetchInFlight(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{Organizations: 4})
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	release := make(chan struct{})
	var nameAsked, idAsked atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/organizations/name/"):
			nameAsked.Store(true)
		case strings.Contains(r.URL.Path, "/organizations/"):
			idAsked.Store(true)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	frontBase := strings.Replace(base, target.Host, strings.TrimPrefix(front.URL, "http://"), 1)

	hc := upstream.NewClient("auth0", http.DefaultClient, upstream.NewStaticToken(testutil.Auth0Token), 5*time.Second)
	l := loaders.New(loaders.Upstreams{Auth0: auth0.New(frontBase, hc)})
	ctx := upstream.WithRequest(context.Background(), upstream.NewRequest(time.Now()))
	want := sim.Dataset().Organizations[2]

	byID := make(chan error, 1)
	go func() {
		o, err := l.OrganizationByID(ctx, want.ID)
		if err == nil && (o == nil || o.Name != want.Name) {
			err = fmt.Errorf("by id: got %+v", o)
		}
		byID <- err
	}()
	wait.Until(t, idAsked.Load)
	byName := make(chan error, 1)
	go func() {
		o, err := l.OrganizationByName(ctx, want.Name)
		if err == nil && (o == nil || o.ID != want.ID) {
			err = fmt.Errorf("by name: got %+v", o)
		}
		byName <- err
	}()
	wait.Until(t, func() bool { return nameAsked.Load() || parkedInFetch() })
	close(release)
	for _, ch := range []chan error{byID, byName} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
	if c := sim.Counts(); sim.Total() != 1 || c[upstreamsim.RouteOrganization] != 1 {
		t.Errorf("calls %v, want the fetch by id alone", c)
	}
}

// parkedInFetch reports whether some goroutine waits on the organization
// tracker inside a fetch: the name lookup waiting for the fetch
// by id, which nothing else makes visible.
func parkedInFetch() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "[select") && strings.Contains(g, "loaders.(*organizationTracker).awaitIdle") {
			return true
		}
	}
	return false
}
