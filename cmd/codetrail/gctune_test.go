package main

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, min uint64
		want      int
	}{
		{live: 0, min: 256 * mib, want: 100},         // nothing measured yet
		{live: 8 * mib, min: 256 * mib, want: 3100},  // 8 MiB live: target 256 MiB
		{live: 128 * mib, min: 256 * mib, want: 100}, // twice the live heap is the target anyway
		{live: 100 * mib, min: 256 * mib, want: 156},
		{live: 600 * mib, min: 256 * mib, want: 100}, // under ingest: the default
		{live: 1, min: 256 * mib, want: maxGCPercent},
		{live: 8 * mib, min: 0, want: 100}, // off
	} {
		if got := gcPercent(tc.live, tc.min, 100); got != tc.want {
			t.Errorf("gcPercent(%d MiB live, %d MiB min) = %d, want %d", tc.live/mib, tc.min/mib, got, tc.want)
		}
	}
}

// TestTuneGC: with a small live heap the tuner raises GOGC after a
// collection, and sets it back when it stops.
func TestTuneGC(t *testing.T) {
	gogc := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { gcLoop(ctx, 1<<30, 100, 0, slog.New(slog.NewTextHandler(io.Discard, nil))) })
	deadline := time.Now().Add(10 * time.Second)
	for gogc() <= 100 {
		if time.Now().After(deadline) {
			cancel()
			wg.Wait()
			t.Fatal("GOGC not raised after a collection with a small live heap")
		}
		runtime.GC()
		time.Sleep(60 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if p := gogc(); p != 100 {
		t.Errorf("GOGC %d after the tuner stopped, want 100", p)
	}
}

func TestIdleDue(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		busyAgo time.Duration
		after   time.Duration
		debt    uint64
		want    bool
	}{
		{"idle long enough, debt", 3 * time.Second, 2 * time.Second, idleDebt, true},
		{"idle exactly long enough", 2 * time.Second, 2 * time.Second, 64 << 20, true},
		{"busy lately", time.Second, 2 * time.Second, 64 << 20, false},
		{"too little allocated since the last collection", time.Minute, 2 * time.Second, idleDebt - 1, false},
		{"off", time.Minute, 0, 1 << 30, false},
	} {
		if got := idleDue(now, now.Add(-tc.busyAgo), tc.after, tc.debt); got != tc.want {
			t.Errorf("%s: idleDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestGCLoopIdle: with the collector's own trigger off, the loop collects
// once allocation stops for the idle time, and not while it goes on.
func TestGCLoopIdle(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	cycles := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumGC
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	idleCount := func() float64 {
		var m dto.Metric
		if err := metricIdleCollections.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	before, idles := cycles(), idleCount()
	wg.Go(func() { gcLoop(ctx, 0, 100, 300*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil))) })
	// Busy: 2 MiB every 10 ms for a second, over the debt many times.
	var sink [][]byte
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		sink = append(sink, make([]byte, 2<<20))
		time.Sleep(10 * time.Millisecond)
		if len(sink) > 8 {
			sink = sink[1:]
		}
	}
	if n := cycles(); n != before {
		t.Fatalf("%d collections while the program allocated 200 MiB/s, want none", n-before)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cycles() == before {
		if time.Now().After(deadline) {
			t.Fatal("no collection within 5 s of the allocations stopping")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := idleCount() - idles; got != 1 {
		t.Errorf("idle collections counted %v, want 1", got)
	}
	// Idle on, nothing allocated since: no second collection.
	n := cycles()
	time.Sleep(time.Second)
	if m := cycles(); m != n {
		t.Errorf("%d more collections with nothing allocated, want none", m-n)
	}
	runtime.KeepAlive(sink)
}
