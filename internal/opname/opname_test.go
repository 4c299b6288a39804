package opname

import (
	"strings"
	"testing"
)

func TestBound(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "anonymous"},
		{"UserOrgs_2", "UserOrgs_2"},
		{strings.Repeat("a", 100), strings.Repeat("a", 64)},
		{"bad name", "invalid"},
		{"x\ny", "invalid"},
	}
	for _, tt := range tests {
		if got := Bound(tt.in); got != tt.want {
			t.Errorf("Bound(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
