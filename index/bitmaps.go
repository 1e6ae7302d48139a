package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/numeric"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Facets, histograms and counts of a query made of exact terms (event
// names, sources, accounts, _exists_, ids, whole-hour time ranges, and any
// AND, OR and NOT of them) are counted on the segments' postings bitmaps
// instead of per match. Bleve walks every match and reads its doc values:
// about 0.3 µs a match, 33 ms for a facet over the 100,000 errors of 1M
// events. Here the query becomes one bitmap per segment (ANDs and ORs of
// its terms' postings, less the deleted events), and a facet value counts
// as the size of its postings' intersection with that bitmap, which
// roaring computes a container (up to 65,536 events) at a time without
// building it. A histogram does the same with the hour terms (fieldHour).
//
// Deleted events are taken out of the bitmap, so unlike the dictionary
// counts (dictfacets.go) these are exact in every shard. A query with any
// other part (words, phrases, wildcards, ranges on values, a time range
// that is not whole hours) is answered the usual way.

// bmOp is what a bmNode computes.
type bmOp int

const (
	bmAll    bmOp = iota // every event
	bmNone               // no event
	bmTerm               // the events holding term in field
	bmIDs                // the events with these ids
	bmHours              // the events whose fieldHour is from..to (inclusive; nil for no bound) and whose sort key is from lo (inclusive) to hi (exclusive; "" for no bound)
	bmAnd                // every kid
	bmOr                 // any kid
	bmAndNot             // kids[0] but not kids[1]
)

// bmNode is a query compiled for postings bitmaps.
type bmNode struct {
	op       bmOp
	field    string
	term     []byte
	ids      []string
	from, to []byte
	lo, hi   string
	kids     []*bmNode
}

// bitmapPlan compiles q for postings bitmaps; ok is false when some part
// of it cannot be. hourly says whether every shard has fieldHour, which a
// time range needs.
func bitmapPlan(q bquery.Query, hourly bool) (n *bmNode, ok bool) {
	switch q := q.(type) {
	case *bquery.MatchAllQuery:
		return &bmNode{op: bmAll}, true
	case *bquery.MatchNoneQuery:
		return &bmNode{op: bmNone}, true
	case *bquery.TermQuery:
		if q.Field() == "" {
			return nil, false
		}
		return &bmNode{op: bmTerm, field: q.Field(), term: []byte(q.Term)}, true
	case *bquery.DocIDQuery:
		return &bmNode{op: bmIDs, ids: q.IDs}, true
	case *bquery.ConjunctionQuery:
		return bitmapList(bmAnd, q.Conjuncts, hourly)
	case *bquery.DisjunctionQuery:
		if q.Min > 1 {
			return nil, false
		}
		return bitmapList(bmOr, q.Disjuncts, hourly)
	case *bquery.BooleanQuery:
		// The compiler writes no Should or Filter; with a Should, Bleve's
		// semantics depend on Must and Min, which this does not follow.
		if q.Should != nil || q.Filter != nil {
			return nil, false
		}
		must := &bmNode{op: bmAll}
		if q.Must != nil {
			if must, ok = bitmapPlan(q.Must, hourly); !ok {
				return nil, false
			}
		}
		if q.MustNot == nil {
			return must, true
		}
		not, ok := bitmapPlan(q.MustNot, hourly)
		if !ok {
			return nil, false
		}
		return &bmNode{op: bmAndNot, kids: []*bmNode{must, not}}, true
	case *timeRangeQuery:
		return hoursPlan(q.date, hourly)
	}
	return nil, false
}

// bitmapList compiles the clauses of a conjunction or disjunction. Bleve
// matches nothing for either without clauses.
func bitmapList(op bmOp, qs []bquery.Query, hourly bool) (*bmNode, bool) {
	if len(qs) == 0 {
		return &bmNode{op: bmNone}, true
	}
	n := &bmNode{op: op}
	for _, q := range qs {
		k, ok := bitmapPlan(q, hourly)
		if !ok {
			return nil, false
		}
		n.kids = append(n.kids, k)
	}
	return n, true
}

// hoursPlan compiles a range on eventTime to the hour terms holding it.
// The first and last of those hours may hold events outside the range
// (unless it starts or ends on a whole hour): lo and hi are its exact
// bounds as sort keys, which those hours' events are tested against.
// Bounds are taken as Bleve's numeric range search takes them (timeMatcher
// mirrors the same): an open bound is ±Inf as a float64, whose bits as
// nanoseconds stop 52 days short of the times Bleve indexes. Events
// without eventTime have no hour term, as they have no time for the range
// to match. ok is false for a bound Bleve refuses, for its search to say
// so.
func hoursPlan(q *bquery.DateRangeQuery, hourly bool) (n *bmNode, ok bool) {
	if !hourly || q.FieldVal != fieldTime {
		return nil, false
	}
	fmin, fmax := math.Inf(-1), math.Inf(1)
	for _, b := range []struct {
		t time.Time
		f *float64
	}{{q.Start.Time, &fmin}, {q.End.Time, &fmax}} {
		if b.t.IsZero() {
			continue
		}
		if b.t.Before(bquery.MinRFC3339CompatibleTime) || b.t.After(bquery.MaxRFC3339CompatibleTime) {
			return nil, false
		}
		*b.f = numeric.Int64ToFloat64(b.t.UnixNano())
	}
	lo, hi := numeric.Float64ToInt64(fmin), numeric.Float64ToInt64(fmax) // hi exclusive
	if q.InclusiveStart != nil && !*q.InclusiveStart && lo != math.MaxInt64 {
		lo++
	}
	if q.InclusiveEnd != nil && *q.InclusiveEnd && hi != math.MaxInt64 {
		hi++
	}
	if hi <= lo {
		return &bmNode{op: bmNone}, true
	}
	n = &bmNode{op: bmHours, from: []byte(hourKey(time.Unix(0, lo))), to: []byte(hourKey(time.Unix(0, hi-1)))}
	if !wholeHour(lo) {
		n.lo = nanosKey(lo)
	}
	if !wholeHour(hi) {
		n.hi = nanosKey(hi)
	}
	return n, true
}

// wholeHour says whether ns nanoseconds from 1970 is the start of an hour.
func wholeHour(ns int64) bool { return ns%int64(time.Hour) == 0 }

// nanosKey is the sort key (fieldOrder) before which the events earlier
// than ns nanoseconds from 1970 sort: the time part of timeKey.
func nanosKey(ns int64) string { return fmt.Sprintf("%016x", uint64(ns)^(1<<63)) }

// errNoBitmaps is returned for a segment whose postings do not expose their
// bitmaps (a segment format other than zap's).
var errNoBitmaps = errors.New("segment postings have no bitmaps")

// bmSegment evaluates bitmap plans on one segment of a shard snapshot.
type bmSegment struct {
	seg     segment.Segment
	ss      *scorch.SegmentSnapshot
	deleted *roaring.Bitmap // nil or empty when none
	dv      segment.DocValueVisitable
	dvs     segment.DocVisitState
	// The sort key sortKey's visitor read, and that visitor, made once.
	key      []byte
	visitKey func(field string, term []byte)
	dicts    map[string]segment.TermDictionary
	// Reused by postings for the terms it counts, which saves two
	// allocations a term.
	pl segment.PostingsList
	pi segment.PostingsIterator
}

// newBMSegment returns the bmSegment of a snapshot's segment.
func newBMSegment(ss *scorch.SegmentSnapshot) (*bmSegment, error) {
	dv, ok := ss.Segment().(segment.DocValueVisitable)
	if !ok {
		return nil, errNoBitmaps
	}
	return &bmSegment{seg: ss.Segment(), ss: ss, deleted: ss.Deleted(), dv: dv}, nil
}

// keys calls fn with the sort key (fieldOrder) of every event of bm.
func (c *bmSegment) keys(bm *roaring.Bitmap, fn func(doc uint32, key []byte)) error {
	it := bm.Iterator()
	for it.HasNext() {
		doc := it.Next()
		key, err := c.sortKey(doc)
		if err != nil {
			return err
		}
		fn(doc, key)
	}
	return nil
}

// sortKey reads the sort key (fieldOrder) of event doc. The key is valid
// until the next read.
func (c *bmSegment) sortKey(doc uint32) ([]byte, error) {
	if c.visitKey == nil {
		c.visitKey = func(_ string, term []byte) { c.key = term }
	}
	c.key = nil
	var err error
	if c.dvs, err = c.dv.VisitDocValues(uint64(doc), orderFields, c.visitKey, c.dvs); err != nil {
		return nil, fmt.Errorf("read sort key: %w", err)
	}
	if c.key == nil {
		return nil, fmt.Errorf("read sort key: event %d of a segment has none", doc)
	}
	return c.key, nil
}

var orderFields = []string{fieldOrder}

func (c *bmSegment) dict(field string) (segment.TermDictionary, error) {
	if d, ok := c.dicts[field]; ok {
		return d, nil
	}
	d, err := c.seg.Dictionary(field)
	if err != nil {
		return nil, fmt.Errorf("read dictionary of %s: %w", field, err)
	}
	if c.dicts == nil {
		c.dicts = map[string]segment.TermDictionary{}
	}
	c.dicts[field] = d
	return d, nil
}

// postings returns the events of the segment holding term in field,
// deleted ones included: a bitmap, or for a term of one event (which zap
// encodes without one) that event. The bitmap may be the segment's own:
// never modify it. With reuse, it is only good until the next call.
func (c *bmSegment) postings(field string, term []byte, reuse bool) (bm *roaring.Bitmap, one uint32, isOne bool, err error) {
	d, err := c.dict(field)
	if err != nil {
		return nil, 0, false, err
	}
	var pl segment.PostingsList
	var pi segment.PostingsIterator
	if reuse {
		pl, pi = c.pl, c.pi
	}
	if pl, err = d.PostingsList(term, nil, pl); err != nil {
		return nil, 0, false, fmt.Errorf("read postings of %s: %w", field, err)
	}
	pi = pl.Iterator(false, false, false, pi)
	if reuse {
		c.pl, c.pi = pl, pi
	}
	it, ok := pi.(segment.OptimizablePostingsIterator)
	if !ok {
		return nil, 0, false, errNoBitmaps
	}
	if n, ok := it.DocNum1Hit(); ok {
		return nil, uint32(n), true, nil
	}
	if bm := it.ActualBitmap(); bm != nil {
		return bm, 0, false, nil
	}
	return emptyBitmap, 0, false, nil
}

// emptyBitmap is an empty bitmap, never modified.
var emptyBitmap = roaring.New()

// bitmap is what postings returns, as a bitmap (one to keep).
func (c *bmSegment) bitmap(field string, term []byte) (*roaring.Bitmap, error) {
	bm, one, isOne, err := c.postings(field, term, false)
	if isOne {
		return roaring.BitmapOf(one), nil
	}
	return bm, err
}

// matchCounter counts how many of a segment's matches hold a term. Roaring
// intersects two sparse containers by merging them, in time growing with
// both: counting a few hundred facet values against 36,000 matches walks
// the matches a few hundred times. When that costs more than reading every
// value's postings once, the matches become a dense bitset, which each
// posting tests in one step.
type matchCounter struct {
	match *roaring.Bitmap
	bits  []uint64 // match, when counting by bitset
	buf   []uint32
}

// newCounter prepares to count against match, the matches of a segment
// of docs events, for terms terms in all.
func newCounter(match *roaring.Bitmap, docs uint64, terms int) *matchCounter {
	c := &matchCounter{match: match}
	if uint64(terms)*match.GetCardinality() <= docs {
		return c
	}
	c.bits = make([]uint64, (docs+63)/64)
	c.buf = make([]uint32, 512)
	it := match.ManyIterator()
	for n := it.NextMany(c.buf); n > 0; n = it.NextMany(c.buf) {
		for _, d := range c.buf[:n] {
			if int(d>>6) < len(c.bits) {
				c.bits[d>>6] |= 1 << (d & 63)
			}
		}
	}
	return c
}

// has says whether d is a match.
func (k *matchCounter) has(d uint32) bool {
	if k.bits == nil {
		return k.match.Contains(d)
	}
	return int(d>>6) < len(k.bits) && k.bits[d>>6]>>(d&63)&1 != 0
}

// countIn counts the matches holding term in field.
func (c *bmSegment) countIn(k *matchCounter, field string, term []byte) (uint64, error) {
	bm, one, isOne, err := c.postings(field, term, true)
	if err != nil {
		return 0, err
	}
	return k.count(bm, one, isOne), nil
}

// count counts the matches in bm, or in {one} when isOne.
func (k *matchCounter) count(bm *roaring.Bitmap, one uint32, isOne bool) uint64 {
	switch {
	case isOne && k.match.Contains(one):
		return 1
	case isOne:
		return 0
	case k.bits == nil:
		return k.match.AndCardinality(bm)
	}
	var n uint64
	it := bm.ManyIterator()
	for got := it.NextMany(k.buf); got > 0; got = it.NextMany(k.buf) {
		for _, d := range k.buf[:got] {
			if int(d>>6) < len(k.bits) {
				n += k.bits[d>>6] >> (d & 63) & 1
			}
		}
	}
	return n
}

// everyTerm matches every term: a dictionary walk bounded by keys only.
type everyTerm struct{}

func (everyTerm) Start() int               { return 0 }
func (everyTerm) IsMatch(int) bool         { return true }
func (everyTerm) CanMatch(int) bool        { return true }
func (everyTerm) WillAlwaysMatch(int) bool { return true }
func (everyTerm) Accept(int, byte) int     { return 0 }

// eachTerm calls fn with every term of field in the segment from from to
// to (inclusive; nil for no bound), and the number of events holding it,
// deleted ones included.
func (c *bmSegment) eachTerm(ctx context.Context, field string, from, to []byte, fn func(term string, events uint64) error) error {
	return c.eachTermBefore(ctx, field, from, justPast(to), fn)
}

// justPast is the first key after k (nil for nil): k and a zero byte.
func justPast(k []byte) []byte {
	if k == nil {
		return nil
	}
	return append(append([]byte(nil), k...), 0)
}

// eachTermBefore is eachTerm up to end, exclusive.
func (c *bmSegment) eachTermBefore(ctx context.Context, field string, from, end []byte, fn func(term string, events uint64) error) error {
	d, err := c.dict(field)
	if err != nil {
		return err
	}
	it := d.AutomatonIterator(everyTerm{}, from, end)
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e, err := it.Next()
		if err != nil {
			return fmt.Errorf("read dictionary of %s: %w", field, err)
		}
		if e == nil {
			return nil
		}
		if err := fn(e.Term, e.Count); err != nil {
			return err
		}
	}
}

// hours returns the events of within (all events when nil) whose hour is
// in n's range. A range covering most of a segment's hours (a week of a
// week of events) is every event with a time less those of the few hours
// outside it: far fewer postings to read than the union of the hours
// inside, and nothing to read when no hour is outside.
func (c *bmSegment) hours(ctx context.Context, n *bmNode, within *roaring.Bitmap) (*roaring.Bitmap, error) {
	bm, err := c.hourTerms(ctx, n, within)
	if err != nil || bm.IsEmpty() {
		return bm, err
	}
	// The events of the first and last hour outside the exact bounds.
	var out *roaring.Bitmap
	lo, _ := keyTime([]byte(n.lo))
	hi, _ := keyTime([]byte(n.hi))
	for _, e := range []struct {
		hour  []byte
		bound string
		keep  func(t uint64) bool
	}{
		{n.from, n.lo, func(t uint64) bool { return t >= lo }},
		{n.to, n.hi, func(t uint64) bool { return t < hi }},
	} {
		if e.bound == "" {
			continue
		}
		edge, err := c.edge(ctx, e.hour, bm)
		if err != nil {
			return nil, err
		}
		if err := edge.each(bm, func(doc uint32, t uint64) {
			if !e.keep(t) {
				if out == nil {
					out = bm.Clone() // bm may be shared
				}
				out.Remove(doc)
			}
		}); err != nil {
			return nil, err
		}
	}
	if out == nil {
		return bm, nil
	}
	return out, nil
}

// hourSpan is what hourTerms needs of a segment's hour terms for a range:
// the terms inside it with their events, how many terms the segment has,
// and (outside) the terms before and after it with the events of every
// hour, inside or out.
type hourSpan struct {
	inside       []termCount // may be shared with segCounts: never modify
	insideEvents uint64
	terms        int
	outside      func(ctx context.Context) ([]termCount, uint64, error)
	// exact says the counts are the events of each term, where those of a
	// dictionary may be too low (blevesearch/zapx#445).
	exact bool
}

// hourCountsMinDocs is the smallest segment whose hour counts hourSpan
// keeps in segCounts: a smaller one has few hours to walk, and keeping its
// counts would hold it past its merge until the next sweep.
var hourCountsMinDocs uint64 = columnMinDocs

// hourSpan returns the hour terms of n's range in the segment. From the
// counts segCounts keeps for a large segment without deletions, which the
// day histograms read as well; otherwise walking the dictionary. On 10M
// events, walking a week of hours in every segment (making an iterator of
// the dictionary, three times for a range that holds most hours) took a
// fifth of the CPU of an eventSource + eventName + 7-day search.
func (c *bmSegment) hourSpan(ctx context.Context, n *bmNode) (hourSpan, error) {
	if tc, ok, err := c.hourCounts(ctx); err != nil || ok {
		metricHourSpans.WithLabelValues("counts").Inc()
		return spanOfCounts(tc, n), err
	}
	metricHourSpans.WithLabelValues("dictionary").Inc()
	d, err := c.dict(fieldHour)
	if err != nil {
		return hourSpan{}, err
	}
	sp := hourSpan{terms: d.Cardinality()}
	err = c.eachTerm(ctx, fieldHour, n.from, n.to, func(t string, events uint64) error {
		sp.inside = append(sp.inside, termCount{term: t, n: events})
		sp.insideEvents += events
		return nil
	})
	sp.outside = func(ctx context.Context) ([]termCount, uint64, error) {
		var outside []termCount
		hourly := sp.insideEvents
		collect := func(t string, events uint64) error {
			outside = append(outside, termCount{term: t, n: events})
			hourly += events
			return nil
		}
		if n.from != nil {
			if err := c.eachTermBefore(ctx, fieldHour, nil, n.from, collect); err != nil {
				return nil, 0, err
			}
		}
		if n.to != nil {
			if err := c.eachTermBefore(ctx, fieldHour, justPast(n.to), nil, collect); err != nil {
				return nil, 0, err
			}
		}
		return outside, hourly, nil
	}
	return sp, err
}

// hourCounts returns the segment's hour terms with their events from
// segCounts, and false when it keeps none for this segment.
func (c *bmSegment) hourCounts(ctx context.Context) ([]termCount, bool, error) {
	counts := searchValue[segCounts](ctx)
	if counts == nil || c.seg.Count() < hourCountsMinDocs || (c.deleted != nil && !c.deleted.IsEmpty()) {
		return nil, false, nil
	}
	return counts.keptTerms(ctx, c.ss, fieldHour)
}

// spanOfCounts is hourSpan from a segment's hour terms and their counts,
// in term order.
func spanOfCounts(tc []termCount, n *bmNode) hourSpan {
	i := 0
	if n.from != nil {
		i = sort.Search(len(tc), func(k int) bool { return tc[k].term >= string(n.from) })
	}
	j := len(tc)
	if n.to != nil {
		j = sort.Search(len(tc), func(k int) bool { return tc[k].term > string(n.to) })
	}
	j = max(i, j)
	sp := hourSpan{terms: len(tc), inside: tc[i:j], exact: true}
	for _, e := range sp.inside {
		sp.insideEvents += e.n
	}
	sp.outside = func(context.Context) ([]termCount, uint64, error) {
		outside := slices.Concat(tc[:i], tc[j:])
		hourly := sp.insideEvents
		for _, e := range outside {
			hourly += e.n
		}
		return outside, hourly, nil
	}
	return sp
}

// hourTerms is hours without the exact bounds: all events of the hours.
func (c *bmSegment) hourTerms(ctx context.Context, n *bmNode, within *roaring.Bitmap) (*roaring.Bitmap, error) {
	sp, err := c.hourSpan(ctx, n)
	if err != nil {
		return nil, err
	}
	inside, insideEvents := sp.inside, sp.insideEvents
	if sp.exact && insideEvents == c.seg.Count() {
		// Every event of the segment is in an hour inside (an event has
		// one hour term): nothing to read.
		if within != nil {
			return within, nil
		}
		all := roaring.New()
		all.AddRange(0, c.seg.Count())
		return all, nil
	}
	union := func(terms []termCount) (*roaring.Bitmap, error) {
		bms := make([]*roaring.Bitmap, 0, len(terms))
		for _, t := range terms {
			bm, err := c.bitmap(fieldHour, []byte(t.term))
			if err != nil {
				return nil, err
			}
			bms = append(bms, bm)
		}
		return roaring.FastOr(bms...), nil
	}
	if sp.terms-len(inside) < len(inside) {
		timed, err := c.bitmap(fieldExists, []byte(fieldTime))
		if err != nil {
			return nil, err
		}
		if insideEvents == timed.GetCardinality() {
			// Every event with a time is inside (a week of a week of
			// events): no hour outside to walk to. (Counts from the
			// dictionary may be too low, never too high: equal means
			// inside holds them all.) And when every event has a
			// time, within needs no narrowing.
			switch {
			case within == nil:
				return timed, nil
			case timed.GetCardinality() == c.seg.Count():
				return within, nil
			}
			return roaring.And(within, timed), nil
		}
		outside, hourly, err := sp.outside(ctx)
		if err != nil {
			return nil, err
		}
		// The events with an eventTime, less those of the hours
		// outside. Those without one are in no range; nor are those
		// whose eventTime is no time Bleve can index ("ThisIsAWrong
		// EventTime"), which have no hour: when the segment holds
		// any, the hours' events are fewer than those with an
		// eventTime, and the hours inside are read instead.
		if timed.GetCardinality() == hourly {
			if within != nil {
				timed = roaring.And(within, timed)
			}
			if len(outside) == 0 || timed.IsEmpty() {
				return timed, nil
			}
			out, err := union(outside)
			if err != nil {
				return nil, err
			}
			return roaring.AndNot(timed, out), nil
		}
	}
	if within != nil && within.GetCardinality() < insideEvents {
		// Fewer matches than events in the hours (a page's window):
		// the union of each hour's matches, without first building
		// the union of the hours, which merges their lists over and
		// over.
		bms := make([]*roaring.Bitmap, 0, len(inside))
		for _, t := range inside {
			bm, err := c.bitmap(fieldHour, []byte(t.term))
			if err != nil {
				return nil, err
			}
			bms = append(bms, roaring.And(within, bm))
		}
		return roaring.FastOr(bms...), nil
	}
	in, err := union(inside)
	if err != nil || within == nil {
		return in, err
	}
	return roaring.And(within, in), nil
}

// eval returns the events of the segment that n matches, deleted ones
// included. The bitmap may be shared: never modify it.
func (c *bmSegment) eval(ctx context.Context, n *bmNode) (*roaring.Bitmap, error) {
	switch n.op {
	case bmAll:
		bm := roaring.New()
		bm.AddRange(0, c.seg.Count())
		return bm, nil
	case bmNone:
		return roaring.New(), nil
	case bmTerm:
		return c.bitmap(n.field, n.term)
	case bmIDs:
		bm, err := c.seg.DocNumbers(n.ids)
		if err != nil {
			return nil, fmt.Errorf("look up ids: %w", err)
		}
		return bm, nil
	case bmHours:
		return c.hours(ctx, n, nil)
	case bmOr:
		bms := make([]*roaring.Bitmap, 0, len(n.kids))
		for _, k := range n.kids {
			bm, err := c.eval(ctx, k)
			if err != nil {
				return nil, err
			}
			bms = append(bms, bm)
		}
		return roaring.FastOr(bms...), nil
	case bmAnd:
		// Time ranges last, to narrow what the rest matched (within nil:
		// every event).
		var acc *roaring.Bitmap
		var hours []*bmNode
		for _, k := range n.kids {
			if k.op == bmHours {
				hours = append(hours, k)
				continue
			}
			bm, err := c.eval(ctx, k)
			if err != nil {
				return nil, err
			}
			if acc == nil {
				acc = bm
			} else {
				acc = roaring.And(acc, bm)
			}
			if acc.IsEmpty() {
				return acc, nil
			}
		}
		for _, k := range hours {
			var err error
			if acc, err = c.hours(ctx, k, acc); err != nil || acc.IsEmpty() {
				return acc, err
			}
		}
		return acc, nil
	case bmAndNot:
		must, err := c.eval(ctx, n.kids[0])
		if err != nil || must.IsEmpty() {
			return must, err
		}
		not, err := c.eval(ctx, n.kids[1])
		if err != nil {
			return nil, err
		}
		return roaring.AndNot(must, not), nil
	}
	return nil, fmt.Errorf("unknown bitmap operation %d", n.op)
}

// matches returns the events of the segment that n matches, less the
// deleted ones.
func (c *bmSegment) matches(ctx context.Context, n *bmNode) (*roaring.Bitmap, error) {
	bm, err := c.eval(ctx, n)
	if err != nil {
		return nil, err
	}
	if c.deleted != nil && !c.deleted.IsEmpty() {
		bm = roaring.AndNot(bm, c.deleted)
	}
	return bm, nil
}

// eachSegment calls fn with every segment of every shard's current
// snapshot and the events n matches in it.
func eachSegment(ctx context.Context, shards []shardView, n *bmNode, fn func(c *bmSegment, match *roaring.Bitmap) error) error {
	return eachShardReader(shards, func(r bindex.IndexReader) error {
		snap, ok := r.(*scorch.IndexSnapshot)
		if !ok {
			return errNoBitmaps
		}
		return snapshotMatches(ctx, snap, n, fn)
	})
}

// snapshotMatches calls fn with every segment of snap and the events n
// matches in it, until the search's time is up.
func snapshotMatches(ctx context.Context, snap *scorch.IndexSnapshot, n *bmNode, fn func(c *bmSegment, match *roaring.Bitmap) error) error {
	for _, ss := range snap.Segments() {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := newBMSegment(ss)
		if err != nil {
			return err
		}
		match, err := c.matches(ctx, n)
		if err != nil {
			return err
		}
		if err := fn(c, match); err != nil {
			return err
		}
	}
	return nil
}

// bitmapAggregate counts the events n matches, and the facets of r and
// the histogram (hour buckets from starts, every iv; none when starts is
// nil) over them. Facets must be single-valued (singleValued): the events
// missing a field are those counted under none of its terms.
func bitmapAggregate(ctx context.Context, cols *columns, shards []shardView, n *bmNode, r SearchRequest, starts []time.Time, iv time.Duration) (uint64, []FacetResult, []Bucket, error) {
	counts := make([]map[string]int, len(r.Facets))
	fields := make([]string, len(r.Facets))
	for i, f := range r.Facets {
		field, err := facetField(f.Field)
		if err != nil {
			return 0, nil, nil, err
		}
		fields[i], counts[i] = field, map[string]int{}
	}
	var buckets []Bucket
	var from, to []byte
	if starts != nil {
		buckets = make([]Bucket, len(starts))
		for i, t := range starts {
			buckets[i].Start = t
		}
		if len(starts) > 0 {
			from = []byte(hourKey(starts[0]))
			to = []byte(hourKey(starts[len(starts)-1].Add(iv - time.Hour)))
		}
	}
	var total uint64
	live := map[segment.Segment]struct{}{}
	var buf []uint32
	err := eachSegment(ctx, shards, n, func(c *bmSegment, match *roaring.Bitmap) error {
		live[c.seg] = struct{}{}
		total += match.GetCardinality()
		if match.IsEmpty() {
			return nil
		}
		counted := fields
		if len(buckets) > 0 {
			counted = append(slices.Clip(fields), fieldHour)
		}
		terms := 0
		for _, field := range counted {
			d, err := c.dict(field)
			if err != nil {
				return err
			}
			terms += d.Cardinality()
		}
		// Building a column reads every posting of the field once, which
		// counting without one does too when it counts by bitset.
		build := uint64(terms)*match.GetCardinality() > c.seg.Count()
		var k *matchCounter
		counter := func() *matchCounter {
			if k == nil {
				k = newCounter(match, c.seg.Count(), terms)
			}
			return k
		}
		// each calls fn with every term of counted[i] from..to and how
		// many matches hold it.
		each := func(i int, from, to []byte, fn func(t string, n uint64)) error {
			col, err := cols.get(ctx, c, counted[i], build)
			if err != nil {
				return err
			}
			if col == nil {
				return c.eachTerm(ctx, counted[i], from, to, func(t string, _ uint64) error {
					n, err := c.countIn(counter(), counted[i], []byte(t))
					if n > 0 {
						fn(t, n)
					}
					return err
				})
			}
			if buf == nil {
				buf = make([]uint32, 512)
			}
			ords := make([]int, len(col.terms)+1)
			col.count(match, ords, buf)
			for j, n := range ords[1:] {
				t := col.terms[j]
				if n > 0 && (from == nil || t >= string(from)) && (to == nil || t <= string(to)) {
					fn(t, uint64(n))
				}
			}
			return nil
		}
		for i := range fields {
			if err := each(i, nil, nil, func(t string, n uint64) { counts[i][t] += int(n) }); err != nil {
				return err
			}
		}
		if len(buckets) == 0 {
			return nil
		}
		return each(len(fields), from, to, func(t string, n uint64) {
			h, ok := parseHourKey(t)
			if !ok || h.Before(starts[0]) {
				return
			}
			if b := int(h.Sub(starts[0]) / iv); b < len(buckets) {
				buckets[b].Count += int(n)
			}
		})
	})
	if err != nil {
		return 0, nil, nil, err
	}
	cols.sweep(live)
	var out []FacetResult
	for i, f := range r.Facets {
		fr := FacetResult{Field: f.Field}
		with := 0
		for t, k := range counts[i] {
			fr.Values = append(fr.Values, FacetValue{Value: t, Count: k})
			with += k
		}
		fr.Missing = int(total) - min(with, int(total))
		finishFacet(&fr, f.Size)
		out = append(out, fr)
	}
	return total, out, buckets, nil
}

// bitmapPlan compiles q for postings bitmaps over the current shards; ok
// is false when q does not allow it or bitmaps are turned off.
func (s *Store) bitmapPlan(q bquery.Query) (*bmNode, []shardView, bool) {
	v := s.shardsView.Load()
	if v == nil || s.noBitmaps.Load() {
		return nil, nil, false
	}
	n, ok := bitmapPlan(q, s.allHourly())
	return n, *v, ok
}

// fromBitmaps answers r's facets and histogram, and counts the matches of
// q, on postings bitmaps when q allows it (bitmapPlan), and takes what it
// answered out of req. ok is false when it answered nothing; then req is
// as it was.
func (s *Store) fromBitmaps(ctx context.Context, req *bleve.SearchRequest, q bquery.Query, r SearchRequest, starts []time.Time, iv time.Duration) (total uint64, fr []FacetResult, buckets []Bucket, ok bool, err error) {
	facets := len(r.Facets) > 0 && singleValued(r)
	hist := starts != nil && hourlyHistogram(iv, r.Start, r.End) && s.allHourly()
	if (len(r.Facets) > 0 && !facets) || (starts != nil && !hist) || (!facets && !hist) {
		return 0, nil, nil, false, nil
	}
	n, shards, ok := s.bitmapPlan(q)
	if !ok {
		return 0, nil, nil, false, nil
	}
	total, fr, buckets, err = bitmapAggregate(ctx, s.columns, shards, n, r, starts, iv)
	if errors.Is(err, errNoBitmaps) {
		return 0, nil, nil, false, nil
	}
	if err != nil {
		return 0, nil, nil, false, err
	}
	req.Facets = nil
	if facets {
		metricBitmapAggregations.WithLabelValues("facets").Inc()
	}
	if hist {
		metricBitmapAggregations.WithLabelValues("histogram").Inc()
	}
	return total, fr, buckets, true, nil
}

// bitmapTotal counts the matches of q on postings bitmaps; ok is false
// when q does not allow it (bitmapPlan).
func (s *Store) bitmapTotal(ctx context.Context, q bquery.Query) (uint64, bool, error) {
	n, shards, ok := s.bitmapPlan(q)
	if !ok {
		return 0, false, nil
	}
	total, _, _, err := bitmapAggregate(ctx, nil, shards, n, SearchRequest{}, nil, 0)
	if errors.Is(err, errNoBitmaps) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	metricBitmapAggregations.WithLabelValues("count").Inc()
	return total, true, nil
}
