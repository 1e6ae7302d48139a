package index

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
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
	eventsLayoutOnly(t)
	dir := t.TempDir()
	cfg := testConfig(dir)
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
	// Long enough for Bleve to have written the last batch's segment to
	// disk: a merge takes only segments on disk.
	cfg.CompactIdle = 300 * time.Millisecond
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
	// (A segment still in memory when a merge starts may be left beside
	// it, too small to be worth merging alone.)
	for b := batches; b < 2*batches; b++ {
		if _, err := s.Put(context.Background(), synthetic(t, per, b*per), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the second compaction", func() bool { st := s.Stats(); return st.Segments <= 4 && !st.Compacting })
	if st := s.Stats(); st.Events != 2*batches*per {
		t.Errorf("%d events after the second compaction, want %d", st.Events, 2*batches*per)
	}

	// Small batches are merged beside each shard's one large segment,
	// which stays as it is.
	largest := func() []int64 {
		var out []int64
		for _, sv := range *s.shardsView.Load() {
			sizes, err := liveSizes(scorchOf(sv.idx))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, slices.Max(sizes))
		}
		return out
	}
	big := largest()
	const small = 20
	for b := range 5 {
		if _, err := s.Put(context.Background(), synthetic(t, small, 2*batches*per+b*small), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the small batches' compaction", func() bool { st := s.Stats(); return st.Segments <= 4 && !st.Compacting })
	if got := largest(); !slices.Equal(got, big) {
		t.Errorf("largest segments %v after small batches, want them untouched: %v", got, big)
	}
	res, err := s.Search(context.Background(), SearchRequest{Query: "eventName:GetPipeline"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (2*batches*per + 5*small) / 4; res.Total != uint64(want) {
		t.Errorf("eventName:GetPipeline: %d, want %d", res.Total, want)
	}
}

func TestCompactPlan(t *testing.T) {
	for _, tc := range []struct {
		sizes     []int64
		ok, whole bool
	}{
		{sizes: nil},
		{sizes: []int64{500}},
		{sizes: []int64{500, 400}, ok: true, whole: true},
		{sizes: []int64{1000, 100}, ok: true, whole: true}, // the rest is a tenth
		{sizes: []int64{1000, 99}},                         // one small segment beside the largest: nothing to do
		{sizes: []int64{1000, 50, 49}, ok: true},           // merge the two small ones only
		{sizes: []int64{30, 1000, 20, 10}, ok: true},
		{sizes: []int64{30, 1000, 20, 50}, ok: true, whole: true},
		{sizes: []int64{0, 1000, 0}, ok: true},
	} {
		mo, ok := compactPlan(tc.sizes)
		whole := mo.MaxSegmentSize == mergeplan.SingleSegmentMergePlanOptions.MaxSegmentSize
		if ok != tc.ok || (ok && whole != tc.whole) {
			t.Errorf("compactPlan(%v) = ok %v, whole %v (MaxSegmentSize %d); want ok %v, whole %v", tc.sizes, ok, whole, mo.MaxSegmentSize, tc.ok, tc.whole)
		}
		if !ok {
			continue
		}
		// The planner's own choice, on segments of these sizes: all of
		// them, or all but the largest, end up in one merge.
		segs := make([]mergeplan.Segment, len(tc.sizes))
		for i, n := range tc.sizes {
			segs[i] = testSegment{id: uint64(i), size: n}
		}
		plan, err := mergeplan.Plan(segs, &mo)
		if err != nil {
			t.Fatal(err)
		}
		merged := 0
		for _, task := range plan.Tasks {
			merged += len(task.Segments)
		}
		if want := len(tc.sizes) - 1; tc.whole {
			if merged != len(tc.sizes) {
				t.Errorf("compactPlan(%v): the planner merges %d segments, want all", tc.sizes, merged)
			}
		} else if merged != want {
			t.Errorf("compactPlan(%v): the planner merges %d segments, want %d", tc.sizes, merged, want)
		}
	}
}

// testSegment is a segment as the merge planner sees it.
type testSegment struct {
	id   uint64
	size int64
}

func (s testSegment) Id() uint64          { return s.id }
func (s testSegment) FullSize() int64     { return s.size }
func (s testSegment) LiveSize() int64     { return s.size }
func (s testSegment) HasVector() bool     { return false }
func (s testSegment) FileSize() int64     { return s.size * 1000 }
func (s testSegment) LiveFileSize() int64 { return s.size * 1000 }

// TestCompactWaitsForIdle: while Put keeps coming, nothing is merged; Close
// during a compaction ends it and loses nothing.
func TestCompactWaitsForIdle(t *testing.T) {
	eventsLayoutOnly(t)
	dir := t.TempDir()
	cfg := testConfig(dir)
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

// TestSortKeysAcrossFormats: shards holding segments whose sort keys were
// written compressed (as before optSortKey) and segments written without
// compression sort, page and count as a store written in one format, before
// and after compaction merges them.
func TestSortKeysAcrossFormats(t *testing.T) {
	eventsLayoutOnly(t)
	reqs := []SearchRequest{
		{PageSize: 100},
		{Query: "eventName:StartBuild", PageSize: 37, Order: OrderOldest},
		{Query: "p3 OR p5", PageSize: 64},
		{Query: "eventName:StartBuild", PageSize: 1, HistogramInterval: "1h"},
	}
	results := func(s *Store) [][]string {
		var out [][]string
		for _, r := range reqs {
			ids, _ := pageIDs(t, s, r)
			res, err := s.Search(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range res.Histogram {
				ids = append(ids, b.Start.Format(time.RFC3339)+"="+strconv.Itoa(b.Count))
			}
			out = append(out, ids)
		}
		return out
	}
	open := func(dir string, idle time.Duration) *Store {
		cfg := testConfig(dir)
		cfg.Shards = 2
		cfg.CompactIdle = idle
		cfg.CompactSegments = 1
		s, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const batches, per = 6, 1000
	put := func(s *Store, b int) {
		if _, err := s.Put(context.Background(), synthetic(t, per, b*per), nil); err != nil {
			t.Fatal(err)
		}
	}

	ref := open(t.TempDir(), 0)
	defer ref.Close()
	for b := range batches {
		put(ref, b)
	}
	want := results(ref)

	dir := t.TempDir()
	mixed := open(dir, 0)
	sortKeyOpts = optFacet
	defer func() { sortKeyOpts = optSortKey }() // even if a put fails
	for b := range batches / 2 {
		put(mixed, b)
	}
	sortKeyOpts = optSortKey
	for b := batches / 2; b < batches; b++ {
		put(mixed, b)
	}
	if got := results(mixed); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("segments of both formats: results differ from one format's\n got %v\nwant %v", got, want)
	}
	if err := mixed.Close(); err != nil {
		t.Fatal(err)
	}
	mixed = open(dir, 300*time.Millisecond)
	defer mixed.Close()
	waitFor(t, "compaction", func() bool { st := mixed.Stats(); return st.Segments == 2 && !st.Compacting })
	if got := results(mixed); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("merged from both formats: results differ from one format's\n got %v\nwant %v", got, want)
	}
}
