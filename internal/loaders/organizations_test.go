package loaders_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/loaders"
	"github.com/orgraph/orgraph/internal/testutil"
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
