package testutil

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
)

// readmeGraphQL matches a ```graphql block of the README.
var readmeGraphQL = regexp.MustCompile("(?s)```graphql\n(.*?)```")

// ReadmeQueries returns the README's ```graphql blocks, in order: the
// example operations it tells readers to paste into the IDE, so tests can
// run exactly what the README shows.
func ReadmeQueries(t testing.TB) []string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the README: no caller information")
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	for _, m := range readmeGraphQL.FindAllSubmatch(b, -1) {
		qs = append(qs, string(m[1]))
	}
	if len(qs) == 0 {
		t.Fatal("README.md has no graphql blocks")
	}
	return qs
}
