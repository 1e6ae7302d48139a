package index

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bquery "github.com/blevesearch/bleve/v2/search/query"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// Internal keys stored in the Bleve index beside the documents.
var (
	keySeq        = []byte("ct:seq")
	keyTokenKey   = []byte("ct:tokenkey")
	keyCheckpoint = "ct:cp:"
)

// Config configures a Store.
type Config struct {
	// Dir is the data directory; the index lives in Dir/events.bleve.
	Dir string
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
}

// DefaultConfig returns the defaults for a store in dir.
func DefaultConfig(dir string) Config {
	return Config{
		Dir:                 dir,
		DefaultPageSize:     50,
		MaxPageSize:         1000,
		MaxFacetSize:        1000,
		MaxFacets:           16,
		MaxHistogramBuckets: 2000,
		MaxRelevanceDepth:   10000,
		Query:               query.DefaultLimits(),
		// Larger than the ingest group commit (5000 events), so live
		// subscribers stay in the ring across whole batches.
		RingSize:             16384,
		MaxSubscribers:       10000,
		MaxLagEvents:         50000,
		MaxLagTime:           30 * time.Second,
		ProgressInterval:     5 * time.Second,
		ReplayPageSize:       256,
		MaxConcurrentReplays: 4,
	}
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("index: data directory is empty")
	case c.DefaultPageSize < 1 || c.DefaultPageSize > c.MaxPageSize:
		return errors.New("index: default page size must be between 1 and the max page size")
	case c.MaxFacetSize < 1, c.MaxFacets < 1, c.MaxHistogramBuckets < 1, c.MaxRelevanceDepth < 1,
		c.RingSize < 1, c.MaxSubscribers < 1, c.MaxLagEvents < 1, c.MaxLagTime <= 0, c.ReplayPageSize < 1,
		c.MaxConcurrentReplays < 1:
		return errors.New("index: limits must be positive")
	case c.ProgressInterval < 10*time.Millisecond:
		return errors.New("index: progress interval must be at least 10ms")
	}
	return nil
}

// Store is the event index. Put is serialised; searches run concurrently.
type Store struct {
	cfg Config
	log *slog.Logger
	idx bleve.Index
	key []byte // HMAC key for cursors and page tokens
	hub *hub
	// replays holds a token per subscriber reading the index.
	replays chan struct{}
	// head is the newest sequence number whose event is searchable and in
	// the hub; readers use it without taking mu.
	head atomic.Uint64

	mu      sync.Mutex // serialises Put and guards the fields below
	seq     uint64     // last assigned sequence number
	closed  bool
	minTime time.Time
	maxTime time.Time
	count   uint64
}

// Open opens the index in cfg.Dir, creating it if absent.
func Open(cfg Config, log *slog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	path := filepath.Join(cfg.Dir, "events.bleve")
	var idx bleve.Index
	var err error
	if _, statErr := os.Stat(filepath.Join(path, "index_meta.json")); statErr == nil {
		idx, err = bleve.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open index %s: %w", path, err)
		}
	} else {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", cfg.Dir, err)
		}
		idx, err = bleve.NewUsing(path, newMapping(), scorch.Name, scorch.Name, nil)
		if err != nil {
			return nil, fmt.Errorf("create index %s: %w", path, err)
		}
	}
	s := &Store{cfg: cfg, log: log, idx: idx, hub: newHub(cfg.RingSize), replays: make(chan struct{}, cfg.MaxConcurrentReplays)}
	if err := s.load(); err != nil {
		_ = idx.Close()
		return nil, err
	}
	s.head.Store(s.seq)
	log.Info("index open", "dir", path, "events", s.count, "seq", s.seq)
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
	v, err := s.idx.GetInternal(keySeq)
	if err != nil {
		return fmt.Errorf("read sequence: %w", err)
	}
	if len(v) == 8 {
		s.seq = binary.BigEndian.Uint64(v)
	}
	key, err := s.idx.GetInternal(keyTokenKey)
	if err != nil {
		return fmt.Errorf("read token key: %w", err)
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return fmt.Errorf("make token key: %w", err)
		}
		if err := s.idx.SetInternal(keyTokenKey, key); err != nil {
			return fmt.Errorf("store token key: %w", err)
		}
	}
	s.key = key
	n, err := s.idx.DocCount()
	if err != nil {
		return fmt.Errorf("count documents: %w", err)
	}
	s.count = n
	s.minTime, s.maxTime, err = s.timeBounds(context.Background())
	return err
}

// timeBounds finds the oldest and newest eventTime stored.
func (s *Store) timeBounds(ctx context.Context) (lo, hi time.Time, err error) {
	for i, desc := range []bool{false, true} {
		req := bleve.NewSearchRequestOptions(bquery.NewMatchAllQuery(), 1, 0, false)
		req.Score = "none"
		req.SortByCustom(timeSort(desc))
		res, err := s.idx.SearchInContext(ctx, req)
		if err != nil {
			return lo, hi, fmt.Errorf("find time bounds: %w", err)
		}
		if len(res.Hits) == 0 || len(res.Hits[0].DecodedSort) == 0 {
			continue
		}
		t, ok := parseTimeKey(res.Hits[0].DecodedSort[0])
		if !ok {
			continue // the document has no eventTime
		}
		if i == 0 {
			lo = t
		} else {
			hi = t
		}
	}
	return lo, hi, nil
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
// sequence number, and the checkpoints, in one atomic and durable batch:
// when Put returns without error, both survive a crash. It sets Seq on the
// events it stores and hands them to live subscribers. Events must have an
// ID. Put keeps references to the stored events' slices (Raw, Leaves, ...):
// the caller must not modify them afterwards.
func (s *Store) Put(ctx context.Context, events []record.Event, checkpoints map[string][]byte) (PutResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return PutResult{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return PutResult{}, err
	}
	res := PutResult{LastSeq: s.seq}
	fresh, err := s.unseen(ctx, events)
	if err != nil {
		return res, err
	}
	if len(fresh) == 0 && len(checkpoints) == 0 {
		res.Duplicates = len(events)
		return res, nil
	}
	b := s.idx.NewBatch()
	seq := s.seq
	lo, hi := s.minTime, s.maxTime
	for _, i := range fresh {
		ev := &events[i]
		seq++
		ev.Seq = seq
		if err := b.IndexAdvanced(buildDocument(ev)); err != nil {
			return res, fmt.Errorf("build document %s: %w", ev.ID, err)
		}
		if t := ev.Time; !t.IsZero() {
			if lo.IsZero() || t.Before(lo) {
				lo = t
			}
			if t.After(hi) {
				hi = t
			}
		}
	}
	var sb [8]byte
	binary.BigEndian.PutUint64(sb[:], seq)
	b.SetInternal(keySeq, sb[:])
	for name, v := range checkpoints {
		b.SetInternal([]byte(keyCheckpoint+name), v)
	}
	if err := s.idx.Batch(b); err != nil {
		for _, i := range fresh {
			events[i].Seq = 0
		}
		return res, fmt.Errorf("store batch of %d events: %w", len(fresh), err)
	}
	s.seq = seq
	s.count += uint64(len(fresh))
	stored := make([]record.Event, len(fresh))
	for j, i := range fresh {
		stored[j] = events[i]
	}
	// Into the ring first, then the head: a subscriber that sees the new head
	// finds the events in the ring (and in the index, which Batch updated).
	s.hub.append(stored, s.Cursor)
	s.head.Store(seq)
	s.minTime, s.maxTime = lo, hi
	res.Stored = len(fresh)
	res.Duplicates = len(events) - len(fresh)
	res.LastSeq = seq
	metricStored.Add(float64(res.Stored))
	metricDuplicates.Add(float64(res.Duplicates))
	return res, nil
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
	if len(ids) > 0 && s.count > 0 {
		req := bleve.NewSearchRequestOptions(bquery.NewDocIDQuery(ids), len(ids), 0, false)
		req.Score = "none"
		res, err := s.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("look up %d ids: %w", len(ids), err)
		}
		for _, h := range res.Hits {
			delete(first, h.ID)
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
	v, err := s.idx.GetInternal([]byte(keyCheckpoint + name))
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", name, err)
	}
	return v, nil
}

// Get returns the event with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Hit, error) {
	req := bleve.NewSearchRequestOptions(bquery.NewDocIDQuery([]string{id}), 1, 0, false)
	req.Score = "none"
	req.Fields = []string{fieldBlob}
	res, err := s.idx.SearchInContext(ctx, req)
	if err != nil {
		return Hit{}, fmt.Errorf("get %s: %w", id, err)
	}
	if len(res.Hits) == 0 {
		return Hit{}, ErrNotFound
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
}

// Stats returns current figures.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	st := Stats{Events: s.count, LastSeq: s.seq, Oldest: s.minTime, Newest: s.maxTime}
	s.mu.Unlock()
	if st.LastSeq > 0 {
		st.Cursor = s.Cursor(st.LastSeq)
	}
	st.DiskBytes = dirSize(filepath.Join(s.cfg.Dir, "events.bleve"))
	return st
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
	if err := s.idx.Close(); err != nil {
		return fmt.Errorf("close index: %w", err)
	}
	return nil
}
