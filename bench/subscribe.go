package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/ingest/gen"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// runSubscribers measures live delivery: n Subscribe streams with distinct
// queries while generated events are offered through the Ingest RPC at rate
// events/s, in batches every 100 ms. It reports the delay from each Ingest
// call's acknowledgement to each delivery (negative: delivered before the
// acknowledgement reached the client), ingest throughput with and without
// the subscribers, and checks that every subscriber got exactly what Search
// returns for its query.
func runSubscribers(n, rate, secs, pairs int, work string) error {
	bin, err := buildServer(work)
	if err != nil {
		return err
	}
	// Queries: a resource, a user, an event name and mixes of them, all
	// distinct, all over values the generator uses.
	cfg := gen.DefaultConfig()
	cfg.Events = rate * secs * 2
	records, err := gen.Events(cfg)
	if err != nil {
		return err
	}
	var queries []string
	seen := map[string]bool{}
	add := func(q string) {
		if !seen[q] && len(queries) < n {
			seen[q] = true
			queries = append(queries, q)
		}
	}
	services := []string{"codepipeline", "codebuild", "codecommit", "codedeploy", "codeartifact", "codestar", "codestar-notifications", "codeconnections", "codecatalyst", "other"}
	for i := 0; len(queries) < n && i < 100000; i++ {
		add(fmt.Sprintf("service:%s AND (errorCode:* OR readOnly:false) AND NOT user:q%d", services[i%len(services)], i))
	}

	fmt.Printf("\n%d subscribers over %d connections (max_batch %d), offered %d events/s for %ds, %d pair(s) of phases\n", n, max(1, min(subConns, n)), subBatch, rate, secs, pairs)
	// Phases alternate (without, with; then with, without; ...) so that a
	// machine that drifts slower or faster over the run weighs on both.
	var ratios, p50s, p99s, withRates, withoutRates []float64
	for p := 1; p <= pairs; p++ {
		var withSubs, without result
		withoutPhase := func() (err error) {
			without, err = ingestPhase(bin, work, fmt.Sprintf("without-%d", p), nil, records[:len(records)/2], rate, secs)
			return err
		}
		withPhase := func() (err error) {
			withSubs, err = ingestPhase(bin, work, fmt.Sprintf("with-%d", p), queries, records[len(records)/2:], rate, secs)
			return err
		}
		first, second := withoutPhase, withPhase
		if p%2 == 0 {
			first, second = withPhase, withoutPhase
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		ratio := 100 * withSubs.rate / without.rate
		p50, p99 := pctD(withSubs.delays, 50), pctD(withSubs.delays, 99)
		ratios, p50s, p99s = append(ratios, ratio), append(p50s, p50.Seconds()), append(p99s, p99.Seconds())
		withRates, withoutRates = append(withRates, withSubs.rate), append(withoutRates, without.rate)
		fmt.Printf("\npair %d\n", p)
		fmt.Printf("ingest without subscribers: %.0f events/s acknowledged; CPU until the last acknowledgement (%s): server %s, benchmark client %s\n",
			without.rate, without.elapsed.Round(time.Millisecond), without.serverCPU.Round(10*time.Millisecond), without.clientCPU.Round(10*time.Millisecond))
		fmt.Printf("ingest with subscribers:    %.0f events/s acknowledged (%.1f%% of without)\n", withSubs.rate, ratio)
		fmt.Printf("deliveries: %d; delay from Ingest ack to delivery p50 %s, p99 %s, max %s\n", len(withSubs.delays),
			p50, p99, pctD(withSubs.delays, 100))
		fmt.Printf("server's delay from storing to sending (codetrail_subscribe_delivery_seconds): %s\n", withSubs.serverDelay)
		fmt.Printf("server's delay from storing to dispatching (codetrail_subscribe_dispatch_seconds): %s\n", withSubs.dispatchDelay)
		fmt.Printf("all subscribers at the head %s after the last acknowledgement\n", withSubs.drain.Round(time.Millisecond))
		fmt.Printf("CPU from the first offer until all subscribers were at the head (%s): server %s, benchmark client (%d streams) %s\n",
			withSubs.elapsed.Round(time.Millisecond), withSubs.serverCPU.Round(10*time.Millisecond), n, withSubs.clientCPU.Round(10*time.Millisecond))
		fmt.Printf("loss check: %s\n", withSubs.check)
	}
	if pairs > 1 {
		fmt.Printf("\nmedians of %d pairs: without %.0f events/s, with %.0f events/s, ratio %.1f%%; delay p50 %.2fs, p99 %.2fs\n",
			pairs, medianF(withoutRates), medianF(withRates), medianF(ratios), medianF(p50s), medianF(p99s))
	}
	return nil
}

// medianF returns the median of v (the mean of the middle two for an even
// count).
func medianF(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// procCPU returns the user+system CPU time of a process so far, from
// /proc (0 where there is none).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces, in parens).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

type result struct {
	elapsed              time.Duration // from the first offer until every subscriber was at the head
	serverCPU, clientCPU time.Duration // CPU used over elapsed by the server and by this process
	drain                time.Duration // from the last acknowledgement until every subscriber was at the head
	rate                 float64
	serverDelay          string // the server's delivery delay quantiles, from its metrics
	dispatchDelay        string // the server's dispatch delay quantiles
	delays               []time.Duration
	check                string
}

func buildServer(work string) (string, error) {
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/codetrail/codetrail").Output()
	if err != nil {
		return "", fmt.Errorf("find the codetrail module: %w", err)
	}
	bin := filepath.Join(work, "codetrail")
	build := exec.Command("go", "build", "-o", bin, "./cmd/codetrail")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
}

func ingestPhase(bin, work, name string, queries []string, records [][]byte, rate, secs int) (result, error) {
	var res result
	var startProfile func() // set when profiling: run when events begin to be offered
	var profiling sync.WaitGroup
	defer profiling.Wait()
	// The server's metrics listener: its own delivery delays, and profiles.
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	metrics := ml.Addr().String()
	ml.Close()
	serveArgs = append(serveArgs, "--metrics-listen", metrics)
	defer func() { serveArgs = serveArgs[:len(serveArgs)-2] }()
	if profileOut != "" {
		// Profile the server while events are offered (the first secs*7/4
		// seconds of the phase).
		startProfile = func() {
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", metrics, secs*7/4))
			if err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(profileOut + "." + name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, resp.Body)
		}
	}
	addr, stop, pid, err := startServeSources(bin, filepath.Join(work, "data-"+name))
	if err != nil {
		return res, err
	}
	defer stop()
	c, err := client.Dial(addr)
	if err != nil {
		return res, err
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	type got struct {
		mu    sync.Mutex
		ids   []string
		times []time.Time
		last  string // newest cursor seen (event, progress or caught-up)
	}
	recv := make([]got, len(queries))
	// Subscribers are spread over subConns connections, as separate
	// clients would be: one HTTP/2 connection carries every stream's
	// frames through one reader and one writer on each side.
	conns := make([]*client.Client, max(1, min(subConns, len(queries))))
	for i := range conns {
		if conns[i], err = client.Dial(addr); err != nil {
			return res, err
		}
		defer conns[i].Close()
	}
	var wg sync.WaitGroup
	ready := make(chan struct{}, len(queries))
	for i, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for e, err := range conns[i%len(conns)].Subscribe(ctx, &pb.SubscribeRequest{Query: q, View: pb.EventView_EVENT_VIEW_SUMMARY, MaxBatch: uint32(subBatch)},
				client.SubscribeOptions{OnStatus: func(m *pb.SubscribeResponse, _ error) {
					if first && m.GetCaughtUp() != nil {
						first = false
						ready <- struct{}{}
					}
					if c := m.GetCaughtUp().GetCursor() + m.GetProgress().GetCursor(); c != "" {
						recv[i].mu.Lock()
						recv[i].last = c
						recv[i].mu.Unlock()
					}
				}}) {
				if err != nil {
					return
				}
				recv[i].mu.Lock()
				recv[i].ids = append(recv[i].ids, e.GetEventId())
				recv[i].times = append(recv[i].times, time.Now())
				recv[i].last = e.GetCursor()
				recv[i].mu.Unlock()
			}
		}()
	}
	for range queries {
		<-ready
	}

	// Offer rate events/s in 100 ms batches, each batch one Ingest call
	// (JSON lines), several calls in flight as real clients would have.
	ackTime := map[string]time.Time{}
	var mu sync.Mutex
	per := rate / 10
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	serverCPU0, selfCPU0 := procCPU(pid), procCPU(os.Getpid())
	if startProfile != nil {
		profiling.Go(startProfile)
		if len(queries) > 0 {
			// This process too: its streams share the machine with the server.
			if f, err := os.Create(profileOut + "." + name + ".client"); err == nil {
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err == nil {
					defer pprof.StopCPUProfile()
				}
			}
		}
	}
	var calls sync.WaitGroup
	sent := 0
	for b := 0; b < secs*10 && sent < len(records); b++ {
		<-tick.C
		end := min(sent+per, len(records))
		batch := records[sent:end]
		sent = end
		calls.Add(1)
		go func() {
			defer calls.Done()
			data := append(bytesJoin(batch), '\n')
			done := false
			_, err := c.Ingest(ctx, func() (client.Input, bool, error) {
				if done {
					return client.Input{}, false, nil
				}
				done = true
				return client.Input{Name: "batch", Data: data}, true, nil
			}, nil)
			now := time.Now()
			if err != nil {
				fmt.Fprintln(os.Stderr, "ingest:", err)
				return
			}
			mu.Lock()
			for _, r := range batch {
				ackTime[eventID(r)] = now
			}
			mu.Unlock()
		}()
	}
	calls.Wait()
	res.rate = float64(len(ackTime)) / time.Since(start).Seconds()
	if len(queries) == 0 {
		res.serverCPU, res.clientCPU = procCPU(pid)-serverCPU0, procCPU(os.Getpid())-selfCPU0
		res.elapsed = time.Since(start)
		return res, nil
	}
	// Wait until every subscriber has seen the newest cursor (an event or a
	// progress message at the head), then compare with Search.
	st, err := c.Stats(context.Background())
	if err != nil {
		return res, err
	}
	drain := time.Now()
	for i := range recv {
		for {
			recv[i].mu.Lock()
			at := recv[i].last == st.GetCursor()
			recv[i].mu.Unlock()
			if at || time.Since(drain) > 5*time.Minute {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	res.drain = time.Since(drain)
	res.serverCPU, res.clientCPU = procCPU(pid)-serverCPU0, procCPU(os.Getpid())-selfCPU0
	res.elapsed = time.Since(start)
	if res.serverDelay, err = serverDelays(metrics, "codetrail_subscribe_delivery_seconds"); err != nil {
		return res, err
	}
	if res.dispatchDelay, err = serverDelays(metrics, "codetrail_subscribe_dispatch_seconds"); err != nil {
		return res, err
	}
	cancel()
	wg.Wait()
	lost, dups := 0, 0
	sc, err := client.Dial(addr)
	if err != nil {
		return res, err
	}
	defer sc.Close()
	for i, q := range queries {
		want := map[string]bool{}
		for e, err := range sc.SearchAll(context.Background(), &pb.SearchRequest{Query: q, PageSize: 1000, View: pb.EventView_EVENT_VIEW_SUMMARY}) {
			if err != nil {
				return res, err
			}
			want[e.GetEventId()] = true
		}
		seen := map[string]bool{}
		for j, id := range recv[i].ids {
			if seen[id] {
				dups++
			}
			seen[id] = true
			if t, ok := ackTime[id]; ok {
				res.delays = append(res.delays, recv[i].times[j].Sub(t))
			}
		}
		for id := range want {
			if !seen[id] {
				lost++
			}
		}
	}
	res.check = fmt.Sprintf("%d lost, %d duplicated across %d subscribers", lost, dups, len(queries))
	return res, nil
}

func bytesJoin(recs [][]byte) []byte {
	var b []byte
	for i, r := range recs {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, r...)
	}
	return b
}

// eventID pulls "eventID":"..." out of a generated record.
func eventID(rec []byte) string {
	s := string(rec)
	i := strings.Index(s, `"eventID":"`)
	if i < 0 {
		return ""
	}
	s = s[i+len(`"eventID":"`):]
	return s[:strings.IndexByte(s, '"')]
}

func pctD(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Millisecond)
}

// serverDelays reads a delay histogram (codetrail_subscribe_delivery_seconds
// or _dispatch_seconds) from the server's metrics and returns its p50 and
// p99 (the upper bounds of the buckets that hold them).
func serverDelays(addr, histogram string) (string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	type bucket struct {
		le    float64
		count float64
	}
	var bs []bucket
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, histogram+`_bucket{le="`)
		if !ok {
			continue
		}
		le, count, ok := strings.Cut(rest, `"} `)
		if !ok {
			continue
		}
		b := bucket{}
		if le == "+Inf" {
			b.le = math.Inf(1)
		} else if b.le, err = strconv.ParseFloat(le, 64); err != nil {
			return "", fmt.Errorf("metrics: bucket %q: %w", le, err)
		}
		if b.count, err = strconv.ParseFloat(count, 64); err != nil {
			return "", fmt.Errorf("metrics: count %q: %w", count, err)
		}
		bs = append(bs, b)
	}
	if len(bs) == 0 || bs[len(bs)-1].count == 0 {
		return "nothing recorded", nil
	}
	total := bs[len(bs)-1].count
	q := func(p float64) string {
		for _, b := range bs {
			if b.count >= p*total {
				return fmt.Sprintf("<= %gs", b.le)
			}
		}
		return "?"
	}
	return fmt.Sprintf("p50 %s, p99 %s over %.0f", q(0.5), q(0.99), total), nil
}
