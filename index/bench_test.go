package index

import (
	"context"
	"fmt"
	"testing"

	"github.com/codetrail/codetrail/index/record"
)

// BenchmarkPut measures storing batches of 1000 small events (decode not
// included), the index's share of ingest.
func BenchmarkPut(b *testing.B) {
	benchPut(b, 1000, func(i int) []record.Event { return synthetic(b, 1000, i*1000) })
}

// benchPut stores batch(i) for the i-th batch of size events, timing only
// the Put calls.
func benchPut(b *testing.B, size int, batch func(i int) []record.Event) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		evs := batch(i)
		b.StartTimer()
		if _, err := s.Put(ctx, evs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPutSmall measures the fixed cost of a batch.
func BenchmarkPutSmall(b *testing.B) {
	s := openStore(b, b.TempDir())
	defer s.Close()
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		evs := synthetic(b, 10, i*10)
		b.StartTimer()
		if _, err := s.Put(ctx, evs, map[string][]byte{"cp": []byte("x")}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutGenerated measures storing the generator's realistic events in
// batches of 5000 (the ingest group commit) with the default shard count:
// the index's share of ingest to searchable.
func BenchmarkPutGenerated(b *testing.B) {
	const batch = 5000
	events := generated(b, 50_000)
	benchPut(b, batch, func(i int) []record.Event {
		evs := make([]record.Event, batch)
		for j := range evs {
			k := i*batch + j
			evs[j] = events[k%len(events)]
			evs[j].ID = fmt.Sprintf("%s-%d", evs[j].ID, k/len(events))
		}
		return evs
	})
}
