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

var metricIdleCollections = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "codetrail_gc_idle_collections_total",
	Help: "Garbage collections run because the server went idle (--gc-idle), not because the heap reached its target.",
})

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

// A collection comes when the heap reaches its target, which after a burst
// of ingest is whenever the searches that follow happen to push it there:
// on a 1M-event block store one marking 90 MiB live took 20 ms alone and
// 63 ms beside searches, and the searches it overlapped took 4 to 19 ms
// instead of 1.5. Collected once the server has allocated little for a
// while (idleAfter), the searches that follow start with the whole
// headroom (some 2,000 of them at 1M) and the scavenger's return of the
// burst's memory is behind them too.

// idleBusy is how much a tick may allocate and still count as idle: a
// search allocates about 0.2 MiB, a tick is 50 ms, so a few searches a
// second are idle and ingest or a stream of searches is not.
const idleBusy = 1 << 20

// idleDebt is how much must have been allocated since the last collection
// for an idle one to be worth its CPU (some 30 ms at 1M events).
const idleDebt = 32 << 20

// idleDue reports whether to collect now: nothing busy since idleAfter
// ago, and debt allocated since the last collection.
func idleDue(now, lastBusy time.Time, idleAfter time.Duration, debt uint64) bool {
	return idleAfter > 0 && debt >= idleDebt && now.Sub(lastBusy) >= idleAfter
}

// gcLoop adjusts GOGC after each collection, when minHeap > 0, and
// collects when the server goes idle, when idleAfter > 0, until ctx ends.
// base is the percentage to fall back to (GOGC's default, 100).
func gcLoop(ctx context.Context, minHeap uint64, base int, idleAfter time.Duration, log *slog.Logger) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	var lastCycle, lastAlloc, allocAtGC uint64
	lastBusy := time.Now()
	current := base
	if minHeap > 0 {
		defer func() { debug.SetGCPercent(base) }()
	}
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
		cycle, alloc := samples[0].Value.Uint64(), samples[2].Value.Uint64()
		now := time.Now()
		if alloc-lastAlloc > idleBusy {
			lastBusy = now
		}
		lastAlloc = alloc
		if cycle != lastCycle {
			lastCycle, allocAtGC = cycle, alloc
			// Small changes are not worth a call: a tenth either way.
			if pct := gcPercent(samples[1].Value.Uint64(), minHeap, base); minHeap > 0 && (pct*10 < current*9 || pct*10 > current*11) {
				debug.SetGCPercent(pct)
				current = pct
			}
			continue
		}
		if idleDue(now, lastBusy, idleAfter, alloc-allocAtGC) {
			start := time.Now()
			runtime.GC()
			metricIdleCollections.Inc()
			log.Debug("collected while idle", "allocated", alloc-allocAtGC, "took", time.Since(start))
			// The next tick sees the new cycle and resets the debt.
		}
	}
}
