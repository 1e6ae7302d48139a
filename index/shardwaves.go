package index

import (
	"context"
	"runtime"
	"slices"
)

// shardBound is a block shard's place in the order a search reads the
// shards in: the best of its events that the search may take (a key, a
// sequence number), when the sidecar knows it.
type shardBound[K any] struct {
	i     int // in the search's shards
	best  K
	known bool
}

// sortBounds orders bs for inWaves: those whose best is unknown first
// (always read), then best first by before.
func sortBounds[K any](bs []shardBound[K], before func(a, b K) bool) {
	slices.SortStableFunc(bs, func(a, b shardBound[K]) int {
		switch {
		case a.known != b.known:
			if !a.known {
				return -1
			}
			return 1
		case before(a.best, b.best):
			return -1
		case before(b.best, a.best):
			return 1
		}
		return 0
	})
}

// inWaves calls run for each shard of order (sortBounds), GOMAXPROCS at
// a time: with split, first the first GOMAXPROCS shards (and any whose best
// is unknown), then the others, those for which the test that cut makes
// from the first wave says so with skip set (counted in
// codetrail_index_block_pages_skipped_total); without, all in one wave.
// cut returns nil when no shard may be skipped.
func inWaves[K any](ctx context.Context, order []shardBound[K], split bool, run func(ctx context.Context, i int, skip bool) error, cut func(first []shardBound[K]) func(best K) bool) error {
	wave := func(bs []shardBound[K], skip func(K) bool) error {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		return inParallel(len(bs), func(k int) error {
			b := bs[k]
			skipped := skip != nil && b.known && skip(b.best)
			if skipped {
				metricBlockPagesSkipped.Inc()
			}
			err := run(wctx, b.i, skipped)
			if err != nil {
				cancel() // the others' searches stop
			}
			return err
		})
	}
	first := len(order)
	if split {
		first = min(len(order), runtime.GOMAXPROCS(0))
		for first < len(order) && !order[first-1].known {
			first++
		}
	}
	if err := wave(order[:first], nil); err != nil || first == len(order) {
		return err
	}
	return wave(order[first:], cut(order[:first]))
}
