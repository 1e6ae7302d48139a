package index

import (
	"context"
	"fmt"
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
	if !ok || !hourlyReader(i) {
		return q.date.Searcher(ctx, i, m, options)
	}
	n, ok := hoursPlan(q.date, true)
	if !ok {
		// A bound Bleve refuses: its search says which.
		return q.date.Searcher(ctx, i, m, options)
	}
	s := &bitmapSearcher{scorer: scorer.NewConstantScorer(1.0, q.date.Boost(), options)}
	var offset uint64
	for _, ss := range snap.Segments() {
		c, err := newBMSegment(ss)
		if err != nil {
			return nil, fmt.Errorf("time range: %w", err)
		}
		bm, err := c.matches(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("time range: %w", err)
		}
		if !bm.IsEmpty() {
			s.segs = append(s.segs, bitmapSeg{offset: offset, bm: bm})
			s.count += bm.GetCardinality()
		}
		offset += ss.Segment().Count()
	}
	if len(s.segs) == 0 {
		return searcher.NewMatchNoneSearcher(i)
	}
	return s, nil
}

// hourlyReader says whether a shard snapshot was made by a version that
// gives every event with an eventTime its fieldHour (see dictExact).
func hourlyReader(r bindex.IndexReader) bool {
	v, err := r.GetInternal(keyDictExact)
	return err == nil && len(v) > 0
}

// bitmapSeg is a segment's matches and the number of its first event in
// the snapshot: Bleve numbers a snapshot's events segment after segment,
// each segment's whole count (deleted ones too) in the order of
// IndexSnapshot.Segments.
type bitmapSeg struct {
	offset uint64
	bm     *roaring.Bitmap
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
func (s *bitmapSearcher) next(doc uint32) (uint64, bool) {
	for s.cur < len(s.segs) {
		if s.it == nil {
			s.it = s.segs[s.cur].bm.Iterator()
		}
		s.it.AdvanceIfNeeded(doc)
		if s.it.HasNext() {
			return s.segs[s.cur].offset + uint64(s.it.Next()), true
		}
		s.cur++
		s.it = nil
		doc = 0
	}
	return 0, false
}

func (s *bitmapSearcher) match(ctx *search.SearchContext, n uint64, ok bool) (*search.DocumentMatch, error) {
	if !ok {
		return nil, nil
	}
	s.id = bindex.NewIndexInternalID(s.id, n)
	return s.scorer.Score(ctx, s.id), nil
}

func (s *bitmapSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	n, ok := s.next(0)
	return s.match(ctx, n, ok)
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
	n, ok := s.next(doc)
	return s.match(ctx, n, ok)
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
