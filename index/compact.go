package index

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
)

// Compaction. A shard is a set of Bleve segments and every search pays for
// each one: a dictionary lookup per term, a doc value reader per sorted or
// counted field. Bleve's merge policy keeps tiers of up to ten segments so
// that ingest does not spend its time rewriting; after 1M events each of two
// shards had 20, and merging each into one cut the median of a term query
// from 13 to 6.4 ms and of a facet over all events from 11 to 2.7 ms
// (docs/operations.md, Compaction). Merging costs about 90 µs of CPU per
// event rewritten, so it waits until ingest has been idle for CompactIdle,
// then merges the shards with more than CompactSegments segments, one at a
// time, the most fragmented first. A shard's largest segment is rewritten
// only once the others hold a tenth of its events: until then they are
// merged into one beside it, so that what a trickle of batches costs is
// proportional to the batches, not to the shard.

// wholeShardShare: the largest segment is merged with the others once they
// hold at least this share of its events.
const wholeShardShare = 0.1

// compactPlan returns the merge plan options for a shard whose segments
// hold the given live events, merging them all or all but the largest, and
// false when there is nothing to merge.
func compactPlan(sizes []int64) (mergeplan.MergePlanOptions, bool) {
	mo := mergeplan.SingleSegmentMergePlanOptions
	if len(sizes) < 2 {
		return mo, false
	}
	var largest, rest int64
	for _, n := range sizes {
		if n > largest {
			largest, rest = n, rest+largest
		} else {
			rest += n
		}
	}
	if float64(rest) >= wholeShardShare*float64(largest) {
		return mo, true
	}
	if len(sizes) < 3 {
		return mo, false // one small segment beside the largest
	}
	// The planner merges only segments under half of MaxSegmentSize.
	mo.MaxSegmentSize = min(2*largest, mergeplan.MaxSegmentSizeLimit)
	return mo, true
}

// liveSizes returns the live events of each segment of sc.
func liveSizes(sc *scorch.Scorch) ([]int64, error) {
	r, err := sc.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil, fmt.Errorf("compaction: unexpected reader %T", r)
	}
	var out []int64
	for _, seg := range snap.Segments() {
		out = append(out, seg.LiveSize())
	}
	return out, nil
}

// segments returns the number of segments a search of sc reads (0 for nil).
func segments(sc *scorch.Scorch) int {
	if sc == nil {
		return 0
	}
	st, ok := sc.Stats().(*scorch.Stats)
	if !ok {
		return 0
	}
	// Bleve's introducer stores these atomically.
	return int(atomic.LoadUint64(&st.TotFileSegmentsAtRoot) + atomic.LoadUint64(&st.TotMemorySegmentsAtRoot))
}

func scorchOf(sh bleve.Index) *scorch.Scorch {
	adv, err := sh.Advanced()
	if err != nil {
		return nil
	}
	sc, _ := adv.(*scorch.Scorch)
	return sc
}

// segmentTotal returns the segments of every searchable shard, summed.
func (s *Store) segmentTotal() int {
	total := 0
	if v := s.shardsView.Load(); v != nil {
		for _, sv := range *v {
			total += segments(scorchOf(sv.idx))
		}
	}
	for _, sh := range s.blockShards() {
		total += segments(scorchOf(sh.idx))
	}
	return total
}

// touch records ingest activity, which puts compaction off.
func (s *Store) touch() { s.lastWrite.Store(time.Now().UnixNano()) }

// compactLoop compacts shards while ingest is idle, until ctx ends.
func (s *Store) compactLoop(ctx context.Context) {
	defer close(s.compactDone)
	every := min(max(s.cfg.CompactIdle/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for s.compactOne(ctx) && ctx.Err() == nil {
		}
	}
}

// compactOne merges the most fragmented shard that has more than
// CompactSegments segments and something to merge, if ingest has been idle
// for CompactIdle, and reports whether that took a segment off.
func (s *Store) compactOne(ctx context.Context) bool {
	type candidate struct {
		sc *scorch.Scorch
		n  int
		mo mergeplan.MergePlanOptions
	}
	var best *candidate
	if v := s.shardsView.Load(); v != nil {
		for _, sv := range *v {
			sc := scorchOf(sv.idx)
			n := segments(sc)
			if n <= s.cfg.CompactSegments || (best != nil && n <= best.n) {
				continue
			}
			sizes, err := liveSizes(sc)
			if err != nil {
				continue // closed by retention meanwhile
			}
			if mo, ok := compactPlan(sizes); ok {
				best = &candidate{sc: sc, n: n, mo: mo}
			}
		}
	}
	s.compactDue.Store(best != nil)
	if best == nil || time.Since(time.Unix(0, s.lastWrite.Load())) < s.cfg.CompactIdle {
		return false
	}
	start := time.Now()
	s.compacting.Store(true)
	defer s.compacting.Store(false)
	err := best.sc.ForceMerge(ctx, &best.mo)
	took := time.Since(start)
	metricCompactionSeconds.Add(took.Seconds())
	switch {
	case ctx.Err() != nil:
		metricCompactions.WithLabelValues("canceled").Inc()
		return false
	case err != nil:
		// Retention may have closed the shard meanwhile; the next round
		// looks at the shards as they are then.
		metricCompactions.WithLabelValues("error").Inc()
		s.log.Warn("compaction", "segments", best.n, "err", err)
		return false
	}
	metricCompactions.WithLabelValues("done").Inc()
	after := segments(best.sc)
	s.log.Info("shard compacted", "segments_before", best.n, "segments_after", after, "took", took.Round(time.Millisecond))
	// Only progress goes on at once: a merge that left as many segments
	// waits for the next round.
	return after < best.n
}
