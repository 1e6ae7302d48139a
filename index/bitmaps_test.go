package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/codetrail/codetrail/index/record"
)

// TestBitmapAggregations: facets, histograms and totals counted on postings
// bitmaps equal what the search counts match by match, for queries of
// every shape the bitmaps take, over several partitions, shards and
// segments, with deleted events in one shard; queries with other parts
// are counted by the search.
func TestBitmapAggregations(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	s := variedStore(t)
	// Deleted events, as a failed batch leaves them, which the bitmaps
	// must leave out.
	p := s.cur()
	evs := variedEvents(t, 4000)
	if err := undoEvents(p.shards[1], p.exact[1], evs, []int{3001, 3003, 3010, 3500}); err != nil {
		t.Fatal(err)
	}
	var facets []FacetRequest
	for _, f := range FacetFields() {
		if f != multiResource {
			facets = append(facets, FacetRequest{Field: f, Size: 4})
		}
	}
	allColumns := newColumns(1 << 30)
	allColumns.minDocs = 0
	s.columns = allColumns
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		req     SearchRequest
		bitmaps bool
	}{
		{"term", SearchRequest{Query: "eventName:GitPush"}, true},
		{"exists", SearchRequest{Query: "errorCode:*"}, true},
		{"and not", SearchRequest{Query: "errorCode:* AND NOT user:u3"}, true},
		{"not alone", SearchRequest{Query: "NOT eventName:GitPush"}, true},
		{"or", SearchRequest{Query: "eventName:GitPush OR eventName:StartBuild OR region:us-east-1"}, true},
		{"nested", SearchRequest{Query: "(eventName:GitPush OR errorCode:E1) AND NOT (user:u3 OR user:u4)"}, true},
		{"a word", SearchRequest{Query: "u7"}, true},
		{"words", SearchRequest{Query: "u7 codebuild"}, true},
		{"event id", SearchRequest{Query: "eventID:v-000010 OR eventID:v-003001 OR eventID:v-003002"}, true},
		{"nothing", SearchRequest{Query: "eventName:NoSuchCall"}, true},
		{"scope", SearchRequest{Query: "errorCode:*", Scope: Scope{Accounts: []string{"111122223331", "111122223332"}}}, true},
		{"whole hours", SearchRequest{Query: "eventName:GitPush", Start: day, End: day.Add(30 * time.Hour)}, true},
		{"from a whole hour", SearchRequest{Query: "errorCode:*", Start: day.Add(5 * time.Hour)}, true},
		{"to a whole hour", SearchRequest{Query: "errorCode:*", End: day.Add(7 * time.Hour)}, true},
		{"all events in whole hours", SearchRequest{Start: day, End: day.Add(48 * time.Hour)}, true},
		// Most hours, or all: counted as the events with a time less
		// those of the hours outside.
		{"all events from a whole hour", SearchRequest{Start: day.Add(5 * time.Hour)}, true},
		{"every hour", SearchRequest{Query: "errorCode:* OR eventName:GitPush", Start: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
		{"all events in every hour", SearchRequest{Start: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}, true},
		{"eventTime in the query", SearchRequest{Query: "eventName:GitPush AND eventTime:2025-06-02"}, true},
		// Bounds amid hours: the events of their hours are tested on
		// their sort keys.
		{"from a half hour", SearchRequest{Query: "errorCode:*", Start: day.Add(90 * time.Minute)}, true},
		{"within an hour", SearchRequest{Start: day.Add(90 * time.Minute), End: day.Add(100*time.Minute + 30*time.Second)}, true},
		{"not in a half hour range", SearchRequest{Query: "NOT eventTime:[2025-06-02T10:30:00Z TO 2025-06-03T00:00:00Z}"}, true},
		// Counted by the search.
		{"wildcard", SearchRequest{Query: "user:u1*"}, false},
		{"phrase", SearchRequest{Query: `"project/p3"`}, false},
		{"range on a value", SearchRequest{Query: "eventName:[A TO H]"}, false},
	}
	for _, tc := range tests {
		for _, agg := range []struct {
			name    string
			facets  []FacetRequest
			iv      string
			bitmaps bool
		}{
			{"facets", facets, "", true},
			{"hourly", nil, "1h", true},
			{"daily with facets", facets[:2], "1d", true},
			{"quarter hours", nil, "15m", false},
			{"resources", []FacetRequest{{Field: "resource"}}, "", false},
		} {
			for _, order := range []Order{OrderNewest, OrderOldest} {
				req := tc.req
				req.Facets, req.HistogramInterval, req.Order, req.PageSize = agg.facets, agg.iv, order, 3
				// Counted with columns (for segments of any size, so
				// that these small ones have them) and without.
				cols := s.columns
				if order == OrderOldest {
					cols = nil
				}
				t.Run(fmt.Sprintf("%s/%s/%d", tc.name, agg.name, order), func(t *testing.T) {
					s.columns = cols
					defer func() { s.columns = allColumns }()
					before, colsBefore := bitmapCounts(), columnUses()
					got, err := s.Search(ctx, req)
					if err != nil {
						t.Fatal(err)
					}
					want := countedBySearch(t, s, req)
					// Hour buckets need bounds on whole hours.
					whole := tc.req.Start.Equal(tc.req.Start.Truncate(time.Hour)) && tc.req.End.Equal(tc.req.End.Truncate(time.Hour))
					used := tc.bitmaps && agg.bitmaps && (agg.iv == "" || whole)
					if got := bitmapCounts() > before; got != used {
						t.Errorf("counted on bitmaps: %v, want %v", got, used)
					}
					// Queries that match nothing in any segment
					// read no column.
					if got, want := columnUses() > colsBefore, used && cols != nil && got.Total > 0; got != want {
						t.Errorf("counted on columns: %v, want %v", got, want)
					}
					if !reflect.DeepEqual(got.Facets, want.Facets) {
						t.Errorf("facets\n%+v\nwant\n%+v", got.Facets, want.Facets)
					}
					if !reflect.DeepEqual(got.Histogram, want.Histogram) {
						t.Errorf("histogram\n%+v\nwant\n%+v", got.Histogram, want.Histogram)
					}
					if got.Total != want.Total || !reflect.DeepEqual(hitIDs(got), hitIDs(want)) {
						t.Errorf("total %d hits %v, want %d and %v", got.Total, hitIDs(got), want.Total, hitIDs(want))
					}
				})
			}
		}
	}
}

// TestBitmapPages: newest-first pages of queries made of exact terms,
// taken on postings bitmaps and walked to the end, are the pages Bleve's
// searches give, totals included, over several partitions, shards and
// segments, with deleted events in one shard, and with time ranges on whole
// hours or not; queries with other parts are paged by the searches.
func TestBitmapPages(t *testing.T) {
	eventsLayoutOnly(t)
	s := variedStore(t)
	p := s.cur()
	evs := variedEvents(t, 4000)
	if err := undoEvents(p.shards[1], p.exact[1], evs, []int{3001, 3003, 3010, 3500}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	walk := func(req SearchRequest) ([]string, uint64) { return walkPages(t, s, req) }
	pages := func() float64 { return counter(metricNewestWindows.WithLabelValues("bitmaps")) }
	for _, tc := range []struct {
		name    string
		req     SearchRequest
		bitmaps bool
	}{
		{"term", SearchRequest{Query: "eventName:GitPush"}, true},
		{"and not", SearchRequest{Query: "errorCode:* AND NOT user:u3"}, true},
		{"not alone", SearchRequest{Query: "NOT eventName:GitPush"}, true},
		{"or", SearchRequest{Query: "eventName:GitPush OR eventName:StartBuild OR region:us-east-1"}, true},
		{"event id", SearchRequest{Query: "eventID:v-000010 OR eventID:v-003001 OR eventID:v-003002"}, true},
		{"nothing", SearchRequest{Query: "eventName:NoSuchCall"}, true},
		{"scope", SearchRequest{Query: "errorCode:*", Scope: Scope{Accounts: []string{"111122223331", "111122223332"}}}, true},
		{"all events", SearchRequest{}, true},
		{"whole hours", SearchRequest{Query: "eventName:GitPush", Start: day, End: day.Add(30 * time.Hour)}, true},
		{"from a half hour", SearchRequest{Query: "errorCode:*", Start: day.Add(90 * time.Minute)}, true},
		{"within an hour", SearchRequest{Start: day.Add(90 * time.Minute), End: day.Add(100*time.Minute + 30*time.Second)}, true},
		{"not in a half hour range", SearchRequest{Query: "NOT eventTime:[2025-06-02T10:30:00Z TO 2025-06-03T00:00:00Z}"}, true},
		{"wildcard", SearchRequest{Query: "user:u1*"}, false},
		{"phrase", SearchRequest{Query: `"project/p3"`}, false},
	} {
		for _, size := range []int{7, 500, -7} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, size), func(t *testing.T) {
				req := tc.req
				req.PageSize = size
				bitmaps := tc.bitmaps
				if size < 0 {
					// Too dense for bitmaps (but no match at all): paged
					// Bleve's way, with the matches as the bitmaps counted
					// them.
					req.PageSize, bitmaps = -size, bitmaps && tc.name == "nothing"
					defer func(v float64) { pageMaxPerHour = v }(pageMaxPerHour)
					pageMaxPerHour = 1e-9
				}
				before := pages()
				got, total := walk(req)
				if used := pages() > before; used != bitmaps {
					t.Errorf("paged on bitmaps: %v, want %v", used, bitmaps)
				}
				s.noBitmaps.Store(true)
				defer s.noBitmaps.Store(false)
				want, wantTotal := walk(req)
				if size < 0 && tc.name != "all events" {
					// The first page's total, which the bitmaps counted
					// (all events are counted as stored: undoChunk deleted
					// some behind the store's back).
					first := req
					first.PageSize = -size
					s.noBitmaps.Store(false)
					res, err := s.Search(context.Background(), first)
					s.noBitmaps.Store(true)
					if err != nil {
						t.Fatal(err)
					}
					if res.Total != wantTotal {
						t.Errorf("first page's total %d, want %d", res.Total, wantTotal)
					}
				}
				if total != wantTotal || !reflect.DeepEqual(got, want) || (tc.name != "nothing" && len(want) == 0) {
					t.Errorf("%d events (total %d), want %d (total %d)\ngot  %v\nwant %v", len(got), total, len(want), wantTotal, head(got), head(want))
				}
			})
		}
	}
}

// TestBitmapPagesOpenRanges: a range open at one end holds, on bitmaps as
// in Bleve's search, no event of the 52 days nearest that end of the times
// Bleve indexes (Sep-Nov 1677, Feb-Apr 2262; see hoursPlan); facets and
// totals of such ranges agree too.
func TestBitmapPagesOpenRanges(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	s := openStoreCfg(t, func(*Config) {})
	times := []string{"1677-10-01T00:00:00Z", "1677-12-02T00:00:00Z", "2000-01-01T10:30:00Z", "2024-05-01T12:00:00Z", "2262-01-01T00:00:00Z", "2262-03-01T00:00:00Z"}
	var evs []record.Event
	for i := range 120 {
		evs = append(evs, parseRecord(t, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"o-%03d","eventTime":%q,"eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","awsRegion":"us-east-1","recipientAccountId":"111122223333"}`, i, times[i%len(times)])))
	}
	if _, err := s.Put(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"eventTime:<2000-01-01T10:30:00Z", "eventTime:>=2000-01-01T10:30:00Z", "eventTime:>2024-05-01", "eventTime:<2024-05-01T12:00:00Z AND eventName:StartBuild", "NOT eventTime:<2000-01-01"} {
		req := SearchRequest{Query: q, PageSize: 9, Facets: []FacetRequest{{Field: "eventName"}}}
		var got, want []string
		var gotTotal, wantTotal uint64
		for _, bitmaps := range []bool{true, false} {
			s.noBitmaps.Store(!bitmaps)
			res, err := s.Search(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Facets) != 1 || res.Facets[0].Missing+sumCounts(res.Facets[0]) != int(res.Total) {
				t.Errorf("%q: facet %+v over %d events", q, res.Facets, res.Total)
			}
			ids, total := walkPages(t, s, req)
			if bitmaps {
				got, gotTotal = ids, total
			} else {
				want, wantTotal = ids, total
			}
		}
		s.noBitmaps.Store(false)
		if gotTotal != wantTotal || !reflect.DeepEqual(got, want) || len(want) == 0 {
			t.Errorf("%q: %d events (total %d), want %d (total %d)\ngot  %v\nwant %v", q, len(got), gotTotal, len(want), wantTotal, head(got), head(want))
		}
	}
}

func sumCounts(f FacetResult) int {
	n := f.Other
	for _, v := range f.Values {
		n += v.Count
	}
	return n
}

func bitmapCounts() float64 {
	return counter(metricBitmapAggregations.WithLabelValues("facets")) + counter(metricBitmapAggregations.WithLabelValues("histogram"))
}

// columnUses is how many columns searches have counted on so far.
func columnUses() float64 {
	return counter(metricColumns.WithLabelValues("hit")) + counter(metricColumns.WithLabelValues("built"))
}

func hitIDs(res *SearchResult) []string {
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.Event.ID)
	}
	return ids
}

// TestMatchCounter: both ways of counting matches in postings, merging
// sparse containers and testing a dense bitset, count what a plain
// intersection does, for sparse, dense and run-shaped sets.
func TestMatchCounter(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const docs = 300_000
	set := func(density float64) *roaring.Bitmap {
		bm := roaring.New()
		for d := range uint32(docs) {
			if rng.Float64() < density {
				bm.Add(d)
			}
		}
		return bm
	}
	runs := roaring.New()
	runs.AddRange(1000, 90_000)
	runs.AddRange(150_000, 151_000)
	runs.RunOptimize()
	for _, match := range []*roaring.Bitmap{set(0.001), set(0.04), set(0.5), runs, roaring.New()} {
		for _, terms := range []int{0, 1 << 30} {
			k := newCounter(match, docs, terms)
			if (k.bits != nil) != (terms > 0 && !match.IsEmpty()) {
				t.Fatalf("%d terms over %d matches: bitset %v", terms, match.GetCardinality(), k.bits != nil)
			}
			for _, postings := range []*roaring.Bitmap{set(0.002), set(0.1), set(0.9), runs} {
				if got, want := k.count(postings, 0, false), roaring.And(match, postings).GetCardinality(); got != want {
					t.Errorf("bitset %v: %d of %d matches in %d postings, want %d", k.bits != nil, got, match.GetCardinality(), postings.GetCardinality(), want)
				}
			}
			for _, one := range []uint32{0, 1000, 89_999, 90_000, docs - 1} {
				if got, want := k.count(nil, one, true), boolCount(match.Contains(one)); got != want {
					t.Errorf("bitset %v: event %d counted %d, want %d", k.bits != nil, one, got, want)
				}
			}
		}
	}
}

func boolCount(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
