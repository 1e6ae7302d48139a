package index

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// liveSegments returns every segment of every shard of s.
func liveSegments(t *testing.T, s *Store) map[segment.Segment]struct{} {
	t.Helper()
	live := map[segment.Segment]struct{}{}
	err := withSnapshots(*s.shardsView.Load(), func(snaps []*scorch.IndexSnapshot) error {
		for _, snap := range snaps {
			for _, ss := range snap.Segments() {
				live[ss.Segment()] = struct{}{}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return live
}

// checkColumnBytes checks that the columns kept are of live segments and
// that their bytes add up.
func checkColumnBytes(t *testing.T, s *Store) {
	t.Helper()
	live := liveSegments(t, s)
	cs := s.columns
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var sum int64
	for k, e := range cs.m {
		if _, ok := live[k.seg]; !ok {
			t.Errorf("a column of %s is kept for a segment gone from the index", k.field)
		}
		sum += e.bytes
	}
	if sum != cs.bytes {
		t.Errorf("columns count %d bytes, their entries %d", cs.bytes, sum)
	}
}

// mergeShards merges every shard of s into one segment, as compaction
// leaves them once ingest is idle.
func mergeShards(tb testing.TB, s *Store) {
	tb.Helper()
	for _, sv := range *s.shardsView.Load() {
		if err := scorchOf(sv.idx).ForceMerge(context.Background(), &mergeplan.SingleSegmentMergePlanOptions); err != nil {
			tb.Fatal(err)
		}
	}
}

func columnMetric(result string) float64 { return counter(metricColumns.WithLabelValues(result)) }

// TestColumns: which searches build, reuse, skip and drop columns, and
// that they count what the search counts match by match in every case.
func TestColumns(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	s := variedStore(t)
	byName := SearchRequest{Query: "errorCode:*", Facets: []FacetRequest{{Field: "eventName", Size: 1000}}, HistogramInterval: "1h", PageSize: 1}
	search := func(t *testing.T, req SearchRequest) {
		t.Helper()
		got, err := s.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want := countedBySearch(t, s, req)
		if !reflect.DeepEqual(got.Facets, want.Facets) || !reflect.DeepEqual(got.Histogram, want.Histogram) || got.Total != want.Total {
			t.Errorf("got %d %+v %+v\nwant %d %+v %+v", got.Total, got.Facets, got.Histogram, want.Total, want.Facets, want.Histogram)
		}
	}
	// delta runs fn and returns how each result of the column metric
	// moved.
	delta := func(fn func()) map[string]int {
		results := []string{"hit", "built", "none", "over_budget"}
		before := map[string]float64{}
		for _, r := range results {
			before[r] = columnMetric(r)
		}
		fn()
		out := map[string]int{}
		for _, r := range results {
			if d := int(columnMetric(r) - before[r]); d != 0 {
				out[r] = d
			}
		}
		return out
	}
	// One segment a shard, so that no merge replaces segments while the
	// test looks at them.
	mergeShards(t, s)
	segs := len(liveSegments(t, s))
	if segs < 4 {
		t.Fatalf("%d segments, want several", segs)
	}

	t.Run("segments below the minimum size have none", func(t *testing.T) {
		if d := delta(func() { search(t, byName) }); len(d) != 0 {
			t.Errorf("column metric moved by %v", d)
		}
	})
	s.columns.minDocs = 0
	var built int
	t.Run("built once, then reused", func(t *testing.T) {
		d := delta(func() { search(t, byName) })
		built = d["built"]
		// eventName and the hour of each segment with errors in it.
		if built < 2 || built > 2*segs || d["hit"] != 0 || d["none"] != 0 {
			t.Errorf("first search: %v, want up to 2 built in each of %d segments", d, segs)
		}
		if d := delta(func() { search(t, byName) }); d["hit"] != built || len(d) != 1 {
			t.Errorf("second search: %v, want %d hits", d, built)
		}
		checkColumnBytes(t, s)
	})
	t.Run("not built when few matches", func(t *testing.T) {
		// One event: counting its postings costs less than a column.
		req := SearchRequest{Query: "eventID:v-000010", Facets: []FacetRequest{{Field: "region"}}, PageSize: 1}
		if d := delta(func() { search(t, req) }); len(d) != 0 {
			t.Errorf("column metric moved by %v", d)
		}
	})
	t.Run("a multi-valued field has none, remembered", func(t *testing.T) {
		// resource holds several values an event; facets on it are
		// not counted on bitmaps, so ask for its column directly.
		c, err := columnsOfFirstSegment(t, s, multiResource)
		if err != nil || c != nil {
			t.Fatalf("column %v, error %v; want none", c, err)
		}
		if d := delta(func() { _, _ = columnsOfFirstSegment(t, s, multiResource) }); len(d) != 0 {
			t.Errorf("asked again: %v, want nothing built", d)
		}
	})
	t.Run("over budget: counted without", func(t *testing.T) {
		kept := s.columns
		s.columns = newColumns(1)
		s.columns.minDocs = 0
		defer func() { s.columns = kept }()
		req := byName
		req.Facets = []FacetRequest{{Field: "region"}}
		d := delta(func() { search(t, req) })
		if d["over_budget"] == 0 || d["built"] != 0 || s.columns.size() != 0 {
			t.Errorf("%v, %d bytes; want only over_budget", d, s.columns.size())
		}
	})
	t.Run("dropped when their segments merge", func(t *testing.T) {
		if s.columns.size() == 0 {
			t.Fatal("no columns kept")
		}
		// New events start a partition (the others are full); a search
		// builds their columns; more events are merged with them, which
		// replaces that partition's segments and leaves the others'.
		evs := variedEvents(t, 5400)
		if _, err := s.Put(ctx, evs[4000:5000], nil); err != nil {
			t.Fatal(err)
		}
		search(t, byName)
		before := liveSegments(t, s)
		if _, err := s.Put(ctx, evs[5000:], nil); err != nil {
			t.Fatal(err)
		}
		mergeShards(t, s)
		gone := 0
		for seg := range before {
			if _, ok := liveSegments(t, s)[seg]; !ok {
				gone++
			}
		}
		if gone == 0 {
			t.Fatal("no segment was replaced")
		}
		d := delta(func() { search(t, byName) })
		if d["built"] == 0 || d["hit"] == 0 {
			t.Errorf("after the merge: %v, want new columns and kept ones", d)
		}
		checkColumnBytes(t, s)
	})
	t.Run("searches together", func(t *testing.T) {
		s.columns = newColumns(1 << 30)
		s.columns.minDocs = 0
		want := countedBySearch(t, s, byName)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				got, err := s.Search(ctx, byName)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(got.Facets, want.Facets) || !reflect.DeepEqual(got.Histogram, want.Histogram) {
					t.Errorf("got %+v %+v, want %+v %+v", got.Facets, got.Histogram, want.Facets, want.Histogram)
				}
			})
		}
		wg.Wait()
		checkColumnBytes(t, s)
	})
}

// columnsOfFirstSegment asks s.columns for field's column in the first
// segment of the first shard.
func columnsOfFirstSegment(t *testing.T, s *Store, field string) (*column, error) {
	t.Helper()
	var col *column
	err := withSnapshots((*s.shardsView.Load())[:1], func(snaps []*scorch.IndexSnapshot) error {
		c, err := newBMSegment(snaps[0].Segments()[0])
		if err != nil {
			return err
		}
		col, err = s.columns.get(context.Background(), c, field, true)
		return err
	})
	return col, err
}
