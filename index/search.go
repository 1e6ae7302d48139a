package index

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// Order is the order of search results.
type Order int

const (
	// OrderNewest sorts by eventTime, newest first (the default).
	OrderNewest Order = iota
	// OrderOldest sorts by eventTime, oldest first.
	OrderOldest
	// OrderRelevance sorts by score, best first.
	OrderRelevance
)

// SearchRequest asks for one page of matching events.
type SearchRequest struct {
	// Query in the query language (package index/query); "" matches all.
	Query string
	// Start (inclusive) and End (exclusive) bound eventTime when set.
	Start, End time.Time
	// PageSize is the number of events per page; 0 means the default.
	PageSize int
	// PageToken continues a previous search with the same query and order.
	PageToken string
	Order     Order
	// Facets asks for value counts over all matches.
	Facets []FacetRequest
	// HistogramInterval asks for counts per eventTime bucket ("1h", "1d").
	HistogramInterval string
	// Scope limits the search to what the caller may see.
	Scope Scope
	// Summary asks for hits with the typed fields only: their Raw and
	// Leaves are left empty, which spares reading each record.
	Summary bool
}

// FacetRequest asks for the Size most frequent values of Field.
type FacetRequest struct {
	Field string
	Size  int // 0 means 10
}

// Hit is one matching event.
type Hit struct {
	Event  record.Event
	Cursor string
	Score  float64
	// Memo is shared by every subscriber the same live event goes to, so
	// that what they derive from it alike (the server's response message)
	// is built once; nil for search hits and replays from the index.
	Memo *Memo
}

// Memo holds values derived from one event, by key, built once.
type Memo struct {
	m sync.Map // key -> *memoSlot
}

type memoSlot struct {
	once sync.Once
	v    any
}

// Get returns the value for key, calling build the first time (once, even
// when several goroutines ask at once).
func (m *Memo) Get(key any, build func() any) any {
	sl, ok := m.m.Load(key)
	if !ok {
		sl, _ = m.m.LoadOrStore(key, &memoSlot{})
	}
	slot := sl.(*memoSlot)
	slot.once.Do(func() { slot.v = build() })
	return slot.v
}

// FacetValue is one value of a facet and its count.
type FacetValue struct {
	Value string
	Count int
}

// FacetResult holds the counts of one facet.
type FacetResult struct {
	Field   string // as requested
	Values  []FacetValue
	Other   int // matches whose value is not listed
	Missing int // matches without the field
}

// Bucket is the number of matches with eventTime in [Start, Start+interval).
type Bucket struct {
	Start time.Time
	Count int
}

// SearchResult is one page of results.
type SearchResult struct {
	Hits          []Hit
	Total         uint64
	NextPageToken string
	Facets        []FacetResult
	Histogram     []Bucket
	// Warnings explain an empty result: fields of the query that no event
	// the caller may see has (a misspelled field matches nothing).
	Warnings []string
	Took     time.Duration

	pooled *[]Hit     // Hits' array when it came from getHits
	arena  *byteArena // the bytes of the hits' strings, if pooled
}

// Release hands what r's hits are made of back for later searches
// (pagepool.go): call it once done with them, their events' strings and
// slices included, which later searches overwrite. Optional: an
// unreleased result is collected as usual.
func (r *SearchResult) Release() {
	putHits(r.pooled)
	if r.arena != nil {
		r.arena.release()
	}
	r.pooled, r.arena, r.Hits = nil, nil, nil
}

// compile parses and compiles a query. The error is a *query.Error (with the
// position) for a bad query.
func (s *Store) compile(text string, scope Scope, now time.Time) (bquery.Query, error) {
	ast, err := query.ParseWithLimits(text, s.cfg.Query)
	if err != nil {
		return nil, err
	}
	return s.compileAST(ast, scope, now)
}

// compileAST compiles a parsed query within scope.
func (s *Store) compileAST(ast query.Node, scope Scope, now time.Time) (bquery.Query, error) {
	ast = scope.apply(ast)
	c := compiler{now: now, allowLeadingWildcard: s.cfg.AllowLeadingWildcard}
	q, err := c.compile(ast)
	if err != nil {
		return nil, err
	}
	// The matcher also rejects, with a position, what Bleve would accept
	// here but fail on while searching (regexps its automaton cannot build,
	// dates it cannot represent): those are bad queries, not server errors.
	if _, err := c.matcher(ast); err != nil {
		return nil, err
	}
	return q, nil
}

// Validate checks that a query parses and compiles.
func (s *Store) Validate(q string) error {
	_, err := s.compile(q, Scope{}, time.Now())
	return err
}

// timeSort orders by eventTime, then store order, through one keyword
// field (see fieldOrder).
func timeSort(desc bool) search.SortOrder {
	return search.SortOrder{&search.SortField{Field: fieldOrder, Type: search.SortFieldAsString, Desc: desc}}
}

// Search runs a search and returns one page.
func (s *Store) Search(ctx context.Context, r SearchRequest) (*SearchResult, error) {
	start := time.Now()
	ctx = s.searchContext(ctx)
	s.sweepSegmentCaches()
	kind := "hits"
	switch {
	case r.HistogramInterval != "":
		kind = "histogram"
	case len(r.Facets) > 0:
		kind = "facets"
	}
	defer func() { metricSearchSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds()) }()

	size := r.PageSize
	switch {
	case size == 0:
		size = s.cfg.DefaultPageSize
	case size < 0 || size > s.cfg.MaxPageSize:
		return nil, fmt.Errorf("%w: page size %d is out of range 1..%d", ErrInvalid, size, s.cfg.MaxPageSize)
	}
	if !r.Start.IsZero() && !r.End.IsZero() && !r.End.After(r.Start) {
		return nil, fmt.Errorf("%w: end time %s is not after start time %s", ErrInvalid, r.End.Format(time.RFC3339), r.Start.Format(time.RFC3339))
	}
	ast, err := query.ParseWithLimits(r.Query, s.cfg.Query)
	if err != nil {
		return nil, err
	}
	q, err := s.compileAST(ast, r.Scope, start)
	if err != nil {
		return nil, err
	}
	_, allEvents := q.(*bquery.MatchAllQuery)
	bshards := s.blockShards()
	if !r.Start.IsZero() || !r.End.IsZero() {
		q = and(q, dateRange(r.Start, r.End, true, false))
	}

	fp := fingerprint(r)
	var tok pageToken
	if r.PageToken != "" {
		if tok, err = s.decodePageToken(r.PageToken); err != nil {
			return nil, fmt.Errorf("page token: %w", err)
		}
		if tok.fingerprint != fp {
			return nil, fmt.Errorf("page token belongs to another query, time range or order: %w", ErrBadToken)
		}
	}

	// No stored fields: pageHits loads them for the page alone.
	req := bleve.NewSearchRequestOptions(q, size, 0, false)
	switch r.Order {
	case OrderRelevance:
		req.SortByCustom(search.SortOrder{&search.SortScore{Desc: true}, &search.SortField{Field: fieldSeq, Type: search.SortFieldAsString, Desc: true}})
		if int(tok.offset)+size > s.cfg.MaxRelevanceDepth {
			return nil, fmt.Errorf("%w: relevance order pages only through the first %d results; use newest or oldest order to page deeper", ErrInvalid, s.cfg.MaxRelevanceDepth)
		}
		req.From = int(tok.offset)
		if len(bshards) > 0 {
			// Merged with the blocks' best (addBlocks): every page from
			// the first.
			req.From, req.Size = 0, int(tok.offset)+size
		}
	case OrderNewest, OrderOldest:
		req.Score = "none"
		req.SortByCustom(timeSort(r.Order == OrderNewest))
		if tok.after != nil {
			if len(tok.after) != 1 {
				return nil, fmt.Errorf("page token: %w", ErrBadToken)
			}
			req.SearchAfter = tok.after
		}
	default:
		return nil, fmt.Errorf("%w: unknown order %d", ErrInvalid, r.Order)
	}
	if err := s.addFacets(req, r); err != nil {
		return nil, err
	}
	asked := r.Facets
	if len(bshards) > 0 && len(r.Facets) > 0 {
		// The per-event side's values are added to the blocks' before
		// the facets are cut to size: it keeps as many as it may.
		r.Facets = slices.Clone(r.Facets)
		for i := range r.Facets {
			r.Facets[i].Size = s.cfg.MaxFacetSize
		}
	}
	buckets, iv, err := s.addHistogram(req, r)
	if err != nil {
		return nil, err
	}
	// Facets and histograms counted without the search (nil if not).
	// Over all events, facets and histograms come from the dictionaries
	// when they can (dictfacets.go); the search then only pages.
	var countedFacets []FacetResult
	var countedBuckets []Bucket
	if allEvents {
		if countedFacets, countedBuckets, err = s.fromDictionaries(ctx, req, r, buckets, iv); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}

	// What the dictionaries did not answer, the postings bitmaps may
	// (bitmaps.go), and then they count the matches too.
	total := int64(-1)
	if len(req.Facets) > 0 {
		n, fr, bs, ok, err := s.fromBitmaps(ctx, req, q, r, buckets, iv)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if ok {
			total = int64(n)
			if len(r.Facets) > 0 {
				countedFacets = fr
			}
			if buckets != nil {
				countedBuckets = bs
			}
		}
	}

	var res *bleve.SearchResult
	var hits []Hit
	var found int         // matches on the page, hits or not
	var lastSort []string // the last match's sort key
	if r.Order == OrderNewest && len(req.Facets) == 0 {
		var after string
		if len(tok.after) == 1 {
			after = tok.after[0]
		}
		h, last, n, ok, err := s.newestFromBitmaps(ctx, q, size, after, r.Summary)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if ok {
			res, hits, found, lastSort = &bleve.SearchResult{Total: n}, h, len(h), []string{last}
		} else if n > 0 {
			total = int64(n) // too dense, but counted
		}
	}
	if res == nil {
		if r.Order == OrderNewest {
			// Facets and histogram count every match, but need no order: a
			// request of their own spares them the sort, and gives the total.
			var agg *bleve.SearchResult
			if len(req.Facets) > 0 {
				a := bleve.NewSearchRequestOptions(req.Query, 0, 0, false)
				a.Score = "none"
				a.Facets, req.Facets = req.Facets, nil
				if agg, err = s.search(ctx, a); err != nil {
					return nil, fmt.Errorf("search: %w", err)
				}
				total = int64(agg.Total)
			}
			res, err = s.newestPage(ctx, req, r, tok, total)
			if err == nil && agg != nil {
				res.Facets = agg.Facets
			}
		} else {
			res, err = s.search(ctx, req)
		}
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if hits, err = s.pageHits(res.Hits, r.Summary); err != nil {
			return nil, err
		}
		if found = len(res.Hits); found > 0 {
			lastSort = res.Hits[found-1].DecodedSort
		}
	}
	out := &SearchResult{Total: res.Total, Hits: hits}
	seen := tok.offset + uint64(found)
	if found == size && seen < res.Total {
		next := pageToken{fingerprint: fp, offset: seen}
		if r.Order != OrderRelevance {
			next.after = slices.Clone(lastSort)
		}
		out.NextPageToken = s.encodePageToken(next)
	}
	out.Facets = facetResults(res, r)
	if countedFacets != nil {
		out.Facets = countedFacets
	}
	out.Histogram = histogramResults(res, buckets, iv)
	if countedBuckets != nil {
		out.Histogram = countedBuckets
	}
	if len(bshards) > 0 {
		if err := s.addBlocks(ctx, out, bshards, ast, r, asked, start, size, tok, fp, buckets, iv, allEvents && r.Start.IsZero() && r.End.IsZero()); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	if out.Total == 0 {
		if out.Warnings, err = s.fieldWarnings(ctx, ast, r.Scope); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	out.Took = time.Since(start)
	return out, nil
}

// newestPage answers a newest-first page without sorting every match.
// Sorting reads the doc values of all matches (about 2 µs each: 50 ms for a
// term matching 25,000 of 1M events) to keep the newest few. So it counts
// the matches without sorting, then asks for the page among the matches of
// a recent eventTime window sized from their density, widening it until the
// page is full: every match in the window sorts before every match outside
// it (older, or without eventTime, which sort oldest), so a full page from
// the window is the page. When the window reaches back to the oldest event,
// it asks without one. known is the number of matches when the caller
// counted them already, else negative.
func (s *Store) newestPage(ctx context.Context, req *bleve.SearchRequest, r SearchRequest, tok pageToken, known int64) (*bleve.SearchResult, error) {
	st := s.counts()
	var total uint64
	if known >= 0 {
		total = uint64(known)
	} else if _, all := req.Query.(*bquery.MatchAllQuery); all && r.Start.IsZero() && r.End.IsZero() {
		total = st.Events
	} else if n, ok, err := s.dictTermCount(ctx, req.Query, r); err != nil {
		return nil, err
	} else if ok {
		total = n
	} else if n, ok, err := s.bitmapTotal(ctx, req.Query); err != nil {
		return nil, err
	} else if ok {
		total = n
	} else {
		cnt := bleve.NewSearchRequestOptions(req.Query, 0, 0, false)
		cnt.Score = "none"
		res, err := s.search(ctx, cnt)
		if err != nil {
			return nil, err
		}
		total = res.Total
	}
	lo, hi := st.Oldest, st.Newest
	var top time.Time // the eventTime of the page token's last hit
	if len(tok.after) == 1 {
		if t, ok := parseTimeKey(tok.after[0]); ok {
			hi, top = t, t
		} else {
			hi = time.Time{} // past the events with a time
		}
	}
	if !r.Start.IsZero() && r.Start.After(lo) {
		lo = r.Start
	}
	if !r.End.IsZero() && r.End.Before(hi) {
		hi = r.End
	}
	size := req.Size
	if total > uint64(4*size) && !lo.IsZero() && hi.After(lo) {
		// Twice the span that holds size matches, were they spread evenly
		// and as dense as all events are around hi (events come by day
		// and night: at the average density the first window missed the
		// page and a second search followed, for page 1 and page 100 of
		// all events alike).
		w := time.Duration(float64(hi.Sub(lo)) * float64(2*size) / float64(total) / s.localDensity(ctx, st, hi))
		w = max(w, time.Minute)
		// Sub saturates and Bleve refuses bounds before 1677-12: events
		// may span centuries, and the window then becomes the whole.
		for hi.Sub(lo) > w && !hi.Add(-w).Before(bquery.MinRFC3339CompatibleTime) {
			wreq := *req
			// Without a page token, only a lower bound: events stored
			// since the figures above may be newer than hi. With one,
			// the matches newer than its last hit are bounded off too,
			// or page 100 would read the doc values of the 99 pages
			// before it only for search_after to drop them. The bound
			// includes the hit's own time: matches at that time with a
			// lower sequence number follow it. Without a token the
			// bound is the last time Bleve takes, as its open bound
			// (+Inf) stops 52 days short of it (see hoursPlan).
			end := top
			if end.IsZero() {
				end = bquery.MaxRFC3339CompatibleTime
			}
			wreq.Query = and(req.Query, dateRange(hi.Add(-w), end, true, true))
			metricNewestWindowSearches.Inc()
			res, err := s.searchShards(ctx, &wreq, s.shardsFrom(hi.Add(-w)))
			if err != nil {
				return nil, err
			}
			if len(res.Hits) == size {
				res.Total = total
				metricNewestWindows.WithLabelValues("page").Inc()
				return res, nil
			}
			if w > math.MaxInt64/4 {
				break
			}
			w *= 4
		}
	}
	metricNewestWindows.WithLabelValues("all").Inc()
	return s.search(ctx, req)
}

// shardsFrom returns the shards that may hold events with an eventTime at
// or after t, or nil when that is every shard. A newest-first window is
// recent, and older partitions hold no event in it: without this a window
// searched every segment of every partition (a date range looks its terms
// up in each segment's dictionary), a cost that grew with the partitions
// kept. A partition's newest time is an upper bound (see publish), so
// none is left out that may hold such an event.
func (s *Store) shardsFrom(t time.Time) []bleve.Index {
	v := s.shardsView.Load()
	if v == nil {
		return nil
	}
	out := make([]bleve.Index, 0, len(*v))
	for _, sh := range *v {
		if sh.newest.IsZero() || !sh.newest.Before(t) {
			out = append(out, sh.idx)
		}
	}
	if len(out) == len(*v) {
		return nil
	}
	return out
}

// and is the conjunction of q and filter, or filter alone when q matches
// everything: a conjunction with match-all walks every document.
func and(q, filter bquery.Query) bquery.Query {
	if _, all := q.(*bquery.MatchAllQuery); all {
		return filter
	}
	return bquery.NewConjunctionQuery([]bquery.Query{q, filter})
}

// hitsPerWorker is the fewest hits worth a goroutine of their own in
// loadHits: a hit costs about 30 µs to rebuild from its record, 2.5 from
// its summary.
const hitsPerWorker = 16

// pageHits loads the stored fields of a page's hits and rebuilds them
// (loadHits, storedHit). Searches load no stored fields themselves because
// through the alias every shard would load its own top page, most of which
// the merge then drops. A hit whose shard or document is gone since the search
// (retention dropped its partition) is left out.
//
// A hit is read by its document number in a snapshot of its shard taken
// now (hitByNumber), and by its id only when that snapshot numbers its
// documents otherwise than the search's did (a merge in between): finding
// an id looks it up in every segment's dictionary, which on 10M events
// (17 segments) was a seventh of the CPU of a page of 50.
func (s *Store) pageHits(matches search.DocumentMatchCollection, summary bool) ([]Hit, error) {
	shards := map[string]shardView{}
	if v := s.shardsView.Load(); v != nil {
		for _, sh := range *v {
			shards[sh.idx.Name()] = sh
		}
	}
	var views []shardView
	seen := map[string]bool{}
	for _, m := range matches {
		if sh, ok := shards[m.Index]; ok && !seen[m.Index] {
			seen[m.Index] = true
			views = append(views, sh)
		}
	}
	snaps := map[string]*scorch.IndexSnapshot{}
	var hits []Hit
	ran := false
	err := withSnapshots(views, func(ss []*scorch.IndexSnapshot) error {
		ran = true
		for i, snap := range ss {
			snaps[views[i].idx.Name()] = snap
		}
		var err error
		hits, err = s.loadPage(matches, shards, snaps, summary)
		return err
	})
	if !ran && err != nil {
		// A shard closed since the search (or no snapshots to read by
		// number): by id only.
		return s.loadPage(matches, shards, nil, summary)
	}
	return hits, err
}

// loadPage is pageHits with the snapshots to read hits from by number.
func (s *Store) loadPage(matches search.DocumentMatchCollection, shards map[string]shardView, snaps map[string]*scorch.IndexSnapshot, summary bool) ([]Hit, error) {
	return loadHits(len(matches), func(i int, h *Hit) (bool, error) {
		m := matches[i]
		if snap := snaps[m.Index]; snap != nil {
			if ok, err := s.hitByNumber(h, snap, m, summary); ok || err != nil {
				if ok {
					metricHitReads.WithLabelValues("number").Inc()
				}
				return ok, err
			}
		}
		metricHitReads.WithLabelValues("id").Inc()
		sh, ok := shards[m.Index]
		if !ok {
			return false, nil
		}
		doc, err := sh.idx.Document(m.ID)
		switch {
		case errors.Is(err, bleve.ErrorIndexClosed) || (err == nil && doc == nil):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("read hit %s: %w", m.ID, err)
		}
		err = s.storedHit(h, func(fn func(field string, value []byte) bool) error {
			more := true
			doc.VisitFields(func(f bindex.Field) {
				if more {
					more = fn(f.Name(), f.Value())
				}
			})
			return nil
		}, summary, m.Score)
		if err != nil {
			return false, fmt.Errorf("read hit %s: %w", m.ID, err)
		}
		return true, nil
	})
}

// hitByNumber reads m into h from snap by its document number in the
// search's snapshot; ok is false when snap holds another document, or a
// deleted one, at that number.
func (s *Store) hitByNumber(h *Hit, snap *scorch.IndexSnapshot, m *search.DocumentMatch, summary bool) (ok bool, err error) {
	err = s.storedHit(h, func(fn func(field string, value []byte) bool) error {
		ok, err = visitByNumber(snap, m, fn)
		return err
	}, summary, m.Score)
	if !ok {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read hit %s: %w", m.ID, err)
	}
	return true, nil
}

// visitByNumber visits the stored fields of m, but its id, in snap by its
// document number in the search's snapshot, until fn returns false; ok is
// false (and fn not called) when snap holds another document, or a
// deleted one, at that number.
func visitByNumber(snap *scorch.IndexSnapshot, m *search.DocumentMatch, fn func(field string, value []byte) bool) (ok bool, err error) {
	if m.IndexInternalID == nil {
		return false, nil
	}
	ss, off := segmentOf(snap, m.IndexInternalID.Value())
	if ss == nil {
		return false, nil
	}
	local := m.IndexInternalID.Value() - off
	if d := ss.Deleted(); d != nil && d.Contains(uint32(local)) {
		return false, nil
	}
	var checked, other bool
	err = ss.Segment().VisitStoredFields(local, func(field string, _ byte, value []byte, _ []uint64) bool {
		if field == "_id" {
			// Never stop at the id: zapx (v17.2.5) then puts its
			// decoding buffer back in its pool twice, and two
			// later reads can share it and see each other's
			// fields. Stop at the next field instead.
			checked, other = true, string(value) != m.ID
			return true
		}
		return checked && !other && fn(field, value)
	})
	return checked && !other, err
}

// segmentOf returns the segment of snap holding the document number n and
// the number of its first document; nil past the last.
func segmentOf(snap *scorch.IndexSnapshot, n uint64) (ss *scorch.SegmentSnapshot, off uint64) {
	for _, ss := range snap.Segments() {
		if n < off+ss.Count() {
			return ss, off
		}
		off += ss.Count()
	}
	return nil, off
}

// localDensity is how many times denser events are in the two whole hours
// before t's than on average over the store, between 1/16 and 16; 1 when
// the hours' counts are not known.
func (s *Store) localDensity(ctx context.Context, st Stats, t time.Time) float64 {
	v := s.shardsView.Load()
	if v == nil || !s.allHourly() || st.Events == 0 || !st.Newest.After(st.Oldest) {
		return 1
	}
	// From the hour counts kept per segment: reading the two hours from
	// every segment's dictionary was a tenth of the CPU of the newest page
	// of a term on 10M events.
	var n uint64
	from, to := hourKey(t.Add(-2*time.Hour)), hourKey(t.Add(-time.Hour))
	if err := s.segCounts.eachSegmentCount(ctx, *v, []string{fieldHour}, func(_ *scorch.SegmentSnapshot, _ int, tc []termCount) {
		i, _ := slices.BinarySearchFunc(tc, from, func(c termCount, t string) int { return strings.Compare(c.term, t) })
		for ; i < len(tc) && tc[i].term <= to; i++ {
			n += tc[i].n
		}
	}); err != nil || n == 0 {
		// Only an estimate: the window widens when it is short.
		return 1
	}
	avg := float64(st.Events) / st.Newest.Sub(st.Oldest).Hours()
	return min(max(float64(n)/2/avg, 1.0/16), 16)
}

// loadHits returns the hits load rebuilds for 0..n-1, leaving out those
// not found, on up to one goroutine per core: decompressing and parsing
// are most of what a page costs once the matches are found. load fills
// the hit in place (a Hit is over 500 bytes: no copies).
func loadHits(n int, load func(i int, h *Hit) (found bool, err error)) ([]Hit, error) {
	hits := make([]Hit, n)
	found := make([]bool, n)
	errs := make([]error, n)
	one := func(i int) { found[i], errs[i] = load(i, &hits[i]) }
	workers := min(runtime.GOMAXPROCS(0), (n+hitsPerWorker-1)/hitsPerWorker)
	if workers <= 1 {
		for i := range n {
			one(i)
		}
	} else {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < n; i += workers {
					one(i)
				}
			})
		}
		wg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := hits[:0]
	for i := range hits {
		if found[i] {
			out = append(out, hits[i])
		}
	}
	return out, nil
}

// storedHit rebuilds a hit into h from a document's stored fields, which
// visit walks until fn returns false (a value may be a reading buffer,
// good only during fn): from its summary when summary is set and the
// document has one that decodes, else from its record.
func (s *Store) storedHit(h *Hit, visit func(fn func(field string, value []byte) bool) error, summary bool, score float64) error {
	if summary {
		var ok bool
		if err := visit(func(field string, value []byte) bool {
			if field != fieldSum {
				return true
			}
			ok = s.summaryHit(h, value, score)
			return false
		}); err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	var blob []byte
	if err := visit(func(field string, value []byte) bool {
		if field != fieldBlob {
			return true
		}
		blob = slices.Clone(value) // a Hit keeps its record
		return false
	}); err != nil {
		return err
	}
	hit, err := s.hit(blob, score)
	*h = hit
	return err
}

// summaryHit rebuilds into h the typed fields of an event from its stored
// summary; false when there is none (stored before summaries) or it does
// not decode, and the hit is to be read from its record.
func (s *Store) summaryHit(h *Hit, sum []byte, score float64) bool {
	if sum == nil {
		return false
	}
	ev, err := decodeSummary(sum)
	if err != nil {
		metricSummaryFallbacks.Inc()
		return false
	}
	*h = Hit{Event: ev, Cursor: s.Cursor(ev.Seq), Score: score}
	return true
}

// hit rebuilds an Event from its stored blob.
func (s *Store) hit(stored any, score float64) (Hit, error) {
	var blob []byte
	switch v := stored.(type) {
	case Hit: // read from a block
		v.Score = score
		return v, nil
	case string:
		blob = []byte(v)
	case []byte:
		blob = v
	}
	if blob == nil {
		return Hit{}, fmt.Errorf("stored event missing")
	}
	kind, seq, raw, err := decodeBlob(blob)
	if err != nil {
		return Hit{}, err
	}
	ev, err := record.Parse(kind, raw)
	if err != nil {
		return Hit{}, fmt.Errorf("decode stored record: %w", err)
	}
	ev.Seq = seq
	return Hit{Event: ev, Cursor: s.Cursor(seq), Score: score}, nil
}

// fingerprint ties a page token to the request it came from.
func fingerprint(r SearchRequest) [8]byte {
	h := sha256.New()
	var b [8]byte
	for _, part := range []string{r.Query, r.Start.UTC().Format(time.RFC3339Nano), r.End.UTC().Format(time.RFC3339Nano), strconv.Itoa(int(r.Order)), r.Scope.key()} {
		binary.BigEndian.PutUint64(b[:], uint64(len(part)))
		h.Write(b[:])
		h.Write([]byte(part))
	}
	var fp [8]byte
	copy(fp[:], h.Sum(nil))
	return fp
}

func facetName(i int) string { return "f" + strconv.Itoa(i) }

func (s *Store) addFacets(req *bleve.SearchRequest, r SearchRequest) error {
	if len(r.Facets) > s.cfg.MaxFacets {
		return fmt.Errorf("%w: %d facets requested; the limit is %d", ErrInvalid, len(r.Facets), s.cfg.MaxFacets)
	}
	for i, f := range r.Facets {
		field, err := facetField(f.Field)
		if err != nil {
			return err
		}
		size := f.Size
		switch {
		case size == 0:
			size = 10
		case size < 0 || size > s.cfg.MaxFacetSize:
			return fmt.Errorf("%w: facet %s size %d is out of range 1..%d", ErrInvalid, f.Field, size, s.cfg.MaxFacetSize)
		}
		// Each shard (and partition) counts its own top terms and the alias
		// adds them up: asking every one for the top size would drop terms
		// that are frequent overall but not in the top of one shard, and
		// undercount others. So each is asked for many more, and the sum
		// is cut to size in facetResults: exact while a field has at most
		// shardFacetTerms values in each shard.
		req.AddFacet(facetName(i), bleve.NewFacetRequest(field, max(size, shardFacetTerms)))
	}
	return nil
}

// shardFacetTerms is how many terms each shard reports for a facet.
const shardFacetTerms = 10000

func facetResults(res *bleve.SearchResult, r SearchRequest) []FacetResult {
	var out []FacetResult
	for i, f := range r.Facets {
		fr := FacetResult{Field: f.Field}
		if bf, ok := res.Facets[facetName(i)]; ok && bf != nil {
			if bf.Terms != nil {
				for _, t := range bf.Terms.Terms() {
					fr.Values = append(fr.Values, FacetValue{Value: t.Term, Count: t.Count})
				}
			}
			fr.Other, fr.Missing = bf.Other, bf.Missing
			finishFacet(&fr, f.Size)
		}
		out = append(out, fr)
	}
	return out
}

// finishFacet orders the values most frequent first, then by value, and
// cuts them to the size asked for (0 means 10); what is cut counts as other.
func finishFacet(fr *FacetResult, size int) {
	slices.SortFunc(fr.Values, func(a, b FacetValue) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Value, b.Value))
	})
	if size == 0 {
		size = 10
	}
	if len(fr.Values) > size {
		for _, v := range fr.Values[size:] {
			fr.Other += v.Count
		}
		fr.Values = fr.Values[:size]
	}
}

const histogramFacet = "histogram"

// addHistogram adds the histogram facet and returns the bucket starts and
// their interval (0 without a histogram).
func (s *Store) addHistogram(req *bleve.SearchRequest, r SearchRequest) ([]time.Time, time.Duration, error) {
	if r.HistogramInterval == "" {
		return nil, 0, nil
	}
	iv, err := parseInterval(r.HistogramInterval)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	// The published span, not the writer's fields: a batch holds s.mu
	// while it is written, and a histogram need not wait for it.
	st := s.counts()
	lo, hi := st.Oldest, st.Newest.Add(time.Nanosecond)
	if !r.Start.IsZero() && r.Start.After(lo) {
		lo = r.Start
	}
	if !r.End.IsZero() && r.End.Before(hi) {
		hi = r.End
	}
	if st.Newest.IsZero() || !hi.After(lo) {
		return nil, 0, nil
	}
	lo = lo.UTC().Truncate(iv)
	n := int((hi.Sub(lo) + iv - 1) / iv)
	if n > s.cfg.MaxHistogramBuckets {
		return nil, 0, fmt.Errorf("%w: histogram would have %d buckets; the limit is %d: use a wider interval or a shorter time range", ErrInvalid, n, s.cfg.MaxHistogramBuckets)
	}
	starts := make([]time.Time, n)
	for i := range n {
		starts[i] = lo.Add(time.Duration(i) * iv)
	}
	// Whole hours: count the matches per hour (one doc value each) and add
	// the hours up per bucket (the query holds the time range, if any). Otherwise Bleve tests each match's time
	// against every bucket's range: 0.4 s for a daily histogram of 1M.
	// Asking for more hours than the span has leaves room for events
	// stored meanwhile outside it, which must not push an hour out.
	if hours := int(hi.Sub(lo)/time.Hour) + 1; hourlyHistogram(iv, time.Time{}, time.Time{}) && hours <= shardFacetTerms/2 && s.allHourly() {
		req.AddFacet(histogramFacet, bleve.NewFacetRequest(fieldHour, shardFacetTerms))
		return starts, iv, nil
	}
	fr := bleve.NewFacetRequest(fieldTime, n)
	for i := range n {
		fr.AddDateTimeRange(strconv.Itoa(i), starts[i], starts[i].Add(iv))
	}
	req.AddFacet(histogramFacet, fr)
	return starts, iv, nil
}

// iv is the buckets' interval.
func histogramResults(res *bleve.SearchResult, starts []time.Time, iv time.Duration) []Bucket {
	if starts == nil {
		return nil
	}
	out := make([]Bucket, len(starts))
	for i, t := range starts {
		out[i].Start = t
	}
	if f, ok := res.Facets[histogramFacet]; ok && f != nil {
		for _, dr := range f.DateRanges {
			if i, err := strconv.Atoi(dr.Name); err == nil && i >= 0 && i < len(out) {
				out[i].Count = dr.Count
			}
		}
		if f.Terms != nil && len(starts) > 0 && iv > 0 {
			for _, t := range f.Terms.Terms() {
				h, ok := parseHourKey(t.Term)
				if !ok || h.Before(starts[0]) {
					continue
				}
				if i := int(h.Sub(starts[0]) / iv); i < len(out) {
					out[i].Count += t.Count
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}
