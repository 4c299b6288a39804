package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"

	"github.com/orgraph/orgraph/internal/config"
	"github.com/orgraph/orgraph/internal/redisconn"
	"github.com/orgraph/orgraph/internal/testutil/redistest"
	"github.com/orgraph/orgraph/internal/tracing"
)

// TestReleasesWhatItStarted: whether New fails at a late step or the
// gateway starts and shuts down, the demo's simulator stops listening and the
// Redis client is closed. A failed New used to return without releasing them.
func TestReleasesWhatItStarted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// late breaks a step that runs after the simulator and Redis exist.
		late    func(*config.Config)
		wantErr string
	}{
		{name: "failed New", wantErr: "tracing: protocol must be",
			late: func(c *config.Config) {
				c.Tracing = tracing.Config{Endpoint: "http://127.0.0.1:1/v1/traces", Protocol: "carrier-pigeon"}
			}},
		{name: "Shutdown", late: func(*config.Config) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := redistest.Env(t)
			// No AUTH0_BASE_URL: the demo, so New starts the simulator first.
			cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.Demo || cfg.RedisURL == "" {
				t.Fatalf("want the demo with Redis, got Demo=%v and no REDIS_URL", cfg.Demo)
			}
			tc.late(&cfg)
			var opened []redis.UniversalClient
			openRedis = func(o redisconn.Options) (redis.UniversalClient, error) {
				c, err := redisconn.Open(o)
				if c != nil {
					opened = append(opened, c)
				}
				return c, err
			}
			t.Cleanup(func() { openRedis = redisconn.Open })
			var logs strings.Builder
			gw, err := New(cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tc.wantErr != "" && err == nil:
				_ = gw.Shutdown(context.Background())
				t.Fatalf("New succeeded; want an error with %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("New: %v; want %q", err, tc.wantErr)
			case err == nil:
				if err := gw.Shutdown(context.Background()); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			}

			sim := simulatorAddr(t, logs.String())
			if c, err := net.DialTimeout("tcp", sim, 5*time.Second); err == nil {
				_ = c.Close()
				t.Errorf("the simulator at %s still accepts connections", sim)
			}
			if len(opened) != 1 {
				t.Fatalf("New opened %d Redis clients; want 1", len(opened))
			}
			if err := opened[0].Ping(context.Background()).Err(); !errors.Is(err, redis.ErrClosed) {
				t.Errorf("Redis client after release: Ping = %v; want %v", err, redis.ErrClosed)
			}
		})
	}
}

// simulatorAddr is the host:port of the demo's simulator, from the line New
// logs when it starts it.
func simulatorAddr(t *testing.T, logs string) string {
	t.Helper()
	for line := range strings.Lines(logs) {
		var rec struct {
			Msg      string `json:"msg"`
			Upstream string `json:"upstream"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.HasPrefix(rec.Msg, "demo mode") {
			u, err := url.Parse(rec.Upstream)
			if err != nil {
				t.Fatalf("demo log line's upstream %q: %v", rec.Upstream, err)
			}
			return u.Host
		}
	}
	t.Fatalf("New logged no demo line: %s", logs)
	return ""
}

// TestNewLeavesOpenTelemetryGlobalsAlone: a gateway exporting spans passes
// its provider and propagator explicitly; the process-wide propagator,
// tracer provider and error handler stay what they were (main sets them),
// so tests can build gateways side by side.
func TestNewLeavesOpenTelemetryGlobalsAlone(t *testing.T) {
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	// Exporting, so every global Setup used to set would be set; the
	// exporter dials nothing until it has spans to send.
	cfg.Tracing = tracing.Config{Endpoint: "http://127.0.0.1:1/v1/traces"}
	propagator, provider := otel.GetTextMapPropagator(), otel.GetTracerProvider()
	handler := fmt.Sprintf("%T", otel.GetErrorHandler())
	gw, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gw.Shutdown(context.Background()) })
	if otel.GetTextMapPropagator() != propagator {
		t.Error("New replaced the global propagator")
	}
	if otel.GetTracerProvider() != provider {
		t.Error("New replaced the global tracer provider")
	}
	if got := fmt.Sprintf("%T", otel.GetErrorHandler()); got != handler {
		t.Errorf("New replaced the global error handler: %s, was %s", got, handler)
	}
}
