package ide_test

// The IDE as a person uses it: headless Chromium opens the demo gateway's
// page, runs the example query it opens with, and reads the answer from the
// result pane; then it opens the docs explorer and browses the schema.
//
// The test needs a Chromium. ./scripts/test installs Debian's chromium
// package when none is found; CHROME_PATH names another browser binary. A
// missing browser fails the test: a skipped browser test would pass CI
// without having looked at the IDE.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/orgraph/orgraph/internal/server"
	"github.com/orgraph/orgraph/internal/testutil"
	"github.com/orgraph/orgraph/internal/upstreamsim"
)

// demoUserID is the user the example query (server.ExampleQuery) asks for.
const demoUserID = upstreamsim.UserChuck938ID

// browserTimeout bounds the whole browser session, start-up included.
const browserTimeout = 60 * time.Second

// findChromium returns the browser binary: $CHROME_PATH, else the first of
// the usual names on $PATH. It fails the test when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("CHROME_PATH=%q: %v", p, err)
		}
		return path
	}
	names := []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatalf("no browser for the IDE test: none of %s is on PATH and CHROME_PATH is unset; "+
		"./scripts/test installs Debian's chromium package (or: apt-get install chromium)", strings.Join(names, ", "))
	return ""
}

// screenshotDir is $ORGRAPH_SCREENSHOT_DIR when set, else a test temp dir.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ORGRAPH_SCREENSHOT_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("ORGRAPH_SCREENSHOT_DIR: %v", err)
	}
	return dir
}

// pageProblems collects what the page reports as going wrong: uncaught
// exceptions, console errors and browser log errors (a Content-Security-
// Policy violation is one), read from chromedp.Console until ctx ends.
type pageProblems struct {
	mu   sync.Mutex
	list []string
	done chan struct{}
}

func watchConsole(ctx context.Context) *pageProblems {
	p := &pageProblems{done: make(chan struct{})}
	messages := chromedp.Console(ctx) // subscribed on return
	go func() {
		defer close(p.done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
				continue
			}
			p.mu.Lock()
			p.list = append(p.list, fmt.Sprintf("%s %s", m, m.URL))
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *pageProblems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// The expressions the test polls until they are truthy. The editors are
// CodeMirror 5, which renders only the lines in view, so the full text is
// read through the editor's API.
const (
	// queryLoaded: the query editor holds the query given as its argument.
	queryLoaded = `(query) => {
		const cm = document.querySelector('.graphiql-query-editor .CodeMirror');
		return !!(cm && cm.CodeMirror && cm.CodeMirror.getValue() === query);
	}`
	// resultText: the result pane's full text once it holds an answer.
	resultText = `(() => {
		const cm = document.querySelector('.result-window .CodeMirror');
		if (!cm || !cm.CodeMirror) return false;
		const v = cm.CodeMirror.getValue();
		return (v.includes('"data"') || v.includes('"errors"')) ? v : false;
	})()`
	// queryFields: the field names the docs explorer lists for Query.
	queryFields = `(() => {
		const title = document.querySelector('.graphiql-doc-explorer-title');
		if (!title || title.textContent !== 'Query') return false;
		const names = Array.from(document.querySelectorAll('.graphiql-doc-explorer-field-name'), e => e.textContent);
		return names.length ? names : false;
	})()`
)

func TestBrowserRunsExampleQuery(t *testing.T) {
	browser := findChromium(t)
	start := time.Now()

	// The demo: no AUTH0_BASE_URL, so simulated upstreams with built-in data
	// run in-process, caller authentication is off and introspection is on.
	gw := testutil.StartGateway(t, map[string]string{})
	if !gw.Config.Demo {
		t.Fatalf("empty config did not start the demo: %+v", gw.Config)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1400, 900),
	)
	if os.Getuid() == 0 {
		// Chromium's sandbox does not run as root (CI, containers).
		opts = append(opts, chromedp.NoSandbox)
	}
	var browserOut testutil.SyncBuffer
	opts = append(opts, chromedp.CombinedOutput(&browserOut))

	// The browser lives as long as ctx: that bounds the whole session. The
	// steps get a shorter deadline, so that a failure still leaves time for
	// a screenshot.
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	// Console starts the browser and opens the tab (the first use of a
	// chromedp context must not carry a deadline of its own).
	problems := watchConsole(tabCtx)
	defer func() {
		cancelTab()
		<-problems.done
	}()
	steps, cancelSteps := context.WithDeadline(tabCtx, start.Add(browserTimeout-10*time.Second))
	defer cancelSteps()

	dir := screenshotDir(t)
	shot := filepath.Join(dir, "ide-example-query.png")
	saveScreenshot := func() {
		sctx, cancel := context.WithTimeout(tabCtx, 5*time.Second)
		defer cancel()
		png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Errorf("screenshot: %v", err)
			return
		}
		t.Logf("screenshot: %s", shot)
	}
	fail := func(step string, err error) {
		t.Helper()
		saveScreenshot()
		for _, p := range problems.all() {
			t.Logf("page: %s", p)
		}
		// Chromium's own log is long and mostly about the missing D-Bus:
		// its end is what tells why a browser died.
		out := browserOut.String()
		if len(out) > 4000 {
			out = "…" + out[len(out)-4000:]
		}
		t.Fatalf("%s: %v\nend of the output of %s:\n%s", step, err, browser, out)
	}

	// Open the IDE.
	if err := chromedp.Do(steps, chromedp.Navigate(gw.URL+"/")); err != nil {
		fail("open the IDE", err)
	}
	t.Logf("browser up and page loaded after %s", time.Since(start).Round(time.Millisecond))

	// Run the example query with the run button, as the page tells a person to.
	err := chromedp.Do(steps,
		chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button")),
		// The page opens with the example query, which the server hands it.
		chromedp.PollFunction[chromedp.Void](queryLoaded, chromedp.WithPollingArgs(server.ExampleQuery)),
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
	)
	if err != nil {
		fail("run the example query", err)
	}
	result, err := chromedp.Run(steps, chromedp.Poll[string](resultText))
	if err != nil {
		fail("wait for the answer in the result pane", err)
	}
	visible, err := chromedp.Run(steps, chromedp.Text(chromedp.CSS(".result-window")))
	if err != nil {
		fail("read the result pane", err)
	}

	var answer struct {
		Data struct {
			User struct {
				ID            string
				Email         string
				Organizations []struct {
					Name        string
					Connections []struct{ ID string }
					Groups      []struct{ Name string }
				}
			}
		}
		Errors []json.RawMessage
	}
	if err := json.Unmarshal([]byte(result), &answer); err != nil {
		fail("decode the result pane", fmt.Errorf("%v in %s", err, result))
	}
	user := answer.Data.User
	if len(answer.Errors) > 0 || user.ID != demoUserID || user.Email == "" || len(user.Organizations) < 2 ||
		len(user.Organizations[0].Connections) == 0 || len(user.Organizations[0].Groups) == 0 {
		fail("the result pane's answer", fmt.Errorf("not the demo user with organizations, connections and groups:\n%s", result))
	}
	// What is on screen, not only in the editor's buffer.
	if !strings.Contains(visible, demoUserID) || !strings.Contains(visible, user.Email) {
		fail("the result pane on screen", fmt.Errorf("does not show %q and %q:\n%s", demoUserID, user.Email, visible))
	}
	var orgs []string
	for _, o := range user.Organizations {
		orgs = append(orgs, o.Name)
	}
	t.Logf("result pane: user %s <%s> in organizations %s (%d bytes of JSON) after %s",
		user.ID, user.Email, strings.Join(orgs, ", "), len(result), time.Since(start).Round(time.Millisecond))

	// The docs explorer reads the schema by introspection: open it and
	// browse to the Query type.
	err = chromedp.Do(steps,
		chromedp.Click(chromedp.CSS(`.graphiql-sidebar button[aria-label="Show Documentation Explorer"]`)),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-doc-explorer-root-type")),
		chromedp.Click(chromedp.CSS(".graphiql-doc-explorer-content a.graphiql-doc-explorer-type-name")),
	)
	if err != nil {
		fail("open the docs explorer", err)
	}
	fields, err := chromedp.Run(steps, chromedp.Poll[[]string](queryFields))
	if err != nil {
		fail("browse to Query in the docs explorer", err)
	}
	for _, want := range []string{"user", "organizations", "organization", "groups"} {
		if !slices.Contains(fields, want) {
			fail("the docs explorer's Query type", fmt.Errorf("lists no field %q: %q", want, fields))
		}
	}
	t.Logf("docs explorer: Query has fields %s", strings.Join(fields, ", "))

	saveScreenshot()
	if ps := problems.all(); len(ps) > 0 {
		fail("the page reported problems", errors.New(strings.Join(ps, "\n")))
	}
	t.Logf("browser session took %s", time.Since(start).Round(time.Millisecond))
}
