package index

import (
	"cmp"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	segment "github.com/blevesearch/scorch_segment_api/v2"
	zapx "github.com/blevesearch/zapx/v17"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// Internal keys stored in the Bleve index beside the documents.
var (
	keySeq      = []byte("ct:seq")
	keyTokenKey = []byte("ct:tokenkey")
	// Checkpoints of data directories from before checkpointFile; read
	// once, to copy them there.
	keyCheckpoint = "ct:cp:"
	keyCpNames    = []byte("ct:cpnames")
)

// Config configures a Store.
type Config struct {
	// Dir is the data directory; the index lives in Dir/events.bleve and,
	// with several shards, Dir/events-<n>.bleve.
	Dir string
	// Shards is how many Bleve indexes a batch is split over and written
	// in parallel: Bleve builds each batch's segment on one core. Searches
	// see all shards as one index. Shards found on disk beyond this number
	// are opened and written too.
	Shards int
	// PartitionSpan is how long one partition takes new events before the
	// next starts (see partition); retention drops whole partitions.
	PartitionSpan time.Duration
	// PartitionMaxEvents, when positive, also starts a new partition once
	// the current one holds this many events. It bounds the size of every
	// shard, so segment merges stay bounded: Bleve's default merge policy
	// lets segments grow to 5M documents, and merging them stalled ingest
	// at about 4M events per shard (docs/operations.md, Sizing).
	PartitionMaxEvents uint64
	// Retention, when positive, drops partitions whose newest eventTime is
	// older than now minus Retention; zero keeps everything.
	Retention time.Duration
	// MinFreeBytes is the free space Put keeps on the data directory's
	// file system: below it Put fails with ErrDiskFull before writing.
	MinFreeBytes int64
	// DefaultPageSize is used when a search asks for no page size.
	DefaultPageSize int
	// MaxPageSize bounds the page size.
	MaxPageSize int
	// MaxFacetSize bounds the values returned per facet.
	MaxFacetSize int
	// MaxFacets bounds the facets per search.
	MaxFacets int
	// MaxHistogramBuckets bounds the buckets of a date histogram.
	MaxHistogramBuckets int
	// MaxRelevanceDepth bounds how deep relevance-ordered results can be
	// paged (they page by offset; time orders page by search_after at any depth).
	MaxRelevanceDepth int
	// Query bounds the size of queries.
	Query query.Limits
	// AllowLeadingWildcard lets a pattern over every word of every event
	// (*deploy, /.*ment/) start without a literal: such a pattern walks the
	// whole word dictionary of every shard, so it is refused by default.
	// Patterns on a named field are always allowed: they walk that field's
	// values only.
	AllowLeadingWildcard bool

	// RingSize is how many of the newest events are kept in memory for live
	// subscribers; one that falls further behind reads from the index.
	RingSize int
	// MaxSubscribers bounds open subscriptions.
	MaxSubscribers int
	// MaxLagEvents and MaxLagTime bound a live subscriber's lag: one that
	// stays more than MaxLagEvents behind for longer than MaxLagTime is ended
	// with a *LagError carrying the cursor to resume from.
	MaxLagEvents int
	MaxLagTime   time.Duration
	// ProgressInterval is how often a quiet subscription gets a progress
	// message (with +-20% jitter).
	ProgressInterval time.Duration
	// ReplayPageSize is how many events a subscriber reads at a time.
	ReplayPageSize int
	// MaxConcurrentReplays bounds subscribers reading the index at once, so
	// that many subscribers falling behind together cost bounded memory
	// (each read holds up to ReplayPageSize decoded events); the others wait
	// their turn, which counts as lag.
	MaxConcurrentReplays int

	// CompactIdle is how long ingest must have stored nothing before shards
	// with more than CompactSegments segments are compacted (compact.go);
	// zero turns compaction off.
	CompactIdle     time.Duration
	CompactSegments int

	// RandomReads advises the kernel that the index files Bleve maps into
	// memory are read at random (Linux madvise MADV_RANDOM), so that a page
	// fault does not read ahead (readadvice.go).
	RandomReads bool

	// Layout is how new partitions store events: LayoutBlocks (a document
	// per block of events, docs/blocks.md; the default) or LayoutEvents (a
	// Bleve document an event, the layout before blocks). Partitions keep
	// the layout they were created with, so a change takes effect at the
	// next partition.
	Layout string

	// ColumnBytes bounds the memory kept for columns, which count facets
	// and histograms over a query's matches in time growing with the
	// matches, not with the index (columns.go): two bytes an event for
	// each field counted. Zero turns them off. A quarter of it more keeps
	// the times of the events of time ranges' edge hours (edgetimes.go).
	ColumnBytes int64
}

// DefaultConfig returns the defaults for a store in dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:                 dir,
		Shards:              min(max(runtime.GOMAXPROCS(0), 1), 8),
		Layout:              LayoutBlocks,
		PartitionSpan:       24 * time.Hour,
		PartitionMaxEvents:  2_000_000,
		RandomReads:         true,
		MinFreeBytes:        64 << 20,
		DefaultPageSize:     50,
		MaxPageSize:         1000,
		MaxFacetSize:        1000,
		MaxFacets:           16,
		MaxHistogramBuckets: 2000,
		MaxRelevanceDepth:   10000,
		Query:               query.DefaultLimits(),
		// Larger than the ingest group commit (5000 events), so live
		// subscribers stay in the ring across whole batches.
		RingSize:             8192,
		MaxSubscribers:       10000,
		MaxLagEvents:         50000,
		MaxLagTime:           30 * time.Second,
		ProgressInterval:     5 * time.Second,
		ReplayPageSize:       256,
		MaxConcurrentReplays: 4,
		CompactIdle:          10 * time.Second,
		CompactSegments:      2,
		// Event names and hours of 16M events.
		ColumnBytes: 64 << 20,
	}
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("index: data directory is empty")
	case c.Shards < 1 || c.Shards > 64:
		return errors.New("index: shards must be between 1 and 64")
	case c.PartitionSpan <= 0 || c.Retention < 0:
		return errors.New("index: partition span must be positive and retention not negative")
	case c.DefaultPageSize < 1 || c.DefaultPageSize > c.MaxPageSize:
		return errors.New("index: default page size must be between 1 and the max page size")
	case c.MaxFacetSize < 1, c.MaxFacets < 1, c.MaxHistogramBuckets < 1, c.MaxRelevanceDepth < 1,
		c.RingSize < 1, c.MaxSubscribers < 1, c.MaxLagEvents < 1, c.MaxLagTime <= 0, c.ReplayPageSize < 1,
		c.MaxConcurrentReplays < 1:
		return errors.New("index: limits must be positive")
	case c.ColumnBytes < 0:
		return errors.New("index: column memory must not be negative")
	case c.CompactIdle < 0, c.CompactSegments < 1:
		return errors.New("index: compaction idle time must not be negative and its segment bound must be positive")
	case c.ProgressInterval < 10*time.Millisecond:
		return errors.New("index: progress interval must be at least 10ms")
	case c.Layout != "" && c.Layout != LayoutEvents && c.Layout != LayoutBlocks:
		return fmt.Errorf("index: layout %q is neither %q nor %q", c.Layout, LayoutEvents, LayoutBlocks)
	}
	return nil
}

// Store is the event index. Put is serialised; searches run concurrently.
type Store struct {
	cfg  Config
	log  *slog.Logger
	idx  bleve.IndexAlias // every shard of every partition, for searches
	next int              // shard the next Put starts with; guarded by mu
	key  []byte           // secret behind the sealing of cursors and page tokens
	// aead and nonceKey seal page tokens and replay cursors, cursorKey
	// plain cursors (see tokens.go).
	aead      cipher.AEAD
	nonceKey  []byte
	nonceMAC  sync.Pool // of *sealer
	cursorKey cipher.Block
	hub       *hub
	// replays holds a token per subscriber reading the index.
	replays chan struct{}
	// pages are the stored events lagging live subscribers catch up from.
	pages *pageCache
	// segCounts keeps the term counts of segments for facets and histograms
	// over all events.
	segCounts *segCounts
	// columns keeps the columns of segments for facets and histograms over
	// a query's matches (columns.go).
	columns *columns
	// edges keeps the times of the events of time ranges' edge hours
	// (edgetimes.go).
	edges *edgeTimes
	// lastSweep is when sweepSegmentCaches last ran (unix nanoseconds).
	lastSweep atomic.Int64
	// stored keeps the newest blocks' stored fields (storedcache.go).
	stored *storedCache
	// head is the newest sequence number whose event is searchable and in
	// the hub; readers use it without taking mu.
	head atomic.Uint64
	// snap is what Stats reports (see publishStats).
	snap atomic.Pointer[statsSnap]
	// shardsView is every searchable shard, for reads that go to each
	// shard on its own instead of through idx (see publishShards).
	shardsView atomic.Pointer[[]shardView]
	// blockView is every shard of the block partitions (blockstore.go),
	// which idx and shardsView leave out.
	blockView atomic.Pointer[[]blockShard]
	// noBitmaps turns counting on postings bitmaps off (bitmaps.go), for
	// tests to compare with what the search counts.
	noBitmaps atomic.Bool

	mu      sync.Mutex // serialises Put and guards the fields below
	seq     uint64     // last assigned sequence number
	closed  bool
	minTime time.Time
	maxTime time.Time
	count   uint64
	// broken is set when a failed Put could not be undone; every later Put
	// fails with it, so nothing is stored under a reused sequence number.
	broken error
	// parts are the partitions, oldest first; the last takes new events.
	parts []*partition
	// cps holds the checkpoints.
	cps *cpStore
	// oldest is the first sequence number still stored (after retention).
	oldest atomic.Uint64

	stopRetention context.CancelFunc
	retentionDone chan struct{}
	stopIDFilters context.CancelFunc
	idFiltersDone chan struct{}

	// lastWrite is when Put last ran (unix ns); compaction waits for it
	// to be CompactIdle ago. compacting is set while a shard is merged,
	// compactDue while some shard has more segments than the bound.
	lastWrite    atomic.Int64
	compacting   atomic.Bool
	compactDue   atomic.Bool
	stopCompact  context.CancelFunc
	compactDone  chan struct{}
	stopAdvice   context.CancelFunc
	adviceDone   chan struct{}
	stopWarm     context.CancelFunc
	warmDone     chan struct{}
	stopDispatch func()
	dispatchDone chan struct{}
}

// cur is the partition that takes new events; mu held.
func (s *Store) cur() *partition { return s.parts[len(s.parts)-1] }

// The layouts of Config.Layout.
const (
	LayoutEvents = "events"
	LayoutBlocks = "blocks"
)

// blockShardConfig is Bleve's configuration of a block shard: its merge
// plan treats a segment under FloorSegmentSize documents as that size, 2,000
// by default, which a shard of blocks stays under until it holds half a
// million events, so every batch's segment was merged into the whole shard
// again (docs/blocks.md: 18,000 events/s against 38,500 with 8).
var blockShardConfig = map[string]any{"scorchMergePlanOptions": map[string]any{"FloorSegmentSize": int64(8)}}

// zapx sizes a new segment's buffer, cleared on allocation, by the last
// segment's bytes a document times its documents plus 100: a block
// shard's batch is a few dozen documents of tens of KB each, so that was
// four times the segment (5 MB cleared a batch, 2.7% of block ingest's
// CPU). Without the 100 and with a tenth to spare it fits both layouts'
// segments; a larger one grows the buffer once.
func init() {
	zapx.NewSegmentBufferNumResultsBump = 0
	zapx.NewSegmentBufferAvgBytesPerDocFactor = 1.1
}

// openShard opens the Bleve index at path, creating it if absent.
func openShard(path string) (bleve.Index, error) { return openShardWith(path, nil) }

// openShardWith is openShard creating the index with Bleve's
// configuration cfg (kept in its index_meta.json).
func openShardWith(path string, cfg map[string]any) (bleve.Index, error) {
	if _, err := os.Stat(filepath.Join(path, "index_meta.json")); err == nil {
		idx, err := bleve.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open index %s: %w", path, err)
		}
		return idx, nil
	}
	idx, err := bleve.NewUsing(path, newMapping(), scorch.Name, scorch.Name, cfg)
	if err != nil {
		return nil, fmt.Errorf("create index %s: %w", path, err)
	}
	return idx, nil
}

// Open opens the index in cfg.Dir, creating it if absent.
func Open(cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := codec(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", cfg.Dir, err)
	}
	// First: its file lock keeps a second process off the data directory
	// (Bleve would wait for its own locks forever).
	cps, err := openCheckpoints(cfg.Dir)
	if err != nil {
		return nil, err
	}
	parts, err := openPartitions(cfg.Dir, cfg.Shards, cfg.Layout, time.Now(), func(p *partition) { p.freezeBlocks(cfg.Dir, log) })
	if err != nil {
		_ = cps.close()
		return nil, err
	}
	alias := bleve.NewIndexAlias()
	for _, p := range parts {
		if !p.isBlocks() {
			alias.Add(p.shards...)
		}
	}
	s := &Store{cfg: cfg, log: log, idx: alias, parts: parts, cps: cps,
		hub: newHub(cfg.RingSize), replays: make(chan struct{}, cfg.MaxConcurrentReplays), pages: newPageCache(), segCounts: newSegCounts(), columns: newColumns(cfg.ColumnBytes), stored: newStoredCache(storedCacheBytes), edges: newEdgeTimes(cfg.ColumnBytes / 4)}
	if err := s.load(); err != nil {
		for _, p := range parts {
			_ = p.close()
		}
		_ = cps.close()
		return nil, err
	}
	if cfg.Retention > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopRetention, s.retentionDone = cancel, make(chan struct{})
		go s.retentionLoop(ctx)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopIDFilters, s.idFiltersDone = cancel, make(chan struct{})
	go s.buildIDFilters(ctx)
	s.touch()
	if cfg.CompactIdle > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopCompact, s.compactDone = cancel, make(chan struct{})
		go s.compactLoop(ctx)
	}
	if cfg.RandomReads {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopAdvice, s.adviceDone = cancel, make(chan struct{})
		go s.readAdviceLoop(ctx)
	}
	// Any partition before the newest openPartitions did not freeze (it
	// freezes each as the next opens) before searches start.
	s.freezeClosed()
	{
		ctx, cancel := context.WithCancel(context.Background())
		s.stopWarm, s.warmDone = cancel, make(chan struct{})
		go s.warmLoop(ctx)
	}
	s.head.Store(s.seq)
	s.hub.disp.pos.Store(s.seq)
	stopDispatch := make(chan struct{})
	s.stopDispatch, s.dispatchDone = func() { close(stopDispatch) }, make(chan struct{})
	go func() {
		defer close(s.dispatchDone)
		s.hub.dispatchLoop(stopDispatch)
	}()
	log.Info("index open", "dir", cfg.Dir, "partitions", len(parts), "shards", len(s.cur().shards), "events", s.count, "seq", s.seq)
	return s, nil
}

// newMapping returns the index mapping. Documents are built field by field
// (buildDocument), so the mapping only has to stay out of the way.
func newMapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.DefaultMapping.Dynamic = false
	m.DefaultMapping.Enabled = true
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	m.DefaultAnalyzer = "keyword"
	return m
}

func (s *Store) load() error {
	s.publishShards()
	// Each shard records the sequence number of its last batch; events of
	// a batch whose last step failed may sit above it, so the newest
	// document counts too. The largest is never reused.
	for _, p := range s.parts {
		for _, sh := range p.shards {
			v, err := sh.GetInternal(keySeq)
			if err != nil {
				return fmt.Errorf("read sequence: %w", err)
			}
			if len(v) == 8 {
				s.seq = max(s.seq, binary.BigEndian.Uint64(v))
			}
		}
	}
	top, err := s.maxStoredSeq(context.Background())
	if err != nil {
		return err
	}
	s.seq = max(s.seq, top)
	key, err := s.internal(keyTokenKey)
	if err != nil {
		return fmt.Errorf("read token key: %w", err)
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("make token key: %w", err)
		}
	}
	s.key = key
	if err := s.initSealing(); err != nil {
		return err
	}
	names, err := s.internal(keyCpNames)
	if err != nil {
		return fmt.Errorf("read checkpoint names: %w", err)
	}
	if len(names) > 0 {
		var l []string
		if err := json.Unmarshal(names, &l); err != nil {
			return fmt.Errorf("read checkpoint names: %w", err)
		}
		err := s.cps.copyLegacy(l, func(n string) ([]byte, error) { return s.internal([]byte(keyCheckpoint + n)) })
		if err != nil {
			return err
		}
	}
	// The newest partition holds every internal key (a crash during a
	// rotation may have left it without its copy).
	if err := s.copyInternals(s.cur()); err != nil {
		return err
	}
	for _, p := range s.parts {
		for _, sh := range p.shards {
			if p.isBlocks() {
				break
			}
			n, err := sh.DocCount()
			if err != nil {
				return fmt.Errorf("count documents: %w", err)
			}
			p.count += n
		}
		if p.isBlocks() {
			p.count = s.blockEventCount(p)
		}
		s.count += p.count
		if p.maxTime, err = p.newest(context.Background()); err != nil {
			return err
		}
	}
	s.oldest.Store(s.parts[0].firstSeq)
	s.minTime, s.maxTime, err = s.timeBounds(context.Background())
	s.publishShards()
	s.publishStats()
	return err
}

// internal reads an internal key, newest partition first.
func (s *Store) internal(key []byte) ([]byte, error) {
	for i := len(s.parts) - 1; i >= 0; i-- {
		v, err := s.parts[i].shards[0].GetInternal(key)
		if err != nil {
			return nil, err
		}
		if v != nil {
			return v, nil
		}
	}
	return nil, nil
}

// copyInternals stores into p's shard 0 the token key and the newest
// sequence number.
func (s *Store) copyInternals(p *partition) error {
	b := p.shards[0].NewBatch()
	b.SetInternal(keyTokenKey, s.key)
	setSeq(b, s.seq)
	if err := p.shards[0].Batch(b); err != nil {
		return fmt.Errorf("store internal keys: %w", err)
	}
	return nil
}

// maxStoredSeq returns the largest sequence number of a stored event, or 0.
func (s *Store) maxStoredSeq(ctx context.Context) (uint64, error) {
	req := bleve.NewSearchRequestOptions(bquery.NewMatchAllQuery(), 1, 0, false)
	req.Score = "none"
	req.SortBy([]string{"-" + fieldSeq})
	res, err := s.search(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("find newest sequence number: %w", err)
	}
	if len(res.Hits) == 0 || len(res.Hits[0].DecodedSort) == 0 {
		return 0, nil
	}
	v, err := strconv.ParseUint(res.Hits[0].DecodedSort[0], 16, 64)
	if err != nil {
		return 0, fmt.Errorf("newest sequence number %q: %w", res.Hits[0].DecodedSort[0], err)
	}
	return v, nil
}

// timeBounds finds the oldest and newest eventTime stored.
func (s *Store) timeBounds(ctx context.Context) (lo, hi time.Time, err error) {
	all := bquery.NewMatchAllQuery()
	if lo, _, err = edgeTime(ctx, s.search, timed(all), false); err != nil {
		return lo, hi, fmt.Errorf("find time bounds: %w", err)
	}
	if hi, _, err = edgeTime(ctx, s.search, all, true); err != nil {
		return lo, hi, fmt.Errorf("find time bounds: %w", err)
	}
	if len(s.blockShards()) == 0 {
		return lo, hi, nil
	}
	p, err := s.allBlocks()
	if err != nil {
		return lo, hi, err
	}
	blo, _, err := s.blockEdge(ctx, p, false, false)
	if err != nil {
		return lo, hi, fmt.Errorf("find time bounds: %w", err)
	}
	bhi, _, err := s.blockEdge(ctx, p, true, false)
	if err != nil {
		return lo, hi, fmt.Errorf("find time bounds: %w", err)
	}
	if lo.IsZero() || !blo.IsZero() && blo.Before(lo) {
		lo = blo
	}
	return lo, maxTime(hi, bhi), nil
}

// timed is q's matches with an indexed eventTime: oldest first, those
// without one come first, and the oldest time is what is asked for.
func timed(q bquery.Query) bquery.Query {
	return and(q, dateRange(bquery.MinRFC3339CompatibleTime, bquery.MaxRFC3339CompatibleTime, true, true))
}

// searchFunc runs a Bleve search (Store.search, or one index's).
type searchFunc func(context.Context, *bleve.SearchRequest) (*bleve.SearchResult, error)

// edgeTime returns the oldest (or, with desc, newest) indexed eventTime of
// the events matching q (zero when none has one) and how many match.
func edgeTime(ctx context.Context, search searchFunc, q bquery.Query, desc bool) (time.Time, uint64, error) {
	req := bleve.NewSearchRequestOptions(q, 1, 0, false)
	req.Score = "none"
	req.SortByCustom(timeSort(desc))
	res, err := search(ctx, req)
	if err != nil {
		return time.Time{}, 0, err
	}
	if len(res.Hits) == 0 || len(res.Hits[0].DecodedSort) == 0 {
		return time.Time{}, res.Total, nil
	}
	t, _ := parseTimeKey(res.Hits[0].DecodedSort[0]) // zero: no eventTime
	return t, res.Total, nil
}

// PutResult says what a Put stored.
type PutResult struct {
	// Stored is the number of new events; their Seq fields are set.
	Stored int
	// Duplicates is the number of events whose id was already stored (or
	// repeated within the batch); their Seq stays zero.
	Duplicates int
	// LastSeq is the newest sequence number after the Put.
	LastSeq uint64
}

// Put stores the events that are not stored yet, assigning each a new
// sequence number (in eventTime order within the batch), and the
// checkpoints, in one atomic and durable batch: when Put returns without
// error, both survive a crash. It sets Seq on the events it stores and
// hands them to live subscribers. Events must have an ID. Put keeps
// references to the stored events' slices (Raw, Leaves, ...): the caller
// must not modify them afterwards.
func (s *Store) Put(ctx context.Context, events []record.Event, checkpoints map[string][]byte) (PutResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return PutResult{}, ErrClosed
	}
	if s.broken != nil {
		return PutResult{}, s.broken
	}
	if err := ctx.Err(); err != nil {
		return PutResult{}, err
	}
	s.touch()
	defer s.touch() // a long batch counts as activity to its end
	res := PutResult{LastSeq: s.seq}
	if free, err := freeBytes(s.cfg.Dir); err == nil && free < s.cfg.MinFreeBytes {
		metricDiskFull.Inc()
		return res, fmt.Errorf("%w: %d bytes free in %s, under the %d kept free; ingest resumes when space returns", ErrDiskFull, free, s.cfg.Dir, s.cfg.MinFreeBytes)
	}
	fresh, err := s.unseen(ctx, events)
	if err != nil {
		return res, err
	}
	res.Duplicates = len(events) - len(fresh)
	if len(fresh) == 0 && len(checkpoints) == 0 {
		return res, nil
	}
	if len(fresh) > 0 && s.full(s.cur()) {
		if err := s.rotate(); err != nil {
			return res, err
		}
	}
	// A batch's sequence numbers follow its events' times (records come
	// in no order, within a file and across the files of a batch), so
	// that its blocks follow one another in time: a page then reads one
	// or two blocks instead of every block whose span it overlaps (page
	// 100 of all events read 5 blocks at 1M, page 1 3). Stable: equal
	// times keep the order they came in.
	slices.SortStableFunc(fresh, func(a, b int) int { return events[a].Time.Compare(events[b].Time) })
	seq := s.seq
	for _, i := range fresh {
		seq++
		events[i].Seq = seq
	}

	// The chunks are written in parallel, one per shard, and the
	// checkpoints after all of them, so that a checkpoint never covers an
	// event that is not stored. A crash in between leaves events without
	// their checkpoint: the input is read again and its events are found
	// stored (unseen).
	shards := s.cur().shards
	var chunks [][2]int
	if len(fresh) > 0 {
		chunks = splitChunks(len(fresh), len(shards))
	}
	// The events' ring entries, matched against the live streams while
	// the chunks are written (hub.prematch).
	pending := make([]*ringEntry, len(fresh))
	for j, i := range fresh {
		pending[j] = newRingEntry(events[i], "") // its cursor when sent
	}
	var prematched sync.WaitGroup
	defer prematched.Wait()
	if len(pending) > 0 && s.hub.attached() {
		prematched.Go(func() { s.hub.prematch(pending) })
	}
	publish := func(idx []int) {
		prematched.Wait()
		s.publish(events, idx, pending[:len(idx)], &res)
	}
	errs := make([]error, len(chunks))
	start := s.next
	if len(chunks) == 1 {
		errs[0] = s.writeChunk(0, events, fresh)
	} else if len(chunks) > 1 {
		var wg sync.WaitGroup
		for j, c := range chunks {
			wg.Go(func() { errs[j] = s.writeChunk((s.next+j)%len(shards), events, fresh[c[0]:c[1]]) })
		}
		wg.Wait()
		s.next = (s.next + len(chunks)) % len(shards)
	}
	for j, err := range errs {
		if err == nil {
			continue
		}
		// Bleve makes a batch searchable before it is on disk and keeps it
		// when writing fails; reopening shows what is on disk. The failure
		// may also come after the segment was written (its snapshot, a
		// later file): then the chunk is stored after all.
		i := shardIndex(j, len(chunks), start, len(shards))
		s.reopenShard(i)
		if s.broken != nil {
			continue
		}
		idx := fresh[chunks[j][0]:chunks[j][1]]
		switch n := s.storedOf(ctx, s.cur().shards[i], events, idx); {
		case n == len(idx) && len(idx) > 0:
			s.log.Warn("batch reported failed but is on disk; kept", "events", n, "err", err)
			if s.writeChunkMark(i, events, idx) == nil {
				errs[j] = nil
			}
		case n > 0:
			// Not seen from Bleve; take it back so that it is retried whole.
			if uerr := s.undoChunk(i, events, idx); uerr != nil && s.broken == nil {
				s.broken = fmt.Errorf("index: a failed batch could not be undone, restart to recover: %w", uerr)
			}
		}
	}
	for j, err := range errs {
		if err == nil {
			continue
		}
		// Keep the chunks before the failed one (their sequence numbers
		// are consecutive), undo the ones after it that were stored, and
		// hand their numbers out again.
		for k := j + 1; k < len(chunks); k++ {
			if errs[k] != nil {
				continue
			}
			if uerr := s.undoChunk(shardIndex(k, len(chunks), start, len(shards)), events, fresh[chunks[k][0]:chunks[k][1]]); uerr != nil && s.broken == nil {
				s.broken = fmt.Errorf("index: a failed batch could not be undone, restart to recover: %w", uerr)
				s.log.Error("index inconsistent", "err", uerr)
			}
		}
		kept := fresh[:chunks[j][0]]
		for _, i := range fresh[len(kept):] {
			events[i].Seq = 0
		}
		publish(kept)
		return res, fmt.Errorf("store batch of %d events: %w", len(fresh)-len(kept), err)
	}
	if err := s.cps.put(checkpoints); err != nil {
		// The events are stored: publish them; the caller retries the
		// input and finds them stored.
		publish(fresh)
		return res, fmt.Errorf("store checkpoints: %w", err)
	}
	publish(fresh)
	return res, nil
}

// shardIndex is the shard chunk j of n went to (see Put).
func shardIndex(j, n, start, shards int) int {
	if n == 1 {
		return 0
	}
	return (start + j) % shards
}

// reopenShard closes and opens shard i of the current partition again, so
// that it shows what is on disk; mu held. If it cannot be opened, the
// store stops taking writes (broken).
func (s *Store) reopenShard(i int) {
	p := s.cur()
	old := p.shards[i]
	path := p.shardPath(s.cfg.Dir, i)
	if err := old.Close(); err != nil {
		s.log.Warn("close shard after a failed batch", "shard", path, "err", err)
	}
	idx, err := p.openShard(path)
	if err == nil {
		if err = checkShard(path, idx); err != nil {
			_ = idx.Close()
		}
	}
	var w *blockWriter
	if err == nil && p.isBlocks() {
		// What the shard stores, not what the failed batch left in memory.
		if w, err = newBlockWriter(context.Background(), idx); err != nil {
			_ = idx.Close()
		}
	}
	if err != nil {
		if s.broken == nil {
			s.broken = fmt.Errorf("index: shard %s could not be reopened after a failed batch, restart to recover: %w", path, err)
		}
		s.log.Error("shard lost", "shard", path, "err", err)
		p.exact[i].Store(false)
		if !p.isBlocks() {
			s.idx.Remove(old)
		}
		s.publishShards()
		return
	}
	p.shards[i] = idx
	if p.isBlocks() {
		p.blocks[i] = w
	} else {
		s.idx.Swap([]bleve.Index{idx}, []bleve.Index{old})
	}
	s.publishShards()
}

// minChunk is the fewest events worth a shard's batch of their own: each
// batch makes a segment, and tiny segments cost more to merge than their
// parallel build saves.
const minChunk = 512

// splitChunks splits n events into at most shards contiguous ranges of at
// least minChunk events (one range when n is small, also when n is 0).
func splitChunks(n, shards int) [][2]int {
	k := min(max((n+minChunk-1)/minChunk, 1), shards)
	out := make([][2]int, k)
	for j := range k {
		out[j] = [2]int{j * n / k, (j + 1) * n / k}
	}
	return out
}

func setSeq(b *bleve.Batch, seq uint64) {
	var sb [8]byte
	binary.BigEndian.PutUint64(sb[:], seq)
	b.SetInternal(keySeq, sb[:])
}

// writeChunk stores the events at positions idx and the newest sequence
// number among them in one batch of shard i of the current partition, then
// notes that sequence number beside the shard (see checkShard). mu held;
// chunks of one Put run in parallel.
func (s *Store) writeChunk(i int, events []record.Event, idx []int) error {
	p := s.cur()
	if p.isBlocks() {
		evs := make([]record.Event, len(idx))
		for k, j := range idx {
			evs[k] = events[j]
		}
		w := p.blocks[i]
		w.cache = s.stored // the writer may be new: reopened after a failed batch, or its partition's
		if err := w.writeBatch(evs); err != nil {
			return err
		}
	} else if err := writeBatch(p.shards[i], !p.hourly[i], events, idx); err != nil {
		return err
	}
	return s.writeChunkMark(i, events, idx)
}

// writeChunkMark notes the newest sequence number of a stored chunk beside
// shard i (see checkShard).
func (s *Store) writeChunkMark(i int, events []record.Event, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	return writeSeqMark(s.cur().shardPath(s.cfg.Dir, i), events[idx[len(idx)-1]].Seq)
}

// storedOf counts the events at positions idx that sh holds.
func (s *Store) storedOf(ctx context.Context, sh bleve.Index, events []record.Event, idx []int) int {
	if s.cur().isBlocks() {
		// A chunk of blocks is one Bleve batch with its sequence number:
		// stored whole or not at all.
		v, err := sh.GetInternal(keySeq)
		switch {
		case err != nil || len(v) != 8 && len(v) != 0:
			return -1
		case len(v) == 0 || len(idx) == 0:
			return 0
		}
		if binary.BigEndian.Uint64(v) >= events[idx[len(idx)-1]].Seq {
			return len(idx)
		}
		return 0
	}
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = events[i].ID
	}
	req := bleve.NewSearchRequestOptions(bquery.NewDocIDQuery(ids), 0, 0, false)
	res, err := sh.SearchInContext(ctx, req)
	if err != nil {
		return -1
	}
	return int(res.Total)
}

// numericTime is set for a shard made before fieldHour (buildDocument).
func writeBatch(sh bleve.Index, numericTime bool, events []record.Event, idx []int) error {
	b := sh.NewBatch()
	for _, i := range idx {
		ev := &events[i]
		if err := b.IndexAdvanced(buildDocument(ev, numericTime)); err != nil {
			return fmt.Errorf("build document %s: %w", ev.ID, err)
		}
	}
	if len(idx) > 0 {
		setSeq(b, events[idx[len(idx)-1]].Seq)
	}
	return sh.Batch(b)
}

// full reports whether p should take no more events: it has some and is
// older than the span or holds the most a partition may.
func (s *Store) full(p *partition) bool {
	if p.count == 0 {
		return false
	}
	return time.Since(p.created) >= s.cfg.PartitionSpan ||
		(s.cfg.PartitionMaxEvents > 0 && p.count >= s.cfg.PartitionMaxEvents)
}

// rotate starts a new partition for the events that follow; mu held. The
// new partition gets a copy of the internal keys before it takes events.
func (s *Store) rotate() error {
	p, err := createPartition(s.cfg.Dir, s.seq+1, s.cfg.Shards, s.cfg.Layout, time.Now())
	if err != nil {
		return err
	}
	if err := s.copyInternals(p); err != nil {
		_ = p.close()
		return err
	}
	p.ids = s.newPartitionFilter()
	s.parts = append(s.parts, p)
	if !p.isBlocks() {
		s.idx.Add(p.shards...)
	}
	s.publishShards()
	s.next = 0
	s.publishStats()
	s.log.Info("partition started", "dir", p.dir, "first_seq", p.firstSeq)
	return nil
}

// undoChunk deletes the events at positions idx from shard i of the
// current partition; mu held.
func (s *Store) undoChunk(i int, events []record.Event, idx []int) error {
	p := s.cur()
	if !p.isBlocks() {
		return undoEvents(p.shards[i], p.exact[i], events, idx)
	}
	if len(idx) == 0 {
		return nil
	}
	// The chunk's blocks, their records, summaries and rare terms' documents and its
	// counts document, named by their first sequence numbers; then the
	// writer reads its counts and ids again.
	b := p.shards[i].NewBatch()
	first := events[idx[0]].Seq
	b.Delete(countsMark + seqKey(first))
	for k := 0; k < len(idx); k += blockSize {
		id := blockID(events[idx[k]].Seq)
		b.Delete(id)
		b.Delete(recordsID(id))
		b.Delete(rareID(id))
		b.Delete(sumsID(id))
	}
	err := p.shards[i].Batch(b)
	s.stored.forget() // the sequence numbers will name other blocks
	if err != nil {
		return err
	}
	w, err := newBlockWriter(context.Background(), p.shards[i])
	if err != nil {
		return err
	}
	p.blocks[i] = w
	s.publishShards()
	return nil
}

// undoEvents deletes the events at positions idx from sh, and marks sh as
// no longer counted exactly by its dictionaries (exact first, so that no
// search reads counts that include the deleted events).
func undoEvents(sh bleve.Index, exact *atomic.Bool, events []record.Event, idx []int) error {
	exact.Store(false)
	b := sh.NewBatch()
	b.SetInternal(keyUndone, []byte{1})
	for _, i := range idx {
		b.Delete(events[i].ID)
	}
	return sh.Batch(b)
}

// publish accounts the stored events at positions idx (consecutive
// sequence numbers after s.seq) and hands them to subscribers; mu held.
func (s *Store) publish(events []record.Event, idx []int, entries []*ringEntry, res *PutResult) {
	metricDuplicates.Add(float64(res.Duplicates))
	if len(idx) == 0 {
		return
	}
	lo, hi := s.minTime, s.maxTime
	stored := make([]record.Event, len(idx))
	p := s.cur()
	for j, i := range idx {
		stored[j] = events[i]
		p.noteID(events[i].ID)
		// Indexed times only, as timeBounds finds them on opening: a
		// time Bleve cannot index (after 2262) would make the windows of
		// newest-first searches start where Bleve refuses a range.
		if t, ok := indexedTime(&events[i]); ok {
			if lo.IsZero() || t.Before(lo) {
				lo = t
			}
			if t.After(hi) {
				hi = t
			}
		}
	}
	s.seq = stored[len(stored)-1].Seq
	s.count += uint64(len(stored))
	p.count += uint64(len(stored))
	// The store's newest, so at least the partition's: shardsFrom needs
	// an upper bound, not the exact time.
	p.maxTime = maxTime(p.maxTime, hi)
	// Into the ring first, then the head, then the wake-up: a subscriber
	// that sees the new head finds the events in the ring (and in the index,
	// which Batch updated), and one that is woken sees the new head.
	s.hub.append(entries)
	s.head.Store(s.seq)
	s.hub.wake()
	s.minTime, s.maxTime = lo, hi
	s.publishStats()
	res.Stored = len(stored)
	res.LastSeq = s.seq
	metricStored.Add(float64(res.Stored))
}

// unseen returns the positions of the events whose id is neither stored
// nor repeated earlier in the batch.
func (s *Store) unseen(ctx context.Context, events []record.Event) ([]int, error) {
	ids := make([]string, 0, len(events))
	first := make(map[string]int, len(events))
	for i := range events {
		id := events[i].ID
		if id == "" {
			return nil, fmt.Errorf("%w: event at position %d has no id", ErrInvalid, i)
		}
		if _, dup := first[id]; dup {
			continue
		}
		first[id] = i
		ids = append(ids, id)
	}
	// Only the ids a partition may hold are looked up, and only in that
	// partition (see idFilter).
	look, n := s.idLookups(ids)
	metricIDLookups.WithLabelValues("skipped").Add(float64(len(ids) - n))
	metricIDLookups.WithLabelValues("looked_up").Add(float64(n))
	if s.count > 0 {
		stored, err := s.blockStoredIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for id := range stored {
			delete(first, id)
		}
		for _, l := range look {
			req := bleve.NewSearchRequestOptions(bquery.NewDocIDQuery(l.ids), len(l.ids), 0, false)
			req.Score = "none"
			res, err := s.searchShards(ctx, req, l.p.shards)
			if err != nil {
				return nil, fmt.Errorf("look up %d ids: %w", len(l.ids), err)
			}
			for _, h := range res.Hits {
				delete(first, h.ID)
			}
		}
	}
	fresh := make([]int, 0, len(first))
	for i := range events {
		if j, ok := first[events[i].ID]; ok && j == i {
			fresh = append(fresh, i)
		}
	}
	return fresh, nil
}

// Checkpoint returns the checkpoint stored under name by Put, or nil.
func (s *Store) Checkpoint(name string) ([]byte, error) {
	// Not under mu: a Put may hold it for as long as its batch takes.
	v, err := s.cps.get(name)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	return v, nil
}

// Get returns the event with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string, scope Scope) (Hit, error) {
	defer func(start time.Time) { metricSearchSeconds.WithLabelValues("get").Observe(time.Since(start).Seconds()) }(time.Now())
	var q bquery.Query = bquery.NewDocIDQuery([]string{id})
	if !scope.IsZero() {
		// An event outside the scope is not found, exactly like a missing one.
		sq, err := s.compile("", scope, time.Now())
		if err != nil {
			return Hit{}, err
		}
		q = bquery.NewConjunctionQuery([]bquery.Query{q, sq})
	}
	req := bleve.NewSearchRequestOptions(q, 1, 0, false)
	req.Score = "none"
	req.Fields = []string{fieldBlob}
	res, err := s.search(ctx, req)
	if err != nil {
		return Hit{}, fmt.Errorf("get %s: %w", id, err)
	}
	if len(res.Hits) == 0 {
		h, ok, err := s.blockFind(ctx, id, scope)
		switch {
		case err != nil:
			return Hit{}, err
		case !ok:
			return Hit{}, ErrNotFound
		}
		return h, nil
	}
	return s.hit(res.Hits[0].Fields[fieldBlob], 0)
}

// Stats are figures about the stored events.
type Stats struct {
	Events    uint64
	LastSeq   uint64
	Cursor    string // cursor of the newest event; empty when none
	DiskBytes int64
	Oldest    time.Time
	Newest    time.Time
	// Segments is the number of Bleve segments searches read, over all
	// shards; Compacting says that compaction is merging them or will once
	// ingest is idle (some shard has more than CompactSegments).
	Segments   int
	Compacting bool
}

// ScopedStats returns the figures of the events scope may see: count and
// eventTime bounds. Sequence numbers and disk size, which would tell of
// events outside the scope, are left zero.
func (s *Store) ScopedStats(ctx context.Context, scope Scope) (Stats, error) {
	q, err := s.compile("", scope, time.Now())
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	if st.Newest, st.Events, err = edgeTime(ctx, s.search, q, true); err != nil {
		return Stats{}, fmt.Errorf("scoped stats: %w", err)
	}
	if st.Oldest, _, err = edgeTime(ctx, s.search, timed(q), false); err != nil {
		return Stats{}, fmt.Errorf("scoped stats: %w", err)
	}
	if len(s.blockShards()) == 0 {
		return st, nil
	}
	p, err := s.blockPlanOf(query.MatchAll{}, scope, time.Now(), time.Time{}, time.Time{}, s.blockShards())
	if err != nil {
		return Stats{}, err
	}
	// Unscoped, the events are counted beside the blocks.
	lo, n, err := s.blockEdge(ctx, p, false, !scope.IsZero())
	if scope.IsZero() {
		for _, sh := range s.blockShards() {
			sh.w.counts(func(c *allCounts) { n += c.events })
		}
	}
	if err != nil {
		return Stats{}, fmt.Errorf("scoped stats: %w", err)
	}
	hi, _, err := s.blockEdge(ctx, p, true, false)
	if err != nil {
		return Stats{}, fmt.Errorf("scoped stats: %w", err)
	}
	st.Events += n
	if st.Oldest.IsZero() || !lo.IsZero() && lo.Before(st.Oldest) {
		st.Oldest = lo
	}
	st.Newest = maxTime(st.Newest, hi)
	return st, nil
}

// statsSnap is what Stats reports, published by writers (publishStats) so
// that Stats and metric scrapes never wait for a batch being written, which
// holds mu for as long as it takes.
type statsSnap struct {
	st   Stats
	dirs []string // shard directories and frozen shards' files, for the disk size
}

// publishStats publishes the current figures; mu held.
func (s *Store) publishStats() {
	sn := &statsSnap{st: Stats{Events: s.count, LastSeq: s.seq, Oldest: s.minTime, Newest: s.maxTime}}
	for _, p := range s.parts {
		for i := range p.shards {
			sn.dirs = append(sn.dirs, p.shardPath(s.cfg.Dir, i))
			if p.isBlocks() {
				sn.dirs = append(sn.dirs, p.sidecarPath(s.cfg.Dir, i)) // once frozen
			}
		}
	}
	s.snap.Store(sn)
}

// counts returns the published event count and time span, without the
// disk figures Stats walks the directories for.
func (s *Store) counts() Stats {
	if sn := s.snap.Load(); sn != nil {
		return sn.st
	}
	return Stats{}
}

// Stats returns current figures.
func (s *Store) Stats() Stats {
	sn := s.snap.Load()
	if sn == nil {
		return Stats{}
	}
	st := sn.st
	if st.LastSeq > 0 {
		st.Cursor = s.Cursor(st.LastSeq)
	}
	for _, d := range sn.dirs {
		st.DiskBytes += dirSize(d)
	}
	st.Segments = s.segmentTotal()
	st.Compacting = s.compacting.Load() || s.compactDue.Load()
	return st
}

// freeBytes is the space an unprivileged writer has left on dir's file
// system.
func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// Close flushes and closes the index. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopRetention != nil {
		s.stopRetention()
		s.mu.Unlock()
		<-s.retentionDone
		s.mu.Lock()
	}
	s.stopIDFilters()
	s.mu.Unlock()
	<-s.idFiltersDone
	if s.stopCompact != nil {
		s.stopCompact()
		<-s.compactDone
	}
	if s.stopAdvice != nil {
		s.stopAdvice()
		<-s.adviceDone
	}
	s.stopWarm()
	<-s.warmDone
	s.stopDispatch()
	<-s.dispatchDone
	s.mu.Lock()
	var errs []error
	for _, p := range s.parts {
		if err := p.close(); err != nil {
			errs = append(errs, fmt.Errorf("close index in %s: %w", cmp.Or(p.dir, s.cfg.Dir), err))
		}
	}
	if err := s.cps.close(); err != nil {
		errs = append(errs, fmt.Errorf("close checkpoints: %w", err))
	}
	return errors.Join(errs...)
}

// search runs req over every shard. An alias over several indexes reports
// a failing shard in the result's status, not as an error: any failure
// fails the search, since partial results would pass for complete ones.
func (s *Store) search(ctx context.Context, req *bleve.SearchRequest) (*bleve.SearchResult, error) {
	return s.searchShards(ctx, req, nil)
}

// sweepEvery is how often searches drop what the columns, edge times and
// segment counts keep of segments merged away (sweepSegmentCaches).
const sweepEvery = 10 * time.Second

// sweepSegmentCaches drops, at most every sweepEvery, the columns, edge
// times and counts of segments no longer in any shard. Each holds its
// segment: kept past a merge, they would keep its memory too. (Facets
// sweep columns and counts as they count; pages of events may go on
// without any facet.)
func (s *Store) sweepSegmentCaches() {
	now := time.Now().UnixNano()
	last := s.lastSweep.Load()
	if now-last < int64(sweepEvery) || !s.lastSweep.CompareAndSwap(last, now) {
		return
	}
	v := s.shardsView.Load()
	if v == nil {
		return
	}
	live := map[segment.Segment]struct{}{}
	if err := withSnapshots(*v, func(snaps []*scorch.IndexSnapshot) error {
		for _, snap := range snaps {
			for _, ss := range snap.Segments() {
				live[ss.Segment()] = struct{}{}
			}
		}
		return nil
	}); err != nil {
		return // a shard closing: the next sweep
	}
	s.columns.sweep(live)
	s.edges.sweep(live)
	s.segCounts.sweep(live)
}

// searchContext carries to Bleve's searchers what the store keeps of its
// segments for them: the edge hours' times and the per-segment counts.
// Bleve builds the searchers (timeRangeQuery) knowing nothing of the store.
func (s *Store) searchContext(ctx context.Context) context.Context {
	return withSearchValue(withSearchValue(ctx, s.edges), s.segCounts)
}

// searchKey is the context key of the *T searchContext carries.
type searchKey[T any] struct{}

// withSearchValue carries v to the searches run with the context (once:
// a context that already holds v is returned as it is).
func withSearchValue[T any](ctx context.Context, v *T) context.Context {
	if v == nil || ctx.Value(searchKey[T]{}) == v {
		return ctx
	}
	return context.WithValue(ctx, searchKey[T]{}, v)
}

// searchValue is the *T the context carries, or nil.
func searchValue[T any](ctx context.Context) *T {
	v, _ := ctx.Value(searchKey[T]{}).(*T)
	return v
}

// searchShards is search over some shards only; nil means every shard.
func (s *Store) searchShards(ctx context.Context, req *bleve.SearchRequest, shards []bleve.Index) (*bleve.SearchResult, error) {
	ctx = s.searchContext(ctx)
	var idx bleve.Index = s.idx
	if v := s.shardsView.Load(); shards == nil && v != nil && len(*v) == 0 {
		// Every partition holds blocks: the per-event side finds nothing.
		return &bleve.SearchResult{Status: &bleve.SearchStatus{}, Request: req, Hits: search.DocumentMatchCollection{}, Facets: search.FacetResults{}}, nil
	}
	if shards != nil {
		idx = bleve.NewIndexAlias(shards...)
	}
	res, err := idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.Status != nil && (res.Status.Failed > 0 || len(res.Status.Errors) > 0) {
		for _, name := range slices.Sorted(maps.Keys(res.Status.Errors)) {
			return nil, res.Status.Errors[name]
		}
		return nil, errors.New("search failed on a shard")
	}
	return res, nil
}
