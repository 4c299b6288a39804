package testutil

import (
	"testing"

	"github.com/orgraph/orgraph/internal/upstreamsim"
)

func TestGatewayProcessServesAndReportsItsMemory(t *testing.T) {
	_, base := StartSimulator(t, upstreamsim.Config{})
	p := StartGatewayProcess(t, UpstreamEnv(base))
	r := p.Gateway().Query(t, `{ organization(id: "org_Hg7bQ2mN4pLk9TzA") { name } }`, nil)
	var data struct{ Organization struct{ Name string } }
	r.Decode(t, &data)
	if data.Organization.Name != "hogwarts" {
		t.Fatalf("name = %q: %s", data.Organization.Name, r.Raw)
	}
	peak, err := PeakRSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	now, err := RSS(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	if now <= 0 || peak < now {
		t.Fatalf("RSS %d, peak %d", now, peak)
	}
	t.Logf("gateway process %d: RSS %d MiB, peak %d MiB", p.PID, now>>20, peak>>20)
}
