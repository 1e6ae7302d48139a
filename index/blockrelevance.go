package index

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/search"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// Relevance on block partitions (docs/blocks.md, "Relevance"). A block's
// event index records which terms an event holds, not how often nor how
// long its text is, so an event's score is BM25's with every term's
// frequency one and no length norm: the sum of the inverse document
// frequencies of the query's clauses it holds. A clause every match holds
// (one ANDed with the rest) adds the same to every score, so only the
// clauses under an OR count, and their frequencies are taken among the
// matches: an event holding more of an OR's clauses, and rarer ones, ranks
// first. Equal scores rank the most recently stored first, as Bleve's
// relevance order on the per-event layout breaks its ties (by _seq).

// scoreLeaves appends to out the clauses of n an event may hold or not
// among the matches of a query whose root n is: its terms, time ranges
// and undecided tests under an OR, outside any NOT. A phrase counts as its
// words (as Bleve sums a phrase's terms' scores), a pattern on a typed
// field as the terms it was expanded to.
func (n *blockNode) scoreLeaves(out []*blockNode, underOr bool) []*blockNode {
	switch n.op {
	case bnTerm, bnTime:
		if underOr {
			out = append(out, n)
		}
	case bnAnd:
		for i := range n.kids {
			out = n.kids[i].scoreLeaves(out, underOr)
		}
	case bnOr:
		for i := range n.kids {
			out = n.kids[i].scoreLeaves(out, true)
		}
	case bnMaybe:
		if len(n.kids) > 0 {
			return n.kids[0].scoreLeaves(out, underOr)
		}
		if underOr {
			out = append(out, n)
		}
	}
	return out
}

// scoredMatch is a match of a relevance search: its block and ordinal,
// its shard and its score.
type scoredMatch struct {
	m     blockMatch
	shard int
	score float64
}

// better reports whether a ranks before b: a higher score, else stored
// later.
func (a scoredMatch) better(b scoredMatch) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.m.key.seq > b.m.key.seq
}

// scoredHeap keeps the best matches seen, the worst of them on top.
type scoredHeap []scoredMatch

func (h scoredHeap) Len() int           { return len(h) }
func (h scoredHeap) Less(i, j int) bool { return h[j].better(h[i]) }
func (h scoredHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *scoredHeap) Push(x any)        { *h = append(*h, x.(scoredMatch)) }
func (h *scoredHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// offer keeps m if it is among the k best.
func (h *scoredHeap) offer(m scoredMatch, k int) {
	switch {
	case len(*h) < k:
		heap.Push(h, m)
	case m.better((*h)[0]):
		(*h)[0] = m
		heap.Fix(h, 0)
	}
}

// relevance returns the k best matches of p over the shards, best first,
// stored[i] reading shard i, and (with leaves) the number of matches.
// leaves are the clauses that score (scoreLeaves), compiled without the
// caller's scope so that it ranks nothing.
//
// Every candidate block is read once: the matches are grouped by the
// clauses they hold, each group keeping its k most recently stored (its
// events score alike), while the clauses' frequencies are counted; then
// the groups are scored. Without leaves there is one group, and the scan
// stops once it is full.
func (p *blockPlan) relevance(ctx context.Context, shards []blockShard, stored []blockStored, leaves []*blockNode, k int) (best []scoredMatch, matches uint64, err error) {
	type shardScan struct {
		groups  []*relevanceGroup
		matches uint64
		held    []uint64 // by leaf
	}
	scans := make([]shardScan, len(shards))
	scan := func(gctx context.Context, i int) error {
		sh := shards[i]
		sc := &scans[i]
		var ok bool
		if sc.groups, sc.matches, sc.held, ok = sh.w.sidecarRelevance(p, leaves, k, i); ok {
			metricBlockSearches.WithLabelValues("sidecar").Inc()
			return nil
		}
		metricBlockSearches.WithLabelValues("blocks").Inc()
		groups := map[string]*relevanceGroup{}
		sc.held = make([]uint64, len(leaves))
		bits := make([]byte, (len(leaves)+7)/8)
		var last *relevanceGroup
		err := p.scanShard(gctx, sh, stored[i], leaves, func(x blockIndexes, h *search.DocumentMatch, set eventSet, sets []eventSet) bool {
			sc.matches += uint64(set.count())
			for j := range sets {
				sc.held[j] += uint64(sets[j].count())
			}
			set.each(func(o int) {
				clear(bits)
				for j := range sets {
					if sets[j].has(o) {
						bits[j/8] |= 1 << (j % 8)
					}
				}
				gr := last
				if gr == nil || string(gr.held) != string(bits) {
					if gr = groups[string(bits)]; gr == nil {
						gr = &relevanceGroup{held: slices.Clone(bits)}
						groups[string(gr.held)] = gr
						sc.groups = append(sc.groups, gr)
					}
					last = gr
				}
				gr.top.offer(scoredMatch{m: blockMatch{key: x.key(o), block: h, ord: o}, shard: i}, k)
			})
			// Without clauses that score, every match scores alike and
			// the blocks come newest stored first: once k are kept, no
			// later block holds a better one.
			return len(leaves) > 0 || len(last.top) < k
		})
		return err
	}
	// Without leaves the best are the matches stored last: the shards
	// holding the newest sequence numbers are read first, and one whose
	// newest is older than the k kept is not read (at 10M, the newest of
	// five partitions instead of each).
	order := make([]shardBound[uint64], len(shards))
	for i, sh := range shards {
		order[i].i = i
		order[i].best, order[i].known = sh.w.lastSeq()
	}
	sortBounds(order, func(a, b uint64) bool { return a > b })
	err = inWaves(ctx, order, len(leaves) == 0, nil, func(gctx context.Context, i int, skip bool) error {
		if skip {
			return nil
		}
		return scan(gctx, i)
	}, func(first []shardBound[uint64]) func(uint64) bool {
		var seqs []uint64
		for _, b := range first {
			for _, gr := range scans[b.i].groups {
				for _, m := range gr.top {
					seqs = append(seqs, m.m.key.seq)
				}
			}
		}
		if len(seqs) < k {
			return nil
		}
		slices.Sort(seqs)
		kth := seqs[len(seqs)-k]
		return func(seq uint64) bool { return seq < kth }
	})
	if err != nil {
		return nil, 0, err
	}
	weights := make([]float64, len(leaves))
	for i := range scans {
		matches += scans[i].matches
	}
	for j := range leaves {
		var df float64
		for i := range scans {
			df += float64(scans[i].held[j])
		}
		weights[j] = math.Log(1 + (float64(matches)-df+0.5)/(df+0.5))
	}
	for i := range scans {
		for _, gr := range scans[i].groups {
			var score float64
			for j := range leaves {
				if gr.held[j/8]&(1<<(j%8)) != 0 {
					score += weights[j]
				}
			}
			for _, m := range gr.top {
				m.score = score
				best = append(best, m)
			}
		}
	}
	slices.SortFunc(best, func(a, b scoredMatch) int {
		if a.better(b) {
			return -1
		}
		if b.better(a) {
			return 1
		}
		return 0
	})
	return best[:min(len(best), k)], matches, nil
}

// scanShard calls fn with each candidate block of the shard holding a
// match of p, the most recently stored first, with its matches and, for
// each leaf, the matches holding it (or that may: a term whose hash the
// block shares with another, an undecided test), until fn returns false.
func (p *blockPlan) scanShard(ctx context.Context, sh blockShard, stored blockStored, leaves []*blockNode, fn func(x blockIndexes, h *search.DocumentMatch, set eventSet, sets []eventSet) bool) error {
	rd := newBlockReader(stored, false)
	defer rd.release()
	sets := make([]eventSet, len(leaves))
	return p.eachCandidate(ctx, sh, func(h *search.DocumentMatch) (bool, error) {
		x, set, _, _, err := p.blockMatches(&rd, h)
		if err != nil || set.empty() {
			return err == nil, err
		}
		for j, l := range leaves {
			yes, maybe, err := l.eval(x)
			if err != nil {
				return false, fmt.Errorf("block %s: %w", h.ID, err)
			}
			sets[j] = yes.or(maybe).and(set)
		}
		return fn(x, h, set, sets), nil
	})
}

// eachCandidate calls fn with each block of the shard that may hold a
// match of p, by descending first sequence number (a shard's blocks hold
// consecutive runs of them, so the most recently stored first), until fn
// returns false or an error.
func (p *blockPlan) eachCandidate(ctx context.Context, sh blockShard, fn blockVisit) error {
	if firsts, ok := sh.w.sidecarBlockList(p, 0); ok {
		slices.Sort(firsts)
		slices.Reverse(firsts)
		return visitListed(ctx, firsts, fn)
	}
	return visitSearched(ctx, searchOfIndex(sh.idx), p.candidates, true, 64, fn)
}

// relevancePage sets out's hits to the page of relevance order from
// tok's offset: the block partitions' best merged with the per-event
// partitions' (out.Hits, their best from the first, as Search asked for
// them). The two layouts score differently (Bleve's TF-IDF, the blocks'
// sum above), so each side's scores are taken over its best one, whose
// events rank alike; equal, the most recently stored first. counted says
// that matches is the number of the blocks' matches (when the query has
// clauses that score, every candidate block was read).
func (s *Store) relevancePage(ctx context.Context, out *SearchResult, shards []blockShard, ast query.Node, r SearchRequest, now time.Time, size int, tok pageToken) (matches uint64, counted bool, err error) {
	p, err := s.blockPlanOf(ast, r.Scope, now, r.Start, r.End, shards)
	if err != nil {
		return 0, false, err
	}
	// The clauses that score, from the query without its scope (a time
	// range ANDed to it scores none).
	ranked := p
	if !r.Scope.IsZero() {
		if ranked, err = s.blockPlanOf(ast, Scope{}, now, time.Time{}, time.Time{}, shards); err != nil {
			return 0, false, err
		}
	}
	stored := make([]blockStored, len(shards))
	keepFrom := keepFromSeq(s.head.Load())
	for i, sh := range shards {
		st, done, err := shardStored(sh.idx, s.stored, keepFrom)
		if err != nil {
			return 0, false, err
		}
		defer done()
		stored[i] = st
	}
	from := int(tok.offset)
	leaves := ranked.root.scoreLeaves(nil, false)
	best, matches, err := p.relevance(ctx, shards, stored, leaves, from+size)
	if err != nil {
		return 0, false, err
	}
	type entry struct {
		norm float64
		seq  uint64
		hit  int // in out.Hits, or -1
		blk  int // in best, or -1
	}
	norm := func(score, top float64) float64 {
		if top <= 0 {
			return 1
		}
		return score / top
	}
	entries := make([]entry, 0, len(out.Hits)+len(best))
	for i := range out.Hits {
		entries = append(entries, entry{norm(out.Hits[i].Score, out.Hits[0].Score), out.Hits[i].Event.Seq, i, -1})
	}
	for i := range best {
		entries = append(entries, entry{norm(best[i].score, best[0].score), best[i].m.key.seq, -1, i})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		if a.norm != b.norm {
			return cmp.Compare(b.norm, a.norm)
		}
		return cmp.Compare(b.seq, a.seq)
	})
	entries = entries[min(from, len(entries)):min(from+size, len(entries))]
	hits := make([]Hit, len(entries))
	var arena *byteArena
	if r.Summary {
		arena = &byteArena{}
	}
	for i := range shards {
		var ms []blockMatch
		var into []*record.Event
		for j, e := range entries {
			if e.blk >= 0 && best[e.blk].shard == i {
				ms, into = append(ms, best[e.blk].m), append(into, &hits[j].Event)
			}
		}
		if len(ms) == 0 {
			continue
		}
		if err := readBlockEvents(ms, stored[i], r.Summary, arena, into); err != nil {
			return 0, false, err
		}
	}
	for j, e := range entries {
		h := &hits[j]
		if e.hit >= 0 {
			*h = out.Hits[e.hit]
			continue
		}
		if r.Summary {
			h.Event.Raw, h.Event.Leaves = nil, record.Leaves{}
		}
		h.Cursor, h.Score = s.Cursor(h.Event.Seq), best[e.blk].score
	}
	out.Hits, out.arena = hits, arena
	return matches, len(leaves) > 0, nil
}

// maxSidecarLeaves bounds the clauses the sidecar ranks on: it splits the
// matches by each clause in turn, and a pattern expanded to many values
// would split them into as many parts, each split costing a bitmap
// operation per part.
const maxSidecarLeaves = 16

// relevanceGroup is the matches of a shard holding the same clauses: the k
// stored last of them.
type relevanceGroup struct {
	held []byte // bit j: holds leaves[j]
	top  scoredHeap
}

// sidecarRelevance is blockPlan.relevance's scan of one shard on its
// sidecar, when it decides p and each leaf: the matches split into the
// groups of events holding the same leaves by bitmap operations, the k
// stored last of each group the last of its bitmap (event numbers follow
// sequence numbers). ok is false when the sidecar cannot.
func (w *blockWriter) sidecarRelevance(p *blockPlan, leaves []*blockNode, k, shard int) (groups []*relevanceGroup, matches uint64, held []uint64, ok bool) {
	if len(leaves) > maxSidecarLeaves {
		return nil, 0, nil, false
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	s := w.side
	match, ok := s.matches(p)
	if !ok || s.unpaged {
		return nil, 0, nil, false
	}
	type part struct {
		held []byte
		bm   *roaring.Bitmap
	}
	parts := []part{{held: make([]byte, (len(leaves)+7)/8), bm: match}}
	held = make([]uint64, len(leaves))
	for j, l := range leaves {
		bm, ok := s.eval(l)
		if !ok {
			return nil, 0, nil, false
		}
		var next []part
		for _, pt := range parts {
			in := roaring.And(pt.bm, bm)
			held[j] += in.GetCardinality()
			if !in.IsEmpty() {
				h := slices.Clone(pt.held)
				h[j/8] |= 1 << (j % 8)
				next = append(next, part{h, in})
			}
			if out := roaring.AndNot(pt.bm, bm); !out.IsEmpty() {
				next = append(next, part{pt.held, out})
			}
		}
		parts = next
	}
	blocks := map[uint64]*search.DocumentMatch{}
	for _, pt := range parts {
		g := &relevanceGroup{held: pt.held}
		it := pt.bm.ReverseIterator()
		for len(g.top) < k && it.HasNext() {
			num := it.Next()
			i := sort.Search(len(s.blocks), func(i int) bool { return s.blocks[i].base > num }) - 1
			b := &s.blocks[i]
			o := num - b.base
			m := blocks[b.first]
			if m == nil {
				m = &search.DocumentMatch{ID: blockID(b.first)}
				blocks[b.first] = m
			}
			// Taken newest stored first: each is the group's worst yet.
			g.top = append(g.top, scoredMatch{m: blockMatch{key: eventKey{nanos: s.time(b, num), seq: b.first + uint64(o)}, block: m, ord: int(o)}, shard: shard})
		}
		groups = append(groups, g)
	}
	return groups, match.GetCardinality(), held, true
}
