package index

import (
	"context"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// segCounts keeps, per segment and field, every term of the field with the
// number of events holding it, for the facets and histograms over all
// events (dictFacets, dictHistogram). A segment never changes once written
// and only merges replace it, so its counts are read from its postings
// once, not on every search: on a 10M-event index in 1 GiB, a facet over
// all events read the postings of each of its 222 segments and took 74 ms
// (median), most of it reading index files the page cache had dropped.
//
// Counts of a segment with deleted events are not kept (its deletions can
// grow while it lives); shards whose dictionaries count exactly have none.
// Entries of segments no longer in the index are dropped when a count over
// every shard finds them gone (sweep).
type segCounts struct {
	mu      sync.Mutex
	m       map[segment.Segment]map[string][]termCount
	entries int // terms kept, over all segments and fields
	// unkept holds the fields of segments whose counts were read for
	// keptTerms and not kept (too many terms, or no room left), so that
	// it does not read them again on every search.
	unkept map[segment.Segment]map[string]struct{}
}

// termCount is a term and the number of events holding it.
type termCount struct {
	term string
	n    uint64
}

// Bounds of what segCounts keeps. A field of many values in one segment
// (user ARNs, source addresses) is counted afresh each time: keeping it
// would cost more memory than the read it saves. 256Ki terms take about
// 16 MB.
const (
	segCountsFieldTerms = 4096
	segCountsMaxTerms   = 256 << 10
)

func newSegCounts() *segCounts {
	return &segCounts{m: map[segment.Segment]map[string][]termCount{}, unkept: map[segment.Segment]map[string]struct{}{}}
}

// keptTerms is terms for a search that has another way to the same
// answer (the dictionary): the kept counts, or read and kept now, and
// false when they could not be kept. The caller must know that ss has no
// deleted events, whose counts are never kept.
func (c *segCounts) keptTerms(ctx context.Context, ss *scorch.SegmentSnapshot, field string) ([]termCount, bool, error) {
	seg := ss.Segment()
	c.mu.Lock()
	tc, ok := c.m[seg][field]
	_, unkept := c.unkept[seg][field]
	full := c.entries >= segCountsMaxTerms
	c.mu.Unlock()
	switch {
	case ok:
		metricSegCounts.WithLabelValues("hit").Inc()
		return tc, true, nil
	case unkept || full:
		return nil, false, nil
	}
	tc, err := c.terms(ctx, ss, field)
	if err != nil {
		return nil, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, kept := c.m[seg][field]; !kept {
		if c.unkept[seg] == nil {
			c.unkept[seg] = map[string]struct{}{}
		}
		c.unkept[seg][field] = struct{}{}
	}
	return tc, true, nil
}

// terms returns every term of field in ss with its count of events,
// deleted ones left out, in term order. The slice is shared: never modify
// it.
func (c *segCounts) terms(ctx context.Context, ss *scorch.SegmentSnapshot, field string) ([]termCount, error) {
	seg := ss.Segment()
	c.mu.Lock()
	tc, ok := c.m[seg][field]
	c.mu.Unlock()
	if ok {
		metricSegCounts.WithLabelValues("hit").Inc()
		return tc, nil
	}
	metricSegCounts.WithLabelValues("miss").Inc()
	bs, err := newBMSegment(ss)
	if err != nil {
		return nil, err
	}
	var terms []string
	err = bs.eachTerm(ctx, field, nil, nil, func(t string, _ uint64) error {
		terms = append(terms, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	deleted := bs.deleted != nil && !bs.deleted.IsEmpty()
	tc = make([]termCount, 0, len(terms))
	for i, t := range terms {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		// The count comes from the postings, not the dictionary entry
		// (blevesearch/zapx#445; see eachDictEntry).
		bm, one, isOne, err := bs.postings(field, []byte(t), true)
		if err != nil {
			return nil, err
		}
		var n uint64
		switch {
		case isOne:
			if !deleted || !bs.deleted.Contains(one) {
				n = 1
			}
		case deleted:
			n = bm.GetCardinality() - bm.AndCardinality(bs.deleted)
		default:
			n = bm.GetCardinality()
		}
		if n > 0 {
			tc = append(tc, termCount{term: t, n: n})
		}
	}
	if !deleted && len(tc) <= segCountsFieldTerms {
		c.mu.Lock()
		if c.entries+len(tc) <= segCountsMaxTerms {
			if c.m[seg] == nil {
				c.m[seg] = map[string][]termCount{}
			}
			if _, ok := c.m[seg][field]; !ok {
				c.m[seg][field] = tc
				c.entries += len(tc)
			}
		}
		c.mu.Unlock()
	}
	return tc, nil
}

// sweep drops the counts of every segment not in live, which holds every
// segment of every shard's snapshot.
func (c *segCounts) sweep(live map[segment.Segment]struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for seg, fields := range c.m {
		if _, ok := live[seg]; ok {
			continue
		}
		for _, tc := range fields {
			c.entries -= len(tc)
		}
		delete(c.m, seg)
	}
	for seg := range c.unkept {
		if _, ok := live[seg]; !ok {
			delete(c.unkept, seg)
		}
	}
}

// eachSegmentCount calls fn with every segment of every shard and the
// terms of field in it with their counts (segCounts.terms), then drops the
// counts of segments gone from the shards.
func (c *segCounts) eachSegmentCount(ctx context.Context, shards []shardView, fields []string, fn func(ss *scorch.SegmentSnapshot, field int, tc []termCount)) error {
	live := map[segment.Segment]struct{}{}
	err := withSnapshots(shards, func(snaps []*scorch.IndexSnapshot) error {
		for _, snap := range snaps {
			for _, ss := range snap.Segments() {
				live[ss.Segment()] = struct{}{}
				for i, field := range fields {
					tc, err := c.terms(ctx, ss, field)
					if err != nil {
						return err
					}
					fn(ss, i, tc)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.sweep(live)
	return nil
}
