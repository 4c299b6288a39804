package clients_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	orgraph "github.com/orgraph/orgraph"
	"github.com/orgraph/orgraph/internal/testutil"
)

// readmeCodegenConfig is the README's codegen.yml block: the test runs the
// settings a reader copies, not a copy of them.
var readmeCodegenConfig = regexp.MustCompile("(?s)```yaml\n(# codegen\\.yml\n.*?)```")

// TestGraphQLCodegenSettingsWork runs GraphQL Code Generator (npm, pinned in
// js/package.json) with the README's codegen.yml over this schema and the
// README's example operations, and checks what it writes: one result type
// per operation, nullable fields kept nullable, DateTime typed. It fails when
// the README's settings, its operations (an unnamed one is refused) or the
// schema stop generating a usable client.
func TestGraphQLCodegenSettingsWork(t *testing.T) {
	node, js := nodeProject(t, "js")
	bin := filepath.Join(js, "node_modules", "@graphql-codegen", "cli", "cjs", "bin.js")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is missing: run `npm ci` in %s (scripts/test does)", bin, js)
	}
	_, file, _, _ := runtime.Caller(0)
	readme, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := readmeCodegenConfig.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no ```yaml block starting with # codegen.yml")
	}

	// Inside js/, so that the plugins resolve from its node_modules.
	dir, err := os.MkdirTemp(js, "codegen-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	files := map[string]string{
		"codegen.yml":        string(m[1]),
		"schema.graphql":     orgraph.Schema,
		"operations.graphql": strings.Join(testutil.ReadmeQueries(t), "\n"),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, bin, "--config", "codegen.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("graphql-codegen with the README's settings: %v\n%s", err, out)
	}
	generated, err := os.ReadFile(filepath.Join(dir, "generated.ts"))
	if err != nil {
		t.Fatal(err)
	}
	ts := string(generated)
	for _, want := range []string{
		"export type UserWithOrganizationsQuery = ",
		"export type OrganizationsPageQuery = ",
		"export type OrganizationWithMembersAndGroupsQuery = ",
		"export type PartitionGroupsQuery = ",
		"isSignupEnabled: boolean | null", // nullable stays nullable, and present
		"DateTime: { input: string; output: string; }",
		"export type GroupType =", // enumsAsTypes
	} {
		if !strings.Contains(ts, want) {
			t.Errorf("generated.ts lacks %q", want)
		}
	}
}
