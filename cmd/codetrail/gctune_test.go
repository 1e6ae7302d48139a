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

func TestIdleCollect(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name                        string
		allocated, heap, live, goal uint64
		want                        bool
	}{
		{"after a burst", 1 * mib, 450 * mib, 240 * mib, 560 * mib, true},
		{"busy", 40 * mib, 450 * mib, 240 * mib, 560 * mib, false},
		{"just over the allocation bound", idleAllocs + 1, 450 * mib, 240 * mib, 560 * mib, false},
		{"little garbage", 0, 250 * mib, 240 * mib, 560 * mib, false},
		{"garbage under a quarter of the way to the goal", 0, 300 * mib, 100 * mib, 1024 * mib, false},
		{"a quarter of the way", 0, 331 * mib, 100 * mib, 1024 * mib, true},
		{"goal under live (a limit)", 0, 400 * mib, 300 * mib, 200 * mib, true},
		{"heap under live (before a cycle ends)", 0, 100 * mib, 240 * mib, 560 * mib, false},
	} {
		if got := idleCollect(tc.allocated, tc.heap, tc.live, tc.goal); got != tc.want {
			t.Errorf("%s: idleCollect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// sink keeps the compiler from leaving out an allocation.
var sink []byte

func idleCollections(t *testing.T) float64 {
	t.Helper()
	var m dto.Metric
	if err := gcIdleCollections.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestTuneGCIdle: garbage left while nothing allocates is collected by
// the tuner, once.
func TestTuneGCIdle(t *testing.T) {
	before := idleCollections(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tuneGC(ctx, 256<<20, 100, slog.New(slog.NewTextHandler(io.Discard, nil))) })
	runtime.GC()
	time.Sleep(300 * time.Millisecond) // the tuner raises GOGC after that cycle
	for range 200 {
		sink = make([]byte, 1<<20) // 200 MiB of garbage, as a burst leaves
	}
	sink = nil
	deadline := time.Now().Add(20 * time.Second)
	for idleCollections(t) == before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // no second one with nothing left
	cancel()
	wg.Wait()
	if n := idleCollections(t) - before; n != 1 {
		t.Errorf("%v idle collections, want 1", n)
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
	wg.Go(func() { tuneGC(ctx, 1<<30, 100, slog.New(slog.NewTextHandler(io.Discard, nil))) })
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
