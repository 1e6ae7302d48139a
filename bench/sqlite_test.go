//go:build sqlite_fts5

package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/codetrail/codetrail/index/record"
	"github.com/codetrail/codetrail/ingest/decode"
	"github.com/codetrail/codetrail/ingest/gen"
)

// TestMain lets the test binary be the SQLite child too: runSQLite
// re-executes os.Executable, which under go test is this binary.
func TestMain(m *testing.M) {
	sqliteChildFlags()
	// main's own flags, which the child reads.
	flag.Int("events", 0, "events in the trail (SQLite child)")
	flag.Int("runs", 1, "timed runs of each query (SQLite child)")
	flag.Parse()
	if sqliteChildRequested() {
		if err := runSQLiteChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSQLiteEndToEnd generates a trail as main.go does, runs the SQLite side
// through its child process and checks every query's hits against the same
// question answered in Go over the decoded events, with codetrail's
// semantics. BENCH_SQLITE_EVENTS and BENCH_SQLITE_RUNS make it a full-size
// run (it then prints the measure); BENCH_SQLITE_DIR keeps the files.
func TestSQLiteEndToEnd(t *testing.T) {
	n := envInt(t, "BENCH_SQLITE_EVENTS", 5000)
	runs := envInt(t, "BENCH_SQLITE_RUNS", 5)
	work := os.Getenv("BENCH_SQLITE_DIR")
	if work == "" {
		work = t.TempDir()
	}
	// The trail is linked into work, as one kept elsewhere can be.
	trail := filepath.Join(work, "trail")
	real := filepath.Join(work, "trail-files")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, trail); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	cfg := gen.DefaultConfig()
	cfg.Events = n
	cfg.Span = 7 * 24 * time.Hour
	cfg.Start = gen.DefaultEnd.Add(-cfg.Span)
	if _, err := gen.WriteTrail(trail, cfg); err != nil {
		t.Fatal(err)
	}
	want := expectedHits(t, trail)

	m, err := runSQLite(trail, n, runs, work)
	if err != nil {
		t.Fatal(err)
	}
	if m.Events != n {
		t.Errorf("stored %d events, want %d", m.Events, n)
	}
	if m.Ingest <= 0 || m.Disk <= 0 || m.PeakRSS <= 0 || m.Page1 <= 0 || m.Page100 <= 0 {
		t.Errorf("missing figures: %+v", m)
	}
	var names []string
	for _, q := range m.Queries {
		names = append(names, q.Name)
		w, ok := want[q.Name]
		if !ok {
			t.Errorf("unexpected query %q", q.Name)
			continue
		}
		if q.Hits != w {
			t.Errorf("%s: %d hits, want %d", q.Name, q.Hits, w)
		}
		if q.P50 <= 0 || q.P50 > q.P99 || q.P99 > q.Max {
			t.Errorf("%s: bad latencies %v %v %v", q.Name, q.P50, q.P99, q.Max)
		}
	}
	if len(names) != len(want) {
		t.Errorf("queries %q, want %d", names, len(want))
	}
	if w := want["term on eventName, 50 newest"]; w == 0 {
		t.Error("the generated trail has no StartBuild: the test proves nothing")
	}
	t.Logf("SQLite FTS5, %d events, %d runs of each query:", n, runs)
	for _, q := range m.Queries {
		t.Logf("%-38s p50 %10s p99 %10s max %10s hits %d", q.Name, q.P50, q.P99, q.Max, q.Hits)
	}
	t.Logf("ingest %s = %.0f events/s; page 1 %s, page 100 %s; disk %d B = %.0f B/event; peak RSS %.0f MB",
		m.Ingest, m.rate(), m.Page1, m.Page100, m.Disk, float64(m.Disk)/float64(m.Events), float64(m.PeakRSS)/1e6)
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// expectedHits answers the benchmark's questions over the decoded trail
// with codetrail's meaning of each query.
func expectedHits(t *testing.T, trail string) map[string]int64 {
	t.Helper()
	week := gen.DefaultEnd.Add(-7 * 24 * time.Hour)
	var evs []record.Event
	seen := map[string]bool{}
	root, err := filepath.EvalSymlinks(trail)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json.gz") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = decode.Decode(p, data, decode.DefaultOptions(), func(r decode.Record) error {
			ev, err := record.Parse(r.Kind, r.Raw)
			if err == nil && !seen[ev.ID] {
				seen[ev.ID] = true
				evs = append(evs, ev)
			}
			return err
		}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// codetrail's text field: every leaf value and the service, split on
	// what is not a letter or digit, lower case.
	hasWord := func(ev *record.Event, w string) bool {
		split := func(s string) bool {
			return slices.Contains(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r)
			}), w)
		}
		if split(ev.Service) {
			return true
		}
		for l := range ev.Leaves.All() {
			if split(l.Value) {
				return true
			}
		}
		return false
	}
	hasError := func(ev *record.Event) bool {
		return ev.ErrorCode != "" || slices.ContainsFunc(ev.Leaves.Slice(), func(l record.Leaf) bool { return l.Path == "errorCode" })
	}
	count := func(f func(ev *record.Event) bool) int64 {
		var c int64
		for i := range evs {
			if f(&evs[i]) {
				c++
			}
		}
		return c
	}
	all := int64(len(evs))
	return map[string]int64{
		"term on eventName, 50 newest": count(func(ev *record.Event) bool { return ev.Name == "StartBuild" }),
		"source+name+7d range, 50 newest": count(func(ev *record.Event) bool {
			return ev.Source == "codepipeline.amazonaws.com" && ev.Name == "StartPipelineExecution" && !ev.Time.Before(week)
		}),
		"word anywhere, 50 newest":   count(func(ev *record.Event) bool { return hasWord(ev, "accessdenied") }),
		"resource lookup, 50 newest": count(func(ev *record.Event) bool { return slices.Contains(ev.Resources, "MyFirstPipeline") }),
		"boolean with NOT exists": count(func(ev *record.Event) bool {
			return ev.Service == "codepipeline" && (ev.Name == "UpdatePipeline" || ev.Name == "DeletePipeline") && !hasError(ev)
		}),
		"wildcard on user arn":              count(func(ev *record.Event) bool { return strings.Contains(ev.UserARN, "JaneDoe") }),
		"terms facet eventName, all events": all,
		"day histogram, all events":         all,
		"facet over errors only":            count(hasError),
		"day histogram, one service (~10%)": count(func(ev *record.Event) bool { return ev.Service == "codedeploy" }),
	}
}
