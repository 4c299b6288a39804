package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process is the real gateway binary (cmd/orgraph) running as a child
// process. Memory measured in the test's own process mixes the test's
// allocations with the gateway's; a separate process has an RSS of its own.
type Process struct {
	URL  string // http://127.0.0.1:port/graphql
	PID  int
	Logs *SyncBuffer // the process's stderr (its structured log)
}

// processStartTimeout bounds how long a started gateway may take to log
// that it listens; it is a failure bound, never a measurement.
const processStartTimeout = 60 * time.Second

var listeningLine = regexp.MustCompile(`"graphql":"(http://[^"]+)"`)

// StartGatewayProcess builds cmd/orgraph into a temporary directory, starts
// it with env as its whole environment (nothing of the test's own, so no
// stray REDIS_URL or GOGC changes what is measured; GATEWAY_ADDR defaults to
// a free loopback port) and returns once it listens. The process is stopped
// with SIGTERM when the test ends.
func StartGatewayProcess(t testing.TB, env map[string]string) *Process {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts the gateway binary")
	}
	bin := filepath.Join(t.TempDir(), "orgraph")
	build := exec.Command("go", "build", "-o", bin, "github.com/orgraph/orgraph/cmd/orgraph")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/orgraph: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"GATEWAY_ADDR=127.0.0.1:0", "LOG_FORMAT=json"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &SyncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gateway process: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(processStartTimeout)
	for {
		if m := listeningLine.FindStringSubmatch(logs.String()); m != nil {
			return &Process{URL: m[1], PID: cmd.Process.Pid, Logs: logs}
		}
		select {
		case err := <-exited:
			t.Fatalf("gateway process exited before listening (%v): %s", err, logs.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway process did not listen within %s: %s", processStartTimeout, logs.String())
		}
	}
}

// Gateway returns a Gateway that sends its queries to the process, so the
// usual Query and Post helpers work on it.
func (p *Process) Gateway() *Gateway {
	return &Gateway{URL: strings.TrimSuffix(p.URL, "/graphql"), Logs: p.Logs}
}

// PeakRSS is the most resident memory process pid has held so far (VmHWM in
// /proc/pid/status), in bytes. Linux only.
func PeakRSS(pid int) (int64, error) { return procStatusBytes(pid, "VmHWM:") }

// RSS is the resident memory of process pid now (VmRSS), in bytes.
func RSS(pid int) (int64, error) { return procStatusBytes(pid, "VmRSS:") }

func procStatusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field)
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}
