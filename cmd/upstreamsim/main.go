// Command upstreamsim serves the simulated Auth0 Management API and UiPath Identity API on one
// address, for running the gateway or load tools against realistic upstreams without a tenant.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orgraph/orgraph/internal/upstreamsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "upstreamsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("upstreamsim", flag.ContinueOnError)
	var cfg upstreamsim.Config
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	fs.IntVar(&cfg.Organizations, "orgs", 0, "generated organizations (besides the built-in ones)")
	fs.IntVar(&cfg.Users, "users", 0, "generated users")
	fs.IntVar(&cfg.MembershipsPerUser, "memberships", 0, "organizations each generated user belongs to")
	fs.IntVar(&cfg.ConnectionsPerOrg, "connections", 0, "enabled connections per generated organization")
	fs.IntVar(&cfg.Partitions, "partitions", 0, "UiPath partitions shared by the generated organizations")
	fs.IntVar(&cfg.GroupsPerPartition, "groups", 0, "custom groups per generated partition")
	fs.IntVar(&cfg.MembersPerGroup, "group-members", 0, "members per generated custom group")
	fs.DurationVar(&cfg.Latency, "latency", 0, "latency added to every upstream response")
	fs.Float64Var(&cfg.RatePerSecond, "rate", 0, "requests per second per upstream (0 = unlimited)")
	fs.IntVar(&cfg.Burst, "burst", 0, "rate-limit bucket size (default ceil(rate))")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of the generated data")
	auth0Token := fs.String("auth0-token", "", "static Auth0 bearer token granted every scope (empty = no token needed)")
	identityToken := fs.String("identity-token", "", "static Identity bearer token granted every scope (empty = no token needed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *auth0Token != "" {
		cfg.Auth0Tokens = map[string][]string{*auth0Token: upstreamsim.AllAuth0Scopes()}
	}
	if *identityToken != "" {
		cfg.IdentityTokens = map[string][]string{*identityToken: upstreamsim.AllIdentityScopes()}
	}

	sim := upstreamsim.New(cfg)
	ln, err := net.Listen("tcp", *addr) // listen before serving so ":0" works and the URL is real
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "upstreamsim listening on http://%s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
