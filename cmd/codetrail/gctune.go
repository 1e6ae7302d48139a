package main

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The garbage collector starts a cycle when the heap has grown by GOGC
// percent over what the last one left live. A server that only answers
// searches keeps little live (about 7 MiB over a 1M-event index: Bleve's
// segments are mapped files, not heap), while each search allocates a few
// MiB: at the default of 100 it collected every second search, and the
// collections took a quarter of each search's time. tuneGC keeps the
// collector's target at least minHeap, raising GOGC while the live heap is
// small and giving it back as the live heap grows (under ingest about
// 250 to 400 MiB are live and GOGC stays at 100), the approach of Uber's GC tuner.

// gcPercent returns the GOGC that makes the heap target, live*(1+GOGC/100),
// at least minHeap, and never under base.
func gcPercent(live, minHeap uint64, base int) int {
	if live == 0 || minHeap <= live {
		return base
	}
	return max(base, int(min((minHeap-live)*100/live, maxGCPercent)))
}

// maxGCPercent bounds the tuned GOGC: a tiny live heap (right after start)
// would otherwise ask for an unbounded percentage, and the target is the
// same either way.
const maxGCPercent = 100_000

// The collection an ingest burst leaves due: its garbage (the batches'
// records and documents, some 300 MiB after 1M events) stays on the heap
// once the burst is over, and the next searches pay for the collection,
// its sweep and the return of pages to the system, a core for some 40 ms
// on a 2-core machine (the slowest of a few hundred searches after a burst,
// measured: 8 to 12 ms instead of 1 to 2). While nothing allocates, the
// tuner collects that garbage itself.
const (
	idleTicks   = 20      // of the tuner's 50 ms: idle for a second
	idleAllocs  = 4 << 20 // bytes allocated in that second, at most (some 60 searches)
	idleGarbage = 64 << 20
)

// idleCollect reports whether a collection is worth running now: the
// process allocated at most idleAllocs over the last idleTicks, and the
// garbage on the heap (heap less live) is at least idleGarbage and a
// quarter of the way from the live heap to the goal, so that a trickle of
// searches does not collect much more often than the goal would.
func idleCollect(allocated, heap, live, goal uint64) bool {
	if allocated > idleAllocs || heap <= live {
		return false
	}
	garbage := heap - live
	return garbage >= idleGarbage && (goal <= live || garbage >= (goal-live)/4)
}

var gcIdleCollections = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "codetrail_gc_idle_collections_total",
	Help: "Collections the GC tuner ran while the server allocated next to nothing (after an ingest burst), so that searches do not pay for them.",
})

// tuneGC adjusts GOGC after each collection until ctx ends, and collects
// when idle (idleCollect). base is the percentage to fall back to (GOGC's
// default, 100).
func tuneGC(ctx context.Context, minHeap uint64, base int, log *slog.Logger) {
	const cycles, live, allocated, heap, goal = 0, 1, 2, 3, 4 // samples' order
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/goal:bytes"}}
	read := func(i int) uint64 { return samples[i].Value.Uint64() }
	var lastCycle uint64
	var allocs [idleTicks + 1]uint64 // cumulative allocations at the last ticks, a ring
	ticks := 0
	current := base
	defer func() { debug.SetGCPercent(base) }()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		for _, s := range samples {
			if s.Value.Kind() != metrics.KindUint64 {
				log.Warn("GC tuning off: the runtime does not report " + s.Name)
				return
			}
		}
		allocs[ticks%len(allocs)] = read(allocated)
		ticks++
		if ticks > idleTicks {
			inWindow := allocs[(ticks-1)%len(allocs)] - allocs[ticks%len(allocs)]
			if idleCollect(inWindow, read(heap), read(live), read(goal)) {
				garbage, start := read(heap)-read(live), time.Now()
				// Not debug.FreeOSMemory: the pages it hands back are
				// faulted in again as the heap grows back to its goal, and
				// the searches after it spent 9% of their CPU on that.
				runtime.GC()
				gcIdleCollections.Inc()
				log.Debug("collected while idle", "garbage_mib", garbage>>20, "took", time.Since(start))
				metrics.Read(samples)
			}
		}
		cycle := read(cycles)
		if cycle == lastCycle {
			continue
		}
		lastCycle = cycle
		// Small changes are not worth a call: a tenth either way.
		if pct := gcPercent(read(live), minHeap, base); pct*10 < current*9 || pct*10 > current*11 {
			debug.SetGCPercent(pct)
			current = pct
		}
	}
}
