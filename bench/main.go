// Command bench measures codetrail as a user meets it: it generates N events
// as gzip trail files with the project's generator, starts the real
// `codetrail serve` on them, waits until every event is searchable, then
// times queries, facets and a histogram from a gRPC client and reports disk
// use and peak memory. It lives in its own module so that its dependencies
// stay out of the service.
//
//	cd bench && go run -tags sqlite_fts5 . -events 1000000
//	cd bench && go run -tags sqlite_fts5 . -events 10000000 -runs 50 -dir /big/disk -engines codetrail
//	cd bench && go run -tags sqlite_fts5 . -events 1000000 -repeat 3 -dir /big/disk
//	cd bench && go run . -growth /big/100k,/big/1m,/big/10m
//	cd bench && go run . -queries-at 127.0.0.1:7070 -runs 50
//	cd bench && go run . -subscribers 1000 -rate 5000 -seconds 20
//	cd bench && go run . -load-minutes 10 -subscribers 500 -rate 1000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/ingest/gen"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

func main() {
	events := flag.Int("events", 100000, "events to generate")
	runs := flag.Int("runs", 200, "timed runs of each query")
	work := flag.String("dir", "", "working directory (default: a temporary one, removed after)")
	subs := flag.Int("subscribers", 0, "instead of the search benchmark: this many Subscribe streams with distinct queries while ingesting at -rate")
	rate := flag.Int("rate", 5000, "events/s offered through the Ingest RPC in the subscriber benchmark")
	secs := flag.Int("seconds", 20, "length of each subscriber benchmark phase")
	pairs := flag.Int("pairs", 1, "subscriber benchmark: run the phases without and with subscribers this many times, alternating their order, and print the medians")
	flag.IntVar(&subConns, "subscriber-conns", 100, "subscriber benchmark: connections the streams are spread over")
	flag.IntVar(&subBatch, "max-batch", 0, "subscriber benchmark: max_batch of each stream (0: the client's default; 1: one event per message)")
	flag.Var(&serveArgs, "serve-arg", "an extra argument for codetrail serve, repeatable (e.g. -serve-arg=--metrics-listen=127.0.0.1:9464 to take profiles from /debug/pprof)")
	flag.StringVar(&profileOut, "profile", "", "subscriber benchmark: write CPU profiles while events are offered: the server's to FILE.PHASE (FILE.without-1, FILE.with-1, ...), this process's streams to FILE.PHASE.client")
	loadMin := flag.Float64("load-minutes", 0, "instead: the bounded load run (ingest at -rate, searches, -subscribers streams) for this many minutes")
	engines := flag.String("engines", "codetrail,sqlite", "search benchmark: the engines to measure, in order; each one's figures are saved in -dir, so engines can be run one at a time on the same trail")
	repeat := flag.Int("repeat", 1, "search benchmark: measure each engine this many times, each from an empty index, and save the per-field medians (each run is also saved as measure-<engine>-<n>-run<i>.json)")
	queriesAt := flag.String("queries-at", "", "instead of benchmarking: time the benchmark queries against the codetrail server already running at this address (as it is: ingest may still be running), and save them in -dir when given")
	flag.IntVar(&queriesPid, "queries-pid", 0, "with -queries-at: the server's process id, whose major page faults and bytes read from storage are counted for each query")
	flag.StringVar(&keepData, "keep-data", "", "search benchmark: move codetrail's data directory here when done (replacing what is there) instead of removing it, for later -queries-at runs against the same index")
	flag.StringVar(&serveCgroup, "serve-cgroup", "", "search benchmark: run codetrail serve in this memory cgroup (its directory, v1 or v2, made beforehand with a memory limit), so that it must fit in that limit, mapped index files included; the cgroup's limit and peak use are reported")
	flag.DurationVar(&settleMax, "settle", 0, "search benchmark: after ingest, wait up to this long for codetrail serve to go quiet (under a tenth of a core over 5 s: Bleve's background merges done) and to have no compaction running or due before timing queries; 0 times them at once, while merges still run")
	growth := flag.String("growth", "", "instead of benchmarking: comma-separated -dir directories of earlier search benchmarks; print how each engine's costs grow with the number of events")
	sqliteChildFlags()
	flag.Parse()
	if sqliteChildRequested() {
		if err := runSQLiteChild(); err != nil {
			fmt.Fprintln(os.Stderr, "bench sqlite:", err)
			os.Exit(1)
		}
		return
	}
	if *queriesAt != "" {
		if err := runQueriesAt(*queriesAt, *runs, *work); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *growth != "" {
		if err := runGrowth(os.Stdout, strings.Split(*growth, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *repeat < 1 {
		fmt.Fprintln(os.Stderr, "bench: -repeat must be at least 1")
		os.Exit(2)
	}
	if serveCgroup != "" {
		// Checked here: the server's shell would fail to join it with its
		// message unread, and the run would only say it did not start.
		if limit, _ := cgroupMemory(serveCgroup); limit <= 0 {
			fmt.Fprintf(os.Stderr, "bench: -serve-cgroup %s: not a memory cgroup with a limit (no memory.limit_in_bytes or memory.max with a number)\n", serveCgroup)
			os.Exit(2)
		}
	}
	temp := *work == ""
	if temp {
		d, err := os.MkdirTemp("", "codetrail-bench")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		*work = d
	}
	var err error
	if *loadMin > 0 {
		err = runLoad(time.Duration(*loadMin*float64(time.Minute)), max(*subs, 1), *rate, *work)
	} else if *subs > 0 {
		err = runSubscribers(*subs, *rate, *secs, *pairs, *work)
	} else {
		err = run(*events, *runs, *repeat, *work, strings.Split(*engines, ","))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if temp {
			os.RemoveAll(*work) // os.Exit skips deferred calls
		}
		os.Exit(1)
	}
}

func run(n, runs, repeat int, work string, engines []string) error {
	for _, e := range engines {
		if e != "codetrail" && e != "sqlite" {
			return fmt.Errorf("unknown engine %q: want codetrail or sqlite", e)
		}
	}
	trail, err := writeTrail(work, n)
	if err != nil {
		return err
	}
	for _, e := range engines {
		// Run files of an earlier invocation with a larger -repeat would
		// sit beside medians they are not part of.
		old, err := filepath.Glob(filepath.Join(work, fmt.Sprintf("measure-%s-%d-run*.json", e, n)))
		if err != nil {
			return err
		}
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("remove old run: %w", err)
			}
		}
		var ms []measure
		for i := 1; i <= repeat; i++ {
			if repeat > 1 {
				fmt.Printf("\n%s: run %d of %d\n", e, i, repeat)
			}
			// Both start from nothing: runCodetrail removes its data
			// directory, runSQLite its database, before it ingests.
			var m measure
			if e == "codetrail" {
				m, err = runCodetrail(trail, n, runs, work)
			} else {
				m, err = runSQLite(trail, n, runs, work)
			}
			if err != nil {
				return err
			}
			if repeat > 1 {
				// Saved as it ends: a later run failing hours in should not
				// lose the earlier ones.
				if err := saveMeasure(measureRunPath(work, e, n, i), m); err != nil {
					return err
				}
			}
			ms = append(ms, m)
		}
		m, err := medianMeasure(ms)
		if err != nil {
			return fmt.Errorf("%s: %w", e, err)
		}
		if err := saveMeasure(measurePath(work, e, m.Events), m); err != nil {
			return err
		}
	}
	// The table sets side by side whatever both engines measured on this
	// trail, in this run or an earlier one with the same -dir.
	a, errA := loadMeasure(work, "codetrail", n)
	b, errB := loadMeasure(work, "sqlite", n)
	if errA != nil || errB != nil {
		fmt.Printf("\nno side-by-side table: %v\n", errors.Join(errA, errB))
		return nil
	}
	fmt.Println()
	printTable(os.Stdout, a, b)
	return nil
}

// writeTrail generates n events as gzip trail files under work/trail, or
// reuses the trail an earlier run left there for the same n: generating 10M
// events takes longer than measuring one engine.
func writeTrail(work string, n int) (string, error) {
	trail := filepath.Join(work, "trail")
	mark := filepath.Join(work, "trail.events")
	if b, err := os.ReadFile(mark); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(n) {
		fmt.Printf("reusing the trail of %d events in %s\n", n, trail)
		return trail, nil
	}
	if err := os.RemoveAll(trail); err != nil {
		return "", err
	}
	cfg := gen.DefaultConfig()
	cfg.Events = n
	cfg.Span = 7 * 24 * time.Hour
	cfg.Start = gen.DefaultEnd.Add(-cfg.Span)
	t0 := time.Now()
	sum, err := gen.WriteTrail(trail, cfg)
	if err != nil {
		return "", err
	}
	fmt.Printf("generated %d events in %d files (%.1f MB gzip) in %s\n", sum.Events, sum.Files, float64(sum.Bytes)/1e6, time.Since(t0).Round(time.Millisecond))
	return trail, os.WriteFile(mark, []byte(strconv.Itoa(n)+"\n"), 0o644)
}

func measurePath(work, engine string, n int) string {
	return filepath.Join(work, fmt.Sprintf("measure-%s-%d.json", engine, n))
}

// measureRunPath is where run i of -repeat is saved.
func measureRunPath(work, engine string, n, i int) string {
	return filepath.Join(work, fmt.Sprintf("measure-%s-%d-run%d.json", engine, n, i))
}

func saveMeasure(path string, m measure) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("save measure: %w", err)
	}
	return nil
}

func loadMeasure(work, engine string, n int) (measure, error) {
	var m measure
	b, err := os.ReadFile(measurePath(work, engine, n))
	if err != nil {
		return m, fmt.Errorf("%s not measured yet (-engines %s)", engine, engine)
	}
	return m, json.Unmarshal(b, &m)
}

// runCodetrail starts the real `codetrail serve` on the trail and measures it
// from a gRPC client. Its data directory is removed afterwards, so that the
// next engine has the disk.
func runCodetrail(trail string, n, runs int, work string) (measure, error) {
	m := measure{Engine: "codetrail", Events: n}
	// Build the service in its own module, with its own dependencies.
	bin, err := buildServer(work)
	if err != nil {
		return m, err
	}
	data := filepath.Join(work, "data")
	if err := os.RemoveAll(data); err != nil {
		return m, err
	}
	defer os.RemoveAll(data)
	start := time.Now()
	a, stop, pid, err := startServeSources(bin, data, trail)
	if err != nil {
		return m, err
	}
	defer stop()
	if keepData != "" {
		// Runs before the removal above, after the server has stopped.
		defer func() {
			stop()
			if err := os.RemoveAll(keepData); err != nil {
				fmt.Fprintf(os.Stderr, "keep data: %v\n", err)
				return
			}
			// A parent not made yet would fail the rename, and the data
			// would then be removed with the rest.
			if err := os.MkdirAll(filepath.Dir(keepData), 0o755); err != nil {
				fmt.Fprintf(os.Stderr, "keep data: %v\n", err)
				return
			}
			if err := os.Rename(data, keepData); err != nil {
				fmt.Fprintf(os.Stderr, "keep data: %v\n", err)
				return
			}
			fmt.Printf("codetrail: data directory kept in %s\n", keepData)
		}()
	}
	c, err := client.Dial(a)
	if err != nil {
		return m, err
	}
	defer c.Close()
	ctx := context.Background()

	// Searchable, not just acknowledged: poll Search until it counts them all.
	want := int64(n)
	for {
		res, err := c.Search(ctx, &pb.SearchRequest{PageSize: 1, View: pb.EventView_EVENT_VIEW_SUMMARY})
		if err == nil && res.GetTotalHits() >= want {
			break
		}
		m.PeakRSS, m.PeakAnon = max(m.PeakRSS, rss(pid)), max(m.PeakAnon, anonRSS(pid))
		if !alive(pid) {
			return m, fmt.Errorf("codetrail serve exited during ingest%s", oomNote())
		}
		if time.Since(start) > 6*time.Hour {
			return m, fmt.Errorf("not all events searchable after 6h")
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.Ingest = time.Since(start)
	// The server's CPU, which moves less with the machine's hour than
	// the rate: what an event cost, not how soon the cores were free.
	m.IngestCPU = procCPU(pid)
	fmt.Printf("codetrail: ingest to searchable: %d events in %s = %.0f events/s (server CPU %s, %.1f µs an event)\n", n, m.Ingest.Round(time.Millisecond), m.rate(),
		m.IngestCPU.Round(10*time.Millisecond), float64(m.IngestCPU.Microseconds())/float64(n))

	if settleMax > 0 {
		var segs int64
		var settled bool
		m.Settle, segs, settled = settle(ctx, c, pid, settleMax)
		m.Unsettled = !settled
		if settled {
			fmt.Printf("codetrail: settled %s after ingest (waited at most %s): %d segments\n", m.Settle.Round(time.Second), settleMax, segs)
		} else {
			fmt.Printf("codetrail: NOT settled %s after ingest (the -settle bound): still merging or compacting, %d segments; the queries below run beside that work\n", m.Settle.Round(time.Second), segs)
		}
	}
	if err := measureQueries(ctx, c, runs, &m, pid); err != nil {
		return m, err
	}
	st, err := c.Stats(ctx)
	if err != nil {
		return m, err
	}
	m.Disk = st.GetIndexSizeBytes()
	m.PeakRSS, m.PeakAnon = max(m.PeakRSS, rss(pid)), max(m.PeakAnon, anonRSS(pid))
	if serveCgroup != "" {
		m.MemLimit, m.CgroupPeak = cgroupMemory(serveCgroup)
		fmt.Printf("codetrail: memory cgroup %s: limit %.0f MB, peak use %.0f MB (anonymous and page cache, mapped index files included)\n",
			serveCgroup, float64(m.MemLimit)/1e6, float64(m.CgroupPeak)/1e6)
	}
	fmt.Printf("\nindex on disk: %.1f MB = %.0f B/event; peak RSS: %.0f MB, of which anonymous %.0f MB\n",
		float64(m.Disk)/1e6, float64(m.Disk)/float64(n), float64(m.PeakRSS)/1e6, float64(m.PeakAnon)/1e6)
	return m, nil
}

// runQueriesAt times the benchmark queries against a running server, for an
// index built some other way or one whose ingest is too slow to wait for.
// The event count is what the server stores when the queries start.
func runQueriesAt(addr string, runs int, work string) error {
	c, err := client.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	m := measure{Engine: "codetrail", Events: int(st.GetEvents())}
	fmt.Printf("codetrail at %s: %d events stored\n", addr, m.Events)
	fmt.Println("(the slowest runs cannot say which ran in a collection of this server, which the harness did not start; -queries-pid gives its CPU time)")
	if err := measureQueries(ctx, c, runs, &m, queriesPid); err != nil {
		return err
	}
	if st, err = c.Stats(ctx); err != nil {
		return err
	}
	m.Disk = st.GetIndexSizeBytes()
	fmt.Printf("\nindex on disk: %.1f MB = %.0f B/event (%d events stored now)\n", float64(m.Disk)/1e6, float64(m.Disk)/float64(m.Events), st.GetEvents())
	if work == "" {
		return nil
	}
	return saveMeasure(measurePath(work, "codetrail", m.Events), m)
}

// measureQueries times the benchmark queries and deep paging against the
// server c talks to, into m; pid, when not 0, is the server's process, whose
// peak memory is sampled between queries.
func measureQueries(ctx context.Context, c *client.Client, runs int, m *measure, pid int) error {
	queriesStart := time.Now()
	fmt.Printf("\n%-38s %10s %10s %10s %8s %10s %10s\n", "query (view SUMMARY)", "p50", "p99", "max", "hits", "faults/run", "read/run")
	for _, q := range benchQueries() {
		q.req.View = pb.EventView_EVENT_VIEW_SUMMARY
		var lat []time.Duration
		var timed []timedRun
		var hits int64
		faults0, read0 := diskWaits(pid)
		for i := range runs {
			before := schedTimes(pid)
			t := time.Now()
			res, err := c.Search(ctx, q.req)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			took := time.Since(t)
			lat = append(lat, took)
			timed = append(timed, timedRun{i: i, start: t, took: took, server: schedTimes(pid).minus(before)})
			hits = res.GetTotalHits()
			m.PeakRSS, m.PeakAnon = max(m.PeakRSS, rss(pid)), max(m.PeakAnon, anonRSS(pid))
		}
		// A cycle's trace line comes when it ends: wait for the last run's.
		time.Sleep(50 * time.Millisecond)
		for i := range timed {
			r := &timed[i]
			r.gc = serverGC.during(r.start, r.start.Add(r.took))
			r.sinceGC, r.afterGC = serverGC.sinceLast(r.start)
		}
		tm := timing{Name: q.name, P50: pct(lat, 50), P99: pct(lat, 99), Max: lat[len(lat)-1], Hits: hits}
		faults, read := diskWaits(pid) // zeros when pid is 0
		tm.MajFaults = float64(faults-faults0) / float64(runs)
		tm.ReadBytes = float64(read-read0) / float64(runs)
		m.Queries = append(m.Queries, tm)
		fmt.Printf("%-38s %10s %10s %10s %8d %10.1f %9.0fK\n", tm.Name, tm.P50.Round(10*time.Microsecond), tm.P99.Round(10*time.Microsecond), tm.Max.Round(10*time.Microsecond), hits, tm.MajFaults, tm.ReadBytes/1024)
		fmt.Printf("    slowest: %s\n", explainSlowest(timed, 3))
	}
	// Deep paging: page 1 and page 100 of 50 (the last page, with fewer
	// events), the median of runs of each, alternated, once the token of
	// page 100 is known.
	tok := ""
	for page := 1; page < 100; page++ {
		res, err := c.Search(ctx, &pb.SearchRequest{PageSize: 50, PageToken: tok, View: pb.EventView_EVENT_VIEW_SUMMARY})
		if err != nil {
			return err
		}
		if res.GetNextPageToken() == "" {
			break
		}
		tok = res.GetNextPageToken()
	}
	var first, hundredth []time.Duration
	for range runs {
		for _, pt := range []string{"", tok} {
			t := time.Now()
			if _, err := c.Search(ctx, &pb.SearchRequest{PageSize: 50, PageToken: pt, View: pb.EventView_EVENT_VIEW_SUMMARY}); err != nil {
				return err
			}
			if pt == "" {
				first = append(first, time.Since(t))
			} else {
				hundredth = append(hundredth, time.Since(t))
			}
		}
	}
	m.Page1, m.Page100 = pct(first, 50), pct(hundredth, 50)
	fmt.Printf("%-38s %10s\n%-38s %10s\n", "page 1 of 50, all events (p50)", m.Page1.Round(10*time.Microsecond), "page 100 of 50, all events (p50)", m.Page100.Round(10*time.Microsecond))
	if n, median, most := serverGC.between(queriesStart, time.Now()); n > 0 {
		fmt.Printf("server collections while the queries ran: %d, each %s from start to mark termination (median; longest %s)\n", n, ms(median), ms(most))
	}
	return nil
}

// benchQuery is one timed query of the search benchmark; the SQLite side
// runs its equivalent under the same name.
type benchQuery struct {
	name string
	req  *pb.SearchRequest
}

func benchQueries() []benchQuery {
	week := timestamppb.New(gen.DefaultEnd.Add(-7 * 24 * time.Hour))
	return []benchQuery{
		{"term on eventName, 50 newest", &pb.SearchRequest{Query: "eventName:StartBuild"}},
		{"source+name+7d range, 50 newest", &pb.SearchRequest{Query: "eventSource:codepipeline.amazonaws.com AND eventName:StartPipelineExecution", StartTime: week}},
		{"word anywhere, 50 newest", &pb.SearchRequest{Query: "AccessDenied"}},
		{"resource lookup, 50 newest", &pb.SearchRequest{Query: "resource:MyFirstPipeline"}},
		{"boolean with NOT exists", &pb.SearchRequest{Query: "service:codepipeline AND (eventName:UpdatePipeline OR eventName:DeletePipeline) AND NOT errorCode:*"}},
		{"wildcard on user arn", &pb.SearchRequest{Query: "userIdentity.arn:*JaneDoe*"}},
		{"terms facet eventName, all events", &pb.SearchRequest{PageSize: 1, Facets: []*pb.FacetRequest{{Field: "eventName", Size: 10}}}},
		{"day histogram, all events", &pb.SearchRequest{PageSize: 1, Histogram: &pb.HistogramRequest{Interval: "1d"}}},
		{"facet over errors only", &pb.SearchRequest{Query: "errorCode:*", PageSize: 1, Facets: []*pb.FacetRequest{{Field: "eventName", Size: 10}}}},
		{"day histogram, one service (~10%)", &pb.SearchRequest{Query: "service:codedeploy", PageSize: 1, Histogram: &pb.HistogramRequest{Interval: "1d"}}},
	}
}

func pct(d []time.Duration, p int) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, len(d)*p/100)]
}

// rss reads the resident set size of pid from /proc, in bytes.
func rss(pid int) int64 { return procStatus(pid, "VmRSS:") }

// anonRSS reads the anonymous part of the resident set of pid, in bytes.
func anonRSS(pid int) int64 { return procStatus(pid, "RssAnon:") }

// alive reports whether process pid is running (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := statFields(string(b))
	return len(f) > 0 && f[0] != "Z"
}

// oomNote says, for -serve-cgroup, whether the cgroup hit its limit.
func oomNote() string {
	if serveCgroup == "" {
		return ""
	}
	limit, peak := cgroupMemory(serveCgroup)
	return fmt.Sprintf(" (memory cgroup %s: limit %d, peak %d bytes: killed for memory if they are equal)", serveCgroup, limit, peak)
}

// cgroupMemory reads a memory cgroup's limit and peak use in bytes, from
// the v1 files or the v2 ones; zero for what it cannot read.
func cgroupMemory(dir string) (limit, peak int64) {
	read := func(names ...string) int64 {
		for _, n := range names {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
				v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
				return v
			}
		}
		return 0
	}
	return read("memory.limit_in_bytes", "memory.max"), read("memory.max_usage_in_bytes", "memory.peak")
}

// diskWaits reads the major page faults of pid (field 12 of
// /proc/pid/stat) and the bytes it caused to be read from storage
// (read_bytes of /proc/pid/io); zero for what it cannot read. Bleve maps
// its segments, so a search that reads index files not in the page cache
// shows as major faults, not as read calls.
func diskWaits(pid int) (faults, read int64) {
	if pid == 0 {
		return 0, 0
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		faults = statField(string(b), 12)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "read_bytes: "); ok {
				read, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	return faults, read
}

// statFields returns the fields of a /proc/pid/stat line from the third
// (the state) on, or nil. The command name (the second) is in parentheses
// and may hold spaces and parentheses, so fields are counted from its last
// closing one.
func statFields(stat string) []string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(stat[i+1:])
}

// statField returns field n (1-based, as proc(5) numbers them, from 3 on)
// of a /proc/pid/stat line as a number, or 0.
func statField(stat string, n int) int64 {
	f := statFields(stat)
	if n < 3 || n-3 >= len(f) {
		return 0
	}
	v, _ := strconv.ParseInt(f[n-3], 10, 64)
	return v
}

// procStatus reads a field in kB of /proc/pid/status, in bytes.
func procStatus(pid int, key string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// profileOut is the -profile flag.
var profileOut string

// subConns and subBatch shape the subscriber benchmark's streams.
var subConns, subBatch int

// queriesPid is the -queries-pid flag.
var queriesPid int

// keepData is the -keep-data flag.
var keepData string

// serveCgroup is the -serve-cgroup flag.
var serveCgroup string

// settleMax is the -settle flag.
var settleMax time.Duration

// settle waits, at most most, until codetrail serve (process pid) is quiet
// and has no compaction running or due (docs/operations.md, Compaction):
// queries are timed on the index as it stays once ingest is over. It
// returns how long it waited, the segments searches then read, and whether
// the server did settle (false: most ran out first).
func settle(ctx context.Context, c *client.Client, pid int, most time.Duration) (time.Duration, int64, bool) {
	start := time.Now()
	var segs int64
	for time.Since(start) < most {
		quiet := waitQuiet(pid, most-time.Since(start), 5*time.Second)
		st, err := c.Stats(ctx)
		if err != nil {
			break
		}
		segs = st.GetSegments()
		if quiet && !st.GetCompacting() {
			return time.Since(start), segs, true
		}
		time.Sleep(time.Second)
	}
	return time.Since(start), segs, false
}

// waitQuiet waits until process pid uses under a tenth of a core over a
// window, or until most has passed, and returns whether it went quiet.
// Ingest is over by then, so what still runs is Bleve merging and
// persisting.
func waitQuiet(pid int, most, window time.Duration) bool {
	start := time.Now()
	for left := most; left > 0; left = most - time.Since(start) {
		d := min(window, left)
		before := procCPU(pid)
		time.Sleep(d)
		if procCPU(pid)-before < d/10 {
			return true
		}
	}
	return false
}

// serveArgs are the -serve-arg flags.
var serveArgs stringList

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// startServe starts `codetrail serve` on a free loopback port.
func startServe(bin, data string) (addr string, stop func(), err error) {
	addr, stop, _, err = startServeSources(bin, data)
	return addr, stop, err
}

func startServeSources(bin, data string, sources ...string) (string, func(), int, error) {
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--watch-interval", "1h"}
	args = append(args, serveArgs...)
	for _, s := range sources {
		args = append(args, "--source", s)
	}
	cmd := exec.Command(bin, args...)
	if serveCgroup != "" {
		// The shell joins the cgroup and becomes the server, so that the
		// server is charged from its first page.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, serveCgroup, bin}, args...)...)
	}
	// The GC trace tells the queries' slow runs in a collection from others
	// (slowruns.go).
	cmd.Env = gcEnv(os.Environ())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, 0, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			serverGC.note(sc.Text(), time.Now())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return a, stop, cmd.Process.Pid, nil
	case <-time.After(time.Minute):
		stop()
		return "", nil, 0, fmt.Errorf("server did not start")
	}
}
