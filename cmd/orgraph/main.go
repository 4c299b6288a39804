// Command orgraph runs the GraphQL gateway. With no settings it runs the demo:
// simulated upstreams in-process, an in-process cache, no caller auth, on
// 127.0.0.1:8080 with the IDE at /.
//
//	orgraph          serve (settings from the environment, design §5)
//	orgraph schema   print the schema (SDL) for client code generation
//	orgraph schema --federation
//	                 print the federation subgraph SDL, for supergraph composition
//	orgraph help     say so (also -h, --help)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	orgraph "github.com/orgraph/orgraph"
	"github.com/orgraph/orgraph/internal/config"
	"github.com/orgraph/orgraph/internal/gateway"
	"github.com/orgraph/orgraph/internal/tracing"
)

// usage is what help prints: the commands, and where the settings are.
const usage = `orgraph: one GraphQL endpoint over the Auth0 Management API and the UiPath Identity API.

Usage:
  orgraph           serve GraphQL on GATEWAY_ADDR (/graphql, the IDE at /, /healthz, /readyz, /metrics)
  orgraph schema    print the schema (SDL), for client code generation
  orgraph schema --federation
                    print the Apollo Federation v2 subgraph SDL, for supergraph composition
  orgraph help      print this

Every setting is an environment variable (README.md, "Configuration"). With none set,
orgraph runs the demo: simulated upstreams in-process, an in-process cache, no caller
auth, on 127.0.0.1:8080. A setting that is wrong stops start-up, naming the variable.
`

// drainTimeout is how long SIGTERM waits for in-flight requests; Kubernetes'
// default grace period is 30 s.
const drainTimeout = 25 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "orgraph:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, lookup config.Lookup, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "schema":
			switch {
			case len(args) == 1:
				_, err := io.WriteString(stdout, orgraph.Schema)
				return err
			case len(args) == 2 && args[1] == "--federation":
				_, err := io.WriteString(stdout, orgraph.SubgraphSchema)
				return err
			default:
				return errors.New("schema takes no argument but --federation")
			}
		case "help", "-h", "-help", "--help":
			_, err := io.WriteString(stdout, usage)
			return err
		default:
			return fmt.Errorf("unknown command %q (commands: schema, help)", args[0])
		}
	}
	cfg, err := config.Load(lookup)
	if err != nil {
		return fmt.Errorf("invalid settings:\n%w", err)
	}
	tuneGC(cfg)
	log := newLogger(cfg, stderr)
	redisLogsTo(log)
	tracing.SetProcessDefaults(log)
	gw, err := gateway.New(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = gw.Shutdown(context.Background())
		return fmt.Errorf("GATEWAY_ADDR: cannot listen: %w", err)
	}
	log.Info("listening", slog.String("graphql", "http://"+ln.Addr().String()+"/graphql"), slog.String("ide", "http://"+ln.Addr().String()+"/"))

	served := make(chan error, 1)
	go func() { served <- gw.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := gw.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return <-served
}

// gcPercent is the garbage collector's target when GOGC is not set. A warm
// executed query allocates a few hundred short-lived objects and keeps
// almost none, while the long-lived heap is the caches: collecting at twice
// the default growth cut the CPU of a 5-organization query by a fifth under
// load (go test -bench PeerQueries with GOGC=100, 200, 400).
const gcPercent = 200

// tuneGC sets the collector's defaults unless GOGC or GOMEMLIMIT say
// otherwise: the growth target above, and a soft memory limit of twice the
// caches' bounds plus 64 MiB for requests in flight, so that the higher
// target never lets a heap of full caches grow three times over.
func tuneGC(cfg config.Config) {
	if !cfg.GOGCSet {
		debug.SetGCPercent(gcPercent)
	}
	if !cfg.GOMEMLIMITSet {
		debug.SetMemoryLimit(2*(cfg.CacheLocalBytes+cfg.ResponseCacheBytes) + 64<<20)
	}
}

// redisLogsTo sends go-redis's own log lines (pool dial failures while Redis
// is down, printed to stderr by default) to log at debug level, so the
// process writes structured lines only; the cache and the governor already
// log Redis going and coming back, once each. go-redis's logger is global
// to the process, so only main sets it: tests build gateways without it.
func redisLogsTo(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis client", slog.String("detail", fmt.Sprintf(format, v...)))
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
