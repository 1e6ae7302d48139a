package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGCTraceDuration(t *testing.T) {
	tests := []struct {
		name string
		line string
		want time.Duration
		ok   bool
	}{
		{"background cycle", "gc 647 @313.585s 8%: 0.66+21+0.004 ms clock, 1.3+0/12/21+0.009 ms cpu, 235->236->80 MB, 272 MB goal, 0 MB stacks, 0 MB globals, 2 P",
			21664 * time.Microsecond, true},
		{"forced", "gc 654 @369.760s 7%: 0.19+15+0.004 ms clock, 0.39+0/6.0/24+0.008 ms cpu, 169->169->79 MB, 246 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)",
			15194 * time.Microsecond, true},
		{"first cycle", "gc 1 @0.004s 0%: 0.005+0.37+0.002 ms clock, 0.010+0.10/0.21/0+0.004 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P",
			377 * time.Microsecond, true},
		{"a server log line", `time=2026-12-05T07:01:01.985Z level=INFO msg="shard compacted" segments_before=17`, 0, false},
		{"the scavenger's trace", "scav 0 KiB work (bg), 0 KiB work (eager), 1234 KiB now, 99% util", 0, false},
		{"cut short", "gc 3 @1.2s 1%: 0.1+", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := gcTraceDuration(tt.line)
			if ok != tt.ok || (got-tt.want).Abs() > time.Microsecond {
				t.Errorf("gcTraceDuration = %s, %v; want %s, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestGCTraceOfThisRuntime runs this test binary again with the GC trace
// on, collecting twice, and reads the cycles from what it prints: the
// pattern must match what the Go the server is built with prints.
func TestGCTraceOfThisRuntime(t *testing.T) {
	if os.Getenv("BENCH_GC_CHILD") != "" {
		runtime.GC()
		runtime.GC()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGCTraceOfThisRuntime$", "-test.count=1")
	cmd.Env = append(gcEnv(os.Environ()), "BENCH_GC_CHILD=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	var g gcCycles
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		g.note(sc.Text(), time.Now())
	}
	if len(g.spans) < 2 {
		t.Fatalf("%d cycles read from the child's GC trace, want at least 2:\n%s", len(g.spans), stderr.String())
	}
	for _, s := range g.spans {
		if d := s[1].Sub(s[0]); d < 0 || d > time.Since(start) {
			t.Errorf("a cycle of %s in a child that ran %s", d, time.Since(start))
		}
	}
}

func TestGCCyclesDuring(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var g gcCycles
	// Cycles of 20 ms ending at 100 ms and at 1 s, and one of 2 ms at 1.5 s.
	g.note("gc 1 @1.0s 1%: 0+20+0 ms clock, x", at(100))
	g.note("gc 2 @2.0s 1%: 0+20+0 ms clock, x", at(1000))
	g.note("gc 3 @2.5s 1%: 0.5+1.5+0 ms clock, x", at(1500))
	tests := []struct {
		start, end int
		want       bool
	}{
		{0, 79, false},      // before the first
		{0, 81, true},       // into it
		{85, 90, true},      // inside it
		{99, 200, true},     // out of it
		{101, 979, false},   // between the first two
		{500, 1600, true},   // over two
		{1001, 1497, false}, // between the last two
		{1497, 1499, true},  // inside the short one
		{1501, 3000, false}, // after the last
	}
	for _, tt := range tests {
		if got := g.during(at(tt.start), at(tt.end)); got != tt.want {
			t.Errorf("during(%d ms, %d ms) = %v, want %v", tt.start, tt.end, got, tt.want)
		}
	}
}

func TestGCEnv(t *testing.T) {
	tests := []struct {
		env, want []string
	}{
		{[]string{"HOME=/root"}, []string{"HOME=/root", "GODEBUG=gctrace=1"}},
		{[]string{"GODEBUG=madvdontneed=1", "PATH=/bin"}, []string{"PATH=/bin", "GODEBUG=madvdontneed=1,gctrace=1"}},
		{[]string{"GODEBUG="}, []string{"GODEBUG=gctrace=1"}},
	}
	for _, tt := range tests {
		if got := gcEnv(tt.env); !slices.Equal(got, tt.want) {
			t.Errorf("gcEnv(%q) = %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		in        string
		run, wait time.Duration
		ok        bool
	}{
		{"1040000 1010000 12\n", 1040 * time.Microsecond, 1010 * time.Microsecond, true},
		{"0 0 0", 0, 0, true},
		{"1 2", 0, 0, false},
		{"a 2 3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		run, wait, ok := parseSchedstat(tt.in)
		if run != tt.run || wait != tt.wait || ok != tt.ok {
			t.Errorf("parseSchedstat(%q) = %s, %s, %v; want %s, %s, %v", tt.in, run, wait, ok, tt.run, tt.wait, tt.ok)
		}
	}
}

func TestSchedTimes(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc/self/task:", err)
	}
	if got := schedTimes(0); got != (threadTimes{}) {
		t.Errorf("schedTimes(0) = %+v, want zeros", got)
	}
	before := schedTimes(os.Getpid())
	if before.run == 0 {
		t.Skip("no scheduler statistics on this kernel")
	}
	// Spin for 20 ms of CPU: the process's run time grows by at least that.
	spin := time.Now()
	for time.Since(spin) < 20*time.Millisecond {
	}
	if d := schedTimes(os.Getpid()).minus(before); d.run < 10*time.Millisecond {
		t.Errorf("run time grew by %s over 20 ms of spinning", d.run)
	}
}

func TestExplainSlowest(t *testing.T) {
	run := func(i int, took, cpu, wait time.Duration, gc bool) timedRun {
		return timedRun{i: i, took: took, server: threadTimes{cpu, wait}, gc: gc}
	}
	const us = time.Microsecond
	runs := []timedRun{
		run(0, 4200*us, 3500*us, 100*us, false),
		run(1, 900*us, 800*us, 100*us, false),
		run(2, 6700*us, 2100*us, 3000*us, true),
		run(3, 950*us, 900*us, 50*us, false),
		run(4, 5300*us, 700*us, 4600*us, false),
		run(5, 3000*us, 5200*us, 100*us, false),
		run(6, 800*us, 800*us, 100*us, false),
	}
	runs[5].sinceGC, runs[5].afterGC = 4*time.Millisecond, true
	runs[4].sinceGC, runs[4].afterGC = 200*time.Millisecond, true // too long ago to say
	got := explainSlowest(runs, 4)
	want := "6.70ms (run 3: server GC; server CPU 2.10ms (median 0.90ms), waited 3.00ms for a core), " +
		"5.30ms (run 5: server CPU 0.70ms (median 0.90ms), waited 4.60ms for a core), " +
		"4.20ms (run 1: first run; server CPU 3.50ms (median 0.90ms), waited 0.10ms for a core), " +
		"3.00ms (run 6: 4.00ms after a server GC; server CPU 5.20ms (median 0.90ms), waited 0.10ms for a core)"
	if got != want {
		t.Errorf("explainSlowest =\n%s\nwant\n%s", got, want)
	}
	// Without the server's times (another machine, -queries-at without a pid).
	bare := []timedRun{{i: 0, took: time.Millisecond}, {i: 1, took: 2 * time.Millisecond}}
	if got, want := explainSlowest(bare, 3), "2.00ms (run 2), 1.00ms (run 1: first run)"; got != want {
		t.Errorf("explainSlowest without times = %q, want %q", got, want)
	}
	if got := explainSlowest(nil, 3); got != "" {
		t.Errorf("explainSlowest(nil) = %q", got)
	}
	if strings.Contains(explainSlowest(runs, 1), "run 5") {
		t.Error("explainSlowest(runs, 1) lists more than the slowest run")
	}
}

func TestGCCyclesSinceLast(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	var g gcCycles
	if _, ok := g.sinceLast(t0); ok {
		t.Error("sinceLast with no cycles reports one")
	}
	g.note("gc 1 @1.0s 1%: 0+20+0 ms clock, x", t0.Add(100*time.Millisecond))
	g.note("gc 2 @2.0s 1%: 0+20+0 ms clock, x", t0.Add(time.Second))
	tests := []struct {
		at   time.Duration
		want time.Duration
		ok   bool
	}{
		{50 * time.Millisecond, 0, false},
		{100 * time.Millisecond, 0, true},
		{130 * time.Millisecond, 30 * time.Millisecond, true},
		{990 * time.Millisecond, 890 * time.Millisecond, true}, // the second is still marking
		{1500 * time.Millisecond, 500 * time.Millisecond, true},
	}
	for _, tt := range tests {
		if got, ok := g.sinceLast(t0.Add(tt.at)); got != tt.want || ok != tt.ok {
			t.Errorf("sinceLast(+%s) = %s, %v; want %s, %v", tt.at, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGCCyclesBetween(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	var g gcCycles
	if n, _, _ := g.between(t0, t0.Add(time.Hour)); n != 0 {
		t.Errorf("%d cycles with none noted", n)
	}
	g.note("gc 1 @1.0s 1%: 0+20+0 ms clock, x", t0.Add(100*time.Millisecond))
	g.note("gc 2 @2.0s 1%: 0+5+0 ms clock, x", t0.Add(time.Second))
	g.note("gc 3 @3.0s 1%: 0+30+0 ms clock, x", t0.Add(2*time.Second))
	g.note("gc 4 @4.0s 1%: 0+2+0 ms clock, x", t0.Add(3*time.Second))
	n, median, longest := g.between(t0.Add(500*time.Millisecond), t0.Add(2*time.Second))
	if n != 2 || median != 30*time.Millisecond || longest != 30*time.Millisecond {
		t.Errorf("between = %d, %s, %s; want 2, 30ms, 30ms", n, median, longest)
	}
	n, median, longest = g.between(t0, t0.Add(time.Hour))
	if n != 4 || median != 20*time.Millisecond || longest != 30*time.Millisecond {
		t.Errorf("between = %d, %s, %s; want 4, 20ms, 30ms", n, median, longest)
	}
}
