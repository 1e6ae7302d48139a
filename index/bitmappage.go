package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bquery "github.com/blevesearch/bleve/v2/search/query"
)

// Newest-first pages of a query made of exact terms are taken from the
// postings bitmaps too. Bleve's way (newestPage) asks a recent window as a
// numeric range search, then sorts its matches in a collector and loads
// each hit by id: at 1M events a fifth of a term query's CPU went to the
// range searcher alone. Here the matches of each segment (bitmaps.go) are
// narrowed to the hour terms of a recent window, the sort keys (fieldOrder)
// of those few are read from doc values, and the newest of them are the
// page, whose records are read from the same segments by document number.

// pageMaxPerHour bounds the matches an hour may hold on average for a page
// to be taken from bitmaps: the window is whole hours, and every match in
// it has its sort key read (about 0.3 µs each). Denser queries go Bleve's
// way, whose window narrows to a minute: at 1M events over 30 days (1,400
// an hour on average, up to 6,000 at the day's peak) page 100 of all
// events took 6.1 ms from bitmaps and 4.9 ms Bleve's way.
var pageMaxPerHour = 1024.0 // a variable for tests

// pageAllKeys is the most matches whose keys are all read at once rather
// than hour window by window: a few hundred doc value reads cost less than
// the windows' dictionary walks. A variable for tests.
var pageAllKeys = 512

// rangeOf returns the bounds of the eventTime ranges among q's top-level
// conjuncts (zero for none), which the matches are within.
func rangeOf(q bquery.Query) (lo, hi time.Time) {
	switch q := q.(type) {
	case *bquery.ConjunctionQuery:
		for _, c := range q.Conjuncts {
			l, h := rangeOf(c)
			if l.After(lo) {
				lo = l
			}
			if !h.IsZero() && (hi.IsZero() || h.Before(hi)) {
				hi = h
			}
		}
	case *timeRangeQuery:
		return q.date.Start.Time, q.date.End.Time
	}
	return lo, hi
}

// pageSeg is a segment of a page's search with its matches.
type pageSeg struct {
	*bmSegment
	match *roaring.Bitmap
}

// pageCand is a match that may be on the page; its sort key is
// pager.keys[ks:ke].
type pageCand struct {
	ks, ke uint32
	seg    *pageSeg
	doc    uint32
}

// newestFromBitmaps answers a newest-first page of q (its time range
// included) on the postings bitmaps: its hits, the sort key of the last,
// and the number of matches. after is the page token's sort key, "" for
// the first page. ok is false when q does not allow it (bitmapPlan) or its
// matches are too dense (pageMaxPerHour); then no page was taken, and
// total is the number of matches when they were counted, else 0.
func (s *Store) newestFromBitmaps(ctx context.Context, q bquery.Query, size int, after string, summary bool) (hits []Hit, last string, total uint64, ok bool, err error) {
	n, shards, ok := s.bitmapPlan(q)
	if !ok {
		return nil, "", 0, false, nil
	}
	st := s.counts()
	err = withSnapshots(shards, func(snaps []*scorch.IndexSnapshot) error {
		var segs []*pageSeg
		for _, snap := range snaps {
			if err := snapshotMatches(ctx, snap, n, func(c *bmSegment, m *roaring.Bitmap) error {
				if !m.IsEmpty() {
					total += m.GetCardinality()
					segs = append(segs, &pageSeg{bmSegment: c, match: m})
				}
				return nil
			}); err != nil {
				return err
			}
		}
		// The span the matches are in, for their density and the
		// windows' size.
		lo, hi := st.Oldest, st.Newest
		l, h := rangeOf(q)
		if l.After(lo) {
			lo = l
		}
		if !h.IsZero() && h.Before(hi) {
			hi = h
		}
		if t, ok := parseTimeKey(after); ok && t.Before(hi) {
			hi = t
		}
		span := max(hi.Sub(lo), time.Hour)
		if float64(total)/span.Hours() > pageMaxPerHour {
			return errTooDense
		}
		g := newPager(after)
		defer g.release()
		if total <= uint64(pageAllKeys) {
			for _, p := range segs {
				if err := g.add(p, p.match); err != nil {
					return err
				}
			}
		} else if err := g.windows(ctx, segs, st.Newest, lo, span, total, size); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		cands := g.cands
		slices.SortFunc(cands, func(a, b pageCand) int { return bytes.Compare(g.key(b), g.key(a)) })
		cands = cands[:min(len(cands), size)]
		if len(cands) > 0 {
			last = string(g.key(cands[len(cands)-1]))
		}
		hits, err = loadHits(len(cands), func(i int, h *Hit) (bool, error) {
			c := cands[i]
			err := s.storedHit(h, func(fn func(field string, value []byte) bool) error {
				return c.seg.seg.VisitStoredFields(uint64(c.doc), func(field string, _ byte, value []byte, _ []uint64) bool {
					return fn(field, value)
				})
			}, summary, 0)
			if err != nil {
				return false, fmt.Errorf("read hit: %w", err)
			}
			return true, nil
		})
		return err
	})
	switch {
	case errors.Is(err, errTooDense):
		// The matches were counted: the caller need not count them again.
		return nil, "", total, false, nil
	case errors.Is(err, errNoBitmaps):
		return nil, "", 0, false, nil
	case err != nil:
		return nil, "", 0, false, err
	}
	metricNewestWindows.WithLabelValues("bitmaps").Inc()
	return hits, last, total, true, nil
}

// errTooDense stops a page whose matches are too dense for the bitmaps.
var errTooDense = errors.New("matches too dense for a page on bitmaps")

// pager gathers the candidates of a page: matches that sort after its
// token's last hit. Their keys are kept end to end in one buffer, and
// pagers are reused: a key a string and a new slice for each search were
// an eighth of what a search allocated.
type pager struct {
	after string // "" for the first page
	cands []pageCand
	keys  []byte
}

var pagers = sync.Pool{New: func() any { return new(pager) }}

func newPager(after string) *pager {
	g := pagers.Get().(*pager)
	g.after = after
	return g
}

// release returns g for reuse, holding no segment, unless its buffers grew
// too large to be worth keeping.
func (g *pager) release() {
	if cap(g.cands) > maxPooledCands {
		return
	}
	clear(g.cands[:cap(g.cands)])
	g.cands, g.keys, g.after = g.cands[:0], g.keys[:0], ""
	pagers.Put(g)
}

// maxPooledCands bounds the candidates of a pager kept for reuse (about
// 2.5 MB with their keys).
const maxPooledCands = 1 << 15

func (g *pager) key(c pageCand) []byte { return g.keys[c.ks:c.ke] }

// add reads the sort keys of bm's events in p and keeps those after the
// token's.
func (g *pager) add(p *pageSeg, bm *roaring.Bitmap) error {
	return p.keys(bm, func(doc uint32, key []byte) {
		if g.after == "" || string(key) < g.after {
			ks := uint32(len(g.keys))
			g.keys = append(g.keys, key...)
			g.cands = append(g.cands, pageCand{ks: ks, ke: uint32(len(g.keys)), seg: p, doc: doc})
		}
	})
}

// windows gathers the matches of recent hour windows, newest first, until
// it has at least size after the token's: every match left is older than every
// one gathered. Like newestPage, the first window is twice the span
// holding size matches were they spread evenly over span, and each next
// one, older, four times the last. When the windows pass oldest (the
// oldest event, or the range's start), the matches without a time, which
// sort oldest, are gathered too. newest is the newest event's time.
func (g *pager) windows(ctx context.Context, segs []*pageSeg, newest, oldest time.Time, span time.Duration, total uint64, size int) error {
	var to []byte // the window's newest hour; nil: no bound
	top := newest
	if g.after != "" {
		t, ok := parseTimeKey(g.after)
		if !ok {
			return g.withoutTime(ctx, segs) // past every event with a time
		}
		to, top = []byte(hourKey(t)), t
	}
	w := time.Duration(float64(span) * float64(2*size) / float64(total))
	w = max(w.Truncate(time.Hour), time.Hour)
	for {
		var from []byte
		var fromT time.Time
		if w < top.Sub(oldest) { // Sub saturates: times span centuries
			fromT = top.Truncate(time.Hour).Add(time.Hour - w)
			if fromT.After(oldest) {
				from = []byte(hourKey(fromT))
			}
		}
		for _, p := range segs {
			bm, err := p.hours(ctx, &bmNode{op: bmHours, from: from, to: to}, p.match)
			if err != nil {
				return err
			}
			if err := g.add(p, bm); err != nil {
				return err
			}
		}
		if len(g.cands) >= size {
			return nil
		}
		if from == nil {
			return g.withoutTime(ctx, segs)
		}
		top = fromT.Add(-time.Hour)
		to = []byte(hourKey(top))
		w = min(w, math.MaxInt64/4) * 4
	}
}

// withoutTime gathers the matches without a time: the events of no hour.
func (g *pager) withoutTime(ctx context.Context, segs []*pageSeg) error {
	for _, p := range segs {
		timed, err := p.hours(ctx, &bmNode{op: bmHours}, nil)
		if err != nil {
			return err
		}
		if err := g.add(p, roaring.AndNot(p.match, timed)); err != nil {
			return err
		}
	}
	return nil
}

// withSnapshots calls fn with a snapshot of every shard, kept open until
// it returns: a page reads its hits from the segments it searched.
func withSnapshots(shards []shardView, fn func([]*scorch.IndexSnapshot) error) (err error) {
	snaps := make([]*scorch.IndexSnapshot, 0, len(shards))
	defer func() {
		for _, snap := range snaps {
			if cerr := snap.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("close shard reader: %w", cerr)
			}
		}
	}()
	for _, sh := range shards {
		r, err := shardReader(sh)
		if err != nil {
			return err
		}
		snap, ok := r.(*scorch.IndexSnapshot)
		if !ok {
			_ = r.Close()
			return errNoBitmaps
		}
		snaps = append(snaps, snap)
	}
	return fn(snaps)
}
