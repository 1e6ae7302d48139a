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
