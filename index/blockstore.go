package index

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// The Store's side of block partitions (docs/blocks.md, "Wiring the
// Store"). The alias of all shards (Store.idx) and the shard view hold the
// per-event partitions only, so every path written for them stays as it
// was; each entry point adds what the block partitions hold, read through
// the block plan, pages, counts and id index of block*.go.

// blockShard is a shard of a block partition as readers see it.
type blockShard struct {
	idx bleve.Index
	w   *blockWriter
}

// blockShards returns the shards of every block partition, newest
// partition last; nil when there is none.
func (s *Store) blockShards() []blockShard {
	if v := s.blockView.Load(); v != nil {
		return *v
	}
	return nil
}

// freezeClosed freezes the sidecars of the block shards of the partitions
// that take no more events, every one but the newest, not frozen yet.
func (s *Store) freezeClosed() {
	type todo struct {
		w    *blockWriter
		path string
	}
	var ws []todo
	s.mu.Lock() // retention may close a partition meanwhile: its writers are read here
	for _, p := range s.parts[:max(len(s.parts)-1, 0)] {
		for i, w := range p.blocks {
			ws = append(ws, todo{w, p.sidecarPath(s.cfg.Dir, i)})
		}
	}
	s.mu.Unlock()
	for _, t := range ws {
		freezeWriter(t.w, t.path, s.log)
	}
}

// freezeBlocks freezes the sidecars of the block shards of p, which takes
// no more events and which no other goroutine reads yet.
func (p *partition) freezeBlocks(dataDir string, log *slog.Logger) {
	for i, w := range p.blocks {
		freezeWriter(w, p.sidecarPath(dataDir, i), log)
	}
}

// freezeWriter freezes w's sidecar to path (blockWriter.freeze) unless it
// was already; a failure is logged and leaves that sidecar on the heap.
func freezeWriter(w *blockWriter, path string, log *slog.Logger) {
	if w.isFrozen() {
		return
	}
	if err := w.freeze(path); err != nil {
		metricSidecarFreezes.WithLabelValues("failed").Inc()
		log.Warn("sidecar kept on the heap: it could not be frozen", "path", path, "err", err)
		return
	}
	metricSidecarFreezes.WithLabelValues("frozen").Inc()
}

// shardStored reads the stored fields of a document of sh (a block, or
// one written beside it) in a snapshot of sh, by its document number, near
// it, or by its id (the search ran on a newer snapshot); done releases the
// snapshot. The newest blocks' documents, those of blocks starting at
// keepFrom or later (0: none), are read through cache (nil: none).
func shardStored(sh bleve.Index, cache *storedCache, keepFrom uint64) (stored blockStored, done func(), err error) {
	gen := cache.generation() // before the snapshot: see storedCache
	adv, err := sh.Advanced()
	if err != nil {
		return nil, nil, fmt.Errorf("open shard: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, nil, fmt.Errorf("open shard reader: %w", err)
	}
	snap, _ := r.(*scorch.IndexSnapshot)
	var read blockStored
	read = func(m *search.DocumentMatch, visit storedVisit) error {
		fn := plainVisit(visit)
		if snap != nil {
			// By its number; else, for a document written beside a block in
			// the same batch (blockSibling), in the segment holding the
			// block (a batch makes one segment, and merges keep a segment's
			// documents together); else by its id in the snapshot.
			if m.IndexInternalID != nil {
				ok, err := visitByNumber(snap, m, fn)
				if err == nil && !ok {
					ok, err = visitSibling(snap, m, fn)
				}
				if err != nil || ok {
					return err
				}
			}
			var n bindex.IndexInternalID
			if k, ok := blockDocs.number(snap, m.ID); ok {
				n = bindex.NewIndexInternalID(nil, k)
			} else {
				var err error
				if n, err = snap.InternalID(m.ID); err != nil {
					return fmt.Errorf("read %s: %w", m.ID, err)
				}
			}
			if n != nil {
				ok, err := visitByNumber(snap, &search.DocumentMatch{ID: m.ID, IndexInternalID: n}, fn)
				if ok && m.IndexInternalID == nil {
					// Kept, for its siblings to be found in its segment
					// (blockSibling): looking an id up in every segment
					// was a tenth of a page of one word.
					m.IndexInternalID = n
				}
				if err != nil || ok {
					return err
				}
			}
		}
		// Not in the snapshot: stored since (a page from the sidecar,
		// which holds every block stored), or in none.
		return visitDocument(sh, m.ID, fn)
	}
	stored = func(m *search.DocumentMatch, fn storedVisit) error {
		return cache.cached(m, gen, keepFrom, read, fn)
	}
	return stored, func() { _ = r.Close() }, nil
}

// visitDocument visits the stored fields of the document of sh with the
// id, through Bleve's Document (which loads them all).
func visitDocument(sh bleve.Index, id string, fn func(field string, value []byte) bool) error {
	doc, err := sh.Document(id)
	if err != nil {
		return fmt.Errorf("read %s: %w", id, err)
	}
	if doc == nil {
		return fmt.Errorf("read %s: %w", id, errNoDocument)
	}
	more := true
	doc.VisitFields(func(f bindex.Field) {
		if more && f.Name() != "_id" {
			more = fn(f.Name(), f.Value())
		}
	})
	return nil
}

// blockSibling is the match of the document with the id written in the
// same batch as the block m (its records, its rare terms' index), for a
// blockStored to find near m.
func blockSibling(m *search.DocumentMatch, id string) *search.DocumentMatch {
	return &search.DocumentMatch{ID: id, IndexInternalID: m.IndexInternalID}
}

// visitSibling visits the stored fields of the document with m's id in the
// segment of snap holding the document number m names; ok is false if that
// segment holds none.
func visitSibling(snap *scorch.IndexSnapshot, m *search.DocumentMatch, fn func(field string, value []byte) bool) (ok bool, err error) {
	ss, off := segmentOf(snap, m.IndexInternalID.Value())
	if ss == nil {
		return false, nil
	}
	var local uint32
	if ids, err := blockDocs.of(ss.Segment()); err == nil {
		n, ok := ids[m.ID]
		if !ok {
			return false, nil
		}
		local = n
	} else {
		found, err := ss.Segment().DocNumbers([]string{m.ID})
		if err != nil || found.IsEmpty() {
			return false, err
		}
		local = found.Minimum()
	}
	at := &search.DocumentMatch{ID: m.ID, IndexInternalID: bindex.NewIndexInternalID(nil, off+uint64(local))}
	return visitByNumber(snap, at, fn)
}

// blockShardTerms lists the distinct terms of a field over the shards.
func blockShardTerms(shards []blockShard) termSource {
	return func(field string) ([]string, error) {
		var out []string
		for _, sh := range shards {
			ts, err := shardTerms(sh, field)
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
		}
		slices.Sort(out)
		return slices.Compact(out), nil
	}
}

// shardTerms lists the distinct terms of a field in one shard: the
// newline fields and a facetable field's values from what its writer
// keeps (walking the term dictionaries of every segment cost a wildcard
// on user ARNs 7 ms at 1M events), others from the dictionaries.
func shardTerms(sh blockShard, field string) ([]string, error) {
	if field == fieldNewline {
		return sh.w.newlineFields()
	}
	if ts, ok := sh.w.sidecarTerms(field); ok {
		return ts, nil
	}
	return indexTerms(sh.idx)(field)
}

// blockPlanOf compiles ast within scope for the block shards, with
// eventTime in [start, end) when either is set.
func (s *Store) blockPlanOf(ast query.Node, scope Scope, now, start, end time.Time, shards []blockShard) (*blockPlan, error) {
	c := compiler{now: now, allowLeadingWildcard: s.cfg.AllowLeadingWildcard}
	p, err := c.blockPlan(scope.apply(ast), blockShardTerms(shards))
	if err != nil {
		return nil, err
	}
	if !start.IsZero() || !end.IsZero() {
		node, q, err := blockTime(start, end)
		if err != nil {
			return nil, err
		}
		p.root = blockNode{op: bnAnd, kids: []blockNode{p.root, node}}
		p.candidates = bquery.NewConjunctionQuery([]bquery.Query{p.candidates, q})
	}
	return p, nil
}

// eachBlockShard calls fn with each shard, its search and its stored
// fields.
func eachBlockShard(shards []blockShard, fn func(i int, sh blockShard, search searchFunc, stored blockStored) error) error {
	for i, sh := range shards {
		stored, done, err := shardStored(sh.idx, nil, 0)
		if err != nil {
			return err
		}
		err = fn(i, sh, searchOfIndex(sh.idx), stored)
		done()
		if err != nil {
			return err
		}
	}
	return nil
}

// searchOfIndex runs searches on one index.
func searchOfIndex(idx bleve.Index) searchFunc {
	return func(ctx context.Context, r *bleve.SearchRequest) (*bleve.SearchResult, error) {
		return idx.SearchInContext(ctx, r)
	}
}

// blockEvent is an event a block search found, with its sort key.
type blockEvent struct {
	key string // orderKey
	hit Hit
}

// blockResult is what the block partitions add to a search.
type blockResult struct {
	hits    []Hit      // the page's first size, in order
	pooled  *[]Hit     // hits' array, from getHits
	arena   *byteArena // their summaries' bytes, when read in the summary view
	keys    []string   // their orderKeys
	total   uint64
	facets  []facetCount // by the request's facets
	buckets []int        // by histogram bucket
}

// blockSearch answers r's page, total, facets and histogram over the
// block partitions. fields are the facets' numbers in blockColumnFields;
// buckets and iv the histogram's, if any; after the page token's sort key.
func (s *Store) blockSearch(ctx context.Context, shards []blockShard, ast query.Node, r SearchRequest, now time.Time, size int, after string, fields []int, buckets []time.Time, iv time.Duration, allEvents bool) (blockResult, error) {
	var out blockResult
	p, err := s.blockPlanOf(ast, r.Scope, now, r.Start, r.End, shards)
	if err != nil {
		return out, err
	}
	newest := r.Order != OrderOldest
	out.facets = make([]facetCount, len(fields))
	for i := range out.facets {
		out.facets[i].values = map[string]int{}
	}
	out.buckets = make([]int, len(buckets))
	creq := blockCountRequest{fields: fields}
	if len(buckets) > 0 {
		creq.start, creq.iv, creq.buckets = buckets[0], iv, len(buckets)
	}
	type found struct {
		m     blockMatch
		shard int
	}
	// A term on a facetable field alone is counted beside the blocks too.
	termTotal, termCounted, err := blockTermCount(ast, r, shards)
	if err != nil {
		return out, err
	}
	termCounted = termCounted && len(fields) == 0 && len(buckets) == 0
	if termCounted {
		out.total = termTotal
	}
	// Each shard's page and counts, the shards side by side (a search on
	// the per-event layout fans out the same way), then summed in order.
	type part struct {
		pg      blockPage
		counted bool // over all events, from the counts beside the blocks
		kept    blockCounts
		cs      blockCounts // read from the candidate blocks, unless counted
	}
	parts := make([]part, len(shards))
	stored := make([]blockStored, len(shards))
	dones := make([]func(), len(shards))
	defer func() {
		for _, d := range dones {
			if d != nil {
				d()
			}
		}
	}()
	keepFrom := keepFromSeq(s.head.Load())
	for i, sh := range shards {
		st, done, err := shardStored(sh.idx, s.stored, keepFrom)
		if err != nil {
			return out, err
		}
		stored[i], dones[i] = st, done
	}
	// The sidecar's pages of all events or of one term, with no counts
	// but the total, are taken in series (inWaves' quick) when the shards
	// are no more than the cores: a bitmap's walk for a page. A query of
	// several terms, or facets, may take the sidecar long enough to want a
	// core of its own, and so may many shards' pages together (at 10M
	// events, ten shards' pages of all events in series took 0.2 ms more
	// than side by side).
	inline := (p.root.op == bnAll || p.root.op == bnTerm && !p.root.bloom) && len(fields) == 0 && len(buckets) == 0 &&
		len(shards) <= runtime.GOMAXPROCS(0)
	// fromSidecar takes shard i's page of size (none with 0) and its
	// counts from the kept counts and the sidecar, in memory; done is
	// false when the sidecar cannot decide p, and run then reads them from
	// the blocks.
	fromSidecar := func(i, size int) (done bool, err error) {
		sh := shards[i]
		pt := &parts[i]
		// Over all events the counts kept beside the blocks answer;
		// otherwise the candidate blocks are read.
		pt.counted = termCounted
		if allEvents {
			pt.counted = true
			pt.kept = blockCounts{facets: make([]facetCount, len(fields))}
			sh.w.counts(func(c *allCounts) {
				pt.kept.total = c.events
				for j, f := range fields {
					pt.kept.facets[j] = c.facet(f) // a copy
				}
				if len(buckets) > 0 {
					bs, ok := c.histogram(buckets[0], iv, len(buckets))
					pt.kept.buckets = bs
					pt.counted = ok
				}
			})
		}
		// The page and counts on the sidecar when it decides the
		// query; else from the candidate blocks.
		pg, cs, ok, err := sh.w.sidecarSearch(p, newest, size, after, !pt.counted, creq)
		if err != nil || ok {
			metricBlockSearches.WithLabelValues("sidecar").Inc()
			pt.pg, pt.cs = pg, cs
			return true, err
		}
		return false, nil
	}
	// run reads shard i's page of size (none with 0) and its counts, from
	// the sidecar unless inline tried it, else from its blocks.
	run := func(gctx context.Context, i, size int) error {
		sh, st := shards[i], stored[i]
		pt := &parts[i]
		if !inline {
			if done, err := fromSidecar(i, size); err != nil || done {
				return err
			}
		}
		search := searchOfIndex(sh.idx)
		var err error
		// The page from the blocks, in the sidecar's order where it has
		// them.
		if size > 0 { // else only counted
			if blocks, ok := sh.w.sidecarBlocks(p); ok {
				pt.pg, err = p.pageOrdered(gctx, blocks, st, newest, size, after)
			} else {
				pt.pg, err = p.page(gctx, search, st, newest, size, after)
			}
		}
		if err != nil || pt.counted {
			return err
		}
		// One common word's total is its count, and its events in the
		// blocks before it became common.
		if word, ok := p.oneWord(); ok && len(fields) == 0 && len(buckets) == 0 {
			if n, since, ok := sh.w.wordTotal(word); ok {
				metricBlockSearches.WithLabelValues("word_counts").Inc()
				var early blockCounts
				if firsts, ok := sh.w.sidecarBlockList(p, max(since, 1)); ok {
					early, err = p.countBlocks(gctx, firsts, st, blockCountRequest{})
				} else {
					early.total, err = p.before(since).count(gctx, search, st)
				}
				pt.cs.total = n + early.total
				return err
			}
		}
		metricBlockSearches.WithLabelValues("blocks").Inc()
		// The candidate blocks from the sidecar where it has them.
		if firsts, ok := sh.w.sidecarBlockList(p, 0); ok {
			pt.cs, err = p.countBlocks(gctx, firsts, st, creq)
		} else {
			pt.cs, err = p.counts(gctx, search, st, creq)
		}
		return err
	}
	// The shards whose best event sorts first are read first; a shard
	// whose best sorts after the last of the page they make is then only
	// counted. Partitions follow one another in time, so at 10M events
	// the page of a word was read in one of five partitions instead of
	// each (the blocks read for a page were two thirds of its CPU).
	order := make([]shardBound[eventKey], len(shards))
	for i, sh := range shards {
		order[i].i = i
		order[i].best, order[i].known = sh.w.bestKey(newest)
	}
	before := inOrder(newest)
	sortBounds(order, before)
	sizeOf := func(skip bool) int {
		if skip {
			return 0
		}
		return size
	}
	var quick func(i int, skip bool) (bool, error)
	if inline {
		quick = func(i int, skip bool) (bool, error) { return fromSidecar(i, sizeOf(skip)) }
	}
	err = inWaves(ctx, order, true, quick, func(gctx context.Context, i int, skip bool) error {
		return run(gctx, i, sizeOf(skip))
	}, func(first []shardBound[eventKey]) func(eventKey) bool {
		var keys []eventKey
		for _, b := range first {
			for _, m := range parts[b.i].pg.matches {
				keys = append(keys, m.key)
			}
		}
		if size == 0 || len(keys) < size {
			return nil
		}
		slices.SortFunc(keys, func(a, b eventKey) int {
			if before(a, b) {
				return -1
			}
			return 1
		})
		last := keys[size-1] // the page's last so far
		return func(best eventKey) bool { return !before(best, last) }
	})
	if err != nil {
		return out, err
	}
	add := func(cs blockCounts) {
		out.total += cs.total
		for j := range fields {
			out.facets[j].missing += cs.facets[j].missing
			for v, k := range cs.facets[j].values {
				out.facets[j].values[v] += k
			}
		}
		for j, k := range cs.buckets {
			out.buckets[j] += k
		}
	}
	for _, pt := range parts {
		switch {
		case allEvents && pt.counted:
			add(pt.kept)
		case allEvents: // the histogram alone was read from the blocks
			pt.kept.buckets = pt.cs.buckets
			add(pt.kept)
		case !pt.counted:
			add(pt.cs)
		}
	}
	// The page: the shards' matches, each shard's in order, merged up to
	// size (sorting them all was 4% of a page of all events in process).
	all := make([]found, 0, size)
	heads := make([]int, len(parts))
	for len(all) < size {
		best := -1
		for i := range parts {
			ms := parts[i].pg.matches
			if heads[i] < len(ms) && (best < 0 || before(ms[heads[i]].key, parts[best].pg.matches[heads[best]].key)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		all = append(all, found{parts[best].pg.matches[heads[best]], best})
		heads[best]++
	}
	// Each shard's events from its blocks' records, read into the hits in
	// order (an event is some 500 bytes: a page's copies of them were a
	// fifth of what a search allocated).
	out.pooled = getHits(len(all))
	if r.Summary {
		out.arena = &byteArena{}
	}
	out.hits, out.keys = *out.pooled, make([]string, len(all))
	ms, into := make([]blockMatch, 0, len(all)), make([]*record.Event, 0, len(all))
	for i := range shards {
		ms, into = ms[:0], into[:0]
		for j, f := range all {
			if f.shard == i {
				ms, into = append(ms, f.m), append(into, &out.hits[j].Event)
			}
		}
		if len(ms) == 0 {
			continue
		}
		if err := readBlockEvents(ms, stored[i], r.Summary, out.arena, into); err != nil {
			return out, err
		}
	}
	for i, f := range all {
		h := &out.hits[i]
		if r.Summary {
			h.Event.Raw, h.Event.Leaves = nil, record.Leaves{}
		}
		out.keys[i], h.Cursor = orderKey(f.m.key), s.Cursor(h.Event.Seq)
	}
	return out, nil
}

// blockFind returns the event with the id in the block partitions, if
// one holds it and scope (unless zero) lets the caller see it.
func (s *Store) blockFind(ctx context.Context, id string, scope Scope) (Hit, bool, error) {
	var see matcher
	if !scope.IsZero() {
		c := compiler{now: time.Now()}
		m, err := c.matcher(scope.apply(query.MatchAll{}))
		if err != nil {
			return Hit{}, false, err
		}
		see = m
	}
	for _, sh := range slices.Backward(s.blockShards()) {
		ev, ok, err := findEvent(ctx, sh.idx, sh.w.ids, id)
		if err != nil {
			return Hit{}, false, fmt.Errorf("get %s: %w", id, err)
		}
		if !ok {
			continue
		}
		if see != nil && !see(newEventTerms(&ev)) {
			return Hit{}, false, nil
		}
		return Hit{Event: ev, Cursor: s.Cursor(ev.Seq)}, true, nil
	}
	return Hit{}, false, nil
}

// blockStoredIDs returns the ids of the block partitions' events among
// ids.
func (s *Store) blockStoredIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	shards := s.blockShards()
	if len(shards) == 0 {
		return out, nil
	}
	keys := make([]uint64, len(ids)) // hash<<32 | index in ids
	for i, id := range ids {
		keys[i] = uint64(hashFrom(idSeeds.hash, unsafe.Slice(unsafe.StringData(id), len(id))))<<32 | uint64(i)
	}
	keys, _ = radixSort(keys, nil, 32, 64)
	var may []int
	for _, sh := range shards {
		// Most ids are new, and no block has their hash: the id index
		// says so without reading one.
		may = sh.w.ids.mayHold(keys, may[:0])
		for _, i := range may {
			id := ids[i]
			if out[id] {
				continue
			}
			_, ok, err := findEvent(ctx, sh.idx, sh.w.ids, id)
			if err != nil {
				return nil, fmt.Errorf("look up %s: %w", id, err)
			}
			if ok {
				out[id] = true
			}
		}
	}
	return out, nil
}

// blockEdge returns the newest (or oldest) eventTime of the matches of p
// in the block partitions (zero when none has one) and, with count, how
// many match.
func (s *Store) blockEdge(ctx context.Context, p *blockPlan, newest, count bool) (t time.Time, n uint64, err error) {
	var best *eventKey
	err = eachBlockShard(s.blockShards(), func(_ int, sh blockShard, search searchFunc, stored blockStored) error {
		if count {
			cs, ok := sh.w.sidecarCounts(p, blockCountRequest{})
			if !ok {
				var err error
				if cs.total, err = p.count(ctx, search, stored); err != nil {
					return err
				}
			}
			n += cs.total
		}
		// Oldest first, the events without a time come first (as on the
		// per-event layout): skip them.
		var after string
		for {
			pg, err := p.page(ctx, search, stored, newest, 1, after)
			if err != nil || len(pg.matches) == 0 {
				return err
			}
			k := pg.matches[0].key
			if k.nanos == noTime {
				if newest {
					return nil // nothing newer has a time
				}
				after = orderKey(k)
				continue
			}
			if best == nil || (newest && best.less(k)) || (!newest && k.less(*best)) {
				best = &k
			}
			return nil
		}
	})
	if err != nil || best == nil {
		return time.Time{}, n, err
	}
	return time.Unix(0, best.nanos).UTC(), n, nil
}

// allBlocks is the plan of every event of the block partitions.
func (s *Store) allBlocks() (*blockPlan, error) {
	return s.blockPlanOf(query.MatchAll{}, Scope{}, time.Now(), time.Time{}, time.Time{}, s.blockShards())
}

// blockEvents is the number of events the block partitions hold.
func (s *Store) blockEventCount(p *partition) uint64 {
	var n uint64
	for _, w := range p.blocks {
		w.counts(func(c *allCounts) { n += c.events })
	}
	return n
}

// blockReplay returns the events of the block partitions with sequence
// numbers in (after, upto] that match (nil: all), up to size, in sequence
// order. ast (nil: all events) is the query match tests, compiled for the
// blocks so that only its matches are parsed and tested: a sparse query
// over a window of 65,536 events otherwise parsed them all, for each
// lagging subscriber.
func (s *Store) blockReplay(ctx context.Context, ast query.Node, match func(*ringEntry) bool, after, upto uint64, size int) ([]Hit, error) {
	var out []Hit
	shards := s.blockShards()
	var plan *blockPlan
	if ast != nil {
		var err error
		if plan, err = s.blockPlanOf(ast, Scope{}, time.Now(), time.Time{}, time.Time{}, shards); err != nil {
			return nil, err
		}
	}
	// A block's events have consecutive sequence numbers from its
	// first, at most blockSize of them.
	from := uint64(0)
	if after+1 > blockSize {
		from = after + 1 - blockSize
	}
	q := bquery.NewConjunctionQuery([]bquery.Query{termOn(fieldDoc, blockDoc), termRange(fieldSeq, seqKey(from), seqKey(upto), true, true)})
	err := eachBlockShard(shards, func(_ int, _ blockShard, search searchFunc, stored blockStored) error {
		rd := blockReader{stored: stored}
		n := 0
		for skip, page := 0, 16; n < size; skip, page = skip+page, 64 {
			req := bleve.NewSearchRequestOptions(q, page, skip, false)
			req.Score = "none"
			req.SortBy([]string{fieldSeq})
			res, err := search(ctx, req)
			if err != nil {
				return fmt.Errorf("replay after %d: %w", after, err)
			}
			for _, h := range res.Hits {
				x, err := rd.read(h)
				if err != nil {
					return err
				}
				// The records, read once for the plan's test and the events.
				var recs *blockRecords
				records := func() (*blockRecords, error) {
					var err error
					if recs == nil {
						recs, err = rd.records(h)
					}
					return recs, err
				}
				var set eventSet
				if plan != nil {
					if !plan.mayHold(blockBloom{rd.bloom}) {
						continue
					}
					if set, _, err = plan.test(x, records); err != nil {
						return fmt.Errorf("block %s: %w", h.ID, err)
					}
					if set.empty() {
						continue
					}
				}
				if _, err := records(); err != nil {
					return err
				}
				if recs.len() != x.events {
					return fmt.Errorf("block %s: %w: %d records for %d events", h.ID, errEventIndex, recs.len(), x.events)
				}
				var pr record.Parser
				for o := range x.events {
					seq := x.key(o).seq
					if seq <= after || seq > upto || n == size || plan != nil && !set.has(o) {
						continue
					}
					rec, err := recs.get(o)
					if err != nil {
						return fmt.Errorf("block %s: %w", h.ID, err)
					}
					ev, err := pr.Parse(rec.kind, rec.raw)
					if err != nil {
						return fmt.Errorf("block %s, event %d: %w", h.ID, seq, err)
					}
					ev.Seq = seq
					e := newRingEntry(ev, s.Cursor(seq))
					if match == nil || match(e) {
						e.hit.Memo = nil
						out = append(out, e.hit)
						n++
					}
				}
			}
			if len(res.Hits) < page {
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Hit) int {
		switch {
		case a.Event.Seq < b.Event.Seq:
			return -1
		case a.Event.Seq > b.Event.Seq:
			return 1
		}
		return 0
	})
	return out[:min(len(out), size)], nil
}

// addBlocks adds to out, the per-event side's result of r, what the block
// partitions hold: their matches merged into the page by sort key (page
// tokens hold the key, alike on both layouts), their counts added to the
// total, the facets (asked: as requested) and the histogram's buckets.
func (s *Store) addBlocks(ctx context.Context, out *SearchResult, shards []blockShard, ast query.Node, r SearchRequest, asked []FacetRequest, now time.Time, size int, tok pageToken, fp [8]byte, buckets []time.Time, iv time.Duration, allEvents bool) error {
	var after string
	if len(tok.after) == 1 {
		after = tok.after[0]
	}
	fields := make([]int, len(asked))
	for i, f := range asked {
		name, err := facetField(f.Field)
		if err != nil {
			return err
		}
		if fields[i] = blockColumn(name); fields[i] < 0 {
			return fmt.Errorf("%w: no column of %s on blocks", ErrInvalid, f.Field)
		}
	}
	var br blockResult
	if r.Order == OrderRelevance {
		n, counted, err := s.relevancePage(ctx, out, shards, ast, r, now, size, tok)
		if err != nil {
			return err
		}
		if !counted || len(fields) > 0 || len(buckets) > 0 {
			// Counted as in time order (the page of one unused).
			if br, err = s.blockSearch(ctx, shards, ast, r, now, 1, "", fields, buckets, iv, allEvents); err != nil {
				return err
			}
			putHits(br.pooled)
			n = br.total
		}
		out.Total += n
		out.NextPageToken = ""
		if n, seen := len(out.Hits), tok.offset+uint64(len(out.Hits)); n == size && seen < out.Total {
			out.NextPageToken = s.encodePageToken(pageToken{fingerprint: fp, offset: seen})
		}
	} else {
		var err error
		if br, err = s.blockSearch(ctx, shards, ast, r, now, size, after, fields, buckets, iv, allEvents); err != nil {
			return err
		}
		s.addBlockPage(out, br, r, size, tok, fp)
	}
	for i, f := range asked {
		var fr FacetResult
		if i < len(out.Facets) {
			fr = out.Facets[i]
		}
		fr.Field = f.Field
		values := map[string]int{}
		for _, v := range fr.Values {
			values[v.Value] += v.Count
		}
		for v, k := range br.facets[i].values {
			values[v] += k
		}
		fr.Missing += br.facets[i].missing
		fr.Values = fr.Values[:0]
		for v, k := range values {
			fr.Values = append(fr.Values, FacetValue{Value: v, Count: k})
		}
		finishFacet(&fr, f.Size)
		if i < len(out.Facets) {
			out.Facets[i] = fr
		} else {
			out.Facets = append(out.Facets, fr)
		}
	}
	if len(buckets) > 0 {
		if len(out.Histogram) != len(buckets) {
			out.Histogram = make([]Bucket, len(buckets))
			for i, t := range buckets {
				out.Histogram[i].Start = t
			}
		}
		for i, k := range br.buckets {
			out.Histogram[i].Count += k
		}
	}
	return nil
}

// addBlockPage merges the page of the block partitions, in newest or
// oldest order, into the per-event partitions' in out.
func (s *Store) addBlockPage(out *SearchResult, br blockResult, r SearchRequest, size int, tok pageToken, fp [8]byte) {
	// The blocks' hits are in order: merged with the per-event
	// partitions' if there are any (else they are the page as they are: a
	// page's copies of its events were a tenth of what it allocated).
	hits, keys := br.hits, br.keys
	out.pooled, out.arena = br.pooled, br.arena
	if len(out.Hits) > 0 {
		merged := make([]blockEvent, 0, len(out.Hits)+len(br.hits))
		for _, h := range out.Hits {
			merged = append(merged, blockEvent{key: timeKey(&h.Event) + seqKey(h.Event.Seq), hit: h})
		}
		for i, h := range br.hits {
			merged = append(merged, blockEvent{key: br.keys[i], hit: h})
		}
		slices.SortFunc(merged, func(a, b blockEvent) int {
			if r.Order == OrderOldest {
				return strings.Compare(a.key, b.key)
			}
			return strings.Compare(b.key, a.key)
		})
		merged = merged[:min(len(merged), size)]
		hits, keys = make([]Hit, len(merged)), make([]string, len(merged))
		for i, m := range merged {
			hits[i], keys[i] = m.hit, m.key
		}
		putHits(br.pooled) // copied
		out.pooled = nil
	}
	n := min(len(hits), size)
	out.Hits, keys = hits[:n], keys[:n]
	out.Total += br.total
	out.NextPageToken = ""
	if seen := tok.offset + uint64(n); n == size && seen < out.Total {
		out.NextPageToken = s.encodePageToken(pageToken{fingerprint: fp, offset: seen, after: []string{keys[n-1]}})
	}
}

// blockAny says whether an event of the block partitions matches ast
// within scope.
func (s *Store) blockAny(ctx context.Context, ast query.Node, scope Scope) (bool, error) {
	shards := s.blockShards()
	if len(shards) == 0 {
		return false, nil
	}
	p, err := s.blockPlanOf(ast, scope, time.Now(), time.Time{}, time.Time{}, shards)
	if err != nil {
		return false, err
	}
	found := false
	err = eachBlockShard(shards, func(_ int, _ blockShard, search searchFunc, stored blockStored) error {
		if found {
			return nil
		}
		pg, err := p.page(ctx, search, stored, true, 1, "")
		found = len(pg.matches) > 0
		return err
	})
	return found, err
}

// blockTermCount returns the events of the shards holding the term ast is, when
// ast is one term on a facetable typed field of a whole-value request (no
// scope, no time range), from the value counts kept beside the blocks.
func blockTermCount(ast query.Node, r SearchRequest, shards []blockShard) (n uint64, ok bool, err error) {
	t, isTerm := ast.(query.Term)
	if !isTerm || !r.Scope.IsZero() || !r.Start.IsZero() || !r.End.IsZero() || strings.IndexByte(t.Value, '\n') >= 0 {
		return 0, false, nil
	}
	spec := resolveField(t.Field)
	f := -1
	if spec.kind == kindKeyword {
		f = blockColumn(spec.name)
	}
	if f < 0 || spec.name == "readOnly" || spec.name == "requestID" {
		return 0, false, nil
	}
	for _, sh := range shards {
		// A block that left a value with a newline out of its list: the
		// term matches its lines, which the counts do not hold.
		nl, err := sh.w.newlineFields()
		if err != nil {
			return 0, false, err
		}
		if slices.Contains(nl, spec.name) {
			return 0, false, nil
		}
	}
	for _, sh := range shards {
		sh.w.counts(func(c *allCounts) { n += c.count(f, t.Value) })
	}
	return n, true, nil
}
