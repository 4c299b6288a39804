package persisted

import (
	"context"
	"fmt"
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

// TestStoreLocalTierIsBoundedInBytes: however many distinct queries of the
// largest size are registered, the in-process tier keeps at most localBytes
// of them, and the most recent are still there.
func TestStoreLocalTierIsBoundedInBytes(t *testing.T) {
	s := NewStore(StoreConfig{MaxBytes: DefaultMaxBytes})
	var last string
	for i := range 2 * localBytes / DefaultMaxBytes {
		q := fmt.Sprintf("query Q%d { __typename }", i)
		last = q + strings.Repeat(" ", DefaultMaxBytes-len(q))
		s.Add(context.Background(), Hash(last), last)
	}
	if s.localBytes > localBytes || s.local.Len() == 0 {
		t.Fatalf("in-process tier holds %d bytes in %d entries, bound %d", s.localBytes, s.local.Len(), localBytes)
	}
	if q, ok := s.Get(context.Background(), Hash(last)); !ok || q != last {
		t.Fatal("the latest query is gone")
	}
	tooLarge := strings.Repeat(" ", DefaultMaxBytes+1)
	s.Add(context.Background(), Hash(tooLarge), tooLarge)
	if _, ok := s.Get(context.Background(), Hash(tooLarge)); ok {
		t.Fatal("a query over the bound was kept")
	}
}
