package model

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/orgraph/orgraph/internal/identity"
)

// TestScalarsRoundTrip: what the marshallers write, the unmarshallers read
// back, and they refuse what is not a value of the type.
func TestScalarsRoundTrip(t *testing.T) {
	at := identity.Time{Time: time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)}
	var b bytes.Buffer
	MarshalDateTime(at).MarshalGQL(&b)
	s, err := strconv.Unquote(b.String())
	if err != nil {
		t.Fatalf("DateTime wrote %s", b.String())
	}
	if got, err := UnmarshalDateTime(s); err != nil || !got.Equal(at.Time) {
		t.Fatalf("DateTime %s read back as %v, %v", s, got, err)
	}
	for _, bad := range []any{"yesterday", 1700000000, nil} {
		if _, err := UnmarshalDateTime(bad); err == nil {
			t.Errorf("DateTime %v accepted", bad)
		}
	}

	for _, typ := range []identity.Type{identity.TypeBuiltIn, identity.TypeCustom} {
		b.Reset()
		MarshalGroupType(typ).MarshalGQL(&b)
		v, err := strconv.Unquote(b.String())
		if err != nil {
			t.Fatalf("GroupType wrote %s", b.String())
		}
		if got, err := UnmarshalGroupType(v); err != nil || got != typ {
			t.Errorf("GroupType %s read back as %v, %v", v, got, err)
		}
	}
	if _, err := UnmarshalGroupType("ADMIN"); err == nil {
		t.Error("GroupType ADMIN accepted")
	}
}

// TestDateTimeIsWrittenInUTC: DateTime is RFC 3339 in UTC, with the
// fraction the time has and no more, whatever zone the value is in, and
// null for the zero time (a time the upstream did not send).
func TestDateTimeIsWrittenInUTC(t *testing.T) {
	tests := []struct {
		at   identity.Time
		want string
	}{
		{identity.Time{}, "null"},
		{identity.Time{Time: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}, `"2026-03-04T05:06:07Z"`},
		{identity.Time{Time: time.Date(2026, 3, 4, 1, 6, 7, 500000000, time.FixedZone("", -4*3600))}, `"2026-03-04T05:06:07.5Z"`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		MarshalDateTime(tt.at).MarshalGQL(&b)
		if b.String() != tt.want {
			t.Errorf("%v written as %s, want %s", tt.at, b.String(), tt.want)
		}
	}
}
