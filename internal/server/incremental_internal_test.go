package server

import (
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// TestPatchAt: a deferred fragment's data goes in at its path, fields in
// their order, values copied as they are.
func TestPatchAt(t *testing.T) {
	for _, tc := range []struct {
		name, data, patch, want string
		path                    ast.Path
	}{
		{"replaces a deferred null in place", `{"a":1,"b":null,"c":3}`, `{"b":[1,2]}`, `{"a":1,"b":[1,2],"c":3}`, nil},
		{"into a list element", `{"u":{"l":[{"id":1,"x":null},{"id":2,"x":null}]}}`, `{"x":"<&>"}`, `{"u":{"l":[{"id":1,"x":null},{"id":2,"x":"<&>"}]}}`, ast.Path{ast.PathName("u"), ast.PathName("l"), ast.PathIndex(1)}},
		{"a nested fragment's null never replaces a value", `{"a":{"b":1},"c":"v"}`, `{"a":{"b":null,"d":2},"c":null}`, `{"a":{"b":1,"d":2},"c":"v"}`, nil},
		{"fields not there yet go last", `{"a":1}`, `{"b":2,"a":3}`, `{"a":3,"b":2}`, nil},
		{"numbers kept as sent", `{"n":null}`, `{"n":12345678901234567890}`, `{"n":12345678901234567890}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := patchAt([]byte(tc.data), tc.path, []byte(tc.patch))
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, data string
		path       ast.Path
	}{
		{"the parent is null", `{"u":null}`, ast.Path{ast.PathName("u")}},
		{"no such field", `{"u":{}}`, ast.Path{ast.PathName("v")}},
		{"index out of the list", `{"l":[{}]}`, ast.Path{ast.PathName("l"), ast.PathIndex(3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := patchAt([]byte(tc.data), tc.path, []byte(`{"x":1}`)); err == nil {
				t.Fatalf("got %s, want the fragment dropped", got)
			}
		})
	}
}
