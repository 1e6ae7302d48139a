package index

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/codetrail/codetrail/index/record"
)

// variedEvents returns n events over five days (and a few before 1970 or
// without eventTime), with fields some lack and several resources.
func variedEvents(t testing.TB, n int) []record.Event {
	t.Helper()
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"StartBuild", "GetPipeline", "CreateDeployment", "GitPush", "PutPackage", "ListRepositories"}
	out := make([]record.Event, 0, n)
	for i := range n {
		at := base.Add(time.Duration(i*7919%(5*24*60)) * time.Minute).Add(time.Duration(i%60) * time.Second)
		timeField := fmt.Sprintf(`"eventTime":%q,`, at.Format(time.RFC3339))
		switch {
		case i%97 == 0:
			timeField = ""
		case i%89 == 0: // one Bleve cannot index: no time either
			timeField = `"eventTime":"ThisIsAWrongEventTime",`
		}
		errField := ""
		if i%5 == 0 {
			errField = fmt.Sprintf(`"errorCode":"E%d",`, i%3)
		}
		var res string
		for j := range i % 3 {
			if j > 0 {
				res += ","
			}
			res += fmt.Sprintf(`{"ARN":"arn:aws:codebuild:us-east-1:111122223333:project/p%d","type":"AWS::CodeBuild::Project"}`, (i+j)%11)
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"v-%06d",%s%s"eventSource":"codebuild.amazonaws.com","eventName":%q,"awsRegion":"us-east-%d","recipientAccountId":"11112222333%d","userIdentity":{"type":"IAMUser","userName":"u%d"},"resources":[%s]}`,
			i, timeField, errField, names[i%len(names)], 1+i%2, i%4, i%13, res)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// variedStore returns a store of 2 shards and 1,500 events a partition
// holding 4,000 variedEvents, put 1,000 at a time (3 partitions).
func variedStore(t *testing.T) *Store {
	t.Helper()
	s := openStoreCfg(t, func(c *Config) { c.Shards = 2; c.PartitionMaxEvents = 1500; c.MaxFacets = 64 })
	evs := variedEvents(t, 4000)
	for i := 0; i < len(evs); i += 1000 {
		if _, err := s.Put(context.Background(), evs[i:i+1000], nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestDictAggregations: facets and histograms over all events read from
// the dictionaries equal what the search counts, for every facet field and
// several intervals and time bounds, over several partitions and shards.
func TestDictAggregations(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	s := variedStore(t)
	if len(s.parts) < 2 {
		t.Fatalf("%d partitions, want several", len(s.parts))
	}
	var facets []FacetRequest
	for _, f := range FacetFields() {
		if f != multiResource {
			facets = append(facets, FacetRequest{Field: f, Size: 5}, FacetRequest{Field: f, Size: 1000})
		}
	}
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		req      SearchRequest
		fromDict bool
	}{
		{"facets", SearchRequest{Facets: facets}, true},
		{"facets oldest first", SearchRequest{Facets: facets, Order: OrderOldest}, true},
		{"facets by relevance", SearchRequest{Facets: facets, Order: OrderRelevance}, true},
		{"hourly", SearchRequest{HistogramInterval: "1h"}, true},
		{"daily", SearchRequest{HistogramInterval: "1d"}, true},
		{"six hours with facets", SearchRequest{HistogramInterval: "6h", Facets: facets[:2]}, true},
		{"daily from a whole hour", SearchRequest{HistogramInterval: "1d", Start: day.Add(5 * time.Hour)}, true},
		{"hourly between whole hours", SearchRequest{HistogramInterval: "1h", Start: day, End: day.Add(30 * time.Hour)}, true},
		{"daily to a whole hour", SearchRequest{HistogramInterval: "1d", End: day.Add(7 * time.Hour)}, true},
		// Not from the dictionaries: the search counts these.
		{"quarter hours", SearchRequest{HistogramInterval: "15m"}, false},
		{"daily from a half hour", SearchRequest{HistogramInterval: "1d", Start: day.Add(90 * time.Minute)}, false},
		{"facets in a time range", SearchRequest{Facets: facets[:2], Start: day}, false},
		{"facets of a query", SearchRequest{Query: "eventName:GitPush", Facets: facets[:2]}, false},
		{"facets on resources", SearchRequest{Facets: []FacetRequest{{Field: "resource"}}}, false},
		{"facets in a scope", SearchRequest{Facets: facets[:2], Scope: Scope{Accounts: []string{"111122223331"}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.PageSize = 3
			before := counter(metricDictAggregations.WithLabelValues("facets")) + counter(metricDictAggregations.WithLabelValues("histogram"))
			got, err := s.Search(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			after := counter(metricDictAggregations.WithLabelValues("facets")) + counter(metricDictAggregations.WithLabelValues("histogram"))
			if used := after > before; used != tc.fromDict {
				t.Fatalf("answered from the dictionaries: %v, want %v", used, tc.fromDict)
			}
			want := countedBySearch(t, s, tc.req)
			if !reflect.DeepEqual(got.Facets, want.Facets) {
				t.Errorf("facets from the dictionaries\n%+v\nwant\n%+v", got.Facets, want.Facets)
			}
			if !reflect.DeepEqual(got.Histogram, want.Histogram) {
				t.Errorf("histogram from the dictionaries\n%+v\nwant\n%+v", got.Histogram, want.Histogram)
			}
			if got.Total != want.Total || len(got.Hits) != len(want.Hits) {
				t.Errorf("total %d hits %d, want %d and %d", got.Total, len(got.Hits), want.Total, len(want.Hits))
			}
			nonEmpty := len(tc.req.Facets) == 0
			for _, f := range got.Facets {
				nonEmpty = nonEmpty || len(f.Values) > 0
			}
			if !nonEmpty {
				t.Errorf("no facet values at all: the comparison shows nothing")
			}
		})
	}
}

// TestDictExact: a shard stops counting exactly from its dictionaries once
// events are taken back from it, and stays so when reopened; a shard
// without the mark (made before the hour field) never does.
func TestDictExact(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Shards = 2
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := variedEvents(t, 1200)
	if _, err := s.Put(ctx, evs[:600], nil); err != nil {
		t.Fatal(err)
	}
	if s.exactShards() == nil {
		t.Fatal("new shards are not exact")
	}
	// Take back a few events from shard 1, as a failed Put does.
	p := s.cur()
	if err := undoEvents(p.shards[1], p.exact[1], evs, []int{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if s.exactShards() != nil {
		t.Fatal("a shard with deleted events still counts as exact")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if s.exactShards() != nil {
		t.Fatal("after reopening, a shard with deleted events counts as exact")
	}
	if s.cur().exact[0].Load() != true || s.cur().exact[1].Load() != false {
		t.Fatalf("exact = %v %v, want true false", s.cur().exact[0].Load(), s.cur().exact[1].Load())
	}
	// A shard without the mark, as made by an earlier version.
	s = reopenUnmarked(t, s, cfg)
	if s.cur().exact[0].Load() {
		t.Fatal("a shard without the mark counts as exact")
	}
	// Searches still count right, the usual way.
	res, err := s.Search(ctx, SearchRequest{Facets: []FacetRequest{{Field: "eventName"}}, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Facets[0].Missing + res.Facets[0].Other
	for _, v := range res.Facets[0].Values {
		sum += v.Count
	}
	if sum != 600 || res.Total != 600 {
		t.Fatalf("facet counts %d events, total %d, want 600", sum, res.Total)
	}
}

func TestHourKey(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2025, 6, 1, 13, 59, 59, 999, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 0, 1, 0, time.UTC),
		time.Date(1677, 9, 22, 0, 30, 0, 0, time.UTC),
		time.Date(2262, 4, 11, 23, 0, 0, 0, time.UTC),
	} {
		got, ok := parseHourKey(hourKey(at))
		if want := at.Truncate(time.Hour); !ok || !got.Equal(want) {
			t.Errorf("hour of %s = %s %v, want %s", at, got, ok, want)
		}
	}
	if hourKey(time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)) >= hourKey(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("hour keys before 1970 do not sort first")
	}
	for _, bad := range []string{"", "zz", "00000000000000001"} {
		if _, ok := parseHourKey(bad); ok {
			t.Errorf("parseHourKey(%q) ok", bad)
		}
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// TestDictTermCount: the total of a one-term query, newest first, read from
// the dictionaries equals what the search counts, and so does its page.
// Such pages come from the postings bitmaps first (bitmappage.go); the
// dictionaries count those too dense for them, and any without bitmaps.
func TestDictTermCount(t *testing.T) {
	ctx := context.Background()
	s := variedStore(t)
	s.noBitmaps.Store(true)
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		req      SearchRequest
		fromDict bool
		want     uint64 // 0: only compared with the search's count
	}{
		{"keyword", SearchRequest{Query: "eventName:GitPush"}, true, 667},
		{"word", SearchRequest{Query: "gitpush"}, true, 667},
		{"absent", SearchRequest{Query: "eventName:Nope"}, true, 0},
		{"error code", SearchRequest{Query: "errorCode:E1"}, true, 266},
		{"two words", SearchRequest{Query: "gitpush u3"}, false, 0},
		{"time range", SearchRequest{Query: "eventName:GitPush", Start: day}, false, 0},
		{"scope", SearchRequest{Query: "eventName:GitPush", Scope: Scope{Regions: []string{"us-east-1"}}}, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.PageSize = 7
			before := counter(metricDictAggregations.WithLabelValues("count"))
			got, err := s.Search(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if used := counter(metricDictAggregations.WithLabelValues("count")) > before; used != tc.fromDict {
				t.Fatalf("counted from the dictionaries: %v, want %v", used, tc.fromDict)
			}
			want := countedBySearch(t, s, tc.req)
			if got.Total != want.Total || (tc.want > 0 && got.Total != tc.want) {
				t.Fatalf("total %d, the search counts %d (want %d)", got.Total, want.Total, tc.want)
			}
			if len(got.Hits) != len(want.Hits) || got.NextPageToken == "" != (want.NextPageToken == "") {
				t.Fatalf("%d hits, next page %v; the search: %d, %v", len(got.Hits), got.NextPageToken != "", len(want.Hits), want.NextPageToken != "")
			}
			for i := range got.Hits {
				if got.Hits[i].Event.ID != want.Hits[i].Event.ID {
					t.Fatalf("hit %d is %s, the search's %s", i, got.Hits[i].Event.ID, want.Hits[i].Event.ID)
				}
			}
		})
	}
}

// countedBySearch runs req with one shard marked neither exact nor hourly
// and postings bitmaps off, so that totals, facets and histograms are
// counted match by match, and histograms by testing times against bucket
// ranges.
func countedBySearch(t *testing.T, s *Store, req SearchRequest) *SearchResult {
	t.Helper()
	s.mu.Lock()
	s.parts[0].exact[0].Store(false)
	s.parts[0].hourly[0] = false
	s.publishShards()
	s.mu.Unlock()
	prev := s.noBitmaps.Swap(true)
	defer func() {
		s.noBitmaps.Store(prev)
		s.mu.Lock()
		s.parts[0].exact[0].Store(true)
		s.parts[0].hourly[0] = true
		s.publishShards()
		s.mu.Unlock()
	}()
	res, err := s.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestHourlyHistograms: a histogram of any query with an interval of whole
// hours, counted per hour, equals the one counted by bucket ranges.
func TestHourlyHistograms(t *testing.T) {
	ctx := context.Background()
	s := variedStore(t)
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)
	for _, q := range []string{"eventName:GitPush", "errorCode:* AND NOT user:u3", "u7"} {
		for _, iv := range []string{"1h", "1d", "6h", "15m"} {
			for _, start := range []time.Time{{}, day.Add(90 * time.Minute)} {
				req := SearchRequest{Query: q, HistogramInterval: iv, Start: start, PageSize: 1}
				t.Run(fmt.Sprintf("%s/%s/%v", q, iv, !start.IsZero()), func(t *testing.T) {
					got, err := s.Search(ctx, req)
					if err != nil {
						t.Fatal(err)
					}
					want := countedBySearch(t, s, req)
					if !reflect.DeepEqual(got.Histogram, want.Histogram) {
						t.Fatalf("histogram per hour\n%+v\nby ranges\n%+v", got.Histogram, want.Histogram)
					}
					n := 0
					for _, b := range got.Histogram {
						n += b.Count
					}
					if n == 0 || uint64(n) > got.Total {
						t.Fatalf("histogram counts %d events of %d", n, got.Total)
					}
				})
			}
		}
	}
}

// TestDictCountsAfterMerge: in a merged segment, a term of one event is
// stored 1-hit encoded, and zapx's dictionary iterator then reports 1 for
// every later term (blevesearch/zapx#445). Counts must not come from it.
func TestDictCountsAfterMerge(t *testing.T) {
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.Shards = 1 })
	evs := variedEvents(t, 2000)
	// One event with a name of its own that sorts before all the others.
	raw := `{"eventVersion":"1.08","eventID":"only-once","eventTime":"2025-06-01T10:00:00Z","eventSource":"codebuild.amazonaws.com","eventName":"AAOnlyOnce","awsRegion":"us-east-1","recipientAccountId":"111122223330"}`
	once, err := record.Parse(record.KindCloudTrail, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, once)
	for i := 0; i < len(evs); i += 200 {
		if _, err := s.Put(ctx, evs[i:min(i+200, len(evs))], nil); err != nil {
			t.Fatal(err)
		}
	}
	adv, err := s.cur().shards[0].Advanced()
	if err != nil {
		t.Fatal(err)
	}
	if err := adv.(*scorch.Scorch).ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
		t.Fatal(err)
	}
	req := SearchRequest{PageSize: 1, Facets: []FacetRequest{{Field: "eventName", Size: 20}}, HistogramInterval: "1d"}
	got, err := s.Search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	want := countedBySearch(t, s, req)
	if !reflect.DeepEqual(got.Facets, want.Facets) || !reflect.DeepEqual(got.Histogram, want.Histogram) {
		t.Fatalf("from the dictionaries\n%+v\n%+v\nwant\n%+v\n%+v", got.Facets, got.Histogram, want.Facets, want.Histogram)
	}
	if v := got.Facets[0].Values; len(v) < 2 || v[0].Count < 300 {
		t.Fatalf("facet %+v: the test proves nothing", v)
	}
}

// TestSegCounts: facets and histograms over all events keep each
// segment's counts, read them again from there, count new segments as
// they come, and drop the counts of segments merged away.
func TestSegCounts(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.Shards = 1 })
	evs := variedEvents(t, 3000)
	put := func(evs []record.Event) {
		t.Helper()
		for i := 0; i < len(evs); i += 500 {
			if _, err := s.Put(ctx, evs[i:min(i+500, len(evs))], nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	req := SearchRequest{PageSize: 1, Facets: []FacetRequest{{Field: "eventName", Size: 20}, {Field: "user", Size: 20}}, HistogramInterval: "1h"}
	search := func(wantMisses bool) {
		t.Helper()
		var got *SearchResult
		var hits, misses float64
		// A merge of Bleve's between two searches makes a segment whose
		// counts are read once (CI saw it under load): a search after it
		// reads none again.
		for try := 0; try == 0 || !wantMisses && misses > 0 && try < 5; try++ {
			hits, misses = counter(metricSegCounts.WithLabelValues("hit")), counter(metricSegCounts.WithLabelValues("miss"))
			var err error
			if got, err = s.Search(ctx, req); err != nil {
				t.Fatal(err)
			}
			hits = counter(metricSegCounts.WithLabelValues("hit")) - hits
			misses = counter(metricSegCounts.WithLabelValues("miss")) - misses
		}
		if (misses > 0) != wantMisses || hits+misses == 0 {
			t.Fatalf("%v counts kept, %v read; want reads: %v", hits, misses, wantMisses)
		}
		want := countedBySearch(t, s, req)
		if !reflect.DeepEqual(got.Facets, want.Facets) || !reflect.DeepEqual(got.Histogram, want.Histogram) {
			t.Fatalf("from the kept counts\n%+v\n%+v\nwant\n%+v\n%+v", got.Facets, got.Histogram, want.Facets, want.Histogram)
		}
		if got.Facets[0].Values[0].Count < 100 {
			t.Fatalf("facet %+v: the test proves nothing", got.Facets[0].Values)
		}
	}
	kept := func() (segs, terms int) {
		s.segCounts.mu.Lock()
		defer s.segCounts.mu.Unlock()
		n := 0
		for _, fields := range s.segCounts.m {
			for _, tc := range fields {
				n += len(tc)
			}
		}
		if n != s.segCounts.entries {
			t.Fatalf("%d terms kept, entries says %d", n, s.segCounts.entries)
		}
		return len(s.segCounts.m), n
	}

	put(evs[:2000])
	search(true)
	search(false)
	put(evs[2000:])
	search(true) // the new segments
	search(false)

	adv, err := s.cur().shards[0].Advanced()
	if err != nil {
		t.Fatal(err)
	}
	if err := adv.(*scorch.Scorch).ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
		t.Fatal(err)
	}
	search(true) // the merged segment
	if segs, terms := kept(); segs != 1 || terms == 0 {
		t.Fatalf("counts of %d segments (%d terms) kept after merging into one", segs, terms)
	}
	search(false)
}

// reopenUnmarked takes the ct:dictexact mark off s's first shard, as a
// shard made by a version before the hour field has none, and returns the
// store reopened (closed when the test ends).
func reopenUnmarked(t *testing.T, s *Store, cfg Config) *Store {
	t.Helper()
	if err := s.cur().shards[0].DeleteInternal(keyDictExact); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
