package index

import (
	"context"
	"slices"
	"testing"
	"time"
)

// pageIDs returns the event ids of every page of r, and the facet values of
// its first page, for comparing results before and after compaction.
func pageIDs(t *testing.T, s *Store, r SearchRequest) ([]string, []FacetResult) {
	t.Helper()
	var ids []string
	var facets []FacetResult
	for first := true; first || r.PageToken != ""; first = false {
		res, err := s.Search(context.Background(), r)
		if err != nil {
			t.Fatalf("search %q: %v", r.Query, err)
		}
		if first {
			facets = res.Facets
		}
		for _, h := range res.Hits {
			ids = append(ids, h.Event.ID)
		}
		r.PageToken = res.NextPageToken
	}
	return ids, facets
}

func TestCompact(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.Shards = 2
	cfg.CompactIdle = 0 // off while the segments pile up
	cfg.CompactSegments = 1
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	const batches, per = 8, 1000
	for b := range batches {
		if _, err := s.Put(context.Background(), synthetic(t, per, b*per), nil); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Stats()
	if before.Segments <= 2 {
		t.Fatalf("%d segments after %d batches over 2 shards: the test needs more", before.Segments, batches)
	}
	if before.Compacting {
		t.Error("compaction reported as due while it is off")
	}
	reqs := []SearchRequest{
		{PageSize: 100, Facets: []FacetRequest{{Field: "eventName"}}},
		{Query: "eventName:StartBuild", PageSize: 37, Order: OrderOldest},
		{Query: "p3 OR p5", PageSize: 64, Facets: []FacetRequest{{Field: "eventName"}}},
	}
	want := make([][]string, len(reqs))
	wantFacets := make([][]FacetResult, len(reqs))
	for i, r := range reqs {
		want[i], wantFacets[i] = pageIDs(t, s, r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened with compaction on: an idle store merges each shard into one
	// segment, and answers as before.
	cfg.CompactIdle = 50 * time.Millisecond
	s, err = Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, "compaction", func() bool { st := s.Stats(); return st.Segments == 2 && !st.Compacting })
	for i, r := range reqs {
		got, facets := pageIDs(t, s, r)
		if !slices.Equal(got, want[i]) {
			t.Errorf("%q after compaction: %d ids, want %d (or another order)", r.Query, len(got), len(want[i]))
		}
		if !slices.EqualFunc(facets, wantFacets[i], func(a, b FacetResult) bool {
			return a.Field == b.Field && slices.Equal(a.Values, b.Values) && a.Other == b.Other && a.Missing == b.Missing
		}) {
			t.Errorf("%q facets after compaction: %v, want %v", r.Query, facets, wantFacets[i])
		}
	}

	// New batches add segments; compaction merges them again once idle.
	for b := batches; b < 2*batches; b++ {
		if _, err := s.Put(context.Background(), synthetic(t, per, b*per), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the second compaction", func() bool { st := s.Stats(); return st.Segments == 2 && !st.Compacting })
	if st := s.Stats(); st.Events != 2*batches*per {
		t.Errorf("%d events after the second compaction, want %d", st.Events, 2*batches*per)
	}
	res, err := s.Search(context.Background(), SearchRequest{Query: "eventName:GetPipeline"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2*batches*per/4 {
		t.Errorf("eventName:GetPipeline: %d, want %d", res.Total, 2*batches*per/4)
	}
}

// TestCompactWaitsForIdle: while Put keeps coming, nothing is merged; Close
// during a compaction ends it and loses nothing.
func TestCompactWaitsForIdle(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig(dir)
	cfg.Shards = 1
	cfg.CompactIdle = time.Hour
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	const batches, per = 10, 2000
	for b := range batches {
		if _, err := s.Put(context.Background(), synthetic(t, per, b*per), nil); err != nil {
			t.Fatal(err)
		}
	}
	n := s.Stats().Segments
	if n <= cfg.CompactSegments {
		t.Fatalf("%d segments: the test needs more than %d", n, cfg.CompactSegments)
	}
	waitFor(t, "compaction to be due", func() bool { return s.Stats().Compacting })
	if got := s.Stats().Segments; got < n-1 {
		// Bleve's own merges may take one or two; a compaction takes all.
		t.Errorf("segments went from %d to %d before ingest was idle for CompactIdle", n, got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.CompactIdle = time.Millisecond
	s, err = Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a compaction to start", func() bool { return s.compacting.Load() || s.Stats().Segments == 1 })
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("close during compaction: %v", err)
	}
	t.Logf("closed %s after the compaction started", time.Since(start))
	s = openStore(t, dir)
	defer s.Close()
	if st := s.Stats(); st.Events != batches*per {
		t.Errorf("%d events after closing during compaction, want %d", st.Events, batches*per)
	}
	res, err := s.Search(context.Background(), SearchRequest{Query: "eventName:GitPush"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != batches*per/4 {
		t.Errorf("eventName:GitPush: %d, want %d", res.Total, batches*per/4)
	}
}
