package upstreamsim

import (
	"net/http"
	"regexp"
	"testing"
)

// docGetAllGroups is the UiPath "Get All Groups" documentation example, which the hogwarts
// partition reproduces exactly.
const docGetAllGroups = `[
{"id":"ce684f6f-5af3-4e43-8516-1adad6e98fc9","name":"Everyone","displayName":"Everyone","type":0,"creationTime":"2021-10-13T18:37:26.6025799","lastModificationTime":"2021-10-13T18:37:26.6025799","members":[]},
{"id":"35551807-06b1-4cda-90a1-2fb84851eee7","name":"Administrators","displayName":"Administrators","type":0,"creationTime":"2021-10-13T18:37:26.602463","lastModificationTime":"2021-10-13T18:37:26.6024632","members":[]},
{"id":"9577fe24-a113-4f53-a1b5-8acbcd803c39","name":"DaniC","displayName":"DaniC","type":1,"creationTime":"2021-10-14T18:17:14.0952117","lastModificationTime":"2021-10-14T18:17:28.6967052","members":[
{"objectType":"DirectoryUser","firstName":"Hermione","lastName":"Granger","jobTitle":null,"companyName":null,"city":null,"department":null,"displayName":"Hermione Granger","source":"local","identifier":"ce07aff0-79fc-4f4f-af38-299880191695","name":"Hermione","email":"hermione@hogwarts.com"},
{"objectType":"DirectoryUser","firstName":"Harry","lastName":"Potter","jobTitle":null,"companyName":null,"city":null,"department":null,"displayName":"Harry Potter","source":"local","identifier":"ea23b7d6-c7bc-4fc2-9ec9-4613e3365d8a","name":"Harry","email":"harry@hogwarts.com"},
{"objectType":"DirectoryUser","firstName":"Ron","lastName":"Weasley","jobTitle":null,"companyName":null,"city":null,"department":null,"displayName":"Ron Weasley","source":"local","identifier":"ecde4791-a7f3-4fd8-9fa7-b37511e4e019","name":"Ron","email":"ron@hogwarts.com"}]},
{"id":"4d161738-7204-4794-b839-8f7fed28366c","name":"Automation Developers","displayName":"Automation Developers","type":0,"creationTime":"2021-10-13T18:37:26.6025676","lastModificationTime":"2021-10-13T18:37:26.6025676","members":[]}
]`

func TestIdentityGroupList(t *testing.T) {
	e := newEnv(t, Config{})
	for _, base := range []string{"/hogwarts/identity_", "/HOGWARTS/identity_", "/identity_", "/" + PartitionHogwartsID + "/identity_"} {
		t.Run(base, func(t *testing.T) {
			r := e.get(t, base+"/api/Group/"+PartitionHogwartsID).wantStatus(t, http.StatusOK)
			jsonEqual(t, r.body, docGetAllGroups)
			if compact(string(r.body)) != compact(docGetAllGroups) {
				t.Fatalf("key order or formatting differs from the documentation:\n%s", r.body)
			}
		})
	}
	if n := e.sim.Count(RouteGroups); n != 4 {
		t.Fatalf("count = %d", n)
	}
}

func TestIdentityErrors(t *testing.T) {
	e := newEnv(t, Config{})
	problem := regexp.MustCompile(`^\{"errors":\{"(\w+)":\["The value '([^']*)' is not valid\."\]\},"type":"https://tools\.ietf\.org/html/rfc9110#section-15\.5\.1","title":"One or more validation errors occurred\.","status":400,"traceId":"00-[0-9a-f]{32}-[0-9a-f]{16}-00"\}$`)
	tests := []struct {
		name   string
		path   string
		status int
		body   string // exact body, or "problem:<field>" for a ProblemDetails on that field
	}{
		{"org name does not own partition", "/hogwarts/identity_/api/Group/" + PartitionDurmstrangID, 403, recIdentityForbidden},
		{"org name mismatch on group", "/durmstrang/identity_/api/Group/" + PartitionHogwartsID + "/" + GroupDaniCID, 403, recIdentityForbidden},
		{"unknown partition", "/hogwarts/identity_/api/Group/00000000-0000-4000-8000-000000000000", 404, recIdentityNotFound},
		{"partition not a uuid", "/hogwarts/identity_/api/Group/DatacomGroup", 400, "problem:partitionGlobalId"},
		{"group not a uuid", "/hogwarts/identity_/api/Group/" + PartitionHogwartsID + "/2512", 400, "problem:groupId"},
		{"unknown group", "/hogwarts/identity_/api/Group/" + PartitionHogwartsID + "/00000000-0000-4000-8000-000000000000", 404, recIdentityNotFound},
		{"group of another partition", "/durmstrang/identity_/api/Group/" + PartitionDurmstrangID + "/" + GroupDaniCID, 404, recIdentityNotFound},
		{"members top out of range", "/hogwarts/identity_/api/Group/" + PartitionHogwartsID + "/" + GroupDaniCID + "/Members?top=1001", 400, ""},
		{"members top not integer", "/hogwarts/identity_/api/Group/" + PartitionHogwartsID + "/" + GroupDaniCID + "/Members?top=x", 400, "problem:top"},
		{"unknown user", "/hogwarts/identity_/api/User/00000000-0000-4000-8000-000000000000", 404, recIdentityNotFound},
		{"unknown route", "/hogwarts/identity_/api/Nope", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(t, tc.path).wantStatus(t, tc.status)
			switch {
			case len(tc.body) > 8 && tc.body[:8] == "problem:":
				m := problem.FindStringSubmatch(string(r.body))
				if m == nil || m[1] != tc.body[8:] {
					t.Fatalf("body = %s", r.body)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
					t.Fatalf("content type %q", ct)
				}
			case tc.body != "":
				r.wantBody(t, tc.status, tc.body)
			}
		})
	}
}

func TestIdentityGroupAndMembers(t *testing.T) {
	e := newEnv(t, Config{})
	base := "/hogwarts/identity_/api/Group/" + PartitionHogwartsID + "/" + GroupDaniCID
	var g Group
	e.get(t, base).wantStatus(t, http.StatusOK).decode(t, &g)
	if g.Name != "DaniC" || len(g.Members) != 3 || g.Type != GroupTypeCustom {
		t.Fatalf("group = %+v", g)
	}
	tests := []struct {
		query string
		want  string
	}{
		{"", `{"totalCount":3,"results":[{"id":"ce07aff0-79fc-4f4f-af38-299880191695","type":0},{"id":"ea23b7d6-c7bc-4fc2-9ec9-4613e3365d8a","type":0},{"id":"ecde4791-a7f3-4fd8-9fa7-b37511e4e019","type":0}]}`},
		{"?top=1&skip=1", `{"totalCount":3,"results":[{"id":"ea23b7d6-c7bc-4fc2-9ec9-4613e3365d8a","type":0}]}`},
		{"?top=0", `{"totalCount":3,"results":[]}`},
		{"?skip=3", `{"totalCount":3,"results":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			e.get(t, base+"/Members"+tc.query).wantBody(t, http.StatusOK, tc.want)
		})
	}
	// The robot account in durmstrang's Administrators keeps its own objectType and UserType.
	admins := "/durmstrang/identity_/api/Group/" + PartitionDurmstrangID + "/" + GroupAdministratorsID
	r := e.get(t, admins).wantStatus(t, http.StatusOK)
	jsonEqual(t, r.body, `{"id":"35551807-06b1-4cda-90a1-2fb84851eee7","name":"Administrators","displayName":"Administrators","type":0,
		"creationTime":"2022-02-07T09:12:44.1871904","lastModificationTime":"2022-02-07T09:30:02.5518764","members":[
		{"objectType":"DirectoryUser","firstName":"Igor","lastName":"Karkaroff","jobTitle":null,"companyName":null,"city":null,"department":null,
		 "displayName":"Igor Karkaroff","source":"local","identifier":"0b7c1e6a-2f4d-4c1b-9a8e-5d6f7a8b9c0d","name":"igor","email":"igor@durmstrang.example"},
		{"objectType":"DirectoryRobotUser","displayName":"CI Robot","source":"local","identifier":"6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","name":"robot-ci","email":null}]}`)
	e.get(t, admins+"/members?top=5").wantBody(t, http.StatusOK,
		`{"totalCount":2,"results":[{"id":"0b7c1e6a-2f4d-4c1b-9a8e-5d6f7a8b9c0d","type":0},{"id":"6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","type":4}]}`)
	if n := e.sim.Count(RouteGroupMembers); n != 5 {
		t.Fatalf("members count = %d", n)
	}
}

func TestIdentityUser(t *testing.T) {
	e := newEnv(t, Config{})
	var u IdentityUser
	r := e.get(t, "/hogwarts/identity_/api/User/"+DirectoryUserHermioneID).wantStatus(t, http.StatusOK)
	r.decode(t, &u)
	if u.ID != DirectoryUserHermioneID || u.Email != "hermione@hogwarts.com" || u.Surname != "Granger" ||
		len(u.GroupIDs) != 1 || u.GroupIDs[0] != GroupDaniCID || u.LastLoginTime == nil {
		t.Fatalf("user = %+v", u)
	}
	keys := r.keys(t)
	if len(keys) != 17 {
		t.Fatalf("UserDto has %d keys: %v", len(keys), keys)
	}
	// A robot account is not a user.
	e.get(t, "/identity_/api/User/"+DirectoryRobotCIID).wantBody(t, http.StatusNotFound, recIdentityNotFound)
}
