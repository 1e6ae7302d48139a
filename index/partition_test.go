package index

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestPartitionMaxEvents: a partition that holds PartitionMaxEvents events
// takes no more, whatever its age; a batch is never split, and a reopened
// store goes on from the counts on disk.
func TestPartitionMaxEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
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

// TestNewestWindowsSkipOlderPartitions: a newest-first window searches only
// the partitions that may hold events in it, and pages still find every
// event in order: a late event with an old time stored in the current
// partition included, and after a reopen, when the partitions' newest
// times come from disk.
func TestNewestWindowsSkipOlderPartitions(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Shards = 2
	cfg.PartitionMaxEvents = 100
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i, prefix := range []string{"a", "b", "c"} {
		evs := eventsAt(t, prefix, 100, day.AddDate(0, 0, i))
		if prefix == "c" {
			// Late: older than everything, stored in the third partition.
			evs = append(evs, eventsAt(t, "late", 1, day.AddDate(0, 0, -1))...)
		}
		if _, err := s.Put(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
	}
	for reopen := range 2 {
		if reopen == 1 {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = Open(cfg, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(s.parts); got != 3 {
			t.Fatalf("reopen %d: %d partitions, want 3", reopen, got)
		}
		for _, tc := range []struct {
			from   time.Time
			shards int // 0: nil, every shard
		}{
			{day.AddDate(0, 0, -2), 0},
			{day.Add(30 * time.Second), 0},
			{day.Add(time.Hour), 4},                  // the first partition ends 99 s into day 1
			{day.AddDate(0, 0, 1).Add(time.Hour), 2}, // only the current partition
			{day.AddDate(1, 0, 0), 2},                // the current partition is always searched
		} {
			if got := len(s.shardsFrom(tc.from)); got != tc.shards {
				t.Errorf("reopen %d: shardsFrom(%s) = %d shards, want %d", reopen, tc.from, got, tc.shards)
			}
		}

		var times []time.Time
		seen := map[string]bool{}
		tok := ""
		for page := 0; ; page++ {
			res, err := s.Search(ctx, SearchRequest{Query: "eventName:StartBuild", PageSize: 10, Order: OrderNewest, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != 301 {
				t.Fatalf("reopen %d page %d: total %d, want 301", reopen, page, res.Total)
			}
			for _, h := range res.Hits {
				if seen[h.Event.ID] {
					t.Fatalf("reopen %d: %s twice", reopen, h.Event.ID)
				}
				seen[h.Event.ID] = true
				times = append(times, h.Event.Time)
			}
			if tok = res.NextPageToken; tok == "" {
				break
			}
		}
		if len(times) != 301 || !slices.IsSortedFunc(times, func(a, b time.Time) int { return b.Compare(a) }) {
			t.Fatalf("reopen %d: %d events, newest first: %v", reopen, len(times), slices.IsSortedFunc(times, func(a, b time.Time) int { return b.Compare(a) }))
		}
		if !seen["late-0"] {
			t.Fatalf("reopen %d: the late event in the current partition was not found", reopen)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
