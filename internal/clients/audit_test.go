package clients_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/orgraph/orgraph/internal/testutil"
)

// TestGraphQLOverHTTPAudit runs graphql-http's serverAudits (every MUST,
// SHOULD and MAY of the GraphQL-over-HTTP spec, as npm's graphql-http checks
// them) against the demo gateway over real HTTP, with js/audit.mjs. It
// fails, and never skips, when node or js/node_modules is missing:
// scripts/test installs both.
//
// js/ is the home of every JavaScript client test: add a runner script
// there, its npm packages to js/package.json (`npm install --save-exact`,
// commit package-lock.json), and a Go test here that starts it with runNode.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	gw := testutil.StartGateway(t, map[string]string{})
	out := runNode(t, nil, "audit.mjs", gw.URL+"/graphql")
	count := regexp.MustCompile(`(?m)^\d+ passed, 0 failed$`).FindString(out)
	if count == "" {
		t.Fatalf("the audit did not report its count: %s", out)
	}
	testutil.Figures(t, "graphql-http serverAudits against the demo: %s", count)
}

// runNode runs node with args (node's own flags, then a script in js/ and
// its arguments) and stdin (nil: none), fails the test when it exits
// non-zero, and returns its combined output.
func runNode(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	node, dir := nodeProject(t, "js")
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// nodeProject returns the node binary and the absolute path of one of this
// package's npm projects, failing the test (never skipping it) when node or
// the project's installed packages are missing.
func nodeProject(t *testing.T, project string) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for the JavaScript client tests (scripts/test installs Debian's nodejs): %v", err)
	}
	if dir, err = filepath.Abs(project); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("%s/node_modules is missing: run `npm ci` there (scripts/test does)", dir)
	}
	return node, dir
}
