package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/orgraph/orgraph"

// allowed lists, for every package of the module, the packages of the module
// it may import directly (ARCHITECTURE.md, "Who may import whom"). A package
// missing from this list fails the test: a new package states its place.
// Packages outside the module are not checked.
var allowed = map[string][]string{
	// The composition root: main (process-wide state: GC, loggers) and the
	// wiring it runs, which testutil runs too so that tests build gateways
	// the way main does. Only these two join the HTTP layer to the upstream
	// clients' constructors and the demo's simulator.
	"cmd/orgraph": {"*"},
	"internal/gateway": {"internal/auth", "internal/auth0", "internal/cache", "internal/config", "internal/events",
		"internal/identity", "internal/loaders", "internal/metrics", "internal/persisted", "internal/purge",
		"internal/ratelimit", "internal/redisconn", "internal/respcache", "internal/server", "internal/tracing",
		"internal/upstream", "internal/upstreamsim"},
	"cmd/upstreamsim": {"internal/upstreamsim"},
	"cmd/loaddriver":  {"internal/loadgen"},
	"cmd/gqlgen":      {},
	"":                {}, // the module root: the schema text

	// HTTP: the handler, transports, request scope, access log, readiness.
	"internal/server": {"", "graph", "internal/apperr", "internal/auth", "internal/ide", "internal/limits",
		"internal/loaders", "internal/metrics", "internal/opname", "internal/persisted", "internal/respcache",
		"internal/tracing", "internal/upstream", "internal/events", "internal/purge"},

	// GraphQL: generated code and thin resolvers that ask a loader and map.
	"graph":       {"graph/model", "internal/apperr", "internal/auth", "internal/auth0", "internal/identity", "internal/loaders", "internal/marshal", "internal/pager"},
	"graph/model": {"internal/auth0", "internal/identity"},

	// Per-request batching over the typed upstream clients.
	"internal/loaders": {"internal/auth0", "internal/identity", "internal/upstream"},

	// The typed upstream clients, and the one data layer under them.
	"internal/auth0":    {"internal/purge", "internal/upstream"},
	"internal/identity": {"internal/upstream"},
	"internal/upstream": {"internal/cache", "internal/purge", "internal/tracing/calls"},

	// Request checks before execution.
	"internal/limits":    {"internal/apperr", "internal/upstream"},
	"internal/persisted": {"internal/redisconn"},
	"internal/auth":      {},

	// Stores and the governor.
	"internal/cache":     {"internal/purge", "internal/redisconn"},
	"internal/respcache": {"internal/purge"},
	"internal/ratelimit": {"internal/redisconn", "internal/upstream"},
	"internal/redisconn": {},

	// Freshness: the Auth0 Event Streams webhook, and the table of purges
	// (tags' cut-offs) that every cache tier checks.
	"internal/events": {"internal/purge"},
	"internal/purge":  {},

	// Observers: both may use opname; neither imports the other.
	"internal/metrics":       {"internal/opname", "internal/ratelimit", "internal/upstream"},
	"internal/tracing":       {"internal/opname"},
	"internal/tracing/calls": {},
	"internal/opname":        {},

	// Settings: the Config types and defaults of what they configure, nothing
	// that does work.
	"internal/config": {"internal/limits", "internal/metrics", "internal/persisted", "internal/tracing"},

	// Leaves.
	"internal/apperr":  {"internal/upstream"},
	"internal/marshal": {},
	"internal/pager":   {},
	"internal/ide":     {},

	// Test doubles and tools: never imported by the gateway's packages.
	"internal/upstreamsim":        {},
	"internal/loadgen":            {},
	"internal/testutil":           {"*"},
	"internal/testutil/clock":     {},
	"internal/testutil/redistest": {},
	"internal/testutil/wait":      {},
	"internal/clients":            {},
	"internal/clients/genqlient":  {},
	"internal/archtest":           {},
}

// exceptions are imports the rules forbid that the code still has, each
// with the change that removes it. When that change lands, delete the entry:
// the test fails on an exception that is no longer used, so none outlives
// its reason. None is left: the composition root moved out of
// internal/server (issue 14).
var exceptions = map[string]map[string]string{}

type pkg struct {
	ImportPath string
	Imports    []string
}

// modulePackages lists the module's packages and their non-test imports,
// from the go command itself.
func modulePackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

// rel is a module package's path inside the module ("" for the root), and
// whether it is in the module at all.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// TestImportRules: every package of the module imports only what allowed
// (or a named exception) lets it, and no exception is left over once the
// import it excused is gone. Only cmd/orgraph may import both the HTTP layer
// and the upstream clients and simulator that the composition root wires.
func TestImportRules(t *testing.T) {
	used := map[string]map[string]bool{}
	for _, p := range modulePackages(t) {
		from, _ := rel(p.ImportPath)
		rules, known := allowed[from]
		if !known {
			t.Errorf("package %q is not in the import rules: add it to allowed (and ARCHITECTURE.md)", from)
			continue
		}
		for _, imp := range p.Imports {
			to, inModule := rel(imp)
			if !inModule {
				continue
			}
			if reason, ok := exceptions[from][to]; ok {
				if used[from] == nil {
					used[from] = map[string]bool{}
				}
				used[from][to] = true
				t.Logf("known exception: %s imports %s (%s)", from, to, reason)
				continue
			}
			if !slices.Contains(rules, "*") && !slices.Contains(rules, to) {
				t.Errorf("%s imports %s, which the rules do not allow", from, to)
			}
		}
	}
	var stale []string
	for from, tos := range exceptions {
		for to := range tos {
			if !used[from][to] {
				stale = append(stale, from+" -> "+to)
			}
		}
	}
	sort.Strings(stale)
	for _, s := range stale {
		t.Errorf("exception %s is no longer needed: delete it", s)
	}
}
