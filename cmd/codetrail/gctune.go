package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"
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

// tuneGC adjusts GOGC after each collection until ctx ends. base is the
// percentage to fall back to (GOGC's default, 100).
func tuneGC(ctx context.Context, minHeap uint64, base int, log *slog.Logger) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	var lastCycle uint64
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
		if samples[0].Value.Kind() != metrics.KindUint64 || samples[1].Value.Kind() != metrics.KindUint64 {
			log.Warn("GC tuning off: the runtime does not report the live heap")
			return
		}
		cycle := samples[0].Value.Uint64()
		if cycle == lastCycle {
			continue
		}
		lastCycle = cycle
		// Small changes are not worth a call: a tenth either way.
		if pct := gcPercent(samples[1].Value.Uint64(), minHeap, base); pct*10 < current*9 || pct*10 > current*11 {
			debug.SetGCPercent(pct)
			current = pct
		}
	}
}
