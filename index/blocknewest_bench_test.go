package index

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

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
		// Counted instead of paged, as the harness's facets and
		// histograms are: a facet on eventName, or daily buckets.
		facet, days bool
		want        []string // order keys, newest first
	}{
		{name: "eventName", query: "eventName:StartBuild"},
		{name: "source+name+7d", query: "eventSource:codepipeline.amazonaws.com AND eventName:StartPipelineExecution", week: true},
		{name: "word", query: "AccessDenied"},
		{name: "resource", query: "resource:MyFirstPipeline"},
		{name: "not-exists", query: "service:codepipeline AND (eventName:UpdatePipeline OR eventName:DeletePipeline) AND NOT errorCode:*"},
		{name: "wildcard", query: "userIdentity.arn:*JaneDoe*"},
		{name: "errorCode-exists", query: "errorCode:*"},
		{name: "count/facet-all", query: "", facet: true},
		{name: "count/days-all", query: "", days: true},
		{name: "count/facet-errors", query: "errorCode:*", facet: true},
		{name: "count/days-service", query: "service:codedeploy", days: true},
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
			cut := nanosKey(week.UnixNano()) + seqKey(0)
			queries[i].want = slices.DeleteFunc(wants[i], func(k string) bool { return k < cut })
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
			if tc.facet || tc.days {
				benchCounts(b, s, tc.facet, newest, want)
				return
			}
			all, _ := s.newest(b, len(want)+1)
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

// benchCounts measures counting the matches of s's query with a facet on
// eventName or daily buckets over the 30 days to newest, after checking the
// total and the facet's or buckets' sum against want (the matches).
func benchCounts(b *testing.B, s *blockSearcher, facet bool, newest time.Time, want []string) {
	run, stored := s.search, s.stored
	day := 24 * time.Hour
	r := blockCountRequest{}
	inCounts := len(want) // the matches the facet or the buckets count
	if facet {
		r.fields = []int{blockColumn("eventName")}
	} else {
		r.start, r.iv, r.buckets = newest.UTC().Truncate(day).Add(-29*day), day, 30
		from := nanosKey(r.start.UnixNano())
		inCounts = len(slices.DeleteFunc(slices.Clone(want), func(k string) bool { return k < from }))
	}
	cs, err := s.plan.counts(context.Background(), run, stored, r)
	if err != nil {
		b.Fatal(err)
	}
	sum := 0
	if facet {
		sum = cs.facets[0].missing
		for _, n := range cs.facets[0].values {
			sum += n
		}
	} else {
		for _, n := range cs.buckets {
			sum += n
		}
	}
	if cs.total != uint64(len(want)) || sum != inCounts {
		b.Fatalf("counted %d matches, %d in the facet or buckets; want %d and %d", cs.total, sum, len(want), inCounts)
	}
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := s.plan.counts(context.Background(), run, stored, r); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(cs.total), "matches")
}

// blockSearcher runs one query on BenchmarkBlockNewest's block index.
type blockSearcher struct {
	idx    bleve.Index
	snap   *scorch.IndexSnapshot // the quiet index's segments, for stored fields
	plan   *blockPlan
	parsed int // records the plan parsed
}

// search runs a search over the blocks.
func (s *blockSearcher) search(ctx context.Context, r *bleve.SearchRequest) (*bleve.SearchResult, error) {
	return s.idx.SearchInContext(ctx, r)
}

// stored reads a block by its document number in the quiet index.
func (s *blockSearcher) stored(m *search.DocumentMatch, fn storedVisit) error {
	if ok, err := visitByNumber(s.snap, m, plainVisit(fn)); !ok || err != nil {
		return fmt.Errorf("block %s: read its stored fields: %v (found %v)", m.ID, err, ok)
	}
	return nil
}

// newest returns the order keys of the size newest events matching s's
// query, newest first, and the blocks whose event index it read.
func (s *blockSearcher) newest(b *testing.B, size int) (keys []string, read int) {
	run, stored := s.search, s.stored
	pg, err := s.plan.page(context.Background(), run, stored, true, size, "")
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range pg.matches {
		keys = append(keys, orderKey(m.key))
	}
	s.parsed += pg.parsed
	return keys, pg.read
}

// truth parses files as ingestBlocks does, numbering the events from 1 in
// order, and tests each with the in-memory matchers ms: the keys of each
// one's matches, newest first, and the newest event time.
func truth(b *testing.B, files [][]byte, ms []matcher) (wants [][]string, newest time.Time) {
	var p record.Parser
	wants = make([][]string, len(ms))
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
			k := timeKey(&ev) + seqKey(seq)
			terms := newEventTerms(&ev)
			for i, m := range ms {
				if m(terms) {
					wants[i] = append(wants[i], k)
				}
			}
		}
	}
	for _, w := range wants {
		slices.Sort(w)
		slices.Reverse(w)
	}
	return wants, newest
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
