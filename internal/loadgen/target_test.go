package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		url         string
		allowRemote bool
		ok          bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://127.10.20.30", false, true},
		{"http://localhost:8080", false, true},
		{"https://LOCALHOST", false, true},
		{"http://[::1]:8080", false, true},
		{"http://example.com", false, false},
		{"http://10.0.0.1:8080", false, false},
		{"http://192.168.1.10", false, false},
		{"http://[2001:db8::1]:8080", false, false},
		{"http://0.0.0.0:8080", false, false},
		{"http://127.0.0.1.nip.io", false, false},
		{"http://localhost.example.com", false, false},
		{"http://example.com", true, true},
		{"ftp://127.0.0.1", false, false},
		{"127.0.0.1:8080", false, false},
		{"http://", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			err := CheckTarget(tc.url, tc.allowRemote)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckTarget(%q, %v) = %v, want ok=%v", tc.url, tc.allowRemote, err, tc.ok)
			}
		})
	}
}

func TestLoopbackOnlyDialGuard(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", true},
		{"[::1]:80", true},
		{"10.0.0.1:80", false},
		{"[2001:db8::1]:80", false},
	}
	for _, tc := range tests {
		if err := loopbackOnly("tcp", tc.addr, nil); (err == nil) != tc.ok {
			t.Errorf("loopbackOnly(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

func TestMainRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"remote url", []string{"-url", "http://example.com"}, "not loopback"},
		{"remote sim", []string{"-sim", "http://10.1.2.3:9000"}, "-sim"},
		{"remote url in a list", []string{"-url", "http://127.0.0.1:8080,http://10.0.0.1:8080"}, `-url "http://10.0.0.1:8080": host "10.0.0.1" is not loopback`},
		{"empty url in a list", []string{"-url", "http://127.0.0.1:8080,,http://127.0.0.1:8081"}, "empty entry"},
		{"duration over cap", []string{"-duration", "11m"}, "-duration"},
		{"zero duration", []string{"-duration", "0s"}, "-duration"},
		{"unknown query", []string{"-mix", "nope"}, "unknown query"},
		{"zero concurrency", []string{"-concurrency", "0"}, "-concurrency"},
		{"negative rate", []string{"-rate", "-1"}, "-rate"},
		{"zero timeout", []string{"-timeout", "0s"}, "-timeout"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(context.Background(), tc.args, &stdout, &stderr); code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) || stdout.Len() != 0 {
				t.Fatalf("stderr = %q (want %q), stdout = %q", stderr.String(), tc.wantErr, stdout.String())
			}
		})
	}
}

func TestMainList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"-list"}, &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, q := range Queries() {
		if !strings.Contains(stdout.String(), q.Name+"\n") || !strings.Contains(stdout.String(), "query "+q.OperationName) {
			t.Fatalf("-list output misses %s:\n%s", q.Name, stdout.String())
		}
	}
	// scripts/load takes every line starting with a letter as a query name.
	var names []string
	for line := range strings.SplitSeq(stdout.String(), "\n") {
		if line != "" && line[0] >= 'a' && line[0] <= 'z' {
			names = append(names, line)
		}
	}
	if want := queryNames(); !slices.Equal(names, want) {
		t.Fatalf("lines starting with a letter = %q, want the query names %q", names, want)
	}
	if want := `  spread: 200 variable sets over those, in turn: {"name":"gen-org-00000"} .. {"name":"gen-org-00199"}` + "\n"; !strings.Contains(stdout.String(), want) {
		t.Fatalf("-list output misses %q:\n%s", want, stdout.String())
	}
}

func TestMainJSONAndText(t *testing.T) {
	sim := &simCounters{}
	f := startFake(t, nil, sim.mux())
	var stdout, stderr bytes.Buffer
	args := []string{"-url", f.URL, "-sim", f.URL, "-requests", "5", "-concurrency", "2", "-mix", "groups", "-json"}
	if code := Main(context.Background(), args, &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Mix      string `json:"mix"`
		Requests int64  `json:"requests"`
		Latency  struct {
			P50 *float64 `json:"p50Ms"`
		} `json:"latency"`
		GraphQLErrorsByCode map[string]int64 `json:"graphqlErrorsByCode"`
		Upstream            *Upstream        `json:"upstream"`
		Targets             int              `json:"targets"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if got.Mix != "groups:1" || got.Requests != 5 || got.Latency.P50 == nil || got.GraphQLErrorsByCode == nil || got.Upstream == nil || got.Targets != 1 {
		t.Fatalf("json = %s", stdout.String())
	}

	stdout.Reset()
	args = args[:len(args)-1]
	if code := Main(context.Background(), args, &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"mix: groups:1  mode: concurrency=2", "requests: 5 (", "latency: p50 ", "http errors: 0 {}   graphql errors: 0 {}", "upstream: 0 calls (0.00/query, 0.0/s), 429s: 0"} {
		if !strings.Contains(stdout.String(), want) {
			t.Fatalf("text output misses %q:\n%s", want, stdout.String())
		}
	}
	if strings.Contains(stdout.String(), "targets:") {
		t.Fatalf("text output names targets for a single URL:\n%s", stdout.String())
	}
}

// TestURLListIsCheckedEntryByEntry puts a refused entry at each position of a
// list whose other entries are live gateways: the run must fail before any of
// them gets a request.
func TestURLListIsCheckedEntryByEntry(t *testing.T) {
	const remote = "http://192.0.2.1:8080" // TEST-NET-1, never loopback
	tests := []struct {
		name        string
		list        func(a, b string) string
		allowRemote bool
		wantErr     string // "" means valid
	}{
		{"all loopback", func(a, b string) string { return a + "," + b }, false, ""},
		{"remote first", func(a, b string) string { return remote + "," + a + "," + b }, false, "not loopback"},
		{"remote middle", func(a, b string) string { return a + "," + remote + "," + b }, false, "not loopback"},
		{"remote last", func(a, b string) string { return a + "," + b + "," + remote }, false, "not loopback"},
		{"remote allowed", func(a, b string) string { return a + "," + remote }, true, ""},
		{"not http", func(a, b string) string { return a + ",ftp://127.0.0.1" }, false, "scheme must be http"},
		{"empty entry", func(a, b string) string { return a + ", ," + b }, false, "empty entry"},
		{"trailing comma", func(a, b string) string { return a + "," + b + "," }, false, "empty entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := startFake(t, nil, nil), startFake(t, nil, nil)
			cfg := testConfig(tc.list(a.URL, b.URL), 6)
			cfg.AllowRemote = tc.allowRemote
			err := cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate(%q) = %v", cfg.URL, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "-url ") {
				t.Fatalf("Validate(%q) = %v, want -url ... %q", cfg.URL, err, tc.wantErr)
			}
			if _, err := Run(context.Background(), cfg); err == nil {
				t.Fatal("Run accepted the list")
			}
			if n := a.requests.Load() + b.requests.Load(); n != 0 {
				t.Fatalf("sent %d requests to the loopback entries of a refused list", n)
			}
		})
	}
}
