package testutil

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// FiguresEnv names a file that Figures appends to. ./scripts/test sets it
// and prints the file after the run: go test shows a passing package's
// output only with -v, and some figures are wanted in CI's log: those of
// the bounded Redis Cluster and Sentinel runs (requests, upstream calls,
// errors) and the graphql-http audit's count.
const FiguresEnv = "ORGRAPH_TEST_FIGURES"

var figuresMu sync.Mutex

// Figures logs one line of a test's measured figures, and appends it, named
// after the test, to the file FiguresEnv names when it is set.
func Figures(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	path := os.Getenv(FiguresEnv)
	if path == "" {
		return
	}
	figuresMu.Lock() // one process's tests; other packages append whole lines too
	defer figuresMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("%s: %v", FiguresEnv, err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s: %s\n", t.Name(), line); err != nil {
		t.Errorf("%s: %v", FiguresEnv, err)
	}
}
