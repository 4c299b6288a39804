// Package redistest gives tests a real Redis: the shared test server under
// a key prefix of their own (cleaned up after), or a redis-server of their
// own they can stop and start, a 3-master Redis Cluster or a Sentinel set-up
// of their own whose masters they can kill, and counters of round trips. It
// depends on nothing of the gateway, so the packages under the server test
// with it too.
package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is the Redis the tests use unless ORGRAPH_TEST_REDIS_URL
// names another; ./scripts/test starts one there when none answers.
const DefaultURL = "redis://127.0.0.1:6379/0"

// Client connects to the shared test Redis (ORGRAPH_TEST_REDIS_URL, default
// DefaultURL) and returns a client and a key prefix unique to this
// test, so tests running in parallel (and in other packages) never see each
// other's keys.
//
// A Redis that does not answer fails the test rather than skipping it: a
// skipped Redis test is a test that silently stopped running.
//
// At cleanup every key under the prefix is deleted with SCAN+DEL (never
// FLUSHDB: the Redis may be shared with other tests), and the client closed.
func Client(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		// The error may echo the URL, which may hold a password: say only which variable.
		t.Fatalf("ORGRAPH_TEST_REDIS_URL is not a valid redis:// URL")
	}
	rdb := newRedisClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("test Redis at %s does not answer (%v); ./scripts/test starts one, or set ORGRAPH_TEST_REDIS_URL", opts.Addr, err)
	}
	prefix := "orgraph-test:" + sanitizeKeyPart(t.Name()) + ":" + randomHex(t, 6) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := deleteMatching(ctx, rdb, prefix+"*"); err != nil {
			t.Logf("test Redis cleanup of %s*: %v", prefix, err)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// URL is the shared test Redis: ORGRAPH_TEST_REDIS_URL, or DefaultURL.
func URL() string {
	if url := os.Getenv("ORGRAPH_TEST_REDIS_URL"); url != "" {
		return url
	}
	return DefaultURL
}

// Env is Redis for a gateway: the settings (REDIS_URL, and a
// REDIS_KEY_PREFIX of the test's own, cleaned up after it) to add to its
// environment, and a client to look at what the gateway stored. Gateways
// started with the same settings share the cache and the rate budget, like
// replicas.
func Env(t testing.TB) (map[string]string, redis.UniversalClient) {
	t.Helper()
	rdb, prefix := Client(t)
	return map[string]string{"REDIS_URL": URL(), "REDIS_KEY_PREFIX": prefix}, rdb
}

// newRedisClient makes a client the way tests want it: context deadlines
// bound socket reads and writes too (go-redis ignores them by default), so a
// test that stops Redis sees errors within its own timeouts instead of the
// client's multi-second defaults.
func newRedisClient(opts *redis.Options) *redis.Client {
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts)
}

// deleteMatching deletes the keys matching pattern, a batch per SCAN page.
func deleteMatching(ctx context.Context, rdb redis.UniversalClient, pattern string) error {
	var cursor uint64
	for {
		keys, next, err := rdb.Scan(ctx, cursor, pattern, 200).Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// sanitizeKeyPart keeps a test name readable in redis-cli while removing
// what SCAN MATCH treats as a pattern (* ? [ ] \) and the ':' separator.
func sanitizeKeyPart(name string) string {
	const maxLen = 32 // the whole prefix must fit REDIS_KEY_PREFIX's 64 characters
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.', r == '/':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}

// Server is a redis-server subprocess owned by one test, for tests that
// stop and restart Redis mid-test (which they must never do to the shared one).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// conf, when set, is a config file given as the first argument (a
	// sentinel needs one it can rewrite); extra are flags after the
	// defaults (cluster mode, replicaof, sentinel).
	conf  string
	extra []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	out  *lockedBuffer
}

// StartServer starts a dedicated redis-server on a free loopback port,
// with no persistence, and waits until it answers PING. It is killed at
// cleanup. A missing binary fails the test: ./scripts/test installs it.
func StartServer(t testing.TB) *Server {
	t.Helper()
	s := newServer(t)
	s.Start()
	return s
}

// newServer prepares a redis-server on a free port in a directory of its
// own, killed at cleanup, without starting it.
func newServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found (%v); ./scripts/test installs it", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's redis:// URL (database 0).
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Start starts the server (again) on its port and waits until it answers
// PING. Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	s.out = &lockedBuffer{}
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(args,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
	)
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	cmd.Stdout = s.out
	cmd.Stderr = s.out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.done)
	deadline := time.Now().Add(10 * time.Second)
	for !pingAnswers(s.Addr()) {
		select {
		case <-s.done:
			// Typically the port was taken meanwhile; a PING answered by
			// some other process must not pass for ours.
			s.cmd = nil
			s.t.Fatalf("redis-server on %s exited at start; its output:\n%s", s.Addr(), s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			s.t.Fatalf("redis-server on %s did not answer PING within 10s; its output:\n%s", s.Addr(), s.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Client returns a new client for the server, closed at cleanup. Its context
// deadlines bound socket I/O too, so while the server is stopped commands
// fail within the caller's timeouts.
func (s *Server) Client() *redis.Client {
	s.t.Helper()
	opts, err := redis.ParseURL(s.URL())
	if err != nil {
		s.t.Fatalf("redis URL: %v", err)
	}
	rdb := newRedisClient(opts)
	s.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Stop kills the server and waits until its port refuses connections, so
// that the caller observes Redis as down as soon as Stop returns. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", s.Addr(), 100*time.Millisecond)
		if err != nil {
			return
		}
		_ = c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	s.t.Errorf("redis-server on %s still accepts connections after being killed", s.Addr())
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before redis-server binds it; on loopback in a test that is rare
// enough, and Start then fails loudly rather than flaking quietly.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pingAnswers sends a raw RESP PING, so that waiting for the server needs no
// client pool whose retries and reconnects would blur what is measured.
func pingAnswers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// lockedBuffer collects a subprocess's output; exec copies into it from its
// own goroutine while a failing test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const maxLen = 64 << 10
	if len(b.buf)+len(p) > maxLen {
		return len(p), nil // enough to diagnose; drop the rest
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// CommandCounter counts Redis round trips: one per command or pipeline. The
// handshake of a newly dialled connection (HELLO, CLIENT SETINFO) also
// passes through hooks; it is the pool's cost, not the caller's, so it is
// not counted.
type CommandCounter struct{ n atomic.Int64 }

// CountCommands hooks a CommandCounter into rdb.
func CountCommands(rdb redis.UniversalClient) *CommandCounter {
	c := &CommandCounter{}
	rdb.AddHook(c)
	return c
}

// Load is the round trips so far.
func (c *CommandCounter) Load() int64 { return c.n.Load() }

// Reset starts counting again from zero.
func (c *CommandCounter) Reset() { c.n.Store(0) }

func isHandshake(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

// DialHook implements redis.Hook.
func (c *CommandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (c *CommandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !isHandshake(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (c *CommandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && !isHandshake(cmds[0]) {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// CountNodeRoundTrips counts the round trips a Cluster client sends to its
// nodes: a pipeline over keys of three masters is three. Call it before the
// client's first command; it hooks each node's client as go-redis makes it.
func CountNodeRoundTrips(rdb *redis.ClusterClient) *CommandCounter {
	c := &CommandCounter{}
	rdb.OnNewNode(func(node *redis.Client) { node.AddHook(c) })
	return c
}
