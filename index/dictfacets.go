package index

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Facets and histograms over all events are answered from term
// dictionaries when every shard counts exactly: a dictionary entry carries
// the number of documents holding the term, so a facet over all events
// reads a few hundred entries per segment instead of the doc values of
// every event (176 ms for 1M events), and a histogram reads one entry per
// hour and segment (fieldHour) instead of testing every event's time
// against every bucket (436 ms for 1M events).
//
// Bleve's dictionaries count deleted documents until a merge drops them.
// codetrail deletes only when it takes back a failed batch (undoChunk),
// which marks the shard; shards written before fieldHour existed are not
// marked exact. Either sends the search the usual way.

// shardView is a searchable shard and whether its dictionaries count its
// events exactly.
type shardView struct {
	idx    bleve.Index
	exact  func() bool
	hourly bool
	// newest bounds the eventTimes of the shard's partition from above;
	// zero for the current partition, whose events are still coming, and
	// for one without a time (see shardsFrom).
	newest time.Time
}

// publishShards publishes the shards of every partition for readers that
// take no lock; mu held (or the store not yet shared).
func (s *Store) publishShards() {
	v := []shardView{}
	var bv []blockShard
	for j, p := range s.parts {
		newest := p.maxTime
		if j == len(s.parts)-1 {
			newest = time.Time{}
		}
		if p.isBlocks() {
			for i, sh := range p.shards {
				bv = append(bv, blockShard{idx: sh, w: p.blocks[i]})
			}
			continue
		}
		for i, sh := range p.shards {
			v = append(v, shardView{idx: sh, exact: p.exact[i].Load, hourly: p.hourly[i], newest: newest})
		}
	}
	s.shardsView.Store(&v)
	s.blockView.Store(&bv)
}

// exactShards returns every shard when all count exactly, else nil.
func (s *Store) exactShards() []shardView {
	v := s.shardsView.Load()
	if v == nil {
		return nil
	}
	for _, sh := range *v {
		if !sh.exact() {
			return nil
		}
	}
	return *v
}

// allHourly reports whether every shard has fieldHour with doc values.
func (s *Store) allHourly() bool {
	v := s.shardsView.Load()
	if v == nil {
		return false
	}
	for _, sh := range *v {
		if !sh.hourly {
			return false
		}
	}
	return true
}

// eachDictEntry calls fn with every term of field from start to end
// (inclusive; nil for no bound) in one shard snapshot r, and the number of
// events holding it.
//
// The count comes from a term reader, not from the dictionary entry: zapx's
// dictionary iterator reuses one postings list, and after a term of one
// document (1-hit encoded, in merged segments of fields without term
// vectors) it reports 1 for every later term (blevesearch/zapx#445, open).
// A term reader reads each segment's postings afresh and leaves deleted
// events out.
func eachDictEntry(ctx context.Context, r bindex.IndexReader, field string, start, end []byte, fn func(term string, n uint64)) error {
	var d bindex.FieldDict
	var err error
	if start == nil && end == nil {
		d, err = r.FieldDict(field)
	} else {
		d, err = r.FieldDictRange(field, start, end)
	}
	if err != nil {
		return fmt.Errorf("read dictionary of %s: %w", field, err)
	}
	defer d.Close()
	var terms []string
	for {
		e, err := d.Next()
		if err != nil {
			return fmt.Errorf("read dictionary of %s: %w", field, err)
		}
		if e == nil {
			break
		}
		terms = append(terms, e.Term)
	}
	for i, t := range terms {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tr, err := r.TermFieldReader(ctx, []byte(t), field, false, false, false)
		if err != nil {
			return fmt.Errorf("read postings of %s: %w", field, err)
		}
		n := tr.Count()
		if err := tr.Close(); err != nil {
			return fmt.Errorf("read postings of %s: %w", field, err)
		}
		if n > 0 {
			fn(t, n)
		}
	}
	return nil
}

// shardReader opens a reader of the shard's current snapshot.
func shardReader(sh shardView) (bindex.IndexReader, error) {
	adv, err := sh.idx.Advanced()
	if err != nil {
		return nil, fmt.Errorf("open shard: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("open shard reader: %w", err)
	}
	return r, nil
}

// eachShardReader calls fn with a reader of each shard's current snapshot.
func eachShardReader(shards []shardView, fn func(r bindex.IndexReader) error) error {
	for _, sh := range shards {
		r, err := shardReader(sh)
		if err != nil {
			return err
		}
		err = fn(r)
		if cerr := r.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close shard reader: %w", cerr)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// dictFacets answers the facets of r over all events from the shards'
// dictionaries, as facetResults would from the search. Values are every
// term with its count (finishFacet cuts them to size). Every facet field
// is single-valued (singleValued), so the events missing it are those not
// counted under any term.
func dictFacets(ctx context.Context, counts *segCounts, shards []shardView, r SearchRequest) ([]FacetResult, error) {
	out := make([]FacetResult, len(r.Facets))
	byTerm := make([]map[string]int, len(r.Facets))
	fields := make([]string, len(r.Facets))
	for i, f := range r.Facets {
		field, err := facetField(f.Field)
		if err != nil {
			return nil, err
		}
		out[i].Field, byTerm[i], fields[i] = f.Field, map[string]int{}, field
	}
	var docs uint64
	seen := map[*scorch.SegmentSnapshot]bool{}
	err := counts.eachSegmentCount(ctx, shards, fields, func(ss *scorch.SegmentSnapshot, i int, tc []termCount) {
		if !seen[ss] {
			seen[ss] = true
			docs += ss.Count()
		}
		for _, c := range tc {
			byTerm[i][c.term] += int(c.n)
		}
	})
	if err != nil {
		return nil, err
	}
	for i, f := range r.Facets {
		with := 0
		for t, n := range byTerm[i] {
			out[i].Values = append(out[i].Values, FacetValue{Value: t, Count: n})
			with += n
		}
		out[i].Missing = int(docs) - min(with, int(docs))
		finishFacet(&out[i], f.Size)
	}
	return out, nil
}

// singleValued reports whether every facet of r is on a field an event
// holds at most one value of: the typed keyword fields, not resources.
func singleValued(r SearchRequest) bool {
	for _, f := range r.Facets {
		if name, err := facetField(f.Field); err != nil || name == multiResource {
			return false
		}
	}
	return true
}

// dictHistogram counts the events per bucket from the fieldHour
// dictionaries; every bucket is whole hours (hourlyHistogram). Only hours
// from start (inclusive) to end (exclusive) count, when set.
func dictHistogram(ctx context.Context, counts *segCounts, shards []shardView, starts []time.Time, iv time.Duration, start, end time.Time) ([]Bucket, error) {
	out := make([]Bucket, len(starts))
	for i, t := range starts {
		out[i].Start = t
	}
	if len(starts) == 0 {
		return out, nil
	}
	lo, hi := starts[0], starts[len(starts)-1].Add(iv)
	if !start.IsZero() && start.After(lo) {
		lo = start
	}
	if !end.IsZero() && end.Before(hi) {
		hi = end
	}
	if !hi.After(lo) {
		return out, nil
	}
	from, to := hourKey(lo), hourKey(hi.Add(-time.Hour))
	err := counts.eachSegmentCount(ctx, shards, []string{fieldHour}, func(_ *scorch.SegmentSnapshot, _ int, tc []termCount) {
		// tc is in term order, and hour keys sort as their hours do.
		i, _ := slices.BinarySearchFunc(tc, from, func(c termCount, k string) int { return strings.Compare(c.term, k) })
		for _, c := range tc[i:] {
			if c.term > to {
				break
			}
			h, ok := parseHourKey(c.term)
			if !ok || h.Before(lo) || !h.Before(hi) {
				continue
			}
			if b := int(h.Sub(starts[0]) / iv); b >= 0 && b < len(out) {
				out[b].Count += int(c.n)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hourlyHistogram reports whether a histogram with interval iv, from start
// to end (zero for none), is made of whole hours: bucket starts are
// multiples of iv since the zero time, which are whole hours when iv is.
func hourlyHistogram(iv time.Duration, start, end time.Time) bool {
	whole := func(t time.Time) bool { return t.IsZero() || t.Equal(t.Truncate(time.Hour)) }
	return iv > 0 && iv%time.Hour == 0 && whole(start) && whole(end)
}

// fromDictionaries answers what it can of r's facets and histogram over all
// events (q is match-all) from the dictionaries, and takes what it answered
// out of req. Facets need no time range (the dictionaries of facet fields
// know no time) and single-valued fields (a count of events per resource
// says nothing of how many have none); a histogram needs whole hours. It answers nothing when a
// shard does not count exactly.
func (s *Store) fromDictionaries(ctx context.Context, req *bleve.SearchRequest, r SearchRequest, starts []time.Time, iv time.Duration) ([]FacetResult, []Bucket, error) {
	facets := len(r.Facets) > 0 && r.Start.IsZero() && r.End.IsZero() && singleValued(r)
	hist := starts != nil && hourlyHistogram(iv, r.Start, r.End)
	if !facets && !hist {
		return nil, nil, nil
	}
	shards := s.exactShards()
	if shards == nil {
		metricDictAggregations.WithLabelValues("not_exact").Inc()
		return nil, nil, nil
	}
	var fr []FacetResult
	var buckets []Bucket
	var err error
	if facets {
		if fr, err = dictFacets(ctx, s.segCounts, shards, r); err != nil {
			return nil, nil, err
		}
		for i := range r.Facets {
			delete(req.Facets, facetName(i))
		}
		metricDictAggregations.WithLabelValues("facets").Inc()
	}
	if hist {
		if buckets, err = dictHistogram(ctx, s.segCounts, shards, starts, iv, r.Start, r.End); err != nil {
			return nil, nil, err
		}
		delete(req.Facets, histogramFacet)
		metricDictAggregations.WithLabelValues("histogram").Inc()
	}
	if len(req.Facets) == 0 {
		req.Facets = nil
	}
	return fr, buckets, nil
}

// dictTermCount counts the matches of a query of one term, without a time
// range, from the dictionaries: the count of a term is the number of events
// holding it, which is what the search would count by walking its
// postings (25,000 of them for an event name in 1M events). ok is false
// when q is anything else or a shard does not count exactly.
func (s *Store) dictTermCount(ctx context.Context, q bquery.Query, r SearchRequest) (uint64, bool, error) {
	tq, isTerm := q.(*bquery.TermQuery)
	if !isTerm || !r.Start.IsZero() || !r.End.IsZero() {
		return 0, false, nil
	}
	shards := s.exactShards()
	if shards == nil {
		return 0, false, nil
	}
	term := []byte(tq.Term)
	var n uint64
	err := eachShardReader(shards, func(rd bindex.IndexReader) error {
		return eachDictEntry(ctx, rd, tq.Field(), term, term, func(t string, c uint64) {
			if t == tq.Term {
				n += c
			}
		})
	})
	if err != nil {
		return 0, false, err
	}
	metricDictAggregations.WithLabelValues("count").Inc()
	return n, true, nil
}
