package persisted

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadManifest(t *testing.T) {
	q := `query A { __typename }`
	h := Hash(q)
	tests := []struct {
		name, content, wantErr string
	}{
		{"apollo", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"` + h + `","body":"query A { __typename }","name":"A","type":"query"}]}`, ""},
		{"hash map", `{"` + h + `":"query A { __typename }"}`, ""},
		{"hash of other text", `{"` + h + `":"query B { __typename }"}`, "does not match"},
		{"empty", `{}`, "no operations"},
		{"not JSON", `hello`, "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := LoadManifest(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || m[h] != q {
				t.Fatalf("manifest %v, err %v", m, err)
			}
		})
	}
	if _, err := LoadManifest(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("a missing file must fail")
	}
}
