package index

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TestInWaves: each shard is done once, by quick where it says so and else
// by run; the second wave's shards are skipped as the first wave's cut
// says, quick and run told alike; an error from quick stops the search.
func TestInWaves(t *testing.T) {
	bounds := func(n int) []shardBound[int] {
		bs := make([]shardBound[int], n)
		for i := range bs {
			bs[i] = shardBound[int]{i: i, best: i, known: true}
		}
		return bs
	}
	// The first wave (as many as GOMAXPROCS) cuts every shard whose best is
	// past 2.
	cut := func([]shardBound[int]) func(int) bool { return func(best int) bool { return best > 2 } }
	for _, tc := range []struct {
		name  string
		quick func(i int) bool // done by quick
	}{
		{"no quick", nil},
		{"quick for all", func(int) bool { return true }},
		{"quick for even", func(i int) bool { return i%2 == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var byQuick, byRun []int
			skipped := map[int]bool{}
			note := func(to *[]int, i int, skip bool) {
				mu.Lock()
				defer mu.Unlock()
				*to = append(*to, i)
				if prev, ok := skipped[i]; ok && prev != skip {
					t.Errorf("shard %d told skip %v, then %v", i, prev, skip)
				}
				skipped[i] = skip
			}
			var quick func(int, bool) (bool, error)
			if tc.quick != nil {
				quick = func(i int, skip bool) (bool, error) {
					if !tc.quick(i) {
						return false, nil
					}
					note(&byQuick, i, skip)
					return true, nil
				}
			}
			run := func(_ context.Context, i int, skip bool) error {
				note(&byRun, i, skip)
				return nil
			}
			const n = 8
			if err := inWaves(context.Background(), bounds(n), true, quick, run, cut); err != nil {
				t.Fatal(err)
			}
			all := slices.Sorted(slices.Values(append(slices.Clone(byQuick), byRun...)))
			if !slices.Equal(all, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
				t.Fatalf("shards done %v (quick %v, run %v), want each once", all, byQuick, byRun)
			}
			for _, i := range byQuick {
				if tc.quick == nil || !tc.quick(i) {
					t.Fatalf("shard %d done by quick", i)
				}
			}
			for _, i := range byRun {
				if tc.quick != nil && tc.quick(i) {
					t.Fatalf("shard %d run though quick did it", i)
				}
			}
			first := min(n, runtime.GOMAXPROCS(0))
			for i := range n {
				if want := i >= first && i > 2; skipped[i] != want {
					t.Fatalf("shard %d skip %v, want %v", i, skipped[i], want)
				}
			}
		})
	}
	t.Run("quick fails", func(t *testing.T) {
		boom := errors.New("boom")
		ran := false
		err := inWaves(context.Background(), bounds(4), false, func(i int, _ bool) (bool, error) {
			if i == 1 {
				return false, boom
			}
			return false, nil
		}, func(context.Context, int, bool) error {
			ran = true
			return nil
		}, cut)
		if !errors.Is(err, boom) || ran {
			t.Fatalf("got %v (run called: %v), want boom and no run", err, ran)
		}
	})
}
