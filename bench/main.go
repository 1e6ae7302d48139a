// Command bench measures codetrail as a user meets it: it generates N events
// as gzip trail files with the project's generator, starts the real
// `codetrail serve` on them, waits until every event is searchable, then
// times queries, facets and a histogram from a gRPC client and reports disk
// use and peak memory. It lives in its own module so that its dependencies
// stay out of the service.
//
//	cd bench && go run . -events 100000
//	cd bench && go run . -subscribers 1000 -rate 5000 -seconds 20
//	cd bench && go run . -load-minutes 10 -subscribers 500 -rate 1000
package main

import (
	"bufio"
	"context"
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
	flag.Var(&serveArgs, "serve-arg", "an extra argument for codetrail serve, repeatable (e.g. -serve-arg=--metrics-listen=127.0.0.1:9464 to take profiles from /debug/pprof)")
	flag.StringVar(&profileOut, "profile", "", "subscriber benchmark: write the server's CPU profile while events are offered with subscribers to this file")
	loadMin := flag.Float64("load-minutes", 0, "instead: the bounded load run (ingest at -rate, searches, -subscribers streams) for this many minutes")
	flag.Parse()
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
		err = runSubscribers(*subs, *rate, *secs, *work)
	} else {
		err = run(*events, *runs, *work)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if temp {
			os.RemoveAll(*work) // os.Exit skips deferred calls
		}
		os.Exit(1)
	}
}

func run(n, runs int, work string) error {
	// Build the service in its own module, with its own dependencies.
	bin, err := buildServer(work)
	if err != nil {
		return err
	}
	trail := filepath.Join(work, "trail")
	cfg := gen.DefaultConfig()
	cfg.Events = n
	cfg.Span = 7 * 24 * time.Hour
	cfg.Start = gen.DefaultEnd.Add(-cfg.Span)
	t0 := time.Now()
	sum, err := gen.WriteTrail(trail, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d events in %d files (%.1f MB gzip) in %s\n", sum.Events, sum.Files, float64(sum.Bytes)/1e6, time.Since(t0).Round(time.Millisecond))

	start := time.Now()
	a, stop, pid, err := startServeSources(bin, filepath.Join(work, "data"), trail)
	if err != nil {
		return err
	}
	defer stop()
	c, err := client.Dial(a)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx := context.Background()

	// Searchable, not just acknowledged: poll Search until it counts them all.
	want := int64(n)
	peak := int64(0)
	for {
		res, err := c.Search(ctx, &pb.SearchRequest{PageSize: 1, View: pb.EventView_EVENT_VIEW_SUMMARY})
		if err == nil && res.GetTotalHits() >= want {
			break
		}
		peak = max(peak, rss(pid))
		if time.Since(start) > 2*time.Hour {
			return fmt.Errorf("not all events searchable after 2h")
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	fmt.Printf("ingest to searchable: %d events in %s = %.0f events/s\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())

	week := timestamppb.New(gen.DefaultEnd.Add(-7 * 24 * time.Hour))
	queries := []struct {
		name string
		req  *pb.SearchRequest
	}{
		{"term on eventName, 50 newest", &pb.SearchRequest{Query: "eventName:StartBuild"}},
		{"source+name+7d range, 50 newest", &pb.SearchRequest{Query: "eventSource:codepipeline.amazonaws.com AND eventName:StartPipelineExecution", StartTime: week}},
		{"word anywhere, 50 newest", &pb.SearchRequest{Query: "AccessDenied"}},
		{"resource lookup, 50 newest", &pb.SearchRequest{Query: "resource:MyFirstPipeline"}},
		{"boolean with NOT exists", &pb.SearchRequest{Query: "service:codepipeline AND (eventName:UpdatePipeline OR eventName:DeletePipeline) AND NOT errorCode:*"}},
		{"wildcard on user arn", &pb.SearchRequest{Query: "userIdentity.arn:*JaneDoe*"}},
		{"terms facet eventName, all events", &pb.SearchRequest{PageSize: 1, Facets: []*pb.FacetRequest{{Field: "eventName", Size: 10}}}},
		{"day histogram, all events", &pb.SearchRequest{PageSize: 1, Histogram: &pb.HistogramRequest{Interval: "1d"}}},
		{"facet over errors only", &pb.SearchRequest{Query: "errorCode:*", PageSize: 1, Facets: []*pb.FacetRequest{{Field: "eventName", Size: 10}}}},
	}
	fmt.Printf("\n%-38s %10s %10s %10s %8s\n", "query (view SUMMARY)", "p50", "p99", "max", "hits")
	for _, q := range queries {
		q.req.View = pb.EventView_EVENT_VIEW_SUMMARY
		var lat []time.Duration
		var hits int64
		for range runs {
			t := time.Now()
			res, err := c.Search(ctx, q.req)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			lat = append(lat, time.Since(t))
			hits = res.GetTotalHits()
		}
		p50, p99, mx := pct(lat, 50), pct(lat, 99), lat[len(lat)-1]
		fmt.Printf("%-38s %10s %10s %10s %8d\n", q.name, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), mx.Round(10*time.Microsecond), hits)
	}
	// Deep paging: page 1 and page 100 of 50.
	tok := ""
	var first, hundredth time.Duration
	for page := 1; page <= 100; page++ {
		t := time.Now()
		res, err := c.Search(ctx, &pb.SearchRequest{PageSize: 50, PageToken: tok, View: pb.EventView_EVENT_VIEW_SUMMARY})
		if err != nil {
			return err
		}
		d := time.Since(t)
		if page == 1 {
			first = d
		}
		hundredth = d
		tok = res.GetNextPageToken()
	}
	fmt.Printf("%-38s %10s\n%-38s %10s\n", "page 1 of 50, all events", first.Round(10*time.Microsecond), "page 100 of 50, all events", hundredth.Round(10*time.Microsecond))
	st, err := c.Stats(ctx)
	if err != nil {
		return err
	}
	peak = max(peak, rss(pid))
	fmt.Printf("\nindex on disk: %.1f MB = %.0f B/event; peak RSS while ingesting: %.0f MB\n",
		float64(st.GetIndexSizeBytes())/1e6, float64(st.GetIndexSizeBytes())/float64(n), float64(peak)/1e6)
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, len(d)*p/100)]
}

// rss reads the resident set size of pid from /proc, in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// profileOut is the -profile flag.
var profileOut string

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
