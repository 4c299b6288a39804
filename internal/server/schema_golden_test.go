package server_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"

	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestIntrospectedSchemaIsGolden keeps the schema that clients generate code
// from (the introspection answer) from changing by accident: a change to
// schema.graphqls must come with `go test ./internal/server -run Golden
// -update` and a reviewed diff of testdata/schema.golden.json.
func TestIntrospectedSchemaIsGolden(t *testing.T) {
	gw, sim := testutil.StartGatewayOnSimulator(t, upstreamsim.Config{}, nil)
	resp := gw.Query(t, introspection.Query, nil)
	if len(resp.Errors) > 0 {
		t.Fatalf("introspection: %s", resp.Raw)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, resp.Data, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "schema.golden.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("the introspected schema changed; if on purpose, run go test ./internal/server -run Golden -update and review the diff of %s", golden)
	}
	if sim.Total() != 0 {
		t.Fatalf("introspection made %d upstream calls", sim.Total())
	}
}
