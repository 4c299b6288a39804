package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/events"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

const eventSecret = "test-events-secret-0123456789"

var eventAuth = events.Auth{Method: events.AuthBearer, Secret: eventSecret}

// eventReplicas starts a simulator and two replicas sharing one Redis, with
// CACHE_TTL=1h and the webhook on, and points the simulator's deliveries at
// the first replica.
func eventReplicas(t *testing.T, cfg upstreamsim.Config, extra map[string]string) (*upstreamsim.Simulator, []*testutil.Gateway) {
	t.Helper()
	sim, base := testutil.StartSimulator(t, cfg)
	redisEnv, _ := redistest.Env(t)
	env := with(with(with(testutil.UpstreamEnv(base), redisEnv), map[string]string{
		"CACHE_TTL":           "1h",
		"CACHE_NOT_FOUND_TTL": "1h",
		"AUTH0_EVENTS_SECRET": eventSecret,
	}), extra)
	gws := []*testutil.Gateway{testutil.StartGateway(t, env), testutil.StartGateway(t, env)}
	sim.SetWebhook(gws[0].URL+events.Path, eventAuth.Apply)
	return sim, gws
}

const (
	qOrganization = `query($id: ID!) { organization(id: $id) { id name displayName connections { id name showAsButton } members(first: 50) { nodes { id name email } } } }`
	qByName       = `query($name: String!) { organizationByName(name: $name) { id name } }`
	qUser         = `query($id: ID!) { user(id: $id) { id name email organizations { id name } } }`
	qList         = `{ organizations(first: 50) { totalCount edges { node { id name } } } }`
)

type eventQuery struct {
	doc  string
	vars map[string]any
}

func (q eventQuery) String() string { return fmt.Sprintf("%.40s %v", q.doc, q.vars) }

// answer runs q on gw and returns its data as JSON, failing on errors.
func answer(t *testing.T, gw *testutil.Gateway, q eventQuery) string {
	t.Helper()
	resp := gw.Query(t, q.doc, q.vars)
	if len(resp.Errors) > 0 {
		t.Fatalf("%s: %s", q, resp.Raw)
	}
	return string(resp.Data)
}

// TestEventsPurgeWhatChangedOnEveryReplica is the end-to-end run: two
// replicas on one Redis, CACHE_TTL=1h, the simulator delivering Auth0's
// events. For each event type the data it changed is served changed by both
// replicas on the next query after the webhook answered, with the exact
// upstream calls that re-reading it needs (one replica fetches, the other
// reads what it wrote to Redis), while data the event did not touch costs
// no upstream call on either.
func TestEventsPurgeWhatChangedOnEveryReplica(t *testing.T) {
	sim, gws := eventReplicas(t, upstreamsim.Config{Organizations: 8, Users: 10, MembershipsPerUser: 2, ConnectionsPerOrg: 2}, nil)
	ds := sim.Dataset()
	ctx := context.Background()

	// The cast: org (changed), other (never touched, nor are its members),
	// joiner (a user in neither), member (in org, not in other).
	var org, other, joiner, member, doomed string
	for _, o := range ds.Organizations {
		if strings.HasPrefix(o.ID, "org_") && len(ds.Members[o.ID]) > 0 && len(ds.Connections[o.ID]) > 0 {
			if org == "" {
				org = o.ID
			} else if other == "" && !overlaps(ds.Members[o.ID], ds.Members[org]) {
				other = o.ID
			}
		}
	}
	for _, u := range ds.Users {
		in := ds.UserOrganizations[u.UserID]
		switch {
		case joiner == "" && len(in) > 0 && !slices.Contains(in, org) && !slices.Contains(in, other):
			joiner = u.UserID
		case member == "" && slices.Contains(in, org) && !slices.Contains(in, other):
			member = u.UserID
		}
	}
	for _, o := range ds.Organizations {
		if o.ID != org && o.ID != other && !overlaps(ds.Members[o.ID], ds.Members[other]) {
			doomed = o.ID
		}
	}
	if org == "" || other == "" || joiner == "" || member == "" || doomed == "" {
		t.Fatalf("the dataset lacks the cast: org %q other %q joiner %q member %q doomed %q", org, other, joiner, member, doomed)
	}
	orgName := mustOrg(t, ds, org).Name
	unrelated := []eventQuery{{qOrganization, map[string]any{"id": other}}}
	for _, uid := range ds.Members[other] {
		unrelated = append(unrelated, eventQuery{qUser, map[string]any{"id": uid}})
	}
	conn := ds.Connections[org][0].ConnectionID

	type check struct {
		q    eventQuery
		want string // a substring of the answer (or, with "!", one it must lack)
	}
	cases := []struct {
		name   string
		change func() (upstreamsim.Delivery, error)
		checks []check
		calls  int64 // upstream calls both replicas together need for checks
	}{
		{
			name: "organization.updated: a rename",
			change: func() (upstreamsim.Delivery, error) {
				return sim.UpdateOrganization(ctx, org, upstreamsim.OrganizationChange{Name: "renamed-org", DisplayName: "Renamed Org"})
			},
			checks: []check{
				{eventQuery{qOrganization, map[string]any{"id": org}}, `"name":"renamed-org","displayName":"Renamed Org"`},
				{eventQuery{qByName, map[string]any{"name": "renamed-org"}}, `"id":"` + org},
				{eventQuery{qByName, map[string]any{"name": orgName}}, `"organizationByName":null`},
				{eventQuery{qList, nil}, `"renamed-org"`},
				{eventQuery{qUser, map[string]any{"id": member}}, `"renamed-org"`},
			},
			// by id (which answers the new name too), the old name (404),
			// the list page, the member's organization list.
			calls: 4,
		},
		{
			name:   "organization.member.added",
			change: func() (upstreamsim.Delivery, error) { return sim.AddMember(ctx, org, joiner) },
			checks: []check{
				{eventQuery{qOrganization, map[string]any{"id": org}}, `"id":"` + joiner},
				{eventQuery{qUser, map[string]any{"id": joiner}}, `"id":"` + org},
			},
			calls: 2, // the members page, the joiner's organizations
		},
		{
			name:   "organization.member.deleted",
			change: func() (upstreamsim.Delivery, error) { return sim.RemoveMember(ctx, org, joiner) },
			checks: []check{
				{eventQuery{qOrganization, map[string]any{"id": org}}, `!"id":"` + joiner},
				{eventQuery{qUser, map[string]any{"id": joiner}}, `!"id":"` + org},
			},
			calls: 2,
		},
		{
			name: "organization.connection.added",
			change: func() (upstreamsim.Delivery, error) {
				return sim.EnableConnection(ctx, org, upstreamsim.ConnectionChange{ConnectionID: "con_EventTestAdded01", Name: "event-test-added"})
			},
			checks: []check{{eventQuery{qOrganization, map[string]any{"id": org}}, `"event-test-added"`}},
			calls:  1, // the enabled connections
		},
		{
			name: "organization.connection.updated",
			change: func() (upstreamsim.Delivery, error) {
				shown := true
				return sim.UpdateConnection(ctx, org, "con_EventTestAdded01", upstreamsim.ConnectionChange{ShowAsButton: &shown})
			},
			checks: []check{{eventQuery{qOrganization, map[string]any{"id": org}}, `"name":"event-test-added","showAsButton":true`}},
			calls:  1,
		},
		{
			name:   "organization.connection.removed",
			change: func() (upstreamsim.Delivery, error) { return sim.RemoveConnection(ctx, org, conn) },
			checks: []check{{eventQuery{qOrganization, map[string]any{"id": org}}, `!"id":"` + conn}},
			calls:  1,
		},
		{
			name: "user.updated",
			change: func() (upstreamsim.Delivery, error) {
				return sim.UpdateUser(ctx, member, upstreamsim.UserChange{Name: "Renamed Member", Email: "renamed.member@example.com"})
			},
			checks: []check{
				{eventQuery{qUser, map[string]any{"id": member}}, `"name":"Renamed Member","email":"renamed.member@example.com"`},
				{eventQuery{qOrganization, map[string]any{"id": org}}, `"name":"Renamed Member","email":"renamed.member@example.com"`},
			},
			calls: 2, // the profile, the members page showing it
		},
		{
			name: "organization.created",
			change: func() (upstreamsim.Delivery, error) {
				return sim.CreateOrganization(ctx, upstreamsim.OrganizationChange{ID: "org_EventTestCreated1", Name: "event-test-created", DisplayName: "Created"})
			},
			checks: []check{
				{eventQuery{qByName, map[string]any{"name": "event-test-created"}}, `"id":"org_EventTestCreated1"`},
				{eventQuery{qList, nil}, `"event-test-created"`},
			},
			calls: 3, // the name (a remembered 404), the list page, the count
		},
		{
			name:   "organization.deleted",
			change: func() (upstreamsim.Delivery, error) { return sim.DeleteOrganization(ctx, doomed) },
			checks: []check{
				{eventQuery{qOrganization, map[string]any{"id": doomed}}, `"organization":null`},
				{eventQuery{qList, nil}, `!"` + doomed},
			},
			calls: 3, // the organization (404), the list page, the count
		},
		{
			name:   "user.deleted",
			change: func() (upstreamsim.Delivery, error) { return sim.DeleteUser(ctx, member) },
			checks: []check{
				{eventQuery{qUser, map[string]any{"id": member}}, `{"user":null}`},
				{eventQuery{qOrganization, map[string]any{"id": org}}, `!"id":"` + jsonEscaped(member)},
			},
			calls: 2, // the profile (404: the user is null), the members page
		},
	}

	// Warm both replicas with everything the cases read, before and after.
	var all []eventQuery
	for _, c := range cases {
		for _, ch := range c.checks {
			all = append(all, ch.q)
		}
	}
	all = append(all, unrelated...)
	for _, gw := range gws {
		for _, q := range all {
			answer(t, gw, q)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			del, err := c.change()
			if err != nil || del.Status != http.StatusOK {
				t.Fatalf("change: %v, delivery %+v", err, del)
			}
			sim.Reset()
			for _, gw := range gws {
				for _, ch := range c.checks {
					got := answer(t, gw, ch.q)
					if lacks, ok := strings.CutPrefix(ch.want, "!"); ok {
						if strings.Contains(got, lacks) {
							t.Errorf("%s: still shows %s: %s", ch.q, lacks, got)
						}
					} else if !strings.Contains(got, ch.want) {
						t.Errorf("%s: want %s, got %s", ch.q, ch.want, got)
					}
				}
			}
			if got := sim.Total(); got != c.calls {
				t.Errorf("re-reading what changed cost %d upstream calls on both replicas, want %d: %v", got, c.calls, sim.Counts())
			}
			sim.Reset()
			for _, gw := range gws {
				for _, q := range unrelated {
					answer(t, gw, q)
				}
			}
			if got := sim.Total(); got != 0 {
				t.Errorf("data the event did not touch cost %d upstream calls, want 0: %v", got, sim.Counts())
			}
		})
	}
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func mustOrg(t *testing.T, ds *upstreamsim.Dataset, id string) upstreamsim.Organization {
	t.Helper()
	o, ok := ds.OrganizationByID(id)
	if !ok {
		t.Fatalf("no organization %s", id)
	}
	return o
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// deliver posts body to gw's webhook with header h and returns the status
// and answer.
func deliver(t *testing.T, gw *testutil.Gateway, h http.Header, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, gw.URL+events.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	return testutil.Do(t, req)
}

func cloudEvent(id, typ string, at time.Time, object any) []byte {
	b, _ := json.Marshal(map[string]any{"specversion": "1.0", "id": id, "type": typ, "source": "urn:auth0:test",
		"time": at.UTC().Format(time.RFC3339Nano), "data": map[string]any{"object": object}})
	return b
}

func authorized() http.Header {
	h := http.Header{}
	eventAuth.Apply(h)
	return h
}

// TestEventDeliveries: what each kind of delivery is answered and whether it
// purges. The query reads an organization with its members on both
// replicas; a purge of its members costs exactly one upstream call after it
// (one replica fetches, the other reads that from Redis), no purge none.
func TestEventDeliveries(t *testing.T) {
	sim, gws := eventReplicas(t, upstreamsim.Config{Organizations: 3, Users: 4, MembershipsPerUser: 1, ConnectionsPerOrg: 1}, nil)
	ds := sim.Dataset()
	org := ds.Organizations[len(ds.Organizations)-1].ID
	q := eventQuery{qOrganization, map[string]any{"id": org}}
	memberAdded := func(id string, at time.Time) []byte {
		return cloudEvent(id, events.OrganizationMemberAdded, at, map[string]any{
			"organization": map[string]any{"id": org}, "user": map[string]any{"user_id": "auth0|someone"}})
	}
	wrongSecret := http.Header{"Authorization": {"Bearer not-the-secret-0123456789"}}
	basic := http.Header{}
	(events.Auth{Method: events.AuthBasic, Secret: eventSecret}).Apply(basic)
	now := time.Now()
	huge := append(memberAdded("evt_huge", now)[:0:0], memberAdded("evt_huge", now)...)
	huge = append(huge[:len(huge)-1], []byte(`,"padding":"`+strings.Repeat("x", 2<<20)+`"}`)...)

	cases := []struct {
		name       string
		header     http.Header
		body       []byte
		to         int // replica
		wantStatus int
		wantBody   string
		purges     bool
	}{
		{"no authorization", http.Header{}, memberAdded("evt_noauth", now), 0, 401, `"code":"UNAUTHENTICATED"`, false},
		{"a wrong secret", wrongSecret, memberAdded("evt_wrong", now), 1, 401, `"code":"UNAUTHENTICATED"`, false},
		{"basic for a bearer stream", basic, memberAdded("evt_basic", now), 0, 401, `"code":"UNAUTHENTICATED"`, false},
		{"a 2 MB body", authorized(), huge, 0, 413, `"status":"refused"`, false},
		{"not JSON", authorized(), []byte("<html>"), 0, 400, `"code":"BAD_REQUEST"`, false},
		{"not a CloudEvent", authorized(), []byte(`{"id":"evt_x","type":"organization.member.added"}`), 0, 400, `"code":"BAD_REQUEST"`, false},
		{"a known type without its ids", authorized(), cloudEvent("evt_noids", events.OrganizationMemberAdded, now, map[string]any{}), 0, 400, `"code":"BAD_REQUEST"`, false},
		{"a type the gateway does not act on", authorized(), cloudEvent("evt_other", "user.created", now, map[string]any{"user_id": "auth0|x"}), 0, 200, `"status":"ignored"`, false},
		{"an event older than the cached data", authorized(), memberAdded("evt_old", now.Add(-time.Hour)), 0, 200, `"status":"applied"`, false},
		{"an event", authorized(), memberAdded("evt_applied", time.Now()), 0, 200, `"status":"applied"`, true},
		{"the same event again, to the other replica", authorized(), memberAdded("evt_applied", time.Now()), 1, 200, `"status":"duplicate"`, false},
	}
	for _, gw := range gws {
		answer(t, gw, q)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim.Reset()
			status, body := deliver(t, gws[c.to], c.header, c.body)
			if status != c.wantStatus || !strings.Contains(body, c.wantBody) {
				t.Fatalf("answered %d %s, want %d with %s", status, body, c.wantStatus, c.wantBody)
			}
			if strings.Contains(body, org) || strings.Contains(body, "data") {
				t.Errorf("the answer carries data: %s", body)
			}
			for _, gw := range gws {
				answer(t, gw, q)
			}
			want := int64(0)
			if c.purges {
				want = 1
			}
			if got := sim.Total(); got != want {
				t.Errorf("the query cost %d upstream calls after the delivery, want %d: %v", got, want, sim.Counts())
			}
		})
	}
	// The metrics count each delivery by outcome, and the entries purged:
	// on each replica the stored response and the in-process members page,
	// once; the first replica also finds the old page in Redis, the second
	// reads the one the first wrote after the event.
	for i, want := range []map[string]string{
		{`orgraph_events_total{outcome="applied"}`: "2", `orgraph_events_total{outcome="refused"}`: "6",
			`orgraph_events_total{outcome="ignored"}`: "1", `orgraph_events_total{outcome="duplicate"}`: "0"},
		{`orgraph_events_total{outcome="applied"}`: "0", `orgraph_events_total{outcome="refused"}`: "1",
			`orgraph_events_total{outcome="duplicate"}`: "1"},
	} {
		want[`orgraph_cache_entries_purged_total{tier="local"}`] = "1"
		want[`orgraph_cache_entries_purged_total{tier="response"}`] = "1"
		want[`orgraph_cache_entries_purged_total{tier="redis"}`] = map[int]string{0: "1", 1: "0"}[i]
		_, metrics := testutil.Get(t, gws[i].URL+"/metrics")
		for series, n := range want {
			if !strings.Contains(metrics, "\n"+series+" "+n+"\n") {
				t.Errorf("replica %d: want %s %s", i, series, n)
			}
		}
	}
	// The access log has a line per delivery, without the secret.
	for _, gw := range gws {
		logs := gw.Logs.String()
		if !strings.Contains(logs, `"msg":"event"`) || strings.Contains(logs, eventSecret) {
			t.Errorf("access log: want event lines without the secret")
		}
	}
}

// TestEventWhileAReplicaIsCutOffFromRedis: a replica whose connection to
// Redis is cut while an event is delivered to another does not serve what
// the event purged once it is back: its subscription reloads every cut-off
// when it subscribes again.
func TestEventWhileAReplicaIsCutOffFromRedis(t *testing.T) {
	sim, base := testutil.StartSimulator(t, upstreamsim.Config{Organizations: 3, Users: 4, MembershipsPerUser: 1, ConnectionsPerOrg: 1})
	redisEnv, _ := redistest.Env(t)
	env := with(with(testutil.UpstreamEnv(base), redisEnv), map[string]string{
		"CACHE_TTL": "1h", "AUTH0_EVENTS_SECRET": eventSecret,
	})
	a := testutil.StartGateway(t, env)
	proxy := testutil.StartProxy(t, strings.TrimSuffix(strings.TrimPrefix(redistest.URL(), "redis://"), "/0"))
	b := testutil.StartGateway(t, with(env, map[string]string{"REDIS_URL": "redis://" + proxy.Addr() + "/0"}))
	sim.SetWebhook(a.URL+events.Path, eventAuth.Apply)

	ds := sim.Dataset()
	var org, joiner string
	for _, o := range ds.Organizations {
		for _, u := range ds.Users {
			if !slices.Contains(ds.Members[o.ID], u.UserID) {
				org, joiner = o.ID, u.UserID
			}
		}
	}
	q := eventQuery{qOrganization, map[string]any{"id": org}}
	for _, gw := range []*testutil.Gateway{a, b} {
		if got := answer(t, gw, q); strings.Contains(got, joiner) {
			t.Fatalf("already a member: %s", got)
		}
	}
	synced, next := b.Server.Events.Synced()
	proxy.Cut()
	del, err := sim.AddMember(context.Background(), org, joiner)
	if err != nil || del.Status != http.StatusOK {
		t.Fatalf("change: %v, delivery %+v", err, del)
	}
	proxy.Restore()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-next:
		case <-deadline:
			t.Fatal("the cut-off replica did not subscribe again within 20s")
		}
		var n uint64
		if n, next = b.Server.Events.Synced(); n > synced {
			break
		}
	}
	sim.Reset()
	if got := answer(t, b, q); !strings.Contains(got, joiner) {
		t.Errorf("the replica that was cut off serves what the event purged: %s", got)
	}
	if got := sim.Total(); got != 1 {
		t.Errorf("re-reading the members cost %d upstream calls, want 1: %v", got, sim.Counts())
	}
}
