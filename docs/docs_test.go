package docs

import (
	"bufio"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index/query"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if binDir != "" {
			_ = os.RemoveAll(binDir)
		}
		os.Exit(code)
	}))
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// --- query.md -------------------------------------------------------------

// example is one ```query block of query.md.
//
// Each non-empty line of a block is one query. A block whose info string is
// "query invalid" holds one query that the server refuses. The line right
// after the closing fence may state the result, and the tests hold the
// document to it:
//
//	→ 128 events ...            total hits (one-query blocks only)
//	→ `at 25: expected ...`     the error message, after "query: " (invalid blocks; required)
type example struct {
	line    int // 1-based line of the opening fence
	queries []string
	invalid bool
	hits    int    // -1: not stated
	message string // invalid blocks: the expected message
}

var hitsRe = regexp.MustCompile(`^→ ([0-9][0-9,]*) events?\b`)

// examples extracts the query blocks of a Markdown document.
func examples(t *testing.T, doc string) []example {
	t.Helper()
	lines := strings.Split(doc, "\n")
	var out []example
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimLeft(lines[i], " ")
		if !strings.HasPrefix(trimmed, "```query") {
			continue
		}
		indent := len(lines[i]) - len(trimmed)
		info := strings.Fields(strings.TrimPrefix(trimmed, "```"))
		ex := example{line: i + 1, hits: -1}
		if info[0] != "query" {
			t.Fatalf("query.md:%d: unknown block type %q", i+1, info[0])
		}
		for _, attr := range info[1:] {
			if attr != "invalid" {
				t.Fatalf("query.md:%d: unknown attribute %q (only \"invalid\")", i+1, attr)
			}
			ex.invalid = true
		}
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			q := lines[j]
			if len(q)-len(strings.TrimLeft(q, " ")) >= indent {
				q = q[indent:]
			}
			if strings.TrimSpace(q) != "" {
				ex.queries = append(ex.queries, q)
			}
		}
		if j == len(lines) {
			t.Fatalf("query.md:%d: block not closed", i+1)
		}
		if len(ex.queries) == 0 {
			t.Fatalf("query.md:%d: empty block", i+1)
		}
		after := ""
		if j+1 < len(lines) {
			after = strings.TrimSpace(lines[j+1])
		}
		switch {
		case ex.invalid:
			if len(ex.queries) != 1 {
				t.Fatalf("query.md:%d: an invalid block holds one query", i+1)
			}
			msg, ok := strings.CutPrefix(after, "→ `")
			if !ok || !strings.HasSuffix(msg, "`") {
				t.Fatalf("query.md:%d: an invalid block is followed by → `message`", i+1)
			}
			ex.message = strings.TrimSuffix(msg, "`")
		case strings.HasPrefix(after, "→"):
			m := hitsRe.FindStringSubmatch(after)
			if m == nil {
				t.Fatalf("query.md:%d: a result line starts with → N events, found %q", j+2, after)
			}
			if len(ex.queries) != 1 {
				t.Fatalf("query.md:%d: a hit count needs a block of one query", i+1)
			}
			ex.hits, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
		}
		out = append(out, ex)
		i = j
	}
	return out
}

// TestQueryExamplesParse checks every example of query.md with the real
// parser: the valid ones parse, and the invalid ones the parser refuses say
// what the document says they say.
func TestQueryExamplesParse(t *testing.T) {
	exs := examples(t, readDoc(t, "query.md"))
	n := 0
	for _, ex := range exs {
		for _, q := range ex.queries {
			n++
			_, err := query.Parse(q)
			switch {
			case !ex.invalid && err != nil:
				t.Errorf("query.md:%d: %q does not parse: %v", ex.line, q, err)
			case ex.invalid && err != nil && err.Error() != ex.message:
				t.Errorf("query.md:%d: %q:\n got %s\nwant %s", ex.line, q, err, ex.message)
			}
			// Invalid queries that parse are refused when compiled; the live
			// test checks those.
		}
	}
	if n < 100 {
		t.Errorf("query.md has %d example queries; expected the reference to hold at least 100", n)
	}
	t.Logf("%d queries in %d blocks", n, len(exs))
}

// TestQueryExamplesLive runs every example of query.md against a server with
// the demo dataset and checks the hit counts and error messages the
// document states. It starts `codetrail serve --demo` itself (about a
// minute), or uses CODETRAIL_DOCS_SERVER=host:port, a server already
// serving an unchanged demo dataset.
func TestQueryExamplesLive(t *testing.T) {
	addr := os.Getenv("CODETRAIL_DOCS_SERVER")
	if addr == "" {
		if testing.Short() {
			t.Skip("starts a demo server; runs without -short or with CODETRAIL_DOCS_SERVER")
		}
		addr = startDemo(t)
	}
	c, err := client.Dial(addr, client.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, ex := range examples(t, readDoc(t, "query.md")) {
		for _, q := range ex.queries {
			res, err := c.Search(ctx, &pb.SearchRequest{Query: q, PageSize: 1, View: pb.EventView_EVENT_VIEW_SUMMARY})
			if ex.invalid {
				st := status.Convert(err)
				if err == nil || st.Code() != codes.InvalidArgument || st.Message() != "query: "+ex.message {
					t.Errorf("query.md:%d: %q: got %v, want InvalidArgument %q", ex.line, q, err, "query: "+ex.message)
				}
				continue
			}
			if err != nil {
				t.Errorf("query.md:%d: %q: %v", ex.line, q, err)
				continue
			}
			if ex.hits >= 0 && res.GetTotalHits() != int64(ex.hits) {
				t.Errorf("query.md:%d: %q: %d hits, the document says %d", ex.line, q, res.GetTotalHits(), ex.hits)
			}
		}
	}
}

// --- the binary -------------------------------------------------------------

var (
	buildOnce sync.Once
	binDir    string // removed by TestMain
	binPath   string
	buildErr  error
)

// binary builds cmd/codetrail once for all tests.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "codetrail-docs")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "codetrail")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/codetrail").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

var (
	helpOnce  sync.Once
	helpFlags map[string]bool // flag name -> takes a value
	helpErr   error
)

// helpFlagRe matches the line of `serve --help` that names a flag, as
// "  --name", "  --name TYPE" or "  --name TYPE (repeatable)" (and the one
// dash of the flag package's own format).
var helpFlagRe = regexp.MustCompile(`^  --?([a-z0-9-]+)(?: ([^ (]\S*))?(?: \(repeatable\))?$`)

// serveFlags returns the flags `codetrail serve --help` lists, and whether
// each takes a value (bool flags do not).
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := binary(t)
	helpOnce.Do(func() {
		out, err := exec.Command(bin, "serve", "--help").CombinedOutput()
		if err != nil {
			helpErr = fmt.Errorf("serve --help: %v\n%s", err, out)
			return
		}
		helpFlags = map[string]bool{}
		for _, line := range strings.Split(string(out), "\n") {
			if m := helpFlagRe.FindStringSubmatch(line); m != nil {
				helpFlags[m[1]] = m[2] != ""
			}
		}
		if len(helpFlags) < 10 {
			helpErr = fmt.Errorf("serve --help lists %d flags:\n%s", len(helpFlags), out)
		}
	})
	if helpErr != nil {
		t.Fatal(helpErr)
	}
	return helpFlags
}

// flagArgs reads the flags of a serve command line (the arguments after
// "serve"); every flag must be one serve has. Repeated flags keep every value.
func flagArgs(t *testing.T, where string, args []string) map[string][]string {
	t.Helper()
	known := serveFlags(t)
	out := map[string][]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: argument %q is not a flag (serve takes none)", where, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := known[name]
		if !ok {
			t.Errorf("%s: --%s is not a flag of codetrail serve", where, name)
			continue
		}
		if takesValue && !hasValue {
			if i+1 >= len(args) {
				t.Errorf("%s: --%s needs a value", where, name)
				continue
			}
			i++
			value = args[i]
		}
		out[name] = append(out[name], value)
	}
	return out
}

// one returns the single value of a flag, or fails.
func one(t *testing.T, where string, flags map[string][]string, name string) string {
	t.Helper()
	v := flags[name]
	if len(v) != 1 {
		t.Fatalf("%s: want --%s once, found %d", where, name, len(v))
	}
	return v[0]
}

func port(t *testing.T, where, hostport string) string {
	t.Helper()
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		t.Fatalf("%s: %q has no port", where, hostport)
	}
	return hostport[i+1:]
}

// checkPlaintext mirrors serve's rule: plaintext only on loopback, unless
// --plaintext says a proxy or mesh provides TLS.
func checkPlaintext(t *testing.T, where string, flags map[string][]string) {
	t.Helper()
	if len(flags["tls-cert"]) > 0 || len(flags["plaintext"]) > 0 {
		return
	}
	for _, l := range []string{"listen", "http-listen"} {
		for _, addr := range flags[l] {
			host := addr[:max(strings.LastIndexByte(addr, ':'), 0)]
			if ip := net.ParseIP(strings.Trim(host, "[]")); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				t.Errorf("%s: --%s %s is not loopback, and there is neither --tls-cert nor --plaintext: serve would refuse to start", where, l, addr)
			}
		}
	}
}

func duration(t *testing.T, where, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return d
}

var listenRe = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startDemo runs `codetrail serve --demo` on a loopback port and waits until
// the demo dataset is stored.
func startDemo(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	cmd := exec.Command(binary(t), "serve", "--demo", "--demo-events", "20000", "--demo-seed", "1",
		"--data", data, "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		log strings.Builder
	)
	addrc := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
	}()
	logText := func() string {
		mu.Lock()
		defer mu.Unlock()
		return log.String()
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { <-scanned; done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server exit: %v\n%s", err, logText())
			}
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("server did not stop on SIGTERM\n%s", logText())
		}
	})
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(2 * time.Minute):
		t.Fatalf("server did not start\n%s", logText())
	}
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := countFiles(t, filepath.Join(data, "demo"))
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st, err := c.Stats(context.Background())
		if err == nil && st.GetEvents() == 20000 && st.GetIngest().GetFiles() == int64(want) {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo dataset not stored in time: %v %v\n%s", st, err, logText())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
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

// --- deploy/codetrail.service -------------------------------------------

// unitFile is a systemd unit: section -> key -> values (keys may repeat).
type unitFile map[string]map[string][]string

func parseUnit(src string) (unitFile, error) {
	u := unitFile{}
	section := ""
	var cont strings.Builder
	lines := strings.Split(src, "\n")
	for n := 0; n < len(lines); n++ {
		line := strings.TrimSpace(lines[n])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header", n+1)
			}
			section = line[1 : len(line)-1]
			if _, dup := u[section]; dup {
				return nil, fmt.Errorf("line %d: section %s twice", n+1, section)
			}
			u[section] = map[string][]string{}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: setting outside a section", n+1)
		}
		// A trailing backslash continues the line; comments may sit
		// between continued lines.
		cont.Reset()
		for strings.HasSuffix(line, `\`) {
			cont.WriteString(strings.TrimSuffix(line, `\`) + " ")
			for n++; n < len(lines); n++ {
				line = strings.TrimSpace(lines[n])
				if line != "" && line[0] != '#' && line[0] != ';' {
					break
				}
			}
			if n == len(lines) {
				return nil, fmt.Errorf("continued line at end of file")
			}
		}
		cont.WriteString(line)
		key, value, ok := strings.Cut(cont.String(), "=")
		if !ok {
			return nil, fmt.Errorf("line %d: expected Key=Value", n+1)
		}
		key = strings.TrimSpace(key)
		u[section][key] = append(u[section][key], strings.TrimSpace(value))
	}
	return u, nil
}

// splitCommand splits a systemd command line into words (double and single
// quotes group; no other expansion is used in our unit).
func splitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

func TestSystemdUnit(t *testing.T) {
	const where = "deploy/codetrail.service"
	u, err := parseUnit(readDoc(t, "deploy/codetrail.service"))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Fatalf("%s: no [%s] section", where, s)
		}
	}
	svc := u["Service"]
	get := func(key string) string {
		v := svc[key]
		if len(v) != 1 {
			t.Fatalf("%s: want %s= once, found %d", where, key, len(v))
		}
		return v[0]
	}
	if len(svc["User"]) == 0 && get("DynamicUser") != "yes" {
		t.Errorf("%s: neither DynamicUser=yes nor User=", where)
	}
	for key, want := range map[string]string{
		"ProtectSystem":   "strict",
		"NoNewPrivileges": "yes",
		"Restart":         "on-failure",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	} {
		if got := get(key); got != want {
			t.Errorf("%s: %s=%s, want %s", where, key, got, want)
		}
	}
	if len(u["Install"]["WantedBy"]) == 0 {
		t.Errorf("%s: no WantedBy= in [Install]", where)
	}

	argv, err := splitCommand(get("ExecStart"))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if len(argv) < 2 || !filepath.IsAbs(strings.TrimLeft(argv[0], "-@+!:")) || argv[1] != "serve" {
		t.Fatalf("%s: ExecStart must be an absolute path to codetrail, then serve: %q", where, argv)
	}
	flags := flagArgs(t, where+" ExecStart", argv[2:])
	state := get("StateDirectory")
	if data := one(t, where, flags, "data"); data != "/var/lib/"+state {
		t.Errorf("%s: --data %s is not the StateDirectory /var/lib/%s", where, data, state)
	}
	one(t, where, flags, "listen")
	checkPlaintext(t, where, flags)
	if len(flags["source"]) == 0 {
		t.Errorf("%s: no --source", where)
	}
	stop := duration(t, where, strings.TrimSuffix(get("TimeoutStopSec"), "s")+"s")
	if grace := duration(t, where, one(t, where, flags, "shutdown-timeout")); stop <= grace {
		t.Errorf("%s: TimeoutStopSec=%s leaves no time after --shutdown-timeout %s", where, stop, grace)
	}

	// systemd's own check, where it is installed. It wants the executable
	// to exist, so it runs on a copy that names the binary just built.
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: unit checked by this test only")
		return
	}
	unit := strings.ReplaceAll(readDoc(t, "deploy/codetrail.service"), argv[0], binary(t))
	path := filepath.Join(t.TempDir(), "codetrail.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sa, "verify", path).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", where, err, out)
	}
}

// --- deploy/codetrail.yaml ------------------------------------------------

// at walks a decoded YAML value along keys (strings) and indexes (ints).
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := at(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	s, _ := at(v, path...).([]any)
	return s
}

func TestKubernetesManifest(t *testing.T) {
	const where = "deploy/codetrail.yaml"
	docs, err := parseYAML(readDoc(t, "deploy/codetrail.yaml"))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	byKind := map[string][]map[string]any{}
	for _, d := range docs {
		if str(d, "apiVersion") == "" || str(d, "metadata", "name") == "" {
			t.Errorf("%s: a document without apiVersion or metadata.name: %v", where, d)
		}
		byKind[str(d, "kind")] = append(byKind[str(d, "kind")], d)
	}
	if len(byKind["StatefulSet"]) != 1 || len(byKind["Service"]) == 0 {
		t.Fatalf("%s: want one StatefulSet and a Service, found %v", where, slices.Sorted(maps.Keys(byKind)))
	}
	sts := byKind["StatefulSet"][0]
	pod := at(sts, "spec", "template")
	labels, _ := at(pod, "metadata", "labels").(map[string]any)
	if len(labels) == 0 || !reflect.DeepEqual(at(sts, "spec", "selector", "matchLabels"), at(pod, "metadata", "labels")) {
		t.Errorf("%s: the StatefulSet's selector does not match its pod labels", where)
	}
	var ctr any
	for _, c := range list(pod, "spec", "containers") {
		if str(c, "name") == "codetrail" {
			ctr = c
		}
	}
	if ctr == nil {
		t.Fatalf("%s: no container named codetrail", where)
	}
	args := make([]string, 0)
	for _, a := range list(ctr, "args") {
		s, _ := a.(string)
		args = append(args, s)
	}
	if len(args) == 0 || args[0] != "serve" {
		t.Fatalf("%s: the container's args must start with serve: %q", where, args)
	}
	flags := flagArgs(t, where+" args", args[1:])
	checkPlaintext(t, where, flags)

	// $(VAR) in args must name a variable the container defines.
	env := map[string]bool{}
	for _, e := range list(ctr, "env") {
		env[str(e, "name")] = true
	}
	for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(strings.Join(args, " "), -1) {
		if !env[m[1]] {
			t.Errorf("%s: args use $(%s), which env does not define", where, m[1])
		}
	}

	// Ports: --listen and --metrics-listen are container ports named grpc
	// and metrics; every probe asks gRPC health on the grpc port.
	ports := map[string]string{}
	for _, p := range list(ctr, "ports") {
		ports[str(p, "name")] = str(p, "containerPort")
	}
	grpcPort := port(t, where, one(t, where, flags, "listen"))
	if ports["grpc"] != grpcPort {
		t.Errorf("%s: --listen port %s, containerPort grpc %q", where, grpcPort, ports["grpc"])
	}
	if ml := flags["metrics-listen"]; len(ml) == 1 && ports["metrics"] != port(t, where, ml[0]) {
		t.Errorf("%s: --metrics-listen port %s, containerPort metrics %q", where, port(t, where, ml[0]), ports["metrics"])
	}
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		p := at(ctr, probe)
		if probe != "startupProbe" && p == nil {
			t.Errorf("%s: no %s", where, probe)
			continue
		}
		if p == nil {
			continue
		}
		if got := str(p, "grpc", "port"); got != grpcPort {
			t.Errorf("%s: %s does not ask gRPC health on port %s: %v", where, probe, grpcPort, p)
		}
	}
	for _, r := range []string{"cpu", "memory"} {
		if str(ctr, "resources", "requests", r) == "" {
			t.Errorf("%s: no resources.requests.%s", where, r)
		}
	}

	// The data directory is the mount of a volume claim template.
	data := one(t, where, flags, "data")
	var mounted string
	for _, m := range list(ctr, "volumeMounts") {
		if str(m, "mountPath") == data {
			mounted = str(m, "name")
		}
	}
	claimed := false
	for _, c := range list(sts, "spec", "volumeClaimTemplates") {
		if str(c, "metadata", "name") == mounted && str(c, "spec", "resources", "requests", "storage") != "" {
			claimed = true
		}
	}
	if mounted == "" || !claimed {
		t.Errorf("%s: --data %s is not mounted from a volumeClaimTemplate with a storage request", where, data)
	}

	grace, err := strconv.Atoi(str(pod, "spec", "terminationGracePeriodSeconds"))
	if err != nil {
		t.Errorf("%s: terminationGracePeriodSeconds: %v", where, err)
	} else if d := duration(t, where, one(t, where, flags, "shutdown-timeout")); time.Duration(grace)*time.Second <= d {
		t.Errorf("%s: terminationGracePeriodSeconds %d leaves no time after --shutdown-timeout %s", where, grace, d)
	}

	// Services select the pods and send to ports the container has.
	headless := false
	for _, svc := range byKind["Service"] {
		name := str(svc, "metadata", "name")
		if !reflect.DeepEqual(at(svc, "spec", "selector"), at(pod, "metadata", "labels")) {
			t.Errorf("%s: Service %s does not select the pods", where, name)
		}
		for _, p := range list(svc, "spec", "ports") {
			tp := str(p, "targetPort")
			if _, named := ports[tp]; !named && !slices.Contains(slices.Collect(maps.Values(ports)), tp) {
				t.Errorf("%s: Service %s targets port %q, which the container does not have", where, name, tp)
			}
		}
		if name == str(sts, "spec", "serviceName") && str(svc, "spec", "clusterIP") == "None" {
			headless = true
		}
	}
	// Network policies select the pods and open ports the container has.
	for _, np := range byKind["NetworkPolicy"] {
		if !reflect.DeepEqual(at(np, "spec", "podSelector", "matchLabels"), at(pod, "metadata", "labels")) {
			t.Errorf("%s: NetworkPolicy %s does not select the pods", where, str(np, "metadata", "name"))
		}
		for _, rule := range list(np, "spec", "ingress") {
			for _, p := range list(rule, "ports") {
				if _, named := ports[str(p, "port")]; !named && !slices.Contains(slices.Collect(maps.Values(ports)), str(p, "port")) {
					t.Errorf("%s: NetworkPolicy %s opens port %q, which the container does not have", where, str(np, "metadata", "name"), str(p, "port"))
				}
			}
		}
	}
	if !headless {
		t.Errorf("%s: spec.serviceName %q is not a headless Service of the manifest", where, str(sts, "spec", "serviceName"))
	}

	// Where kubectl is installed, its kustomize reads the manifest with a
	// real YAML parser: it must accept it, and this test's parser must have
	// read the same thing.
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not installed: manifest read by this test's parser only")
		return
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "codetrail.yaml"), []byte(readDoc(t, "deploy/codetrail.yaml")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources:\n- codetrail.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "kustomize", dir).Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", where, err)
	}
	theirs, err := parseYAML(string(out))
	if err != nil {
		t.Fatalf("reading kubectl kustomize's output: %v", err)
	}
	key := func(d map[string]any) string { return str(d, "kind") + "/" + str(d, "metadata", "name") }
	sort.Slice(theirs, func(i, j int) bool { return key(theirs[i]) < key(theirs[j]) })
	ours := slices.Clone(docs)
	sort.Slice(ours, func(i, j int) bool { return key(ours[i]) < key(ours[j]) })
	if !reflect.DeepEqual(ours, theirs) {
		t.Errorf("this test's YAML parser and kubectl kustomize read %s differently:\n ours %v\ntheirs %v", where, ours, theirs)
	}
}

func TestYAMLSubset(t *testing.T) {
	docs, err := parseYAML("# c\na: 1\nb:\n  - x\n  - y: \"q # not a comment\"\n    z: 'it''s'\nc:\n- d: []\n---\n---\ne: {} # comment\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"a": "1", "b": []any{"x", map[string]any{"y": "q # not a comment", "z": "it's"}}, "c": []any{map[string]any{"d": []any{}}}},
		{"e": map[string]any{}},
	}
	if !reflect.DeepEqual(docs, want) {
		t.Fatalf("got %#v\nwant %#v", docs, want)
	}
	for _, bad := range []string{"a: [1, 2]\n", "a: &x 1\n", "a: |\n  x\n", "a: 1\na: 2\n", "a:\n\t- x\n", "a: b: c\n", "a: 1\n  b: 2\n"} {
		if _, err := parseYAML(bad); err == nil {
			t.Errorf("parseYAML(%q) accepted YAML outside the subset", bad)
		}
	}
}

// --- cross-references ----------------------------------------------------

// TestOperationsCoversFlagsAndMetrics checks that operations.md names every
// flag of `codetrail serve` and every metric the server registers.
func TestOperationsCoversFlagsAndMetrics(t *testing.T) {
	doc := readDoc(t, "operations.md")
	for name := range serveFlags(t) {
		if !strings.Contains(doc, "`--"+name+"`") {
			t.Errorf("operations.md does not document `--%s`", name)
		}
	}
	for _, m := range registeredMetrics(t) {
		if !strings.Contains(doc, "`"+m+"`") && !strings.Contains(doc, "`"+m+"{") {
			t.Errorf("operations.md does not list the metric %s", m)
		}
	}
}

const module = "github.com/codetrail/codetrail"

// registeredMetrics returns the names of the metrics of the packages whose
// Collectors() cmd/codetrail/serve.go registers, read from their sources:
// the Namespace/Subsystem/Name of each metric's options, and the names of
// prometheus.NewDesc. (The gRPC server metrics of go-grpc-middleware are
// not codetrail's and are not checked.)
func registeredMetrics(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../cmd/codetrail/serve.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]string{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		name := p[strings.LastIndexByte(p, '/')+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		imports[name] = p
	}
	var dirs []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Collectors" {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok && strings.HasPrefix(imports[id.Name], module+"/") {
			dirs = append(dirs, filepath.Join("..", strings.TrimPrefix(imports[id.Name], module+"/")))
		}
		return true
	})
	if len(dirs) < 5 {
		t.Fatalf("found %d packages registering metrics in serve.go: %v", len(dirs), dirs)
	}
	var names []string
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			pf, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(pf, func(n ast.Node) bool {
				// prometheus.NewDesc("codetrail_...", ...) of custom collectors.
				if call, ok := n.(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewDesc" && len(call.Args) > 0 {
						if v, ok := call.Args[0].(*ast.BasicLit); ok && v.Kind == token.STRING {
							name, _ := strconv.Unquote(v.Value)
							names = append(names, name)
						}
					}
					return true
				}
				lit, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				parts := map[string]string{}
				for _, e := range lit.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					k, ok1 := kv.Key.(*ast.Ident)
					v, ok2 := kv.Value.(*ast.BasicLit)
					if ok1 && ok2 && v.Kind == token.STRING {
						parts[k.Name], _ = strconv.Unquote(v.Value)
					}
				}
				if parts["Namespace"] != "" && parts["Name"] != "" {
					name := parts["Namespace"] + "_"
					if parts["Subsystem"] != "" {
						name += parts["Subsystem"] + "_"
					}
					names = append(names, name+parts["Name"])
				}
				return true
			})
		}
	}
	if len(names) < 20 {
		t.Fatalf("found only %d metrics: %v", len(names), names)
	}
	return names
}

// TestAPICoversProto checks that api.md names every RPC, every field of the
// messages of the codetrail.v1 files and every enum value.
func TestAPICoversProto(t *testing.T) {
	doc := readDoc(t, "api.md")
	files := []protoreflect.FileDescriptor{
		pb.File_codetrail_v1_event_proto,
		pb.File_codetrail_v1_event_service_proto,
		pb.File_codetrail_v1_ingest_service_proto,
	}
	named := func(s string) bool { return strings.Contains(doc, "`"+s+"`") }
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		for i := 0; i < md.Fields().Len(); i++ {
			f := md.Fields().Get(i)
			if !named(string(f.Name())) && !named(f.JSONName()) {
				t.Errorf("api.md does not document %s.%s", md.Name(), f.Name())
			}
		}
		for i := 0; i < md.Messages().Len(); i++ {
			walk(md.Messages().Get(i))
		}
	}
	for _, fd := range files {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				if m := sd.Methods().Get(j); !strings.Contains(doc, "## "+string(m.Name())) && !strings.Contains(doc, "### "+string(m.Name())) {
					t.Errorf("api.md has no section for %s.%s", sd.Name(), m.Name())
				}
			}
		}
		for i := 0; i < fd.Messages().Len(); i++ {
			walk(fd.Messages().Get(i))
		}
		for i := 0; i < fd.Enums().Len(); i++ {
			vals := fd.Enums().Get(i).Values()
			for j := 0; j < vals.Len(); j++ {
				if !named(string(vals.Get(j).Name())) {
					t.Errorf("api.md does not document %s", vals.Get(j).Name())
				}
			}
		}
	}
}

// TestLinks checks the relative links of the documents and README.md: the
// file exists and so does the heading an anchor names.
func TestLinks(t *testing.T) {
	docs, _ := filepath.Glob("*.md")
	docs = append(docs, "../README.md")
	linkRe := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, d := range docs {
		for _, m := range linkRe.FindAllStringSubmatch(stripCode(readDoc(t, d)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := d
			if file != "" {
				path = filepath.Join(filepath.Dir(d), file)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: link %s: %v", d, target, err)
				continue
			}
			if anchor != "" && !slices.Contains(anchors(t, path), anchor) {
				t.Errorf("%s: link %s: no such heading in %s", d, target, path)
			}
		}
	}
	readme := readDoc(t, "../README.md")
	for _, d := range []string{"query.md", "api.md", "operations.md", "scaling.md", "aws.md", "security.md", "blocks.md"} {
		if !strings.Contains(readme, "(docs/"+d+")") {
			t.Errorf("README.md does not link docs/%s", d)
		}
	}
}

// stripCode removes fenced code blocks, whose text is not Markdown.
func stripCode(s string) string {
	var b strings.Builder
	in := false
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " "), "```") {
			in = !in
			continue
		}
		if !in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// anchors returns the GitHub anchors of the headings of a Markdown file.
func anchors(t *testing.T, path string) []string {
	var out []string
	seen := map[string]int{}
	for _, line := range strings.Split(stripCode(readDoc(t, path)), "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out = append(out, fmt.Sprintf("%s-%d", a, n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}
