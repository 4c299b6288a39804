package model

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/orgraph/orgraph/internal/identity"
)

// MarshalDateTime writes a UiPath time as RFC 3339 in UTC, or null when unset.
func MarshalDateTime(t identity.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		b := make([]byte, 0, 40)
		b = append(b, '"')
		b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
		_, _ = w.Write(b)
	})
}

// UnmarshalDateTime reads an RFC 3339 time. The schema takes no DateTime
// arguments today, but gqlgen binds a scalar both ways and its generated code
// calls this, so it cannot go; TestScalarsRoundTrip keeps it right.
func UnmarshalDateTime(v any) (identity.Time, error) {
	s, ok := v.(string)
	if !ok {
		return identity.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return identity.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string")
	}
	return identity.Time{Time: t.UTC()}, nil
}

// MarshalGroupType writes a group type as its enum value, or null for a code
// this gateway does not know.
func MarshalGroupType(t identity.Type) graphql.Marshaler {
	switch t {
	case identity.TypeBuiltIn:
		return graphql.MarshalString("BUILT_IN")
	case identity.TypeCustom:
		return graphql.MarshalString("CUSTOM")
	default:
		return graphql.Null
	}
}

// UnmarshalGroupType reads a GroupType enum value. No argument takes one
// today; gqlgen's generated code calls it all the same (see UnmarshalDateTime).
func UnmarshalGroupType(v any) (identity.Type, error) {
	switch v {
	case "BUILT_IN":
		return identity.TypeBuiltIn, nil
	case "CUSTOM":
		return identity.TypeCustom, nil
	}
	return identity.TypeUnknown, fmt.Errorf("%s is not a valid GroupType", strconv.Quote(fmt.Sprint(v)))
}
