// Command loaddriver sends a mix of GraphQL queries to an orgraph gateway at a
// fixed concurrency or rate for a bounded time and prints throughput, latency
// percentiles, errors and, with -sim, upstream calls per query. Run
// "loaddriver -h" for the flags; the logic lives in internal/loadgen.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/orgraph/orgraph/internal/loadgen"
)

func main() {
	// SIGINT ends the run early but still prints what was measured.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := loadgen.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
