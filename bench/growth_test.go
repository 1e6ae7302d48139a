package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestPrintGrowth(t *testing.T) {
	ms := time.Millisecond
	// at builds a measure for n events: ingest time, disk and RSS in
	// proportion to n, and the i-th query's p99 i times p99.
	at := func(n int, p99 time.Duration, qs ...string) measure {
		m := measure{
			Engine: "codetrail", Events: n, Ingest: time.Duration(n) * time.Millisecond,
			Disk: int64(n) * 3000, PeakRSS: int64(n) * 1000,
		}
		for i, q := range qs {
			m.Queries = append(m.Queries, timing{Name: q, P50: p99 / 2, P99: p99 * time.Duration(i+1), Hits: int64(n / 10)})
		}
		return m
	}
	tests := []struct {
		name string
		ms   []measure // sorted by events, as loadGrowth returns them
	}{
		{
			name: "two sizes",
			ms:   []measure{at(100_000, 2*ms, "term", "facet"), at(1_000_000, 6*ms, "term", "facet")},
		},
		{
			// Anonymous memory and medians only show when measured.
			name: "three sizes with medians and anonymous memory",
			ms: func() []measure {
				a, b, c := at(100_000, 500*time.Microsecond, "term"), at(1_000_000, ms, "term"), at(10_000_000, 40*ms, "term")
				a.PeakAnon, b.PeakAnon, c.PeakAnon = 50e6, 80e6, 400e6
				b.Runs, c.Runs = 3, 5
				return []measure{a, b, c}
			}(),
		},
		{
			name: "a query missing at one size",
			ms:   []measure{at(1234, 2*ms, "term"), at(5000, 3*ms, "term", "new")},
		},
		{
			name: "one size",
			ms:   []measure{at(100_000, 2*ms, "term")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf strings.Builder
			printGrowth(&buf, tt.ms)
			golden := filepath.Join("testdata", "growth-"+strings.ReplaceAll(tt.name, " ", "-")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(buf.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
			}
		})
	}
}

func TestLoadGrowth(t *testing.T) {
	// write saves m as name in dir, as saveMeasure does.
	write := func(t *testing.T, dir, name string, m measure) {
		t.Helper()
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ct := func(n int) measure { return measure{Engine: "codetrail", Events: n} }
	sq := func(n int) measure { return measure{Engine: "SQLite FTS5", Events: n} }
	tests := []struct {
		name    string
		files   []map[string]measure // one map of file name to measure per directory
		want    map[string][]int     // engine -> event counts, in order
		wantErr string
	}{
		{
			name: "sorted by events, run files skipped",
			files: []map[string]measure{
				{"measure-codetrail-1000000.json": ct(1_000_000), "measure-sqlite-1000000.json": sq(1_000_000),
					"measure-codetrail-1000000-run1.json": ct(7), "out.txt": {}},
				{"measure-codetrail-100000.json": ct(100_000)},
			},
			want: map[string][]int{"codetrail": {100_000, 1_000_000}, "sqlite": {1_000_000}},
		},
		{
			name: "one count twice",
			files: []map[string]measure{
				{"measure-codetrail-1000.json": ct(1000)},
				{"measure-codetrail-1000.json": ct(1000)},
			},
			wantErr: "codetrail on 1000 events is in both",
		},
		{
			name:    "a directory without measures",
			files:   []map[string]measure{{"measure-codetrail-1000.json": ct(1000)}, {"out.txt": {}}},
			wantErr: "no measure-<engine>-<events>.json in",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dirs []string
			for _, files := range tt.files {
				dir := t.TempDir()
				for name, m := range files {
					write(t, dir, name, m)
				}
				dirs = append(dirs, dir)
			}
			got, err := loadGrowth(dirs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string][]int{}
			for e, ms := range got {
				for _, m := range ms {
					counts[e] = append(counts[e], m.Events)
				}
			}
			if !reflect.DeepEqual(counts, tt.want) {
				t.Errorf("got %v, want %v", counts, tt.want)
			}
		})
	}
}
