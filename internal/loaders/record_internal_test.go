package loaders

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/auth0"
	"github.com/orgraph/orgraph/internal/upstream"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// TestOneOrganizationByIDAndByNameIsFetchedOnce: a batch that asks for one
// organization by id and by name fetches it by id only and answers the name
// from it; after that, a lookup either way is answered from the request's
// record without a batch (the loader is never made) and without a call.
// Nothing is cached: the record alone does it. The client goes over HTTP to
// the simulator (internal/testutil imports this package, so it is not used).
func TestOneOrganizationByIDAndByNameIsFetchedOnce(t *testing.T) {
	const token = "test-token"
	sim := upstreamsim.New(upstreamsim.Config{Organizations: 3, Auth0Tokens: map[string][]string{token: upstreamsim.AllAuth0Scopes()}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	hc := upstream.NewClient("auth0", http.DefaultClient, upstream.NewStaticToken(token), 5*time.Second)
	l := New(Upstreams{Auth0: auth0.New(srv.URL, hc)})
	ctx := upstream.WithRequest(context.Background(), upstream.NewRequest(time.Now()))
	want := sim.Dataset().Organizations[1]

	res := l.fetchOrganizations(ctx, []OrganizationKey{{Name: want.Name}, {ID: want.ID}})
	for i, r := range res {
		if r == nil || r.Error != nil || r.Data == nil || r.Data.ID != want.ID || r.Data.Name != want.Name {
			t.Fatalf("result %d = %+v; want %s (%s)", i, r, want.ID, want.Name)
		}
	}
	if c := sim.Counts(); sim.Total() != 1 || c[upstreamsim.RouteOrganization] != 1 {
		t.Fatalf("calls %v, want the fetch by id alone", c)
	}

	byName, err := l.OrganizationByName(ctx, want.Name)
	if err != nil || byName != res[0].Data {
		t.Fatalf("by name: %v, %+v; want the value the batch fetched", err, byName)
	}
	byID, err := l.OrganizationByID(ctx, want.ID)
	if err != nil || byID != res[1].Data {
		t.Fatalf("by id: %v, %+v; want the value the batch fetched", err, byID)
	}
	if l.organization.loader != nil {
		t.Error("a recorded organization went through a batch")
	}
	if n := sim.Total(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}
