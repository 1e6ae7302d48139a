package index

import (
	"errors"
	"sync/atomic"
	"testing"
)

// TestRunners: inParallel and inSeries call fn once for each index, and
// return the first error, after which no index is started.
func TestRunners(t *testing.T) {
	boom := errors.New("boom")
	for _, r := range []struct {
		name string
		run  func(int, func(int) error) error
	}{{"parallel", inParallel}, {"series", inSeries}} {
		for _, n := range []int{0, 1, 2, 7, 100} {
			calls := make([]atomic.Int32, n)
			if err := r.run(n, func(i int) error { calls[i].Add(1); return nil }); err != nil {
				t.Fatalf("%s %d: %v", r.name, n, err)
			}
			for i := range calls {
				if c := calls[i].Load(); c != 1 {
					t.Fatalf("%s %d: index %d called %d times", r.name, n, i, c)
				}
			}
		}
		var started atomic.Int32
		err := r.run(1000, func(i int) error {
			started.Add(1)
			if i == 3 {
				return boom
			}
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("%s: error %v, want boom", r.name, err)
		}
		if s := started.Load(); s == 1000 {
			t.Fatalf("%s: all 1000 started after the error", r.name)
		}
	}
}
