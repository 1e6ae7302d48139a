package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests build the real binary, start `codetrail serve` on a
// loopback port and drive it with the real grpcurl binary and the CLI.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "codetrail-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "codetrail")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// grpcurlPath finds grpcurl in PATH, GOBIN, GOPATH/bin or the repo's .tools.
func grpcurlPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	cands := []string{filepath.Join("..", "..", ".tools", "bin", "grpcurl")}
	if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		cands = append(cands, filepath.Join(strings.TrimSpace(string(gp)), "bin", "grpcurl"))
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			abs, _ := filepath.Abs(c)
			return abs
		}
	}
	t.Fatal("grpcurl not found: run `make test`, which installs it (go install github.com/fullstorydev/grpcurl/cmd/grpcurl)")
	return ""
}

type testServer struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
	done   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listenRe = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer runs `codetrail serve` with args on a free loopback port.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	base := []string{"serve", "--listen", "127.0.0.1:0", "--watch-interval", "200ms"}
	if l := os.Getenv("CODETRAIL_TEST_LAYOUT"); l != "" {
		// make test runs these again with every partition stored per event.
		base = append(base, "--layout", l)
	}
	cmd := exec.Command(binary(t), append(base, args...)...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.stderr.Write([]byte(line + "\n"))
			if m := listenRe.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.addr = <-addrc:
	case err := <-s.done:
		t.Fatalf("server exited: %v\n%s", err, s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start\n%s", s.stderr.String())
	}
	return s
}

// stop sends SIGTERM and expects a clean exit.
func (s *testServer) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("server exit: %v\n%s", err, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop on SIGTERM\n%s", s.stderr.String())
	}
}

// grpcurl runs `grpcurl -plaintext [-d data] addr args...` and returns
// stdout, stderr and the exit error.
func grpcurl(t *testing.T, addr, data string, args ...string) (string, string, error) {
	t.Helper()
	full := []string{"-plaintext"}
	if data != "" {
		full = append(full, "-d", data)
	}
	full = append(append(full, addr), args...)
	cmd := exec.Command(grpcurlPath(t), full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func mustGrpcurl(t *testing.T, addr, data string, args ...string) string {
	t.Helper()
	out, errs, err := grpcurl(t, addr, data, args...)
	if err != nil {
		t.Fatalf("grpcurl %s %v: %v\n%s%s", data, args, err, out, errs)
	}
	return out
}

// runCLI runs the binary with stdout and stderr each to its own pipe, as a
// script would, and fails the test on a non-zero exit.
func runCLI(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("codetrail %v: %v\n%s%s", args, err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func run1(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("codetrail %v: %v\n%s", args, err, out)
	}
	return string(out)
}

type statsJSON struct {
	Events string `json:"events"`
	Ingest struct {
		Files          string `json:"files"`
		EventsStored   string `json:"eventsStored"`
		InvalidRecords string `json:"invalidRecords"`
	} `json:"ingest"`
}

// waitStats polls Stats until cond holds. The bound is generous: the demo
// ingests in about 20 s, but on a machine busy with other work (a benchmark
// beside the tests) it took more than 90 s; this is not a speed test.
func waitStats(t *testing.T, addr string, cond func(statsJSON) bool) statsJSON {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	var st statsJSON
	for time.Now().Before(deadline) {
		out, _, err := grpcurl(t, addr, "", "codetrail.v1.EventService/Stats")
		if err == nil {
			st = statsJSON{}
			if json.Unmarshal([]byte(out), &st) == nil && cond(st) {
				return st
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("stats never reached the expected state; last %+v", st)
	return st
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
			n++
		}
		return nil
	})
	return n
}

func TestEndToEndDemoWithGrpcurl(t *testing.T) {
	data := t.TempDir()
	// The default demo dataset, as `make demo` serves it: the README's
	// examples (ids, counts) refer to it.
	srv := startServer(t, "--demo", "--data", data)
	addr := srv.addr
	files := countFiles(t, filepath.Join(data, "demo"))
	st := waitStats(t, addr, func(s statsJSON) bool { return s.Ingest.Files == fmt.Sprint(files) })
	if st.Events == "" || st.Events == "0" {
		t.Fatalf("no events after demo ingest: %+v", st)
	}

	t.Run("readme examples", func(t *testing.T) { readmeExamples(t, addr) })
	t.Run("list", func(t *testing.T) {
		out := mustGrpcurl(t, addr, "", "list")
		for _, svc := range []string{"codetrail.v1.EventService", "codetrail.v1.IngestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
			if !strings.Contains(out, svc) {
				t.Errorf("list lacks %s:\n%s", svc, out)
			}
		}
	})
	t.Run("describe", func(t *testing.T) {
		out := mustGrpcurl(t, addr, "", "describe", "codetrail.v1.SearchRequest")
		for _, f := range []string{"page_token", "facets", "histogram", "start_time"} {
			if !strings.Contains(out, f) {
				t.Errorf("describe lacks %s:\n%s", f, out)
			}
		}
	})
	var firstID string
	t.Run("search", func(t *testing.T) {
		out := mustGrpcurl(t, addr, `{"query":"resource:MyFirstPipeline","pageSize":5,"facets":[{"field":"eventName","size":20}],"histogram":{"interval":"1d"}}`,
			"codetrail.v1.EventService/Search")
		var res struct {
			Events []struct {
				EventID   string         `json:"eventId"`
				EventName string         `json:"eventName"`
				Resources []string       `json:"resources"`
				Cursor    string         `json:"cursor"`
				Record    map[string]any `json:"record"`
			} `json:"events"`
			TotalHits     string `json:"totalHits"`
			NextPageToken string `json:"nextPageToken"`
			Facets        []struct {
				Counts []struct {
					Value string `json:"value"`
				} `json:"counts"`
			} `json:"facets"`
			Histogram []any `json:"histogram"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(res.Events) != 5 || res.NextPageToken == "" || len(res.Histogram) == 0 {
			t.Fatalf("search: %d events, token %q, %d buckets\n%s", len(res.Events), res.NextPageToken, len(res.Histogram), out)
		}
		names := map[string]bool{}
		for _, c := range res.Facets[0].Counts {
			names[c.Value] = true
		}
		for _, want := range []string{"CreatePipeline", "UpdatePipeline", "StartPipelineExecution"} {
			if !names[want] {
				t.Errorf("resource:MyFirstPipeline facets lack %s: %v", want, names)
			}
		}
		for _, e := range res.Events {
			if e.Cursor == "" || e.Record["eventID"] != e.EventID {
				t.Errorf("event %s: cursor %q, record eventID %v", e.EventID, e.Cursor, e.Record["eventID"])
			}
		}
		firstID = res.Events[0].EventID
	})
	t.Run("get event", func(t *testing.T) {
		out := mustGrpcurl(t, addr, fmt.Sprintf(`{"eventId":%q}`, firstID), "codetrail.v1.EventService/GetEvent")
		if !strings.Contains(out, firstID) || !strings.Contains(out, `"record"`) {
			t.Fatalf("GetEvent:\n%s", out)
		}
		_, errs, err := grpcurl(t, addr, `{"eventId":"no-such-event"}`, "codetrail.v1.EventService/GetEvent")
		if err == nil || !strings.Contains(errs, "NotFound") {
			t.Fatalf("missing event: %v %s", err, errs)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		_, errs, err := grpcurl(t, addr, `{"query":"eventName:(CreatePipeline"}`, "codetrail.v1.EventService/Search")
		if err == nil || !strings.Contains(errs, "InvalidArgument") || !strings.Contains(errs, "at 10") {
			t.Fatalf("bad query: %v\n%s", err, errs)
		}
	})
	t.Run("misspelled field", func(t *testing.T) {
		out := mustGrpcurl(t, addr, `{"query":"evntName:CreatePipeline"}`, "codetrail.v1.EventService/Search")
		if !strings.Contains(out, `did you mean \"eventName\"?`) {
			t.Fatalf("Search on a misspelled field gave no warning:\n%s", out)
		}
		stdout, stderr := runCLI(t, "search", "--server", addr, "--count", "evntName:CreatePipeline")
		if stdout != "0\n" || !strings.Contains(stderr, `warning: no stored event has the field "evntName"; did you mean "eventName"?`) {
			t.Fatalf("search --count on a misspelled field: stdout %q, stderr %q", stdout, stderr)
		}
	})
	t.Run("health", func(t *testing.T) {
		out := mustGrpcurl(t, addr, "", "grpc.health.v1.Health/Check")
		if !strings.Contains(out, "SERVING") {
			t.Fatalf("health: %s", out)
		}
	})
	t.Run("cli search", func(t *testing.T) {
		out := run1(t, "search", "--server", addr, "--limit", "3", "--facet", "service", "user:JaneDoe")
		if !strings.Contains(out, "TIME") || !strings.Contains(out, "JaneDoe") || !regexp.MustCompile(`(?m)^service +COUNT +SHARE$`).MatchString(out) {
			t.Fatalf("search output:\n%s", out)
		}
	})
	t.Run("cli search count", func(t *testing.T) {
		out, _ := runCLI(t, "search", "--server", addr, "--count", "user:JaneDoe AND errorCode:AccessDenied")
		if out != "12\n" {
			t.Fatalf("--count printed %q, want the README's 12", out)
		}
		all, _ := runCLI(t, "search", "--server", addr, "--count")
		if all != st.Events+"\n" {
			t.Fatalf("--count of everything %q, Stats has %s events", all, st.Events)
		}
		// The demo spans October 2026: a date range and a duration both bound it.
		oct, _ := runCLI(t, "search", "--server", addr, "--count", "--since", "2026-10-01", "--until", "2026-10-31")
		if oct != st.Events+"\n" {
			t.Fatalf("--since 2026-10-01 --until 2026-10-31 (whole days) counts %q, want %s", oct, st.Events)
		}
		// Each duration ago counts what the time it names counts. The CLI
		// takes "now" when it runs, a moment after the test does, and the
		// demo's events may fall in between (40 days ago lies inside
		// October from late November on): so the count of a duration ago
		// is bounded by the counts since the whole seconds around the
		// moments it could have taken.
		count := func(args ...string) int {
			out, _ := runCLI(t, append([]string{"search", "--server", addr, "--count"}, args...)...)
			var n int
			if _, err := fmt.Sscan(out, &n); err != nil {
				t.Fatalf("--count %v printed %q", args, out)
			}
			return n
		}
		var events int
		fmt.Sscan(st.Events, &events)
		for _, d := range []struct {
			ago string
			d   time.Duration
		}{{"90m", 90 * time.Minute}, {"2h", 2 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"2w", 14 * 24 * time.Hour}, {"40d", 40 * 24 * time.Hour}} {
			before := time.Now()
			a := count("--since", d.ago)
			o := count("--until", d.ago)
			after := time.Now()
			lo := before.Add(-d.d).Truncate(time.Second)
			hi := after.Add(-d.d).Truncate(time.Second).Add(time.Second)
			most := count("--since", lo.UTC().Format(time.RFC3339))
			least := count("--since", hi.UTC().Format(time.RFC3339))
			if a < least || a > most {
				t.Errorf("--since %s counts %d, outside --since %s (%d) and --since %s (%d)", d.ago, a, hi.UTC().Format(time.RFC3339), least, lo.UTC().Format(time.RFC3339), most)
			}
			// --until took its moment after --since: the events between
			// the two are counted twice, and no event is left out.
			if a+o < events || a+o > events+most-least {
				t.Errorf("--since %s (%d) and --until %s (%d) do not add up to %d (give or take the %d events between %s and %s)", d.ago, a, d.ago, o, events, most-least, lo.UTC().Format(time.RFC3339), hi.UTC().Format(time.RFC3339))
			}
		}
	})
	t.Run("cli search jsonl", func(t *testing.T) {
		// 1,200 events take two pages (the CLI asks at most 1,000 a page).
		out, _ := runCLI(t, "search", "--server", addr, "--jsonl", "--limit", "1200", "--order", "oldest")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 1200 {
			t.Fatalf("--jsonl --limit 1200 printed %d lines", len(lines))
		}
		seen := map[string]bool{}
		last := ""
		for i, l := range lines {
			var e struct {
				EventID   string         `json:"eventId"`
				EventTime string         `json:"eventTime"`
				Record    map[string]any `json:"record"`
			}
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, l)
			}
			if e.EventID == "" || e.Record["eventID"] != e.EventID || seen[e.EventID] || e.EventTime < last {
				t.Fatalf("line %d: id %q (seen %v), record eventID %v, time %s after %s", i+1, e.EventID, seen[e.EventID], e.Record["eventID"], e.EventTime, last)
			}
			seen[e.EventID], last = true, e.EventTime
		}
	})
	t.Run("cli search relevance", func(t *testing.T) {
		// Relevance on either layout: every match once, through pages.
		const q = "errorCode:* OR readOnly:true"
		out, _ := runCLI(t, "search", "--server", addr, "--limit", "0", q)
		m := regexp.MustCompile(`^([\d,]+) matching events`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("--limit 0 prints no total:\n%s", out)
		}
		total, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
		if err != nil || total == 0 {
			t.Fatalf("total %q: %v", m[1], err)
		}
		out, _ = runCLI(t, "search", "--server", addr, "--jsonl", "--limit", "2000", "--order", "relevance", q)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		seen := map[string]bool{}
		for i, l := range lines {
			var e struct {
				EventID string `json:"eventId"`
			}
			if err := json.Unmarshal([]byte(l), &e); err != nil || e.EventID == "" || seen[e.EventID] {
				t.Fatalf("line %d: id %q (seen %v) %v", i+1, e.EventID, seen[e.EventID], err)
			}
			seen[e.EventID] = true
		}
		if len(lines) != min(total, 2000) {
			t.Fatalf("relevance order printed %d events of %d", len(lines), total)
		}
	})
	t.Run("cli search facet", func(t *testing.T) {
		out, _ := runCLI(t, "search", "--server", addr, "--limit", "0", "--facet", "errorCode", "--facet-size", "3", "errorCode:*")
		lines := strings.Split(out, "\n")
		if !regexp.MustCompile(`^[\d,]+ matching events \(`).MatchString(lines[0]) || lines[1] != "" {
			t.Fatalf("--limit 0 prints the total first:\n%s", out)
		}
		hdr := lines[2]
		if !regexp.MustCompile(`^errorCode +COUNT  SHARE$`).MatchString(hdr) {
			t.Fatalf("facet header %q:\n%s", hdr, out)
		}
		// Counts end under COUNT, shares under SHARE.
		rows := lines[3:]
		if len(rows) < 5 || rows[len(rows)-1] != "" {
			t.Fatalf("facet rows:\n%s", out)
		}
		rows = rows[:len(rows)-1]
		row := regexp.MustCompile(`^(\S.*?) +([\d,]+) +([\d.]+%)$`)
		for _, r := range rows {
			m := row.FindStringSubmatchIndex(r)
			if m == nil || len(r) != len(hdr) || m[5] != strings.Index(hdr, "COUNT")+len("COUNT") {
				t.Fatalf("row %q not aligned with %q:\n%s", r, hdr, out)
			}
		}
		if !strings.HasPrefix(rows[3], "(other values)") {
			t.Fatalf("3 values then (other values):\n%s", out)
		}
	})
	t.Run("cli output to a pipe is plain", func(t *testing.T) {
		for _, args := range [][]string{
			{"search", "--limit", "5", "--facet", "service", "errorCode:*"},
			{"stats"},
		} {
			out, _ := runCLI(t, append([]string{args[0], "--server", addr}, args[1:]...)...)
			if strings.Contains(out, "\x1b[") {
				t.Fatalf("%v to a pipe has ANSI codes:\n%q", args, out)
			}
			col, _ := runCLI(t, append([]string{args[0], "--server", addr, "--color", "always"}, args[1:]...)...)
			if !strings.Contains(col, "\x1b[") {
				t.Fatalf("%v --color always has no colour:\n%q", args, col)
			}
		}
	})
	t.Run("cli completion", func(t *testing.T) {
		out, _ := runCLI(t, "completion", "bash")
		for _, want := range []string{"complete -o default -F _codetrail codetrail", "--count", "--jsonl", "--facet", "--problems", "stats)"} {
			if !strings.Contains(out, want) {
				t.Fatalf("completion bash lacks %q", want)
			}
		}
		f := filepath.Join(t.TempDir(), "c.bash")
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := exec.Command("bash", "-n", f).CombinedOutput(); err != nil {
			t.Fatalf("bash -n: %v\n%s", err, b)
		}
	})
	t.Run("subscribe with grpcurl and tail", func(t *testing.T) { subscribeLive(t, addr) })
	t.Run("cli ingest and dedupe", func(t *testing.T) {
		dir := t.TempDir()
		lines := `{"eventVersion":"1.08","eventID":"11111111-2222-4333-8444-555555555555","eventTime":"2024-05-01T10:00:00Z","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","awsRegion":"us-east-1","recipientAccountId":"123456789012","requestParameters":{"projectName":"e2e-project"}}
not json at all
{"eventVersion":"1.08","eventID":"11111111-2222-4333-8444-555555555556","eventTime":"2024-05-01T10:01:00Z","eventSource":"codebuild.amazonaws.com","eventName":"StopBuild","awsRegion":"us-east-1","recipientAccountId":"123456789012","requestParameters":{"id":"e2e-project:abc"}}
`
		f := filepath.Join(dir, "events.jsonl")
		if err := os.WriteFile(f, []byte(lines), 0o644); err != nil {
			t.Fatal(err)
		}
		out := run1(t, "ingest", "--server", addr, f)
		if !strings.Contains(out, "2 events stored") || !strings.Contains(out, "1 invalid records") || !strings.Contains(out, "line 2") {
			t.Fatalf("first ingest:\n%s", out)
		}
		// To a pipe: one summary line on stdout, no progress bar; problems
		// on stderr.
		out, errs := runCLI(t, "ingest", "--server", addr, f)
		if !strings.Contains(out, "0 events stored, 2 duplicates") || strings.Count(out, "\n") != 1 {
			t.Fatalf("second ingest:\n%s", out)
		}
		if !strings.Contains(errs, "problem: "+f+" line 2: ") || strings.Contains(errs, "\r") {
			t.Fatalf("second ingest stderr:\n%q", errs)
		}
		got := mustGrpcurl(t, addr, `{"query":"resource:e2e-project"}`, "codetrail.v1.EventService/Search")
		if !strings.Contains(got, `"totalHits": "2"`) {
			t.Fatalf("ingested events not searchable:\n%s", got)
		}
	})
	t.Run("cli stats", func(t *testing.T) {
		out, _ := runCLI(t, "stats", "--server", addr)
		for _, re := range []string{
			`(?m)^events +[\d,]+ from 2024-05-01 10:00:00 to 2026-10-31 \S+$`, // the ingest test's events are older than the demo
			`(?m)^index size +[\d.]+ [KMG]iB in \d+ segments( \(compaction running, or due once ingest is idle\))?$`,
			`(?m)^subscribers +\d+ active, \d+ caught up, \d+ lagging, \d+ ended for lag$`,
			`(?m)^SOURCE +INPUTS +RECORDS +STORED +DUPLICATES +INVALID +LAG +LAST STORED +LAST ERROR$`,
			`(?m)^files +` + thousands(int64(files)) + ` +[\d,]+ +[\d,]+ +[\d,]+ +0 +\S+ +\S+ ago$`,
			`(?m)^ingest-rpc +\d+ +\d+ +\d+ +\d+ +[1-9]\d* `,
			`(?m)^recent problems \(`,
			`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  \S*events\.jsonl +line 2 +invalid JSON line: "not json at all"$`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("stats lacks %s:\n%s", re, out)
			}
		}
		raw, _ := runCLI(t, "stats", "--server", addr, "--json")
		var st statsJSON
		if err := json.Unmarshal([]byte(raw), &st); err != nil || st.Events == "" || st.Ingest.EventsStored == "" {
			t.Fatalf("stats --json: %v\n%s", err, raw)
		}
	})
	srv.stop(t)
}

// TestCorpus ingests the real public corpus (skipped when ../shared/corpus
// is absent) and checks counts by eventSource against an independent count.
func TestCorpus(t *testing.T) {
	corpus := filepath.Join("..", "..", "..", "shared", "corpus", "invictus-aws_dataset", "CloudTrail")
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	want := map[string]int{}
	ids := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(corpus, "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Records []struct {
				EventID     string `json:"eventID"`
				EventSource string `json:"eventSource"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range doc.Records {
			if !ids[r.EventID] {
				ids[r.EventID] = true
				want[r.EventSource]++
			}
		}
	}
	srv := startServer(t, "--data", t.TempDir(), "--source", corpus)
	st := waitStats(t, srv.addr, func(s statsJSON) bool { return s.Ingest.Files == fmt.Sprint(len(files)) })
	if st.Events != fmt.Sprint(len(ids)) {
		t.Fatalf("stored %s events, want %d", st.Events, len(ids))
	}
	out := mustGrpcurl(t, srv.addr, `{"pageSize":1,"facets":[{"field":"eventSource","size":100}]}`, "codetrail.v1.EventService/Search")
	var res struct {
		Facets []struct {
			Counts []struct {
				Value string `json:"value"`
				Count string `json:"count"`
			} `json:"counts"`
		} `json:"facets"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range res.Facets[0].Counts {
		var n int
		fmt.Sscan(c.Count, &n)
		got[c.Value] = n
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts by eventSource:\n got %v\nwant %v", got, want)
	}
	srv.stop(t)
}

// readmeExamples runs every grpcurl command of README.md against the demo
// server, as a reader would paste it, and checks what the README says of it.
func readmeExamples(t *testing.T, addr string) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// What each example must print, keyed by a piece of its command.
	expect := []struct{ cmd, out string }{
		{"localhost:7000 list", "codetrail.v1.IngestService"},
		{"resource:MyFirstPipeline", `"value": "StartPipelineExecution"`},
		{"user:JaneDoe AND errorCode:AccessDenied", `"totalHits": "12"`},
		{"NOT errorCode:*", `"eventName": "UpdatePipeline"`},
		{`"histogram": {"interval": "1d"}`, `"histogram": [`},
		{"service:codestar-notifications", `"eventSource": "events.amazonaws.com"`},
		{"GetEvent", `\"name\":\"MyFirstPipeline\"`},
		{"eventName:(CreatePipeline\"}", "query: at 25: expected ')' to close '(' at 10, found end of query"},
		{"EventService/Stats", `"eventsStored"`},
		{"Health/Check", `"SERVING"`},
	}
	dir := filepath.Dir(grpcurlPath(t))
	n := 0
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "grpcurl ") || strings.Contains(line, "/Subscribe") {
			continue // a live stream does not end: subscribeLive covers it
		}
		n++
		cmd := exec.Command("sh", "-c", strings.ReplaceAll(line, "localhost:7000", addr))
		cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		wantFail := strings.Contains(line, "eventName:(CreatePipeline\"}")
		if (err != nil) != wantFail {
			t.Errorf("%s\nexit %v (want failure: %v)\n%s", line, err, wantFail, out)
			continue
		}
		matched := false
		for _, e := range expect {
			if strings.Contains(line, e.cmd) {
				matched = true
				if !strings.Contains(string(out), e.out) {
					t.Errorf("%s\nlacks %s:\n%.3000s", line, e.out, out)
				}
				break
			}
		}
		if !matched {
			t.Errorf("README example has no expectation in this test: %s", line)
		}
	}
	if n < len(expect) {
		t.Errorf("README has %d grpcurl examples, the test expects %d", n, len(expect))
	}
}

// subscribeLive starts a live Subscribe with the real grpcurl and a
// `codetrail tail`, ingests new events with `codetrail ingest`, and watches
// them arrive on both.
func subscribeLive(t *testing.T, addr string) {
	gc := exec.Command(grpcurlPath(t), "-plaintext", "-d", `{"query": "resource:e2e-live"}`, addr, "codetrail.v1.EventService/Subscribe")
	gcOut := &syncBuffer{}
	gc.Stdout, gc.Stderr = gcOut, gcOut
	// The same stream in batches: the three events come as one message.
	gcb := exec.Command(grpcurlPath(t), "-plaintext", "-d", `{"query": "resource:e2e-live", "maxBatch": 10}`, addr, "codetrail.v1.EventService/Subscribe")
	gcbOut := &syncBuffer{}
	gcb.Stdout, gcb.Stderr = gcbOut, gcbOut
	tail := exec.Command(binary(t), "tail", "--server", addr, "resource:e2e-live")
	tailOut, tailErr := &syncBuffer{}, &syncBuffer{}
	tail.Stdout, tail.Stderr = tailOut, tailErr
	for _, c := range []*exec.Cmd{gc, gcb, tail} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Process.Kill(); _ = c.Wait() }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(gcOut.String(), "caughtUp") || !strings.Contains(gcbOut.String(), "caughtUp") || !strings.Contains(tailErr.String(), "live") {
		if time.Now().After(deadline) {
			t.Fatalf("subscribers never caught up:\ngrpcurl: %s\ngrpcurl in batches: %s\ntail: %s", gcOut, gcbOut, tailErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var lines []string
	for i := range 3 {
		lines = append(lines, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"live-%d","eventTime":"2024-06-01T10:00:0%dZ","eventSource":"codedeploy.amazonaws.com","eventName":"CreateDeployment","awsRegion":"eu-west-1","recipientAccountId":"123456789012","requestParameters":{"applicationName":"e2e-live","deploymentGroupName":"g%d"}}`, i, i, i))
	}
	f := filepath.Join(t.TempDir(), "live.jsonl")
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	run1(t, "ingest", "--server", addr, f)
	for !(strings.Count(gcOut.String(), `"eventId": "live-`) == 3 && strings.Count(gcbOut.String(), `"eventId": "live-`) == 3 && strings.Count(tailOut.String(), "CreateDeployment") == 3) {
		if time.Now().After(deadline) {
			t.Fatalf("live events did not arrive:\ngrpcurl: %s\ngrpcurl in batches: %s\ntail: %s", gcOut, gcbOut, tailOut)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Count(gcbOut.String(), `"events": {`) != 1 {
		t.Fatalf("grpcurl with maxBatch 10 did not get the three events as one batch:\n%s", gcbOut)
	}
	for i := range 3 {
		if !strings.Contains(gcOut.String(), fmt.Sprintf(`"eventId": "live-%d"`, i)) {
			t.Fatalf("grpcurl lacks live-%d:\n%s", i, gcOut)
		}
	}
	if !strings.Contains(tailOut.String(), "2024-06-01T10:00:00Z 123456789012 eu-west-1 - codedeploy CreateDeployment e2e-live") {
		t.Fatalf("tail line format:\n%s", tailOut)
	}
	if strings.Contains(tailOut.String(), "\x1b[") {
		t.Fatalf("tail to a pipe has ANSI codes:\n%q", tailOut)
	}
}
