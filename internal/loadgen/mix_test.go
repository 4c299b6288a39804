package loadgen

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    string // Mix.String of the result
		wantErr string
	}{
		{"", "orgs-connections:1,orgs-groups-members:1,user-orgs-connections:1,organization:1,org-by-id-name-user:1,groups:1,org-by-name-spread:1", ""},
		{"  ", "orgs-connections:1,orgs-groups-members:1,user-orgs-connections:1,organization:1,org-by-id-name-user:1,groups:1,org-by-name-spread:1", ""},
		{"org-by-name-spread", "org-by-name-spread:1", ""},
		{"organization,user-orgs-connections,org-by-id-name-user,groups,org-by-name-spread:2", "organization:1,user-orgs-connections:1,org-by-id-name-user:1,groups:1,org-by-name-spread:2", ""},
		{"org-by-name-spread,org-by-name-spread:2", "", "named twice"},
		{"orgs-connections", "orgs-connections:1", ""},
		{"user-orgs-connections:3,orgs-connections", "user-orgs-connections:3,orgs-connections:1", ""},
		{" groups : 2 , organization ", "groups:2,organization:1", ""},
		{"groups:1000", "groups:1000", ""},
		{"nope", "", `unknown query "nope"`},
		{"groups,nope:2", "", `unknown query "nope"`},
		{"groups:0", "", "weight"},
		{"groups:-1", "", "weight"},
		{"groups:1001", "", "weight"},
		{"groups:x", "", "weight"},
		{"groups:", "", "weight"},
		{":3", "", "empty query name"},
		{"groups,,organization", "", "empty query name"},
		{"groups,", "", "empty query name"},
		{"groups,groups:2", "", "named twice"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			m, err := ParseMix(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.String(); got != tc.want {
				t.Fatalf("mix = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestScheduleInterleavesByWeight(t *testing.T) {
	q := Query{Name: "q"}
	tests := []struct {
		name    string
		weights []int
		want    []int
	}{
		{"single", []int{1}, []int{0}},
		{"equal", []int{1, 1, 1}, []int{0, 1, 2}},
		{"three to one", []int{3, 1}, []int{0, 0, 1, 0}},
		{"two to two", []int{2, 2}, []int{0, 1, 0, 1}},
		{"five to two", []int{5, 2}, []int{0, 1, 0, 0, 0, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Mix
			for _, w := range tc.weights {
				m = append(m, MixEntry{Query: q, Weight: w})
			}
			if got := m.schedule(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("schedule = %v, want %v", got, tc.want)
			}
		})
	}
}
