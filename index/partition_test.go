package index

import (
	"context"
	"testing"
	"time"
)

// TestPartitionMaxEvents: a partition that holds PartitionMaxEvents events
// takes no more, whatever its age; a batch is never split, and a reopened
// store goes on from the counts on disk.
func TestPartitionMaxEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.Shards = 2
	cfg.PartitionMaxEvents = 10
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Hour)
	// 6 + 6 fill the first partition past its bound (a batch is not split),
	// so the third batch starts the second.
	for i, prefix := range []string{"a", "b", "c"} {
		if _, err := s.Put(ctx, eventsAt(t, prefix, 6, now), nil); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if got := len(s.parts); got != 2 {
		t.Fatalf("partitions = %d, want 2", got)
	}
	if got := []uint64{s.parts[0].count, s.parts[1].count}; got[0] != 12 || got[1] != 6 {
		t.Fatalf("partition counts = %v, want [12 6]", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if _, err := s.Put(ctx, eventsAt(t, "d", 4, now), nil); err != nil {
		t.Fatal(err)
	}
	if got := len(s.parts); got != 2 {
		t.Fatalf("after reopen: partitions = %d, want 2 (the second holds 6 < 10)", got)
	}
	if _, err := s.Put(ctx, eventsAt(t, "e", 1, now), nil); err != nil {
		t.Fatal(err)
	}
	if got := len(s.parts); got != 3 {
		t.Fatalf("after reopen: partitions = %d, want 3 (the second held 10)", got)
	}
	res, err := s.Search(ctx, SearchRequest{Query: "eventName:StartBuild", PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 23 || len(res.Hits) != 23 {
		t.Fatalf("search over all partitions: total %d, hits %d, want 23", res.Total, len(res.Hits))
	}
	seen := map[string]bool{}
	for _, h := range res.Hits {
		if seen[h.Event.ID] {
			t.Fatalf("event %s returned twice", h.Event.ID)
		}
		seen[h.Event.ID] = true
	}
}
