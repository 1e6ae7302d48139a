package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/catalyst"
	"github.com/codetrail/codetrail/ingest/gen"
	"github.com/codetrail/codetrail/ingest/integrity"
	"github.com/codetrail/codetrail/ingest/lookup"
	"github.com/codetrail/codetrail/ingest/s3src"
	"github.com/codetrail/codetrail/ingest/sqssrc"
	"github.com/codetrail/codetrail/server"
	"github.com/codetrail/codetrail/server/auth"
	"github.com/codetrail/codetrail/server/gateway"
)

type serveConfig struct {
	listen          string
	httpListen      string
	data            string
	sources         stringList
	demo            bool
	demoEvents      int
	demoSeed        uint64
	watch           time.Duration
	metricsListen   string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	memoryLimit     byteSize
	gcMinHeap       byteSize
	index           index.Config
	ingest          ingest.Config
	server          server.Config
	security        securityConfig
}

func (c *serveConfig) registerFlags(fs *flag.FlagSet) {
	c.index = index.DefaultConfig("")
	c.ingest = ingest.DefaultConfig()
	c.server = server.DefaultConfig()
	fs.StringVar(&c.listen, "listen", "127.0.0.1:7000", "gRPC listen address (host:port)")
	fs.StringVar(&c.httpListen, "http-listen", "", "serve the HTTP/JSON gateway (REST, Subscribe as JSON lines or server-sent events, /openapi.json) on this address, with the same TLS and identities; off when empty")
	fs.StringVar(&c.data, "data", "codetrail-data", "data directory (index, demo dataset)")
	fs.Var(&c.sources, "source", "where to read events, repeatable: a local file or directory (watched for new files; - for standard input), s3://bucket/prefix, sqs://queue, cloudtrail://region[,region], codecatalyst://space (parameters and IAM in docs/aws.md)")
	fs.BoolVar(&c.demo, "demo", false, "generate a demo dataset into the data directory on first start and serve it")
	fs.IntVar(&c.demoEvents, "demo-events", 20000, "events in the demo dataset")
	fs.Uint64Var(&c.demoSeed, "demo-seed", 1, "seed of the demo dataset")
	fs.DurationVar(&c.watch, "watch-interval", 10*time.Second, "how often sources are scanned for new files")
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "serve Prometheus metrics on this address (host:port) at /metrics; off when empty")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long shutdown waits for calls in progress")
	fs.IntVar(&c.ingest.BatchSize, "batch-size", 0, "most events committed to the index in one batch, split over the shards; 0: 10000 (blocks are cut within a shard's part of a batch), or 2500 with --layout events")
	fs.Var(&c.memoryLimit, "memory-limit", "soft limit (`SIZE`: 1GiB, 2GiB) of the Go heap; the garbage collector works harder as the heap nears it. Under ingest alone 700MiB keeps the server within a 1 GiB container at no measurable cost, but a limit under what the server holds live (about 300 MiB under ingest, much more with many subscribers) costs most of the CPU; 0 (the default) for 70% of the container's memory limit when the server runs in a memory cgroup that has one, else none; GOMEMLIMIT in the environment takes precedence (GOMEMLIMIT=off for none in a container)")
	c.gcMinHeap = 512 << 20
	fs.Var(&c.gcMinHeap, "gc-min-heap", "the Go heap may grow to this `SIZE` (512MiB, 1GiB) before the garbage collector runs, however little is live: searches allocate from 0.2 to a few MiB each, and with a small live heap the collector otherwise runs every second search; a larger live heap (under ingest, or block partitions' sidecars past about 5M events) gets the usual target of twice its size; 0 for Go's own rule; GOGC in the environment takes precedence")
	fs.IntVar(&c.ingest.Workers, "ingest-workers", c.ingest.Workers, "files in flight at once (most wait for their group commit)")
	fs.Int64Var(&c.ingest.DecodeBytes, "ingest-decode-bytes", c.ingest.DecodeBytes, "decompressed bytes of all inputs being decoded or waiting for their commit: bounds the memory ingest holds (parsed events take about three times their JSON)")
	fs.StringVar(&c.index.Layout, "layout", c.index.Layout, "how new partitions store events: blocks (a document per 256 events, about 5 times faster to ingest and a third of the disk; see docs/blocks.md) or events (a Bleve document each, the layout before blocks); partitions keep the layout they were created with")
	fs.IntVar(&c.index.Shards, "shards", c.index.Shards, "Bleve indexes each batch is split over and written in parallel: one per core (at most 8) is best; shards already on disk are always used")
	fs.BoolVar(&c.index.AllowLeadingWildcard, "allow-leading-wildcard", false, "accept patterns without a field that start with a wildcard (*deploy, /.*ment/): each reads every word of every event")
	fs.IntVar(&c.index.MaxPageSize, "max-page-size", c.index.MaxPageSize, "largest page a search may ask for")
	fs.DurationVar(&c.server.SearchTimeout, "search-timeout", c.server.SearchTimeout, "longest a Search or GetEvent may run")
	fs.IntVar(&c.server.MaxConcurrentSearches, "max-concurrent-searches", c.server.MaxConcurrentSearches, "Search and GetEvent calls running at once; more wait up to 1s, then get ResourceExhausted")
	fs.IntVar(&c.index.MaxSubscribers, "max-subscribers", c.index.MaxSubscribers, "open Subscribe streams in total")
	fs.IntVar(&c.server.MaxSubscribersPerIdentity, "max-subscribers-per-identity", c.server.MaxSubscribersPerIdentity, "open Subscribe streams of one identity (with --tokens or --client-ca)")
	fs.Var(daysFlag{&c.index.Retention}, "retention", "drop events older than this (90d, 26w), a whole partition at a time; 0 keeps everything")
	fs.Var(daysFlag{&c.index.PartitionSpan}, "partition-span", "how long one partition takes new events; retention drops whole partitions, so it is the granularity of retention")
	fs.Uint64Var(&c.index.PartitionMaxEvents, "partition-max-events", c.index.PartitionMaxEvents, "a new partition also starts once the current one holds this many events, which bounds segment merges (0: no bound)")
	fs.DurationVar(&c.index.CompactIdle, "compact-idle", c.index.CompactIdle, "once ingest has stored nothing for this long, merge the segments of every shard that has more than --compact-segments (searches read each segment; merging costs about 90µs of CPU per event rewritten); 0 turns compaction off")
	fs.IntVar(&c.index.CompactSegments, "compact-segments", c.index.CompactSegments, "segments a shard may have before an idle compaction merges it into one")
	fs.BoolVar(&c.index.RandomReads, "random-reads", c.index.RandomReads, "advise the kernel that index files are read at random (Linux madvise), so that a page fault reads its page and not the disk's whole read-ahead; false leaves the kernel's default")
	fs.Var((*byteSize)(&c.index.ColumnBytes), "column-memory", "memory (`SIZE`) for the columns that count facets and histograms over a query's matches in time growing with the matches, not the index: two bytes an event per field counted (event names and hours of 16M events in the default), and a quarter of it more for the times of time ranges' edge hours that deep pages test; 0 turns them off")
	fs.Int64Var(&c.index.MinFreeBytes, "min-free-disk", c.index.MinFreeBytes, "bytes kept free on the data directory's disk: below it ingest pauses (ResourceExhausted) and resumes once space returns; searches go on")
	c.security.registerFlags(fs)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.registerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail serve [flags]\n\nRuns the gRPC service (Search, GetEvent, Stats, Subscribe, Ingest, health,\nreflection) on an embedded index in --data.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := parseFlags(ctx, fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v: give files and directories with --source", fs.Args())
	}
	log, err := newLogger(stderr, c.logLevel, c.logFormat)
	if err != nil {
		return err
	}
	c.index.Dir = c.data
	return serve(ctx, c, log)
}

func serve(ctx context.Context, c serveConfig, log *slog.Logger) error {
	if c.ingest.BatchSize == 0 {
		c.ingest.BatchSize = ingest.DefaultConfig().BatchSize
		if c.index.Layout == index.LayoutBlocks {
			// 5,000 events a shard's Bleve batch, as the block benchmarks
			// measured: 1,250 made four times the segments to merge.
			c.ingest.BatchSize = 10000
		}
	}
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
	case c.memoryLimit > 0:
		debug.SetMemoryLimit(int64(c.memoryLimit))
	default:
		autoMemoryLimit(log)
	}
	if c.gcMinHeap > 0 && os.Getenv("GOGC") == "" {
		gcCtx, stopGC := context.WithCancel(ctx)
		var gcDone sync.WaitGroup
		gcDone.Go(func() { tuneGC(gcCtx, uint64(c.gcMinHeap), 100, log) })
		defer gcDone.Wait()
		defer stopGC()
	}
	sources := append([]string(nil), c.sources...)
	if c.demo {
		dir, err := ensureDemo(c, log)
		if err != nil {
			return err
		}
		sources = append(sources, dir)
	}

	// A smaller --max-page-size lowers the default page too.
	c.index.DefaultPageSize = min(c.index.DefaultPageSize, c.index.MaxPageSize)
	store, err := index.Open(c.index, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Warn("close index", "err", err)
		}
	}()
	in, err := ingest.New(c.ingest, store, log)
	if err != nil {
		return err
	}
	srv, err := server.New(c.server, store, in, log)
	if err != nil {
		in.Close()
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), gcIdleCollections)
	reg.MustRegister(index.Collectors()...)
	reg.MustRegister(store.Collector(), in.Collector())
	reg.MustRegister(ingest.Collectors()...)
	reg.MustRegister(s3src.Collectors()...)
	reg.MustRegister(integrity.Collectors()...)
	reg.MustRegister(sqssrc.Collectors()...)
	reg.MustRegister(lookup.Collectors()...)
	reg.MustRegister(catalyst.Collectors()...)

	tlsCfg, authn, err := c.security.transport([]string{c.listen, c.httpListen}, log)
	if err != nil {
		in.Close()
		return err
	}
	grpcMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	reg.MustRegister(grpcMetrics)
	callUnary, callStream := server.CallInterceptors(log)
	unary := []grpc.UnaryServerInterceptor{grpcMetrics.UnaryServerInterceptor(), callUnary}
	stream := []grpc.StreamServerInterceptor{grpcMetrics.StreamServerInterceptor(), callStream}
	if authn != nil {
		reg.MustRegister(auth.Collectors()...)
		unary, stream = append(unary, authn.UnaryInterceptor), append(stream, authn.StreamInterceptor)
	}
	// SIGHUP reloads the identities; without any it is logged, not fatal
	// (its default action would end the server).
	hupCtx, stopHup := context.WithCancel(ctx)
	defer stopHup()
	go reloadOnHangup(hupCtx, authn, log)
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		in.Close()
		return fmt.Errorf("listen %s: %w", c.listen, err)
	}
	// Stream workers: a call runs on a goroutine whose stack has grown
	// already (a new one per call spent some 6% of a search's CPU growing
	// its stack); grpc starts a goroutine as before when all are busy.
	//
	// Responses are written in buffers of client.TransportBufferBytes,
	// shared, so that idle connections (subscribers waiting for events)
	// hold none.
	g := grpc.NewServer(grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		grpc.WriteBufferSize(client.TransportBufferBytes), grpc.SharedWriteBuffer(true),
		grpc.MaxRecvMsgSize(client.MaxMessageBytes), grpc.MaxSendMsgSize(client.MaxMessageBytes), experimental.BufferPool(client.BufferPool),
		grpc.Creds(gateway.Creds(tlsCfg)), grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...))
	srv.Register(g)
	grpcMetrics.InitializeMetrics(g)

	var wg sync.WaitGroup
	serveErr := make(chan error, 4) // one per server goroutine: none blocks
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveErr <- g.Serve(lis)
	}()
	log.Info("listening", "addr", lis.Addr().String(), "data", c.data)

	var httpSrv *http.Server
	if c.httpListen != "" {
		gw, err := gateway.New(ctx, log)
		if err != nil {
			g.Stop()
			in.Close()
			return err
		}
		defer gw.Close()
		hl, err := net.Listen("tcp", c.httpListen)
		if err != nil {
			g.Stop()
			in.Close()
			return fmt.Errorf("listen %s: %w", c.httpListen, err)
		}
		httpSrv = &http.Server{Handler: gw.Handler(), TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := g.Serve(gw.Listener()); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				serveErr <- fmt.Errorf("gateway connection: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			var err error
			if tlsCfg != nil {
				err = httpSrv.ServeTLS(hl, "", "")
			} else {
				err = httpSrv.Serve(hl)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("http gateway: %w", err)
			}
		}()
		log.Info("http gateway listening", "addr", hl.Addr().String())
	}

	var metricsSrv *http.Server
	if c.metricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		// Profiles for operators, on the same opt-in listener.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ml, err := net.Listen("tcp", c.metricsListen)
		if err != nil {
			g.Stop()
			in.Close()
			return fmt.Errorf("listen %s: %w", c.metricsListen, err)
		}
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := metricsSrv.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- fmt.Errorf("metrics: %w", err)
			}
		}()
		log.Info("metrics listening", "addr", ml.Addr().String())
	}

	srcs, err := buildSources(sources, c.watch, log)
	if err != nil {
		g.Stop()
		in.Close()
		return err
	}
	srcCtx, stopSources := context.WithCancel(ctx)
	var srcWG sync.WaitGroup // sources and what waits on them
	for _, src := range srcs {
		srcWG.Add(1)
		go func() {
			defer srcWG.Done()
			log.Info("source started", "source", src.Name())
			if err := src.Run(srcCtx, in); err != nil {
				in.Fail(src.Name(), err)
				log.Error("source stopped", "source", src.Name(), "err", err)
			}
		}()
	}
	// The index is open: Search answers from here on. The server as a
	// whole serves once every source has read its checkpoints back.
	srv.SetHealth(true, len(srcs) == 0)
	if len(srcs) > 0 {
		names := make([]string, len(srcs))
		for i, src := range srcs {
			names[i] = src.Name()
		}
		srcWG.Add(1)
		go func() {
			defer srcWG.Done()
			if err := in.WaitResumed(srcCtx, names); err == nil {
				srv.SetHealth(true, true)
				log.Info("serving", "sources", len(names))
			}
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-serveErr:
	}
	// Shutdown order: health, sources, calls in progress, writer, index.
	srv.Shutdown()
	if httpSrv != nil {
		// Before the gRPC server stops, so that no new HTTP call starts on
		// it; calls in progress finish (streams were just ended).
		hctx, hcancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
		if err := httpSrv.Shutdown(hctx); err != nil {
			_ = httpSrv.Close()
		}
		hcancel()
	}
	stopSources()
	if !within(c.shutdownTimeout, g.GracefulStop) {
		log.Warn("calls still running at shutdown timeout; stopping them")
		g.Stop()
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close()
	}
	// Sources were stopped first: once the reads they have in progress end,
	// the writer commits what they queued, checkpoints included. A source
	// that does not end within the timeout loses only what it had not
	// stored, which it reads again on the next start.
	if !within(c.shutdownTimeout, srcWG.Wait) {
		log.Warn("sources still running at shutdown timeout; stopping the writer anyway")
	}
	in.Close()
	wg.Wait()
	if errors.Is(runErr, grpc.ErrServerStopped) {
		runErr = nil
	}
	return runErr
}

// within runs f and reports whether it returned within d; if not, f goes on
// in the background.
func within(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// ensureDemo writes the demo dataset into the data directory once and
// returns where it is.
func ensureDemo(c serveConfig, log *slog.Logger) (string, error) {
	dir := filepath.Join(c.data, "demo")
	done := filepath.Join(dir, ".complete")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	cfg := gen.DemoConfig()
	cfg.Events = c.demoEvents
	cfg.Seed = c.demoSeed
	start := time.Now()
	log.Info("writing demo dataset", "dir", dir, "events", cfg.Events)
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear demo dir: %w", err)
	}
	if _, err := gen.WriteTrail(dir, cfg); err != nil {
		return "", fmt.Errorf("write demo dataset: %w", err)
	}
	if err := os.WriteFile(done, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("mark demo dataset complete: %w", err)
	}
	log.Info("demo dataset written", "took", time.Since(start).Round(time.Millisecond))
	return dir, nil
}
