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
	s := openStore(b, b.TempDir())
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		evs := synthetic(b, 1000, i*1000)
		b.StartTimer()
		if _, err := s.Put(ctx, evs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
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
	s := openStore(b, b.TempDir())
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		evs := make([]record.Event, batch)
		for j := range evs {
			k := i*batch + j
			evs[j] = events[k%len(events)]
			evs[j].ID = fmt.Sprintf("%s-%d", evs[j].ID, k/len(events))
		}
		b.StartTimer()
		if _, err := s.Put(ctx, evs, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
