package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/ingest/gen"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// runLoad is the bounded load run of issue 6: on loopback only, for d, it
// ingests through the Ingest RPC at rate events/s, runs searches (with
// facets and histograms) back to back from 4 clients, and keeps subs
// Subscribe streams open, each reconnecting with its own query every 30 s
// on average. Every 10 s it samples the server's goroutines and resident
// memory from its metrics endpoint. It fails when an RPC ends with an error
// other than the documented limits, or when goroutines or memory at the end
// exceed their bounds over the level after warm-up.
func runLoad(d time.Duration, subs, rate int, work string) error {
	bin, err := buildServer(work)
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--data", filepath.Join(work, "data-load"), "--max-subscribers", strconv.Itoa(subs+100))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addrs := make(chan [2]string, 1)
	go func() {
		grpcRe, metricsRe := regexp.MustCompile(`msg=listening addr=(\S+)`), regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
		var a [2]string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := grpcRe.FindStringSubmatch(sc.Text()); m != nil {
				a[0] = m[1]
			}
			if m := metricsRe.FindStringSubmatch(sc.Text()); m != nil {
				a[1] = m[1]
			}
			if a[0] != "" && a[1] != "" {
				addrs <- a
				a = [2]string{"done", "done"}
			}
		}
	}()
	var addr, metrics string
	select {
	case a := <-addrs:
		addr, metrics = a[0], a[1]
	case <-time.After(time.Minute):
		return errors.New("server did not start")
	}
	c, err := client.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()

	cfg := gen.DefaultConfig()
	cfg.Events = rate * int(d.Seconds()+60)
	records, err := gen.Events(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		calls, limited atomic.Int64
		errMu          sync.Mutex
		unexpected     []string
	)
	check := func(what string, err error) {
		calls.Add(1)
		if err == nil || ctx.Err() != nil {
			return
		}
		switch status.Code(err) {
		case codes.ResourceExhausted, codes.DeadlineExceeded:
			limited.Add(1)
			return
		case codes.Canceled:
			return
		}
		errMu.Lock()
		if len(unexpected) < 20 {
			unexpected = append(unexpected, what+": "+err.Error())
		}
		errMu.Unlock()
	}
	var wg sync.WaitGroup
	// Ingest at rate, one input per 100 ms.
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		per, next := max(rate/10, 1), 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if next+per > len(records) {
				next = 0
			}
			data := bytesJoin(records[next : next+per])
			next += per
			sent := false
			_, err := c.Ingest(ctx, func() (client.Input, bool, error) {
				if sent {
					return client.Input{}, false, nil
				}
				sent = true
				return client.Input{Name: "load.json", Data: data}, true, nil
			}, nil)
			check("ingest", err)
		}
	})
	// Searches.
	queries := []string{"*", "service:codepipeline", "errorCode:*", "eventName:Get* AND NOT readOnly:false", "JaneDoe", "resource:*MyFirstPipeline*"}
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				req := &pb.SearchRequest{Query: queries[rand.IntN(len(queries))], PageSize: 50}
				switch rand.IntN(3) {
				case 1:
					req.Facets = []*pb.FacetRequest{{Field: "eventName"}, {Field: "user"}}
				case 2:
					req.Histogram = &pb.HistogramRequest{Interval: "1h"}
				}
				_, err := c.Search(ctx, req)
				check("search", err)
			}
		})
	}
	// Subscribers that come and go.
	var delivered atomic.Int64
	for i := range subs {
		wg.Go(func() {
			for ctx.Err() == nil {
				sctx, scancel := context.WithTimeout(ctx, time.Duration(10+rand.IntN(40))*time.Second)
				q := fmt.Sprintf("service:%s AND NOT user:nobody%d", []string{"codebuild", "codepipeline", "codecommit", "codedeploy"}[i%4], i)
				stream, err := pb.NewEventServiceClient(c.Conn()).Subscribe(sctx, &pb.SubscribeRequest{Query: q})
				if err == nil {
					for {
						m, rerr := stream.Recv()
						if rerr != nil {
							if !errors.Is(rerr, io.EOF) && sctx.Err() == nil {
								err = rerr
							}
							break
						}
						if m.GetEvent() != nil {
							delivered.Add(1)
						}
					}
				}
				scancel()
				check("subscribe", err)
			}
		})
	}

	type sample struct {
		at         time.Duration
		goroutines float64
		rss        float64
	}
	var samples []sample
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
sampling:
	for {
		select {
		case <-ctx.Done():
			break sampling
		case <-tick.C:
		}
		g, r, err := scrape(metrics)
		if err != nil {
			return err
		}
		samples = append(samples, sample{time.Since(start).Round(time.Second), g, r})
		st, _ := c.Stats(context.Background())
		fmt.Printf("%6s  goroutines %6.0f  rss %5.0f MiB  heap %5d MiB  events %8d  subscribers %4d  delivered %9d  calls %8d  limited %d\n",
			time.Since(start).Round(time.Second), g, r/(1<<20), lastHeap.Load()>>20, st.GetEvents(), st.GetSubscribers().GetActive(), delivered.Load(), calls.Load(), limited.Load())
	}
	tick.Stop()
	wg.Wait()
	// After the load: every stream closed, nothing should stay behind.
	time.Sleep(5 * time.Second)
	gEnd, rEnd, err := scrape(metrics)
	if err != nil {
		return err
	}
	if len(samples) < 3 {
		return errors.New("run too short to judge growth: give at least -load-minutes 1")
	}
	warm := samples[1] // after warm-up
	peakG, peakR := 0.0, 0.0
	for _, s := range samples[1:] {
		peakG, peakR = max(peakG, s.goroutines), max(peakR, s.rss)
	}
	fmt.Printf("\nload: %s, %d subscribers, %d events/s offered, %d calls, %d answered with a limit\n", d, subs, rate, calls.Load(), limited.Load())
	fmt.Printf("goroutines: after warm-up %.0f, peak %.0f, idle at the end %.0f\n", warm.goroutines, peakG, gEnd)
	fmt.Printf("resident memory: after warm-up %.0f MiB, peak %.0f MiB, at the end %.0f MiB\n", warm.rss/(1<<20), peakR/(1<<20), rEnd/(1<<20))
	var fails []string
	// Bounds: with every stream closed, goroutines fall back to a small
	// base; memory may grow with the index but not without bound.
	if gEnd > 200 {
		fails = append(fails, fmt.Sprintf("%.0f goroutines left once the load stopped (bound 200)", gEnd))
	}
	if peakR > 2*warm.rss+512<<20 {
		fails = append(fails, fmt.Sprintf("peak memory %.0f MiB is over twice the warm level plus 512 MiB", peakR/(1<<20)))
	}
	if len(unexpected) > 0 {
		fails = append(fails, fmt.Sprintf("%d unexpected errors, e.g. %s", len(unexpected), strings.Join(unexpected[:min(3, len(unexpected))], "; ")))
	}
	if len(fails) > 0 {
		return errors.New(strings.Join(fails, "\n"))
	}
	fmt.Println("held: no unexpected error, goroutines and memory within bounds")
	return nil
}

// lastHeap is the server's heap in use at the last scrape.
var lastHeap atomic.Int64

// scrape reads go_goroutines and process_resident_memory_bytes.
func scrape(addr string) (goroutines, rss float64, err error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_goroutines":
			goroutines = v
		case "process_resident_memory_bytes":
			rss = v
		case "go_memstats_heap_inuse_bytes":
			lastHeap.Store(int64(v))
		}
	}
	return goroutines, rss, sc.Err()
}
