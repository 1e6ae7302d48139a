package index

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/klauspost/compress/s2"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// newestKey is an event's place in newest-first order: its time as
// timeKey encodes it, then its sequence number.
type newestKey struct{ time, seq uint64 }

func (a newestKey) less(b newestKey) bool {
	return a.time < b.time || a.time == b.time && a.seq < b.seq
}

// BenchmarkBlockNewest measures the read side of the block layout on a
// real index of block documents (one shard, blocks of 256 with their
// event indexes, word counts beside the index, Bleve's merge floor at 8
// documents): the 50 newest events of the harness's queries, compiled for
// blocks (blockPlan) as a block store would run them. Bleve finds the
// candidate blocks, newest block first by their _order doc values; a
// block's Bloom filter rules it out or its event index gives the events
// matching the whole query (records parsed only for what the index cannot
// decide, such as the wildcard); reading stops once the next block's
// newest event is older than the 50th kept. It first checks, for each
// query, that the 50 found are the 50 newest matching events and that
// reading every candidate block finds every match, against the service's
// in-memory matcher (the live subscribers' one) run on each event.
// Reports the median and 99th percentile of a search, the blocks whose
// event index was read and the records parsed.
func BenchmarkBlockNewest(b *testing.B) {
	n, ok := benchEvents(b)
	if !ok {
		n = 100000
	}
	idx, err := bleve.NewUsing(filepath.Join(b.TempDir(), "shard"), newMapping(), scorch.Name, scorch.Name, mergeFloor(8))
	if err != nil {
		b.Fatal(err)
	}
	defer idx.Close()
	files := trailFiles(b, n, 100)
	// One goroutine, so that sequence numbers follow the files' order and
	// truth below gives the same ones.
	next := make(chan []byte, len(files))
	for _, f := range files {
		next <- f
	}
	close(next)
	var seq atomic.Uint64
	if err := ingestBlocks(idx, next, &seq, ingestCase{size: blockSize, batch: 5000}); err != nil {
		b.Fatal(err)
	}
	waitQuiet(b)
	// The harness's queries (bench/main.go) but facets and histograms.
	queries := []struct {
		name, query string
		week        bool // the 7 days before the newest event only
		want        []newestKey
	}{
		{name: "eventName", query: "eventName:StartBuild"},
		{name: "source+name+7d", query: "eventSource:codepipeline.amazonaws.com AND eventName:StartPipelineExecution", week: true},
		{name: "word", query: "AccessDenied"},
		{name: "resource", query: "resource:MyFirstPipeline"},
		{name: "not-exists", query: "service:codepipeline AND (eventName:UpdatePipeline OR eventName:DeletePipeline) AND NOT errorCode:*"},
		{name: "wildcard", query: "userIdentity.arn:*JaneDoe*"},
		{name: "errorCode-exists", query: "errorCode:*"},
	}
	ms := make([]matcher, len(queries))
	for i := range queries {
		_, ms[i] = mustMatcher(b, queries[i].query)
	}
	wants, newest := truth(b, files, ms)
	week := newest.Add(-7 * 24 * time.Hour)
	for i := range queries {
		queries[i].want = wants[i]
		if queries[i].week {
			queries[i].query += " AND eventTime:>=" + week.UTC().Format(time.RFC3339Nano)
			cut := newestKey{time: uint64(week.UnixNano()) ^ 1<<63}
			queries[i].want = slices.DeleteFunc(wants[i], func(k newestKey) bool { return k.less(cut) })
		}
	}
	r := indexReader(b, idx)
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		b.Fatalf("reader %T is not a scorch snapshot", r)
	}
	for _, tc := range queries {
		b.Run(tc.name, func(b *testing.B) {
			ast, err := query.Parse(tc.query)
			if err != nil {
				b.Fatal(err)
			}
			c := compiler{now: newest}
			plan, err := c.blockPlan(ast, indexTerms(idx))
			if err != nil {
				b.Fatal(err)
			}
			s := &blockSearcher{idx: idx, snap: snap, plan: plan}
			want := tc.want
			all, _ := s.newest(b, -1)
			if len(all) != len(want) {
				b.Fatalf("every candidate block read: %d matches, want %d", len(all), len(want))
			}
			got, _ := s.newest(b, 50)
			if w := want[:min(50, len(want))]; !slices.Equal(got, w) {
				b.Fatalf("50 newest differ:\ngot  %v\nwant %v", got, w)
			}
			var took []time.Duration
			read := 0
			s.parsed = 0
			for b.Loop() {
				start := time.Now()
				_, r := s.newest(b, 50)
				took = append(took, time.Since(start))
				read += r
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(read)/float64(len(took)), "blocks/op")
			b.ReportMetric(float64(s.parsed)/float64(len(took)), "parsed/op")
			b.ReportMetric(float64(len(want)), "matches")
		})
	}
}

// blockSearcher runs one query on BenchmarkBlockNewest's block index.
type blockSearcher struct {
	idx    bleve.Index
	snap   *scorch.IndexSnapshot // the quiet index's segments, for stored fields
	plan   *blockPlan
	ix     []byte
	bloom  []byte
	parsed int // records the plan parsed
}

// newest returns the keys of the size newest events matching s's query,
// newest first (every match if size < 0), and the blocks whose event index
// it read.
func (s *blockSearcher) newest(b *testing.B, size int) (keys []newestKey, read int) {
	// Blocks by their newest event, newest first: their ids and sort
	// values only; the Bloom filter and event index are read from the
	// block's stored fields for the blocks taken.
	for from, page := 0, 64; ; from, page = from+page, 1024 {
		req := bleve.NewSearchRequestOptions(s.plan.candidates, page, from, false)
		req.SortBy([]string{"-" + fieldOrder})
		res, err := s.idx.SearchInContext(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range res.Hits {
			if size >= 0 && len(keys) >= size && orderKey(b, h.Sort[0]).less(keys[size-1]) {
				return keys, read
			}
			x := s.readBlock(b, h)
			if !s.plan.mayHold(blockBloom{s.bloom}) {
				continue
			}
			read++
			set, parsed, err := s.plan.test(x, func() (recs []blockRecord, err error) {
				s.stored(b, h, func(field string, value []byte) bool {
					if field != fieldBlob {
						return true
					}
					recs, err = decodeBlockRecords(value, nil)
					return false
				})
				return recs, err
			})
			if err != nil {
				b.Fatalf("block %s: %v", h.ID, err)
			}
			s.parsed += parsed
			set.each(func(o int) {
				ek := x.key(o)
				t := uint64(0) // timeKey of an event without a time
				if ek.nanos != noTime {
					t = uint64(ek.nanos) ^ 1<<63
				}
				keys = append(keys, newestKey{t, ek.seq})
			})
			if size >= 0 {
				sortNewest(keys)
				keys = keys[:min(len(keys), size)]
			}
		}
		if len(res.Hits) < page {
			sortNewest(keys)
			return keys, read
		}
	}
}

// readBlock decodes the event index of the block h into s.ix and its Bloom
// filter into s.bloom, and returns the index's view.
func (s *blockSearcher) readBlock(b *testing.B, h *search.DocumentMatch) eventIndex {
	var derr error
	found := 0
	s.stored(b, h, func(field string, value []byte) bool {
		switch field {
		case fieldEvents:
			s.ix, derr = s2.Decode(s.ix[:cap(s.ix)], value)
			found++
		case fieldBloom:
			s.bloom = append(s.bloom[:0], value...)
			found++
		}
		return found < 2
	})
	if derr != nil || found < 2 {
		b.Fatalf("block %s: read its event index and filter: %v (%d of 2)", h.ID, derr, found)
	}
	x, err := parseEventIndex(s.ix)
	if err != nil {
		b.Fatalf("block %s: %v", h.ID, err)
	}
	return x
}

// stored visits the stored fields of the block h from its segment by
// document number, as the store reads hits (hitByNumber), after checking
// its id; visit returns false to stop.
func (s *blockSearcher) stored(b *testing.B, h *search.DocumentMatch, visit func(field string, value []byte) bool) {
	if h.IndexInternalID == nil {
		b.Fatalf("block %s: no document number", h.ID)
	}
	n, off := h.IndexInternalID.Value(), uint64(0)
	for _, ss := range s.snap.Segments() {
		if n >= off+ss.Count() {
			off += ss.Count()
			continue
		}
		checked := false
		err := ss.Segment().VisitStoredFields(n-off, func(field string, _ byte, value []byte, _ []uint64) bool {
			if field == "_id" {
				checked = string(value) == h.ID
				return checked
			}
			return visit(field, value)
		})
		if err != nil || !checked {
			b.Fatalf("block %s: read its stored fields: %v (id checked %v)", h.ID, err, checked)
		}
		return
	}
	b.Fatalf("block %s: document %d not in the snapshot", h.ID, n)
}

// orderKey parses a block's _order (timeKey + seqKey of its newest event).
func orderKey(b *testing.B, v string) newestKey {
	t, err := strconv.ParseUint(v[:16], 16, 64)
	if err != nil {
		b.Fatal(err)
	}
	s, err := strconv.ParseUint(v[16:], 16, 64)
	if err != nil {
		b.Fatal(err)
	}
	return newestKey{t, s}
}

// truth parses files as ingestBlocks does, numbering the events from 1 in
// order, and tests each with the in-memory matchers ms: the keys of each
// one's matches, newest first, and the newest event time.
func truth(b *testing.B, files [][]byte, ms []matcher) (wants [][]newestKey, newest time.Time) {
	var p record.Parser
	wants = make([][]newestKey, len(ms))
	seq := uint64(0)
	for _, f := range files {
		for _, line := range gunzipLines(b, f) {
			ev, err := p.Parse(record.KindCloudTrail, line)
			if err != nil {
				b.Fatal(err)
			}
			seq++
			t, _ := indexedTime(&ev)
			newest = maxTime(newest, t)
			k, _ := strconv.ParseUint(timeKey(&ev), 16, 64)
			terms := newEventTerms(&ev)
			for i, m := range ms {
				if m(terms) {
					wants[i] = append(wants[i], newestKey{k, seq})
				}
			}
		}
	}
	for _, w := range wants {
		sortNewest(w)
	}
	return wants, newest
}

// sortNewest sorts keys newest first.
func sortNewest(keys []newestKey) {
	slices.SortFunc(keys, func(a, b newestKey) int {
		if b.less(a) {
			return -1
		}
		return 1
	})
}

// gunzipLines is the lines of the gzip file f.
func gunzipLines(b *testing.B, f []byte) [][]byte {
	zr, err := gzip.NewReader(bytes.NewReader(f))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Split(bytes.TrimSpace(raw), []byte{'\n'})
}

func (k newestKey) String() string { return fmt.Sprintf("%x/%d", k.time, k.seq) }
