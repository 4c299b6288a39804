package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Exit codes of [Main].
const (
	// ExitOK means the run completed (gateway errors are results, not failures).
	ExitOK = 0
	// ExitFailure means the run could not be made or measured.
	ExitFailure = 1
	// ExitUsage means the flags were invalid or a target was refused.
	ExitUsage = 2
)

// Main is the loaddriver command: it parses args (without the program name),
// runs, prints the summary to stdout and returns the exit code. It lives here
// rather than in package main so tests can drive the whole command.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loaddriver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg     Config
		mix     string
		list    bool
		asJSON  bool
		flagErr error
	)
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "gateway base URL, or a comma list of them (replicas) taking requests in round robin; requests go to <url>/graphql")
	fs.StringVar(&mix, "mix", "", "comma list of query names with optional :weight (default: all built-in queries, weight 1)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 16, "closed loop: workers each sending the next request when the previous answered")
	fs.Float64Var(&cfg.Rate, "rate", 0, "open loop: requests per second regardless of answers; wins over -concurrency when > 0")
	fs.IntVar(&cfg.MaxInFlight, "max-inflight", 1000, "open loop: requests in flight at most; more are dropped")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to measure (at most "+MaxDuration.String()+")")
	fs.Int64Var(&cfg.Requests, "requests", 0, "stop after this many requests (0: no limit)")
	fs.DurationVar(&cfg.Warmup, "warmup", 0, "unmeasured load before the run")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.StringVar(&cfg.SimURL, "sim", "", "upstream simulator base URL, to report upstream calls per query")
	fs.BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&list, "list", false, "print the built-in queries and exit")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow -url and -sim hosts that are not loopback")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage // flag has printed the problem and the usage
	}
	if fs.NArg() > 0 {
		flagErr = fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if list {
		if err := writeList(stdout); err != nil {
			fmt.Fprintln(stderr, "loaddriver:", err)
			return ExitFailure
		}
		return ExitOK
	}
	if flagErr == nil {
		cfg.Mix, flagErr = ParseMix(mix)
	}
	if flagErr == nil {
		flagErr = cfg.Validate()
	}
	if flagErr != nil {
		fmt.Fprintln(stderr, "loaddriver:", flagErr)
		return ExitUsage
	}

	sum, err := Run(ctx, cfg)
	if sum != nil {
		var werr error
		if asJSON {
			werr = json.NewEncoder(stdout).Encode(sum)
		} else {
			werr = sum.WriteText(stdout)
		}
		if werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "loaddriver:", err)
		return ExitFailure
	}
	return ExitOK
}

// writeList prints every built-in query: name, document, variables and, for a
// spread query, how many variable sets it walks with the first and last. Only
// names start a line; scripts/load relies on that.
func writeList(w io.Writer) error {
	var b strings.Builder
	for i, q := range Queries() {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(q.Name + "\n")
		for line := range strings.SplitSeq(q.Document, "\n") {
			b.WriteString("  " + line + "\n")
		}
		if len(q.Variables) > 0 {
			v, err := json.Marshal(q.Variables)
			if err != nil {
				return err
			}
			b.WriteString("  variables: " + string(v) + "\n")
		}
		if n := len(q.Spread); n > 0 {
			first, err := json.Marshal(q.Spread[0])
			if err != nil {
				return err
			}
			last, err := json.Marshal(q.Spread[n-1])
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "  spread: %d variable sets over those, in turn: %s .. %s\n", n, first, last)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
