package identity

import (
	"encoding/json"
	"testing"
	"time"
)

func TestGroupDecodingHandlesTheWireQuirks(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		wantType Type
		created  time.Time
		modified time.Time
		members  []string
	}{
		{"integer type, 7 fractional digits, no offset",
			`{"id":"a","name":"Everyone","type":0,"creationTime":"2021-10-13T18:37:26.6025799","lastModificationTime":"2021-10-13T18:37:26.602463","members":[]}`,
			TypeBuiltIn, time.Date(2021, 10, 13, 18, 37, 26, 602579900, time.UTC), time.Date(2021, 10, 13, 18, 37, 26, 602463000, time.UTC), nil},
		{"swagger string type, null modification time, unknown fields",
			`{"id":"b","name":"x","type":"custom","creationTime":"2025-08-04T06:05:21.8464663","lastModificationTime":null,"members":null,"mappedRole":null,"scope":null,"orphan":false}`,
			TypeCustom, time.Date(2025, 8, 4, 6, 5, 21, 846466300, time.UTC), time.Time{}, nil},
		{"unknown type code, time with offset",
			`{"id":"c","name":"x","type":7,"creationTime":"2021-10-19T14:25:01.6574988+02:00"}`,
			TypeUnknown, time.Date(2021, 10, 19, 12, 25, 1, 657498800, time.UTC), time.Time{}, nil},
		{"unknown member object types are skipped",
			`{"id":"d","name":"x","type":1,"creationTime":"2021-10-19T14:25:01","members":[{"objectType":"DirectoryUser","identifier":"u1"},{"objectType":"DirectoryFutureThing","identifier":"u2"},{"objectType":"DirectoryRobotUser","identifier":"r1"}]}`,
			TypeCustom, time.Date(2021, 10, 19, 14, 25, 1, 0, time.UTC), time.Time{}, []string{"u1", "r1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g Group
			if err := json.Unmarshal([]byte(tc.body), &g); err != nil {
				t.Fatal(err)
			}
			if g.Type != tc.wantType || !g.CreationTime.Equal(tc.created) || !g.LastModificationTime.Equal(tc.modified) {
				t.Fatalf("type=%v created=%v modified=%v", g.Type, g.CreationTime, g.LastModificationTime)
			}
			if len(g.Members) != len(tc.members) {
				t.Fatalf("members %+v", g.Members)
			}
			for i, id := range tc.members {
				if *g.Members[i].Identifier != id {
					t.Fatalf("member %d = %s, want %s", i, *g.Members[i].Identifier, id)
				}
			}
		})
	}
}

func TestBadTimeIsAnError(t *testing.T) {
	var g Group
	if err := json.Unmarshal([]byte(`{"creationTime":"yesterday"}`), &g); err == nil {
		t.Fatal("want an error for an unreadable time")
	}
}

func TestTokenURL(t *testing.T) {
	for base, want := range map[string]string{
		"https://cloud.uipath.com/{organizationName}/identity_": "https://cloud.uipath.com/identity_/connect/token",
		"https://cloud.uipath.com/acme/identity_/":              "https://cloud.uipath.com/acme/identity_/connect/token",
		"http://127.0.0.1:9090/{organizationName}/identity_":    "http://127.0.0.1:9090/identity_/connect/token",
	} {
		if got := TokenURL(base); got != want {
			t.Errorf("TokenURL(%s) = %s, want %s", base, got, want)
		}
	}
}
