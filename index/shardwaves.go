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
//
// quick, unless nil, is first called for each shard of a wave in turn on
// the caller's goroutine, and run only for those it did not do (done
// false): a shard's page from its sidecar is a few µs in memory, about
// what handing it to another goroutine costs (a seventh of a page of all
// events in process).
func inWaves[K any](ctx context.Context, order []shardBound[K], split bool, quick func(i int, skip bool) (done bool, err error), run func(ctx context.Context, i int, skip bool) error, cut func(first []shardBound[K]) func(best K) bool) error {
	wave := func(bs []shardBound[K], skip func(K) bool) error {
		skips := make([]bool, len(bs))
		rest := make([]int, 0, len(bs)) // in bs, not done by quick
		for k, b := range bs {
			skips[k] = skip != nil && b.known && skip(b.best)
			if skips[k] {
				metricBlockPagesSkipped.Inc()
			}
			done := false
			if quick != nil {
				var err error
				if done, err = quick(b.i, skips[k]); err != nil {
					return err
				}
			}
			if !done {
				rest = append(rest, k)
			}
		}
		if len(rest) == 0 {
			return nil
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		return inParallel(len(rest), func(j int) error {
			k := rest[j]
			err := run(wctx, bs[k].i, skips[k])
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
