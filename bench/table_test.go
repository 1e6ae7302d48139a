package main

import (
	"strings"
	"testing"
	"time"
)

func TestPrintTable(t *testing.T) {
	a := measure{
		Engine: "codetrail", Events: 1000, Ingest: time.Second, // 1000/s
		Queries: []timing{
			{Name: "term", P50: time.Millisecond, P99: 4 * time.Millisecond, Hits: 12},
			{Name: "facet", P50: 10 * time.Millisecond, P99: 20 * time.Millisecond, Hits: 1000},
		},
		Page1: 500 * time.Microsecond, Page100: 2 * time.Millisecond,
		Disk: 2_000_000, PeakRSS: 100e6,
	}
	b := measure{
		Engine: "SQLite FTS5", Events: 1000, Ingest: 500 * time.Millisecond, // 2000/s
		Queries: []timing{
			{Name: "term", P50: 2 * time.Millisecond, P99: 2 * time.Millisecond, Hits: 12},
			{Name: "only sqlite", P50: time.Millisecond, P99: time.Millisecond, Hits: 3},
		},
		Page1: 250 * time.Microsecond, Page100: 250 * time.Microsecond,
		Disk: 3_000_000, PeakRSS: 50e6,
	}
	var buf strings.Builder
	printTable(&buf, a, b)
	out := buf.String()
	t.Log("\n" + out)

	// row finds the line of a label and returns its cells after the label.
	row := func(label string) []string {
		t.Helper()
		for line := range strings.SplitSeq(out, "\n") {
			if rest, ok := strings.CutPrefix(line, label+" "); ok {
				return strings.Fields(rest)
			}
		}
		t.Fatalf("no row %q in\n%s", label, out)
		return nil
	}
	tests := []struct {
		name  string
		label string
		want  string // the row's cells after the label, space-separated
	}{
		// a ingests at half b's rate: a/b = 0.50, codetrail worse.
		{"rate is a/b", "ingest events/s (to searchable)", "1000 2000 0.50"},
		// b takes twice as long: b/a = 2.00, codetrail better.
		{"time is b/a", "term p50", "1.00 ms 2.00 ms 2.00 12 / 12"},
		{"p99 has no hits", "term p99", "4.00 ms 2.00 ms 0.50"},
		{"query only in a", "facet p50", "10.0 ms - - 1000 / -"},
		{"query only in b", "only sqlite p50", "- 1.00 ms - - / 3"},
		{"microseconds", "page 1 of 50, all events", "500 µs 250 µs 0.50"},
		{"disk is b/a", "disk B/event", "2000 3000 1.50"},
		{"memory is b/a", "peak RSS MB", "100 50 0.50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(row(tt.label), " "); got != tt.want {
				t.Errorf("row %q = %q, want %q", tt.label, got, tt.want)
			}
		})
	}

	if !strings.Contains(out, "ratio > 1 means codetrail is better") {
		t.Errorf("header does not say which way the ratio goes:\n%s", out)
	}
	// Aligned: every row's ratio cell ends where the header's "ratio" does
	// (in runes: "µs" must not shift the columns).
	lines := strings.Split(strings.TrimSpace(out), "\n")[1:]
	end := strings.Index(lines[0], "ratio") + len("ratio")
	for _, l := range lines[1:] {
		r := []rune(l)
		if len(r) < end || r[end-1] == ' ' || (len(r) > end && r[end] != ' ') {
			t.Errorf("ratio column not aligned at rune %d: %q", end, l)
		}
	}
}

func TestTableRuns(t *testing.T) {
	tests := []struct {
		name   string
		ra, rb int
		want   string // the header up to the ratio note
	}{
		{"single runs say nothing", 0, 0, "1000 events; ratio"},
		{"one run counted as such", 1, 1, "1000 events; ratio"},
		{"both repeated", 3, 3, "1000 events, medians of 3 runs; ratio"},
		{"one repeated", 3, 0, "1000 events (codetrail: medians of 3 runs, SQLite FTS5: 1 run); ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := measure{Engine: "codetrail", Events: 1000, Runs: tt.ra}
			b := measure{Engine: "SQLite FTS5", Events: 1000, Runs: tt.rb}
			var buf strings.Builder
			printTable(&buf, a, b)
			if !strings.HasPrefix(buf.String(), tt.want) {
				t.Errorf("header = %q, want it to begin %q", strings.SplitN(buf.String(), "\n", 2)[0], tt.want)
			}
		})
	}
}

// optionalRows prints the table of a beside a plain SQLite run of the same
// size, for the rows that show only when a's run had something to say.
func optionalRows(a measure) string {
	b := measure{Engine: "SQLite FTS5", Events: a.Events, Ingest: time.Second}
	var buf strings.Builder
	printTable(&buf, a, b)
	return buf.String()
}

// TestPrintTableSettle: the wait for quiet shows only when there was one.
func TestPrintTableSettle(t *testing.T) {
	a := measure{Engine: "codetrail", Events: 10, Ingest: time.Second}
	if out := optionalRows(a); strings.Contains(out, "quiet") {
		t.Errorf("a row for the quiet wait without one:\n%s", out)
	}
	a.Settle = 95 * time.Second
	if out := optionalRows(a); !strings.Contains(out, "wait for quiet before the queries") || !strings.Contains(out, "95.00 s") || strings.Contains(out, "not quiet") {
		t.Errorf("no row for the quiet wait of 95 s, or one marked not quiet:\n%s", out)
	}
	a.Unsettled = true
	if out := optionalRows(a); !strings.Contains(out, "95.00 s (not quiet)") {
		t.Errorf("a wait that ended at its bound is not marked:\n%s", out)
	}
}

// TestPrintTableCgroup: the memory cgroup's rows show only for a run in one.
func TestPrintTableCgroup(t *testing.T) {
	a := measure{Engine: "codetrail", Events: 10, Ingest: time.Second}
	if out := optionalRows(a); strings.Contains(out, "cgroup") {
		t.Errorf("memory cgroup rows without a cgroup:\n%s", out)
	}
	a.MemLimit, a.CgroupPeak = 1<<30, 1_000_000_000
	out := optionalRows(a)
	for _, want := range []string{"memory cgroup limit MB  1074  -", "memory cgroup peak use MB  1000  -"} {
		found := false
		for line := range strings.SplitSeq(out, "\n") {
			if strings.Join(strings.Fields(line), " ") == strings.Join(strings.Fields(want), " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %q in\n%s", want, out)
		}
	}
}
