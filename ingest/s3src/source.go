package s3src

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/integrity"
)

var _ ingest.Source = (*Source)(nil)

// Kinds of object folders under an account.
const (
	kindTrail   = "CloudTrail"
	kindInsight = "CloudTrail-Insight"
	kindDigest  = "CloudTrail-Digest"
)

// DigestRef locates one digest file for the integrity checker.
type DigestRef struct {
	Bucket  string
	Key     string
	Org     string // o-... for an organization trail, else empty
	Account string
	Region  string
}

// Source is the ingest.Source of one trail bucket and prefix. Create it with
// New; Run it once at a time.
type Source struct {
	cfg    Config
	log    *slog.Logger
	name   string
	client *s3.Client
	sem    chan struct{}       // bounds downloads in flight across streams
	budget *semaphore.Weighted // bounds bytes of objects in flight across streams

	// streams is touched only by Run's goroutine, and each stream by one
	// goroutine of a poll at a time.
	streams map[string]*stream

	mu      sync.Mutex // guards digests
	digests map[string]DigestRef

	awsCfg   aws.Config
	checker  *integrity.Checker // nil when integrity checks are off
	verified map[string]bool    // digests handed to checker (or given up); Run's goroutine only
}

// stream is one account, region and kind: keys in it sort by time.
type stream struct {
	ckKey   string // checkpoint key
	prefix  string // ".../<account>/<kind>/<region>/"
	org     string
	account string
	region  string
	kind    string

	loaded     bool      // checkpoint read
	first      bool      // the next listing is the first of this process
	after      string    // watermark: every listed key up to it is stored
	modified   time.Time // newest LastModified of the keys the watermark covers
	persisted  watermark // what the store holds; zero when unknown
	seen       map[string]struct{}
	failures   map[string]int
	lastDigest string
}

// watermark is a stream's checkpoint value.
type watermark struct {
	After    string    `json:"after"`
	Modified time.Time `json:"modified"`
}

func (w watermark) same(o watermark) bool {
	return w.After == o.After && w.Modified.Equal(o.Modified)
}

// New returns the Source of cfg, with the AWS client built from the SDK's
// default chain (environment, shared config, SSO, IMDS). log nil discards.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The SDK's buildable client, so that AWS_CA_BUNDLE and the SDK's
	// timeouts keep working.
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = cfg.Parallel * 2
	})
	log = log.With("source", cfg.name())
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(hc),
		config.WithLogger(sdkLogger{log}),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.Attempts
				o.Backoff = fullJitter{max: cfg.MaxBackoff}
				// The SDK's retry token bucket would turn a burst of
				// throttling into hard failures; the backoff is the brake.
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	// The load reads files and environment only; it does not call AWS.
	awsCfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config for %s: %w", cfg.name(), err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		// Set only when asked: an always-set BaseEndpoint would hide
		// AWS_ENDPOINT_URL_S3, which the SDK resolves itself.
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		if cfg.PathStyle {
			o.UsePathStyle = true
		}
		// S3-compatible stores often send no checksum; not worth a line
		// per object.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &Source{
		cfg:      cfg,
		log:      log,
		name:     cfg.name(),
		client:   client,
		sem:      make(chan struct{}, cfg.Parallel),
		budget:   semaphore.NewWeighted(cfg.InFlightBytes),
		streams:  map[string]*stream{},
		digests:  map[string]DigestRef{},
		awsCfg:   awsCfg,
		verified: map[string]bool{},
	}, nil
}

// Name implements ingest.Source: "s3://bucket/prefix".
func (s *Source) Name() string { return s.name }

// Digests returns the digest files listed so far, in key order. The slice is
// the caller's.
func (s *Source) Digests() []DigestRef {
	s.mu.Lock()
	out := make([]DigestRef, 0, len(s.digests))
	for _, d := range s.digests {
		out = append(out, d)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b DigestRef) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Run implements ingest.Source: it polls the bucket every Interval until ctx
// ends. Listing failures are recorded with in.Fail and retried on the next
// poll; objects that cannot be read are reported with in.Problem.
func (s *Source) Run(ctx context.Context, in *ingest.Ingester) error {
	if s.cfg.Integrity && s.checker == nil {
		keys := s.cfg.Keys
		if keys == nil {
			keys = s.cloudTrailKeys()
		}
		c, err := s.newChecker(in, keys)
		if err != nil {
			return err
		}
		s.checker = c
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		start := time.Now()
		s.poll(ctx, in)
		// After the poll: the log files a new digest lists were delivered
		// before it, so this poll has stored them.
		s.verify(ctx, in)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Debug("poll done", "streams", len(s.streams), "took", time.Since(start).Round(time.Millisecond))
		t.Reset(s.cfg.Interval)
	}
}

// poll discovers streams and syncs each, Parallel streams at a time.
func (s *Source) poll(ctx context.Context, in *ingest.Ingester) {
	if err := s.discover(ctx); err != nil && ctx.Err() == nil {
		metricListFailures.WithLabelValues(s.name).Inc()
		in.Fail(s.name, err)
	}
	keys := make([]string, 0, len(s.streams))
	for k := range s.streams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	// Streams read their checkpoints before any is synced, so the source
	// has resumed (for health) before the first, possibly long, backlog.
	for _, k := range keys {
		if st := s.streams[k]; !st.loaded {
			if err := s.load(in, st); err != nil {
				in.Fail(s.name, err)
			}
		}
	}
	in.Resumed(s.name)
	var g errgroup.Group
	g.SetLimit(s.cfg.Parallel)
	for _, k := range keys {
		st := s.streams[k]
		g.Go(func() error {
			s.syncStream(ctx, in, st)
			return nil
		})
	}
	_ = g.Wait()
}

// syncStream lists one stream from its watermark (less the trailing window)
// and ingests what is new.
func (s *Source) syncStream(ctx context.Context, in *ingest.Ingester, st *stream) {
	if !st.loaded {
		if err := s.load(in, st); err != nil {
			in.Fail(s.name, err)
			return
		}
	}
	from := s.listFrom(st)
	objs, err := s.listObjects(ctx, st.prefix, from)
	if err != nil {
		if ctx.Err() == nil {
			metricListFailures.WithLabelValues(s.name).Inc()
			in.Fail(s.name, err)
		}
		return
	}
	if st.kind == kindDigest {
		s.addDigests(st, objs)
		return
	}
	first := st.first
	st.first = false
	var todo []object
	for _, o := range objs {
		if !dayKey(st.prefix, o.key) {
			continue
		}
		if _, ok := st.seen[o.key]; ok {
			continue
		}
		if o.key <= st.after && first && !o.modified.After(st.modified) {
			// Stored before the restart: the watermark covers it and it
			// is not newer than what the watermark covered.
			st.seen[o.key] = struct{}{}
			continue
		}
		todo = append(todo, o)
	}
	metricListed.WithLabelValues(s.name).Add(float64(len(todo)))
	if len(todo) > 0 {
		s.ingest(ctx, in, st, todo)
	}
	st.prune(s.listFrom(st))
}

// load reads a stream's checkpoint.
func (s *Source) load(in *ingest.Ingester, st *stream) error {
	st.seen = map[string]struct{}{}
	st.failures = map[string]int{}
	st.first = true
	if st.kind != kindDigest {
		b, err := in.Checkpoint(st.ckKey)
		if err != nil {
			return fmt.Errorf("read checkpoint %s: %w", st.ckKey, err)
		}
		if b != nil {
			var w watermark
			if err := json.Unmarshal(b, &w); err != nil {
				return fmt.Errorf("read checkpoint %s: %w", st.ckKey, err)
			}
			st.after, st.modified, st.persisted = w.After, w.Modified, w
		}
	}
	st.loaded = true
	return nil
}

// listFrom is the StartAfter of a stream's next listing: TrailingDays day
// folders back from the watermark, never before the start date.
func (s *Source) listFrom(st *stream) string {
	mark := st.after
	if st.kind == kindDigest {
		mark = st.lastDigest
	}
	from := s.cfg.startAfter(st.prefix)
	if mark == "" {
		return from
	}
	w := mark
	if day, ok := keyDay(st.prefix, mark); ok {
		w = st.prefix + day.AddDate(0, 0, -(s.cfg.TrailingDays-1)).Format("2006/01/02/")
	}
	return max(w, from)
}

// prune forgets remembered keys that the next listings no longer reach.
func (st *stream) prune(from string) {
	for k := range st.seen {
		if k <= from {
			delete(st.seen, k)
		}
	}
	for k := range st.failures {
		if k <= from {
			delete(st.failures, k)
		}
	}
}

// keyDay parses the YYYY/MM/DD folder of key under prefix.
func keyDay(prefix, key string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok || len(rest) < 11 || rest[10] != '/' {
		return time.Time{}, false
	}
	d, err := time.Parse("2006/01/02", rest[:10])
	return d, err == nil
}

// dayKey reports whether key is a file in a day folder of the stream.
func dayKey(prefix, key string) bool {
	_, ok := keyDay(prefix, key)
	return ok && !strings.HasSuffix(key, "/")
}

func (s *Source) addDigests(st *stream, objs []object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, o := range objs {
		if !dayKey(st.prefix, o.key) {
			continue
		}
		if _, ok := s.digests[o.key]; !ok {
			s.digests[o.key] = DigestRef{Bucket: s.cfg.Bucket, Key: o.key, Org: st.org, Account: st.account, Region: st.region}
			n++
		}
		st.lastDigest = max(st.lastDigest, o.key)
	}
	metricListed.WithLabelValues(s.name).Add(float64(n))
	metricDigests.WithLabelValues(s.name).Set(float64(len(s.digests)))
}

// fetched is the outcome of one download.
type fetched struct {
	data    []byte
	problem string // a permanent reason to skip the object
	reason  string // metric label of the problem
	err     error  // a transient failure, after retries
}

// aheadFactor times Parallel bounds the objects of one stream in flight
// (downloaded or being stored). Many small files waiting for the same group
// commit make one large index batch, and Bleve's cost per batch is mostly
// fixed; downloads stay bounded by Parallel.
const aheadFactor = 4

// flushTimeout bounds storing a stream's last checkpoint at shutdown.
const flushTimeout = 10 * time.Second

// ingest downloads the objects of todo (sorted by key) and stores them,
// up to Parallel at a time. Objects finish out of order, so the watermark
// only moves over the contiguous prefix of todo that is done, and the
// checkpoint passed with an object claims only that prefix (the object
// itself included): it is stored atomically with the object's events, so it
// never covers an object that is not stored. Keys between todo's that this
// process stored before are done already. Concurrent commits may land in any
// order, so unless the last call saw nothing else in flight, the final
// watermark is stored once more at the end (an empty input carrying only the
// checkpoint).
func (s *Source) ingest(ctx context.Context, in *ingest.Ingester, st *stream, todo []object) {
	// dctx ends downloads and the feeding of new work; Input calls in
	// flight finish under ctx.
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex // guards the variables below and st's watermark
		done     = make([]bool, len(todo))
		lo       int  // todo[:lo] is done
		inflight int  // Input calls not returned
		clean    bool // the last call saw no other call in flight
		carried  watermark
		unknown  bool // an Input failed: what the store holds is unknown
	)
	// claim is the watermark once todo[:lo] and todo[i] are done; mu held.
	claim := func(i int) watermark {
		w := watermark{After: st.after, Modified: st.modified}
		for j := lo; j < len(todo) && (done[j] || j == i); j++ {
			w = w.next(todo[j])
		}
		return w
	}
	finish := func(i int) { // mu held
		done[i] = true
		st.seen[todo[i].key] = struct{}{}
		delete(st.failures, todo[i].key)
		for ; lo < len(todo) && done[lo]; lo++ {
			w := watermark{After: st.after, Modified: st.modified}.next(todo[lo])
			st.after, st.modified = w.After, w.Modified
		}
	}
	// work fetches and stores todo[i]; it runs holding a download slot
	// until the body is read, and an ahead slot until the events are stored
	// (this bounds the memory of objects in flight).
	work := func(i int) {
		o := todo[i]
		r := s.fetch(dctx, o)
		<-s.sem
		if dctx.Err() != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if r.err != nil {
			st.failures[o.key]++
			if st.failures[o.key] < s.cfg.MaxKeyFailures {
				metricFailed.WithLabelValues(s.name, "error").Inc()
				// The watermark cannot pass this object; the next poll
				// tries it again.
				in.Fail(s.name, r.err)
				cancel()
				return
			}
			r.problem, r.reason = fmt.Sprintf("gave up after %d polls: %v", st.failures[o.key], r.err), "error"
		}
		if r.problem != "" {
			metricFailed.WithLabelValues(s.name, r.reason).Inc()
			in.Problem(s.name, o.key, "", r.problem)
			// It will never become readable: move past it.
			finish(i)
			return
		}
		w := claim(i)
		cps, err := w.encode(st.ckKey)
		if err != nil {
			in.Fail(s.name, err)
			cancel()
			return
		}
		var sum [32]byte
		if s.checker != nil {
			// Stored with the events, so that checks after a restart
			// know the file without reading it again.
			sum = logSum(r.data)
			cps[integrity.StoreKey(s.cfg.Bucket, o.key)] = sum[:]
		}
		clean, carried = inflight == 0, w
		inflight++
		mu.Unlock()
		_, err = in.Input(ctx, s.name, o.key, r.data, cps)
		mu.Lock()
		inflight--
		if err != nil {
			// Input recorded the failure.
			unknown = true
			cancel()
			return
		}
		if s.checker != nil {
			s.checker.ObserveLog(s.cfg.Bucket, o.key, sum)
		}
		finish(i)
	}
	var wg sync.WaitGroup
	ahead := make(chan struct{}, s.cfg.Parallel*aheadFactor)
feed:
	for i, o := range todo {
		select {
		case ahead <- struct{}{}:
		case <-dctx.Done():
			break feed
		}
		// The listed size is what the body will be; an object over the
		// limit is refused by fetch without reading it.
		cost := min(max(o.size, 1), s.cfg.InFlightBytes)
		if o.size > s.cfg.MaxObjectBytes {
			cost = 1
		}
		if err := s.budget.Acquire(dctx, cost); err != nil {
			<-ahead
			break
		}
		select {
		case s.sem <- struct{}{}:
		case <-dctx.Done():
			s.budget.Release(cost)
			<-ahead
			break feed
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-ahead }()
			defer s.budget.Release(cost)
			work(i)
		}()
	}
	wg.Wait()

	final := watermark{After: st.after, Modified: st.modified}
	switch {
	case unknown:
		st.persisted = watermark{} // unknown: store it again next time
		return
	case carried.After != "" && clean && carried.same(final):
		st.persisted = final
		return
	case final.same(st.persisted) && carried.After == "":
		return
	}
	// Also when shutting down (the Ingester is closed only after Run
	// returns), so that a restart does not read these files again.
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer fcancel()
	cps, err := final.encode(st.ckKey)
	if err == nil {
		_, err = in.Input(fctx, s.name, "checkpoint "+st.ckKey, nil, cps)
	}
	if err != nil {
		in.Fail(s.name, err)
		st.persisted = watermark{}
		return
	}
	st.persisted = final
}

func (w watermark) encode(key string) (map[string][]byte, error) {
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode checkpoint %s: %w", key, err)
	}
	return map[string][]byte{key: b}, nil
}

// next is the watermark once o is done. Only objects past the watermark
// move it: a late object behind it changes nothing.
func (w watermark) next(o object) watermark {
	if o.key > w.After {
		w.After = o.key
		if o.modified.After(w.Modified) {
			w.Modified = o.modified
		}
	}
	return w
}

// sdkLogger sends the SDK's log lines to slog: warnings as Warn, the rest
// as Debug.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
}

// fullJitter is exponential backoff with full jitter: a random wait in
// [0, min(max, 100ms * 2^attempt)).
type fullJitter struct{ max time.Duration }

func (j fullJitter) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := j.max
	if attempt < 20 {
		d = min(j.max, 100*time.Millisecond<<attempt)
	}
	if d <= 0 {
		return 0, nil
	}
	return rand.N(d), nil
}
