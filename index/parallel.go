package index

import (
	"cmp"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// inParallel calls fn(0) to fn(n-1), each once, from up to GOMAXPROCS
// goroutines, one of them the caller's, each taking the next call not
// taken; after an error no call starts, and the first is returned. A
// page's blocks take a few microseconds each to read, a shard's search
// some tens: a goroutine for each cost as much again in starting, growing
// its stack and handing off (a tenth of a search's CPU, measured on the
// 1M-event harness).
func inParallel(n int, fn func(i int) error) error {
	return inWorkers(n, runtime.GOMAXPROCS(0), fn)
}

// inSeries is inParallel on the caller's goroutine alone.
func inSeries(n int, fn func(i int) error) error { return inWorkers(n, 1, fn) }

// inWorkers is inParallel with up to workers goroutines.
func inWorkers(n, workers int, fn func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Bool
	run := func() error {
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= n {
				return nil
			}
			if err := fn(i); err != nil {
				failed.Store(true)
				return err
			}
		}
		return nil
	}
	w := min(n, workers)
	if w <= 1 {
		return run()
	}
	var g errgroup.Group
	for range w - 1 {
		g.Go(run)
	}
	err := run()
	return cmp.Or(err, g.Wait())
}
