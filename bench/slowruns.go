package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A query's p99 over 200 runs is its second slowest run (pct), so two runs
// decide it. On two cores the server, this client and anything else
// on the machine share the CPU, and a slow run may have been slowed by the
// server's garbage collector, by more work in the server than the query
// (a first run filling caches, a merge), or by a wait for a core. For its
// slowest runs each query prints which, from the server's GC trace (the
// server runs with GODEBUG=gctrace=1) and its threads' scheduler times.

// gcCycles holds the wall-clock spans of the server's collections, read
// from its GC trace as its lines arrive: a line is printed when a cycle
// ends and says how long the cycle's phases took.
type gcCycles struct {
	mu    sync.Mutex
	spans [][2]time.Time
}

// serverGC holds the cycles of the servers the harness started, one after
// another: an earlier server's end before a later one's queries start.
var serverGC gcCycles

// gcTraceLine matches a GODEBUG=gctrace=1 line and its wall-clock phases
// (stop-the-world sweep termination, concurrent mark, stop-the-world mark
// termination), as the runtime package documents it.
var gcTraceLine = regexp.MustCompile(`^gc \d+ @[0-9.]+s \d+%: ([0-9.]+)\+([0-9.]+)\+([0-9.]+) ms clock`)

// gcTraceDuration returns how long the cycle of a GC trace line took from
// its start to the end of mark termination; ok is false for other lines.
func gcTraceDuration(line string) (d time.Duration, ok bool) {
	m := gcTraceLine.FindStringSubmatch(line)
	if m == nil {
		return 0, false
	}
	for _, f := range m[1:] {
		ms, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return 0, false
		}
		d += time.Duration(ms * float64(time.Millisecond))
	}
	return d, true
}

// note records the cycle of line, if it is a GC trace line, as ending at
// now (when it was read: the runtime prints it as the cycle ends).
func (g *gcCycles) note(line string, now time.Time) {
	d, ok := gcTraceDuration(line)
	if !ok {
		return
	}
	g.mu.Lock()
	g.spans = append(g.spans, [2]time.Time{now.Add(-d), now})
	g.mu.Unlock()
}

// during reports whether a cycle ran at some time between start and end.
func (g *gcCycles) during(start, end time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range slices.Backward(g.spans) {
		if s[1].Before(start) {
			return false // the spans are in the order the cycles ended
		}
		if s[0].Before(end) {
			return true
		}
	}
	return false
}

// sinceLast returns how long before t the last cycle that ended by t
// ended; false when none did.
func (g *gcCycles) sinceLast(t time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range slices.Backward(g.spans) {
		if !s[1].After(t) {
			return t.Sub(s[1]), true
		}
	}
	return 0, false
}

// between returns how many cycles ended between start and end, and the
// median and longest of their durations.
func (g *gcCycles) between(start, end time.Time) (n int, median, longest time.Duration) {
	g.mu.Lock()
	var ds []time.Duration
	for _, s := range g.spans {
		if s[1].After(start) && !s[1].After(end) {
			ds = append(ds, s[1].Sub(s[0]))
		}
	}
	g.mu.Unlock()
	if len(ds) == 0 {
		return 0, 0, 0
	}
	slices.Sort(ds)
	return len(ds), ds[len(ds)/2], ds[len(ds)-1]
}

// gcEnv returns the server's environment with the GC trace turned on,
// keeping any GODEBUG settings already given.
func gcEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	debug := "gctrace=1"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if v != "" {
				debug = v + "," + debug
			}
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GODEBUG="+debug)
}

// threadTimes are the scheduler's times of all threads of a process: on a
// CPU, and runnable but waiting for one.
type threadTimes struct{ run, wait time.Duration }

func (a threadTimes) minus(b threadTimes) threadTimes {
	return threadTimes{a.run - b.run, a.wait - b.wait}
}

// schedTimes sums /proc/pid/task/*/schedstat (zero where there is none:
// another system, or a kernel without scheduler statistics).
func schedTimes(pid int) threadTimes {
	var t threadTimes
	if pid == 0 {
		return t
	}
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return t
	}
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		if run, wait, ok := parseSchedstat(string(b)); ok {
			t.run += run
			t.wait += wait
		}
	}
	return t
}

// parseSchedstat reads a schedstat line: nanoseconds on a CPU, nanoseconds
// waiting on a run queue, time slices.
func parseSchedstat(s string) (run, wait time.Duration, ok bool) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return 0, 0, false
	}
	r, err1 := strconv.ParseInt(f[0], 10, 64)
	w, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return time.Duration(r), time.Duration(w), true
}

// timedRun is one run of a query: when it started, how long it took, and
// what the server's threads did meanwhile.
type timedRun struct {
	i      int // 0 for the query's first run
	start  time.Time
	took   time.Duration
	server threadTimes
	gc     bool // a server collection ran during it
	// sinceGC is how long before the run the server's last collection
	// ended, when afterGC: a collection leaves work for after it (sweeping
	// what it freed).
	sinceGC time.Duration
	afterGC bool
}

// sweepWindow is how soon after a collection a run is said to follow it:
// the runtime sweeps the heap a collection freed in the next few
// milliseconds, while collections come about a second apart.
const sweepWindow = 100 * time.Millisecond

// explainSlowest describes the n slowest of runs, slowest first, next to
// the server's median CPU time a run: e.g. "6.7ms (run 38: server GC;
// server CPU 2.1ms, waited 3.0ms for a core)".
func explainSlowest(runs []timedRun, n int) string {
	if len(runs) == 0 {
		return ""
	}
	median := medianBy(runs, func(r timedRun) time.Duration { return r.server.run })
	slow := slices.Clone(runs)
	slices.SortStableFunc(slow, func(a, b timedRun) int { return int(b.took - a.took) })
	var parts []string
	for _, r := range slow[:min(n, len(slow))] {
		var why []string
		if r.i == 0 {
			why = append(why, "first run")
		}
		if r.gc {
			why = append(why, "server GC")
		} else if r.afterGC && r.sinceGC < sweepWindow {
			why = append(why, ms(r.sinceGC)+" after a server GC")
		}
		if r.server != (threadTimes{}) {
			why = append(why, fmt.Sprintf("server CPU %s (median %s), waited %s for a core", ms(r.server.run), ms(median), ms(r.server.wait)))
		}
		if len(why) == 0 {
			parts = append(parts, fmt.Sprintf("%s (run %d)", ms(r.took), r.i+1))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (run %d: %s)", ms(r.took), r.i+1, strings.Join(why, "; ")))
	}
	return strings.Join(parts, ", ")
}

// ms prints a duration in milliseconds to two places.
func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 2, 64) + "ms" }
