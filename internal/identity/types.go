package identity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/orgraph/orgraph/internal/upstream"
)

// Group is a UiPath group as GET /api/Group sends it. Type and the times are
// decoded through their own types because the wire disagrees with the
// published swagger (integers for enums, local times without an offset).
type Group struct {
	ID                   string  `json:"id"`
	Name                 string  `json:"name"`
	DisplayName          string  `json:"displayName,omitempty"`
	Type                 Type    `json:"type"`
	CreationTime         Time    `json:"creationTime"`
	LastModificationTime Time    `json:"lastModificationTime"`
	Members              Members `json:"members"`
}

// Type is a group's kind. The live API sends integer codes; the swagger
// declares the strings builtIn/custom, so both are read.
type Type int

// Group types. TypeUnknown stands for a code this gateway does not know.
const (
	TypeBuiltIn Type = 0
	TypeCustom  Type = 1
	TypeUnknown Type = -1
)

// UnmarshalJSON reads an integer code or a swagger enum string.
func (t *Type) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = TypeUnknown
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "builtIn", "BuiltIn", "0":
			*t = TypeBuiltIn
		case "custom", "Custom", "1":
			*t = TypeCustom
		default:
			*t = TypeUnknown
		}
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || (n != int(TypeBuiltIn) && n != int(TypeCustom)) {
		*t = TypeUnknown
		return nil
	}
	*t = Type(n)
	return nil
}

// MarshalJSON writes the integer code, as the upstream does.
func (t Type) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(t), 10), nil }

// Time is a UiPath timestamp. The API sends .NET local times with seven
// fractional digits and no offset ("2021-10-19T14:25:01.6574988"); they are
// read as UTC. Times with an offset are read as they are. The zero Time means
// null or absent.
type Time struct{ time.Time }

const wireTimeLayout = "2006-01-02T15:04:05.9999999"

// UnmarshalJSON reads an offset-less or RFC 3339 time, or null. It looks
// at the string once to tell which form it is and parses it once, in that
// form: the wire's offset-less form is by far the common one.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 && bytes.IndexByte(b[1:len(b)-1], '"') < 0 {
		s = string(b[1 : len(b)-1]) // no escapes: the bytes are the string
	} else if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	if hasOffset(s) {
		parsed, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		t.Time = parsed.UTC()
		return nil
	}
	parsed, err := time.ParseInLocation(wireTimeLayout, s, time.UTC)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// hasOffset reports whether a time string ends in a zone: Z, or +hh:mm or
// -hh:mm after the time of day (the date's own dashes come before the T).
func hasOffset(s string) bool {
	last := s[len(s)-1]
	if last == 'Z' || last == 'z' {
		return true
	}
	tPos := strings.IndexAny(s, "Tt")
	return tPos >= 0 && strings.ContainsAny(s[tPos:], "+-")
}

// MarshalJSON writes the wire format back (null for the zero Time).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format("2006-01-02T15:04:05.0000000"))
}

// DirectoryEntity is a group member. The upstream sends null for unset
// strings, so they are pointers.
type DirectoryEntity struct {
	ObjectType  string  `json:"objectType"`
	Identifier  *string `json:"identifier"`
	Source      *string `json:"source"`
	Name        *string `json:"name"`
	Email       *string `json:"email"`
	DisplayName *string `json:"displayName"`
	FirstName   *string `json:"firstName"`
	LastName    *string `json:"lastName"`
	JobTitle    *string `json:"jobTitle"`
	CompanyName *string `json:"companyName"`
	City        *string `json:"city"`
	Department  *string `json:"department"`
}

// knownObjectTypes are the member kinds of the DirectoryEntity discriminator.
// Anything else is skipped rather than failing the whole group.
var knownObjectTypes = map[string]bool{
	"DirectoryUser":        true,
	"DirectoryGroup":       true,
	"DirectoryRobotUser":   true,
	"DirectoryApplication": true,
}

// Members is a group's member list with unknown object types dropped.
type Members []DirectoryEntity

// UnmarshalJSON decodes the members and keeps only known object types.
func (m *Members) UnmarshalJSON(b []byte) error {
	var all []DirectoryEntity
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	kept := all[:0]
	for _, e := range all {
		if knownObjectTypes[e.ObjectType] {
			kept = append(kept, e)
		}
	}
	*m = kept
	return nil
}

// MemberList is the group's members, never nil (the schema's list is
// non-null).
func (g *Group) MemberList() []DirectoryEntity {
	if g.Members == nil {
		return []DirectoryEntity{}
	}
	return g.Members
}

// decodeGroups decodes a group list into a fresh, never nil, slice. The
// list must be a JSON array (null is not an empty list: it decodes without
// error and would be cached as one) and every group must have its id.
func decodeGroups(body []byte) ([]Group, error) {
	var groups []Group
	if err := json.Unmarshal(body, &groups); err != nil {
		return nil, err
	}
	if !startsWith(body, '[') { // null: the one other value that decodes
		return nil, fmt.Errorf("%w: a group list that is not a JSON array", upstream.ErrMalformed)
	}
	for i := range groups {
		if err := groups[i].check(); err != nil {
			return nil, err
		}
	}
	if groups == nil {
		groups = []Group{}
	}
	return groups, nil
}

// decodeGroup decodes one group into a fresh value: a JSON object with its
// id.
func decodeGroup(body []byte) (*Group, error) {
	g := new(Group)
	if err := json.Unmarshal(body, g); err != nil {
		return nil, err
	}
	if !startsWith(body, '{') { // null
		return nil, fmt.Errorf("%w: a group that is not a JSON object", upstream.ErrMalformed)
	}
	if err := g.check(); err != nil {
		return nil, err
	}
	return g, nil
}

// check refuses a group without id: it would be a phantom group with id "".
func (g *Group) check() error {
	if g.ID == "" {
		return fmt.Errorf("%w: a group without id", upstream.ErrMalformed)
	}
	return nil
}

// startsWith reports whether body's first non-space byte is b.
func startsWith(body []byte, b byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == b
}
