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
	bquery "github.com/blevesearch/bleve/v2/search/query"
	"github.com/klauspost/compress/s2"

	"github.com/codetrail/codetrail/index/record"
)

// blockQuery is a boolean query of exact terms, as BenchmarkBlockNewest
// runs it on block documents: a term, or the AND, OR or NOT of others.
type blockQuery struct {
	op           byte // 't', '&', '|', '!'
	field, value string
	kids         []blockQuery
}

func bqTerm(field, value string) blockQuery { return blockQuery{op: 't', field: field, value: value} }
func bqAnd(k ...blockQuery) blockQuery      { return blockQuery{op: '&', kids: k} }
func bqOr(k ...blockQuery) blockQuery       { return blockQuery{op: '|', kids: k} }
func bqNot(k blockQuery) blockQuery         { return blockQuery{op: '!', kids: []blockQuery{k}} }

// candidates is the Bleve query finding the blocks that may hold a match:
// nil when every block may (a NOT, whose blocks may hold events without
// the term).
func (q blockQuery) candidates() bquery.Query {
	switch q.op {
	case 't':
		t := bquery.NewTermQuery(q.value)
		t.SetField(q.field)
		return t
	case '&':
		var qs []bquery.Query
		for _, k := range q.kids {
			if c := k.candidates(); c != nil {
				qs = append(qs, c)
			}
		}
		if len(qs) == 0 {
			return nil
		}
		return bquery.NewConjunctionQuery(qs)
	case '|':
		var qs []bquery.Query
		for _, k := range q.kids {
			c := k.candidates()
			if c == nil {
				return nil
			}
			qs = append(qs, c)
		}
		return bquery.NewDisjunctionQuery(qs)
	}
	return nil
}

// in is the set of events of the block whose event index is x matching q.
func (q blockQuery) in(b *testing.B, x eventIndex) eventSet {
	var s eventSet
	switch q.op {
	case 't':
		var err error
		if s, _, err = x.lookup(termHash(q.field, []byte(q.value))); err != nil {
			b.Fatal(err)
		}
	case '&':
		s = q.kids[0].in(b, x)
		for _, k := range q.kids[1:] {
			s = s.and(k.in(b, x))
		}
	case '|':
		for _, k := range q.kids {
			s = s.or(k.in(b, x))
		}
	case '!':
		s = x.all().andNot(q.kids[0].in(b, x))
	}
	return s
}

// newestKey is an event's place in newest-first order: its time as
// timeKey encodes it, then its sequence number.
type newestKey struct{ time, seq uint64 }

func (a newestKey) less(b newestKey) bool {
	return a.time < b.time || a.time == b.time && a.seq < b.seq
}

// BenchmarkBlockNewest measures the read side of the block layout on a
// real index of block documents (one shard, blocks of 256 with their
// event indexes, word counts beside the index, Bleve's merge floor at 8
// documents): the 50 newest events of the harness's queries of exact
// terms, as a block store would find them. Bleve finds the candidate
// blocks, newest block first by their _order doc values; each block's
// event index gives the events matching the whole query (NOT included) and
// their sort keys; reading stops once the next block's newest event is
// older than the 50th kept. It first checks, for each query, that the 50
// found are the 50 newest matching events and that reading every
// candidate block finds every match, against the service's in-memory
// matcher (the live subscribers' one) run on each event.
// Reports the median and 99th percentile of a search, and the blocks read.
// Queries of words would find their blocks through a filter sliced across
// blocks (BenchmarkBlockCounts) and are not run here.
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
	// Each query in the query language, for the service's own matcher to
	// give the expected matches, and as blocks would run it.
	queries := []struct {
		name, query string
		q           blockQuery
		week        bool // the 7 days before the newest event only
		since       time.Time
		want        []newestKey
	}{
		{name: "eventName", query: "eventName:StartBuild", q: bqTerm("eventName", "StartBuild")},
		{name: "source+name+7d", query: "eventSource:codepipeline.amazonaws.com AND eventName:StartPipelineExecution",
			q: bqAnd(bqTerm("eventSource", "codepipeline.amazonaws.com"), bqTerm("eventName", "StartPipelineExecution")), week: true},
		{name: "resource", query: "resource:MyFirstPipeline", q: bqTerm(multiResource, "MyFirstPipeline")},
		{name: "not-exists", query: "service:codepipeline AND (eventName:UpdatePipeline OR eventName:DeletePipeline) AND NOT errorCode:*",
			q: bqAnd(bqTerm("service", "codepipeline"), bqOr(bqTerm("eventName", "UpdatePipeline"), bqTerm("eventName", "DeletePipeline")), bqNot(bqTerm(fieldExists, "errorCode")))},
		{name: "errorCode-exists", query: "errorCode:*", q: bqTerm(fieldExists, "errorCode")},
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
			queries[i].since = week
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
			s := &blockSearcher{idx: idx, snap: snap, q: tc.q, since: tc.since}
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
			b.ReportMetric(float64(len(want)), "matches")
		})
	}
}

// blockSearcher runs one query on BenchmarkBlockNewest's block index.
type blockSearcher struct {
	idx   bleve.Index
	snap  *scorch.IndexSnapshot // the quiet index's segments, for stored fields
	q     blockQuery
	since time.Time
	ix    []byte
}

// newest returns the keys of the size newest events matching s's query,
// newest first (every match if size < 0), and the blocks it read.
func (s *blockSearcher) newest(b *testing.B, size int) (keys []newestKey, read int) {
	var q bquery.Query = bquery.NewMatchAllQuery()
	var must []bquery.Query
	if c := s.q.candidates(); c != nil {
		must = append(must, c)
	}
	if !s.since.IsZero() {
		// A block's eventTime terms are its oldest and newest: one at or
		// after since is a block that may hold an event since then.
		r := bquery.NewDateRangeQuery(s.since, time.Time{})
		r.SetField(fieldTime)
		must = append(must, r)
	}
	if len(must) > 0 {
		q = bquery.NewConjunctionQuery(must)
	}
	cut := newestKey{}
	if !s.since.IsZero() {
		cut.time = uint64(s.since.UnixNano()) ^ 1<<63
	}
	// Blocks by their newest event, newest first: their ids and sort
	// values only; the event index is read from the block's stored fields
	// for the blocks taken.
	for from, page := 0, 64; ; from, page = from+page, 1024 {
		req := bleve.NewSearchRequestOptions(q, page, from, false)
		req.SortBy([]string{"-" + fieldOrder})
		res, err := s.idx.SearchInContext(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range res.Hits {
			if size >= 0 && len(keys) >= size && orderKey(b, h.Sort[0]).less(keys[size-1]) {
				return keys, read
			}
			x := s.readEvents(b, h)
			read++
			s.q.in(b, x).each(func(o int) {
				ek := x.key(o)
				if k := (newestKey{uint64(ek.nanos) ^ 1<<63, ek.seq}); !k.less(cut) {
					keys = append(keys, k)
				}
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

// readEvents decodes the event index of the block h into s.ix, from its
// segment's stored fields by document number, as the store reads hits
// (hitByNumber), and returns its view.
func (s *blockSearcher) readEvents(b *testing.B, h *search.DocumentMatch) eventIndex {
	if h.IndexInternalID == nil {
		b.Fatalf("block %s: no document number", h.ID)
	}
	n, off := h.IndexInternalID.Value(), uint64(0)
	for _, ss := range s.snap.Segments() {
		if n >= off+ss.Count() {
			off += ss.Count()
			continue
		}
		var checked, found bool
		var derr error
		err := ss.Segment().VisitStoredFields(n-off, func(field string, _ byte, value []byte, _ []uint64) bool {
			switch field {
			case "_id":
				checked = string(value) == h.ID
				return checked
			case fieldEvents:
				s.ix, derr = s2.Decode(s.ix[:cap(s.ix)], value)
				found = true
				return false
			}
			return true
		})
		if err != nil || derr != nil || !checked || !found {
			b.Fatalf("block %s: read its event index: %v %v (id %v, index %v)", h.ID, err, derr, checked, found)
		}
		x, err := parseEventIndex(s.ix)
		if err != nil {
			b.Fatalf("block %s: %v", h.ID, err)
		}
		return x
	}
	b.Fatalf("block %s: document %d not in the snapshot", h.ID, n)
	return eventIndex{}
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
