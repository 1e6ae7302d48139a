package index

import (
	"context"
	"fmt"
	"math"
	"reflect"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/scorer"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"
)

// timeRangeQuery is a Bleve query: the events whose eventTime is in the
// range of date (its bounds as Bleve's date range search takes them).
//
// A shard made by a version that indexes fieldHour (every shard created
// since) answers it from the hour terms, with the events of the first and
// last hour tested against their sort keys (hoursPlan): its events carry
// no numeric eventTime to search, as Bleve's 16 prefix-coded terms a date
// were a ninth of the CPU and 480 bytes of each event's document. Older
// shards hold events without fieldHour; they are still written the
// numeric field (numericTime) and searched Bleve's way.
type timeRangeQuery struct {
	date *bquery.DateRangeQuery
}

func (q *timeRangeQuery) Searcher(ctx context.Context, i bindex.IndexReader, m mapping.IndexMapping, options search.SearcherOptions) (search.Searcher, error) {
	snap, ok := i.(*scorch.IndexSnapshot)
	if !ok || !hourlyMarked(i) {
		metricTimeRanges.WithLabelValues("numeric").Inc()
		return q.date.Searcher(ctx, i, m, options)
	}
	n, ok := hoursPlan(q.date, true)
	if !ok {
		// A bound Bleve refuses: its search says which.
		return q.date.Searcher(ctx, i, m, options)
	}
	metricTimeRanges.WithLabelValues("hours").Inc()
	if n.op == bmNone {
		return searcher.NewMatchNoneSearcher(i)
	}
	s := &bitmapSearcher{scorer: scorer.NewConstantScorer(1.0, q.date.Boost(), options)}
	var offset uint64
	for _, ss := range snap.Segments() {
		c, err := newBMSegment(ss)
		if err != nil {
			return nil, fmt.Errorf("time range: %w", err)
		}
		seg, err := c.hourSeg(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("time range: %w", err)
		}
		if !seg.bm.IsEmpty() {
			seg.offset = offset
			s.segs = append(s.segs, seg)
			s.count += seg.bm.GetCardinality()
		}
		offset += ss.Segment().Count()
	}
	if len(s.segs) == 0 {
		return searcher.NewMatchNoneSearcher(i)
	}
	return s, nil
}

// hourSeg returns the events of the hours of n (a bmHours node) less the
// deleted ones, and the test that takes out those of its first and last
// hour outside its exact bounds. The test runs on the events a search
// reaches: with a narrower clause beside the range, a few of the edge
// hours' events, where hours (for counting) reads every one's sort key.
// When the times of the edge hours are kept (edgetimes.go), the events
// are exact and there is no test.
func (c *bmSegment) hourSeg(ctx context.Context, n *bmNode) (bitmapSeg, error) {
	bm, err := c.hourTerms(ctx, n, nil)
	if err != nil || bm.IsEmpty() {
		return bitmapSeg{bm: bm}, err
	}
	if c.deleted != nil && !c.deleted.IsEmpty() {
		bm = roaring.AndNot(bm, c.deleted)
	}
	var first, last *edgeHour
	if n.lo != "" {
		if first, err = c.edge(ctx, n.from, bm); err != nil {
			return bitmapSeg{}, err
		}
	}
	if n.hi != "" {
		if string(n.to) == string(n.from) && first != nil {
			last = first // one hour: one time read for both bounds
		} else if last, err = c.edge(ctx, n.to, bm); err != nil {
			return bitmapSeg{}, err
		}
	}
	if first == nil && last == nil {
		return bitmapSeg{bm: bm}, nil
	}
	lo, _ := keyTime([]byte(n.lo))
	hi, _ := keyTime([]byte(n.hi))
	if (first == nil || first.kept != nil) && (last == nil || last.kept != nil) {
		// Every edge's times kept: the exact events, without a test.
		hiFirst := uint64(math.MaxUint64)
		if last == first {
			hiFirst = hi
		}
		exact, err := c.exactEdges(bm, n, first, last, lo, hiFirst, hi)
		return bitmapSeg{bm: exact}, err
	}
	return bitmapSeg{bm: bm, test: func(doc uint32) (bool, error) {
		if first != nil {
			t, in, err := first.time(doc)
			if err != nil || in {
				return err == nil && t >= lo && (last != first || t < hi), err
			}
		}
		if last != nil && last != first {
			t, in, err := last.time(doc)
			if err != nil || in {
				return err == nil && t < hi, err
			}
		}
		return true, nil
	}}, nil
}

// exactEdges returns bm, the events of n's hours, with those of its first
// hour (first) replaced by the ones in [lo, hiFirst) and those of its last
// (last, when another hour) by the ones before hi, from the kept times.
// Where a page's window lies within an hour or two, this is a few events
// found by binary search, where the test read every event of the hours.
func (c *bmSegment) exactEdges(bm *roaring.Bitmap, n *bmNode, first, last *edgeHour, lo, hiFirst, hi uint64) (*roaring.Bitmap, error) {
	out := bm
	replace := func(e *edgeHour, hour []byte, lo, hi uint64) error {
		all, err := c.bitmap(fieldHour, hour)
		if err != nil {
			return err
		}
		out = roaring.AndNot(out, all)
		out.Or(e.kept.between(lo, hi))
		return nil
	}
	if first != nil {
		if err := replace(first, n.from, lo, hiFirst); err != nil {
			return nil, err
		}
	}
	if last != nil && last != first {
		if err := replace(last, n.to, 0, hi); err != nil {
			return nil, err
		}
	}
	if c.deleted != nil && !c.deleted.IsEmpty() {
		out.AndNot(c.deleted) // deleted since the times were kept
	}
	return out, nil
}

// memberOf returns a test of whether a doc is in bm (false for nil bm).
// A search asks in increasing doc order, so an iterator that only moves
// forward answers in a step or two where Contains searches the container
// each time: on 10M events, Contains took 10 to 18% of the CPU of the
// newest pages of all events, whose window edges test every event of
// their hours.
func memberOf(bm *roaring.Bitmap) func(doc uint32) bool {
	if bm == nil {
		return func(uint32) bool { return false }
	}
	it := bm.Iterator()
	var prev uint32
	started := false
	return func(doc uint32) bool {
		if started && doc < prev {
			return bm.Contains(doc) // backwards: not by the iterator
		}
		started, prev = true, doc
		it.AdvanceIfNeeded(doc)
		return it.HasNext() && it.PeekNext() == doc
	}
}

// bitmapSeg is a segment's matches and the number of its first event in
// the snapshot: Bleve numbers a snapshot's events segment after segment,
// each segment's whole count (deleted ones too) in the order of
// IndexSnapshot.Segments.
type bitmapSeg struct {
	offset uint64
	bm     *roaring.Bitmap
	// test, when set, says whether an event of bm matches; bm then holds
	// more than the matches, and Count is an upper bound (Bleve orders a
	// conjunction's searchers by it).
	test func(doc uint32) (bool, error)
}

// bitmapSearcher is a Bleve searcher over matches computed up front, one
// bitmap per segment, in snapshot order.
type bitmapSearcher struct {
	segs   []bitmapSeg
	cur    int // segment of it
	it     roaring.IntPeekable
	count  uint64
	scorer *scorer.ConstantScorer
	id     bindex.IndexInternalID
}

var reflectStaticSizeBitmapSearcher = int(reflect.TypeFor[bitmapSearcher]().Size())

// next returns the first match from segment s.cur on at or after local
// doc (0 for its first), and ok false after the last.
func (s *bitmapSearcher) next(doc uint32) (uint64, bool, error) {
	for s.cur < len(s.segs) {
		sg := &s.segs[s.cur]
		if s.it == nil {
			s.it = sg.bm.Iterator()
		}
		s.it.AdvanceIfNeeded(doc)
		for s.it.HasNext() {
			d := s.it.Next()
			if sg.test != nil {
				ok, err := sg.test(d)
				if err != nil {
					return 0, false, err
				}
				if !ok {
					continue
				}
			}
			return sg.offset + uint64(d), true, nil
		}
		s.cur++
		s.it = nil
		doc = 0
	}
	return 0, false, nil
}

func (s *bitmapSearcher) match(ctx *search.SearchContext, n uint64, ok bool, err error) (*search.DocumentMatch, error) {
	if err != nil || !ok {
		return nil, err
	}
	s.id = bindex.NewIndexInternalID(s.id, n)
	return s.scorer.Score(ctx, s.id), nil
}

func (s *bitmapSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	n, ok, err := s.next(0)
	return s.match(ctx, n, ok, err)
}

func (s *bitmapSearcher) Advance(ctx *search.SearchContext, id bindex.IndexInternalID) (*search.DocumentMatch, error) {
	target := id.Value()
	// The segment holding target: the last starting at or before it.
	for s.cur+1 < len(s.segs) && s.segs[s.cur+1].offset <= target {
		s.cur++
		s.it = nil
	}
	if s.cur >= len(s.segs) {
		return nil, nil
	}
	doc := uint32(0)
	if off := s.segs[s.cur].offset; target > off {
		if d := target - off; d > uint64(s.segs[s.cur].bm.Maximum()) {
			// Past this segment's last match.
			s.cur++
			s.it = nil
		} else {
			doc = uint32(d)
		}
	}
	n, ok, err := s.next(doc)
	return s.match(ctx, n, ok, err)
}

func (s *bitmapSearcher) Close() error               { return nil }
func (s *bitmapSearcher) Weight() float64            { return s.scorer.Weight() }
func (s *bitmapSearcher) SetQueryNorm(n float64)     { s.scorer.SetQueryNorm(n) }
func (s *bitmapSearcher) Count() uint64              { return s.count }
func (s *bitmapSearcher) Min() int                   { return 0 }
func (s *bitmapSearcher) DocumentMatchPoolSize() int { return 1 }

func (s *bitmapSearcher) Size() int {
	n := reflectStaticSizeBitmapSearcher + s.scorer.Size()
	for _, sg := range s.segs {
		n += int(sg.bm.GetSizeInBytes())
	}
	return n
}
