package index

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestIDFilter(t *testing.T) {
	eventsLayoutOnly(t)
	f := newIDFilter(1000) // grows through several layers
	const n = 200000
	for i := range n {
		f.add(fmt.Sprintf("id-%d", i))
	}
	if len(f.layers) < 3 {
		t.Fatalf("%d layers for %d ids from a capacity of %d", len(f.layers), n, idFilterMinCap)
	}
	for i := range n {
		if !f.has(fmt.Sprintf("id-%d", i)) {
			t.Fatalf("id-%d added but not held", i)
		}
	}
	fp := 0
	for i := range n {
		if f.has(fmt.Sprintf("other-%d", i)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.05 {
		t.Fatalf("false positive rate %.3f", rate)
	}
}

func idLookups(t *testing.T, result string) float64 {
	t.Helper()
	return counter(metricIDLookups.WithLabelValues(result))
}

// waitIDFilters waits until every partition of s has its id filter.
func waitIDFilters(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		s.mu.Lock()
		ready := true
		for _, p := range s.parts {
			ready = ready && p.ids != nil
		}
		s.mu.Unlock()
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("id filters not built after a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIDFilterDuplicates: duplicates are found in every partition before
// the filters are built, while the current one's is being built (ids stored
// meanwhile are not lost to it), and after; new ids skip the lookup.
func TestIDFilterDuplicates(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	cfg, s := openSmallPartitions(t)
	for i := range 4 {
		if _, err := s.Put(ctx, synthetic(t, 100, i*100), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen with the newest partition's filter held back.
	release := make(chan struct{})
	held := make(chan struct{})
	beforeIDFilterBuild = func(p *partition) {
		if p.firstSeq == 301 {
			close(held)
			<-release
		}
	}
	defer func() { beforeIDFilterBuild = func(*partition) {} }()
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-held
	// Every old id is a duplicate, found by lookup. The newest partition is
	// full: the 50 new ones start a partition, with a filter from the start.
	res, err := s.Put(ctx, synthetic(t, 450, 0), nil)
	if err != nil || res.Stored != 50 || res.Duplicates != 400 {
		t.Fatalf("before the filters: %+v %v", res, err)
	}
	close(release)
	waitIDFilters(t, s)
	if len(s.parts) != 5 {
		t.Fatalf("%d partitions, want 5", len(s.parts))
	}

	// An id is looked up only in the partitions whose filter may hold it:
	// the second partition's ids in the second partition, and a few false
	// positives (about 1% a partition) elsewhere.
	var ids []string
	for _, ev := range synthetic(t, 100, 100) {
		ids = append(ids, ev.ID)
	}
	s.mu.Lock()
	look, n := s.idLookups(ids)
	s.mu.Unlock()
	if n != 100 {
		t.Fatalf("%d of 100 stored ids to look up", n)
	}
	others := 0
	for _, l := range look {
		if l.p.firstSeq == 101 {
			if len(l.ids) != 100 {
				t.Fatalf("%d of its 100 ids looked up in the second partition", len(l.ids))
			}
			continue
		}
		others += len(l.ids)
	}
	if others > 15 {
		t.Fatalf("%d lookups of 100 ids in 4 partitions that do not hold them", others)
	}

	skipped, looked := idLookups(t, "skipped"), idLookups(t, "looked_up")
	res, err = s.Put(ctx, synthetic(t, 450, 0), nil)
	if err != nil || res.Stored != 0 || res.Duplicates != 450 {
		t.Fatalf("after the filters: %+v %v", res, err)
	}
	if d := idLookups(t, "looked_up") - looked; d != 450 {
		t.Fatalf("%v of 450 stored ids looked up", d)
	}
	res, err = s.Put(ctx, synthetic(t, 100, 1000), nil)
	if err != nil || res.Stored != 100 {
		t.Fatalf("new ids: %+v %v", res, err)
	}
	if d := idLookups(t, "skipped") - skipped; d < 90 {
		t.Fatalf("only %v of 100 new ids skipped the lookup", d)
	}
}

// TestIDFilterPending: ids stored while the current partition's filter is
// being built end up in it.
func TestIDFilterPending(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	if _, err := s.Put(ctx, synthetic(t, 100, 0), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	held := make(chan struct{})
	beforeIDFilterBuild = func(*partition) {
		close(held)
		<-release
	}
	defer func() { beforeIDFilterBuild = func(*partition) {} }()
	s = openStore(t, dir)
	defer s.Close()
	<-held
	later := synthetic(t, 50, 100)
	if res, err := s.Put(ctx, later, nil); err != nil || res.Stored != 50 {
		t.Fatalf("put while building: %+v %v", res, err)
	}
	close(release)
	waitIDFilters(t, s)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range append(synthetic(t, 100, 0), later...) {
		if !s.cur().ids.has(ev.ID) {
			t.Fatalf("%s is stored but not in the filter", ev.ID)
		}
	}
	if s.cur().pendingIDs != nil {
		t.Fatalf("%d ids still pending", len(s.cur().pendingIDs))
	}
}
