package index

import (
	"context"
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
// (docs/operations.md, Compaction). Rewriting a shard costs about 90 µs of
// CPU per event in it, so it waits until ingest has been idle for
// CompactIdle, then merges the shards with more than CompactSegments
// segments, one at a time, the most fragmented first.

// segments returns the number of segments a search of sh reads (0 when sh is
// not a scorch index).
func segments(sh bleve.Index) int {
	sc := scorchOf(sh)
	if sc == nil {
		return 0
	}
	st, ok := sc.Stats().(*scorch.Stats)
	if !ok {
		return 0
	}
	return int(st.TotFileSegmentsAtRoot + st.TotMemorySegmentsAtRoot)
}

func scorchOf(sh bleve.Index) *scorch.Scorch {
	adv, err := sh.Advanced()
	if err != nil {
		return nil
	}
	sc, _ := adv.(*scorch.Scorch)
	return sc
}

// segmentCounts returns the segments of every searchable shard, in the order
// of the shards view, and their sum.
func (s *Store) segmentCounts() ([]int, int) {
	var counts []int
	total := 0
	if v := s.shardsView.Load(); v != nil {
		for _, sv := range *v {
			n := segments(sv.idx)
			counts = append(counts, n)
			total += n
		}
	}
	return counts, total
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

// compactOne merges the most fragmented shard into one segment if ingest has
// been idle long enough and some shard has more than CompactSegments, and
// reports whether it did.
func (s *Store) compactOne(ctx context.Context) bool {
	counts, _ := s.segmentCounts()
	pick, most := -1, s.cfg.CompactSegments
	for i, n := range counts {
		if n > most {
			pick, most = i, n
		}
	}
	s.compactDue.Store(pick >= 0)
	idle := time.Since(time.Unix(0, s.lastWrite.Load()))
	if pick < 0 || idle < s.cfg.CompactIdle {
		return false
	}
	v := s.shardsView.Load()
	sc := scorchOf((*v)[pick].idx)
	if sc == nil {
		return false
	}
	start := time.Now()
	s.compacting.Store(true)
	defer s.compacting.Store(false)
	mo := mergeplan.SingleSegmentMergePlanOptions
	err := sc.ForceMerge(ctx, &mo)
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
		s.log.Warn("compaction", "segments", most, "err", err)
		return false
	}
	metricCompactions.WithLabelValues("done").Inc()
	after := segments((*v)[pick].idx)
	s.log.Info("shard compacted", "segments_before", most, "segments_after", after, "took", took.Round(time.Millisecond))
	// Only progress goes on at once: a merge that left as many segments
	// waits for the next round.
	return after < most
}
