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
