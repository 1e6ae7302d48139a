package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
	// The generator imports nothing of ours, so a test may use it without
	// a cycle; index itself still imports no ingest package.
	"github.com/codetrail/codetrail/ingest/gen"
)

// Benchmarks of the hot paths not covered elsewhere (issue #5): building a
// document, compiling a query, searching, faceting and the hub's fan-out.
// Each checks its results against an independent computation first, so a
// broken path fails instead of timing an empty answer.

// generated returns the first n events of the generator's default stream
// (about 1.5 KB each, the shapes and value spread of real trails), parsed.
func generated(tb testing.TB, n int) []record.Event {
	tb.Helper()
	evs, err := gen.Parsed(n)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// BenchmarkBuildDocument measures mapping one event to its Bleve document,
// alone and with the analysis Bleve then runs on it in Batch (scorch's
// analyze: every indexed field), which is where most of the CPU goes.
func BenchmarkBuildDocument(b *testing.B) {
	events := generated(b, 1000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	for i := range events {
		doc := buildDocument(&events[i], false)
		names := map[string]bool{}
		for _, f := range doc.Fields {
			names[f.Name()] = true
		}
		if doc.ID() != events[i].ID || !names[fieldText] || !names[fieldTime] || !names[fieldOrder] || !names[fieldBlob] || !names["eventName"] {
			b.Fatalf("document of %s: id %q, fields %v", events[i].ID, doc.ID(), names)
		}
	}
	analyze := func(f bindex.Field) {
		if f.Options().IsIndexed() {
			f.Analyze()
		}
	}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buildDocument(&events[i%len(events)], false)
		}
		// One event per op: the same figure as ns/op, named for the issue.
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	})
	b.Run("build+analyze", func(b *testing.B) {
		b.ReportAllocs()
		tokens := 0
		for i := 0; b.Loop(); i++ {
			doc := buildDocument(&events[i%len(events)], false)
			doc.VisitFields(analyze)
			tokens += doc.Fields[0].AnalyzedLength()
		}
		if tokens == 0 {
			b.Fatal("analysis produced no tokens")
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	})
}

// BenchmarkCompile measures what Search does to a query string before it
// searches: parse, compile to a Bleve query, and build the matcher that
// vets it (Store.compile).
func BenchmarkCompile(b *testing.B) {
	s := openStoreCfg(b, func(*Config) {})
	now := time.Now()
	field := func(q bquery.Query) string {
		if fq, ok := q.(bquery.FieldableQuery); ok {
			return fq.Field()
		}
		return ""
	}
	for _, tc := range []struct {
		name, q string
		ok      func(bquery.Query) bool
	}{
		{"term", `eventName:StartBuild`, func(q bquery.Query) bool {
			t, ok := q.(*bquery.TermQuery)
			return ok && t.Term == "StartBuild" && field(q) == "eventName"
		}},
		{"boolean", `eventSource:codepipeline.amazonaws.com AND (eventName:UpdatePipeline OR eventName:DeletePipeline) AND NOT errorCode:* AND _exists_:requestParameters.pipeline`, func(q bquery.Query) bool {
			bq, ok := q.(*bquery.BooleanQuery)
			return ok && bq.Must != nil && bq.MustNot != nil
		}},
		{"wildcard", `userIdentity.arn:*JaneDoe*`, func(q bquery.Query) bool {
			_, ok := q.(*bquery.RegexpQuery)
			return ok && field(q) == "userIdentity.arn"
		}},
		{"datemath", `eventTime:[now-7d/d TO now]`, func(q bquery.Query) bool {
			tr, ok := q.(*timeRangeQuery)
			if !ok {
				return false
			}
			r := tr.date
			return field(r) == fieldTime && r.Start.Before(now.Add(-6*24*time.Hour)) && !r.End.Before(now)
		}},
		{"phrase", `"MyFirstPipeline-notifications"`, func(q bquery.Query) bool {
			p, ok := q.(*bquery.PhraseQuery)
			return ok && slices.Equal(p.Terms, []string{"myfirstpipeline", "notifications"})
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var q bquery.Query
			for b.Loop() {
				var err error
				if q, err = s.compile(tc.q, Scope{}, now); err != nil {
					b.Fatal(err)
				}
			}
			if !tc.ok(q) {
				b.Fatalf("%s compiled to %T %+v", tc.q, q, q)
			}
		})
	}
}

// searchEvents is how many generated events the search and facet
// benchmarks store: a month of a small organisation's developer tools.
const searchEvents = 20000

// searchStore stores searchEvents generated events, in batches of the
// ingest group commit, and returns them with their sequence numbers set.
func searchStore(b *testing.B) (*Store, []record.Event) {
	b.Helper()
	return searchStoreCfg(b, func(*Config) {})
}

func searchStoreCfg(b *testing.B, mod func(*Config)) (*Store, []record.Event) {
	b.Helper()
	return searchStoreN(b, searchEvents, mod)
}

// reportCPU reports the process's CPU time per op since start (from
// processCPU): on a shared host it moves less than the elapsed time, and
// it includes what the store does in the background meanwhile.
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

// benchStore is searchStore for BenchmarkSearch and BenchmarkFacet.
// CODETRAIL_BENCH_EVENTS sets another number of events, and then the
// store's shards are merged to one segment each, as compaction leaves
// them once ingest is idle: some costs grow with the events of the index
// and others with the matches, which 20,000 events hide.
func benchStore(b *testing.B) (*Store, []record.Event) {
	b.Helper()
	n, ok := benchEvents(b)
	if !ok {
		return searchStore(b)
	}
	s, events := searchStoreN(b, n, func(*Config) {})
	mergeShards(b, s)
	return s, events
}

// benchEvents reads CODETRAIL_BENCH_EVENTS, the number of events some
// benchmarks take instead of their own; ok is false when it is not set.
func benchEvents(b *testing.B) (n int, ok bool) {
	v := os.Getenv("CODETRAIL_BENCH_EVENTS")
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("CODETRAIL_BENCH_EVENTS: %v", err)
	}
	return n, true
}

// searchStoreN is searchStoreCfg with n events.
func searchStoreN(b *testing.B, n int, mod func(*Config)) (*Store, []record.Event) {
	b.Helper()
	events := generated(b, n)
	s := openStoreCfg(b, mod)
	start := time.Now()
	for i := 0; i < len(events); i += 5000 {
		res, err := s.Put(context.Background(), events[i:min(i+5000, len(events))], nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Stored != min(5000, len(events)-i) {
			b.Fatalf("stored %d of a batch: the generator repeated ids?", res.Stored)
		}
	}
	b.Logf("stored %d events in %s", len(events), time.Since(start).Round(time.Millisecond))
	return s, events
}

// mustMatcher parses q and compiles its in-memory matcher.
func mustMatcher(tb testing.TB, q string) (query.Node, matcher) {
	tb.Helper()
	ast, err := query.Parse(q)
	if err != nil {
		tb.Fatal(err)
	}
	c := compiler{now: time.Now()}
	m, err := c.matcher(ast)
	if err != nil {
		tb.Fatal(err)
	}
	return ast, m
}

// expectMatches returns the events (with their terms) the in-memory
// matcher accepts for the query and time bounds of r, newest first as the
// index orders them.
func expectMatches(b *testing.B, events []record.Event, terms []*eventTerms, r SearchRequest) []*record.Event {
	b.Helper()
	_, m := mustMatcher(b, r.Query)
	var out []*record.Event
	for i := range events {
		ev := &events[i]
		if !r.Start.IsZero() && ev.Time.Before(r.Start) || !r.End.IsZero() && !ev.Time.Before(r.End) {
			continue
		}
		if m(terms[i]) {
			out = append(out, ev)
		}
	}
	slices.SortFunc(out, func(a, b *record.Event) int {
		return cmp.Compare(timeKey(b)+seqKey(b.Seq), timeKey(a)+seqKey(a.Seq))
	})
	return out
}

// BenchmarkSearch measures Store.Search over a store of generated events,
// one page of 50 newest first, by query shape, and deep paging.
func BenchmarkSearch(b *testing.B) {
	s, events := benchStore(b)
	terms := allTerms(events)
	ctx := context.Background()
	var last time.Time
	for i := range events {
		last = maxTime(last, events[i].Time)
	}
	week := SearchRequest{
		Query: "eventSource:codebuild.amazonaws.com AND eventName:StartBuild",
		Start: last.Add(-7 * 24 * time.Hour), End: last.Add(time.Second),
	}
	all := SearchRequest{}
	// The token of page 100, by walking there: time orders page by
	// search_after on the sort key, so a deep page costs what page 1 does
	// if that works.
	const page = 100
	for range page - 1 {
		res, err := s.Search(ctx, SearchRequest{PageSize: 50, PageToken: all.PageToken})
		if err != nil || res.NextPageToken == "" {
			b.Fatalf("walking to page %d: %v", page, err)
		}
		all.PageToken = res.NextPageToken
	}

	for _, tc := range []struct {
		name string
		req  SearchRequest
		skip int // events before the page
	}{
		{"term", SearchRequest{Query: "eventName:GetPipelineState"}, 0},
		{"source+name+7d", week, 0},
		{"word", SearchRequest{Query: "checkout"}, 0},
		{"resource", SearchRequest{Query: "resource:MyFirstPipeline"}, 0},
		{"phrase", SearchRequest{Query: `"arn:aws:codepipeline"`}, 0},
		// Vetting a pattern builds its automaton (see BenchmarkCompile).
		{"wildcard", SearchRequest{Query: "userIdentity.arn:*JaneDoe*"}, 0},
		// Not on postings bitmaps: the time range is searched Bleve's way.
		{"wildcard+7d", SearchRequest{Query: "userIdentity.arn:*JaneDoe*", Start: week.Start, End: week.End}, 0},
		{"page=1", SearchRequest{}, 0},
		{fmt.Sprintf("page=%d", page), all, (page - 1) * 50},
		// The summary view, which the harness and most pages ask for.
		{"term/summary", SearchRequest{Query: "eventName:GetPipelineState", Summary: true}, 0},
		{"word/summary", SearchRequest{Query: "checkout", Summary: true}, 0},
		// Relevance order: without an OR every match scores alike; an OR
		// of typed terms on the block layout's sidecars; an OR with a
		// word reads every candidate block (blockrelevance.go).
		{"relevance/word", SearchRequest{Query: "checkout", Order: OrderRelevance}, 0},
		{"relevance/or-terms", SearchRequest{Query: "eventName:GetPipelineState OR eventName:StartBuild", Order: OrderRelevance}, 0},
		{"relevance/or-word", SearchRequest{Query: "checkout OR eventName:StartBuild", Order: OrderRelevance}, 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tc.req.PageSize = 50
			want := expectMatches(b, events, terms, tc.req)
			wantPage := want[min(tc.skip, len(want)):min(tc.skip+50, len(want))]
			if len(wantPage) == 0 {
				b.Fatalf("%q: nothing to find; pick another query", tc.req.Query)
			}
			res, err := s.Search(ctx, tc.req)
			if err != nil {
				b.Fatal(err)
			}
			if res.Total != uint64(len(want)) || len(res.Hits) != len(wantPage) {
				b.Fatalf("%q: total %d, %d hits; want %d, %d", tc.req.Query, res.Total, len(res.Hits), len(want), len(wantPage))
			}
			for i, h := range res.Hits {
				// Relevance pages the same matches in another order.
				if h.Event.ID != wantPage[i].ID && tc.req.Order != OrderRelevance {
					b.Fatalf("%q: hit %d is %s, want %s", tc.req.Query, tc.skip+i, h.Event.ID, wantPage[i].ID)
				}
			}
			b.ReportAllocs()
			cpu := processCPU(b)
			for b.Loop() {
				res, err := s.Search(ctx, tc.req)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Hits) != len(wantPage) {
					b.Fatalf("%d hits, want %d", len(res.Hits), len(wantPage))
				}
				res.Release() // as the server does
			}
			reportCPU(b, cpu)
			b.ReportMetric(float64(len(want)), "matches")
		})
	}
}

// BenchmarkSearchPartitions measures newest-first pages over the same
// events kept in one partition or in four (partitions=N; the store's
// batches are of 5,000). A page is looked for in a recent window, and only
// the partitions that may hold events in it are searched (shardsFrom).
func BenchmarkSearchPartitions(b *testing.B) {
	for _, parts := range []int{1, 4} {
		s, events := searchStoreCfg(b, func(c *Config) { c.PartitionMaxEvents = uint64(searchEvents / parts) })
		if got := len(s.parts); got != parts {
			b.Fatalf("%d partitions, want %d", got, parts)
		}
		var last time.Time
		for i := range events {
			last = maxTime(last, events[i].Time)
		}
		for _, tc := range []struct {
			name string
			req  SearchRequest
		}{
			{"page=1", SearchRequest{}},
			{"term", SearchRequest{Query: "eventName:GetPipelineState"}},
			{"source+name+7d", SearchRequest{Query: "eventSource:codebuild.amazonaws.com AND eventName:StartBuild", Start: last.Add(-7 * 24 * time.Hour), End: last.Add(time.Second)}},
		} {
			b.Run(fmt.Sprintf("partitions=%d/%s", parts, tc.name), func(b *testing.B) {
				tc.req.PageSize = 50
				b.ReportAllocs()
				for b.Loop() {
					res, err := s.Search(context.Background(), tc.req)
					if err != nil {
						b.Fatal(err)
					}
					if len(res.Hits) != 50 {
						b.Fatalf("%d hits, want 50", len(res.Hits))
					}
				}
			})
		}
	}
}

// BenchmarkFacet measures facets and the date histogram over the same kind
// of store as BenchmarkSearch, with a page of one hit beside them.
func BenchmarkFacet(b *testing.B) {
	s, events := benchStore(b)
	ctx := context.Background()
	// facetWant counts event names (the 10 most frequent, then by name)
	// over the events keep accepts, as FacetResult lists them.
	facetWant := func(keep func(*record.Event) bool) (values []FacetValue, total int) {
		counts := map[string]int{}
		for i := range events {
			if keep(&events[i]) {
				counts[events[i].Name]++
				total++
			}
		}
		for v, n := range counts {
			values = append(values, FacetValue{Value: v, Count: n})
		}
		slices.SortFunc(values, func(a, b FacetValue) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Value, b.Value))
		})
		return values[:min(10, len(values))], total
	}
	checkFacet := func(b *testing.B, res *SearchResult, keep func(*record.Event) bool) {
		values, total := facetWant(keep)
		if len(res.Facets) != 1 || res.Total != uint64(total) {
			b.Fatalf("total %d, %d facets; want %d, 1", res.Total, len(res.Facets), total)
		}
		f := res.Facets[0]
		sum := f.Other + f.Missing
		for _, v := range f.Values {
			sum += v.Count
		}
		if !slices.Equal(f.Values, values) || sum != total {
			b.Fatalf("facet %+v (sums to %d), want values %+v summing to %d", f, sum, values, total)
		}
	}
	checkHistogram := func(b *testing.B, res *SearchResult, keep func(*record.Event) bool, iv time.Duration) {
		want := map[time.Time]int{}
		for i := range events {
			if keep(&events[i]) {
				want[events[i].Time.UTC().Truncate(iv)]++
			}
		}
		got := map[time.Time]int{}
		for _, bk := range res.Histogram {
			if bk.Count > 0 {
				got[bk.Start] = bk.Count
			}
		}
		if len(got) == 0 || len(got) != len(want) {
			b.Fatalf("histogram has %d days with events, want %d", len(got), len(want))
		}
		for day, n := range want {
			if got[day] != n {
				b.Fatalf("histogram %s: %d, want %d", day, got[day], n)
			}
		}
	}
	everything := func(*record.Event) bool { return true }
	codedeploy := func(ev *record.Event) bool { return ev.Service == "codedeploy" } // ~10%
	hasError := func(ev *record.Event) bool { return ev.ErrorCode != "" }
	// A day in 10-minute buckets: finer than the hour terms, so counted on
	// each match's eventTime (Bleve's date range facet).
	var last time.Time
	for i := range events {
		last = maxTime(last, events[i].Time)
	}
	dayEnd := last.UTC().Truncate(time.Hour)
	inDay := func(ev *record.Event) bool {
		return codedeploy(ev) && !ev.Time.Before(dayEnd.Add(-24*time.Hour)) && ev.Time.Before(dayEnd)
	}
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name  string
		req   SearchRequest
		check func(*testing.B, *SearchResult)
	}{
		{"eventName/all", SearchRequest{Facets: []FacetRequest{{Field: "eventName"}}},
			func(b *testing.B, res *SearchResult) { checkFacet(b, res, everything) }},
		{"histogram=1d/all", SearchRequest{HistogramInterval: "1d"},
			func(b *testing.B, res *SearchResult) { checkHistogram(b, res, everything, day) }},
		{"eventName/service:codedeploy", SearchRequest{Query: "service:codedeploy", Facets: []FacetRequest{{Field: "eventName"}}},
			func(b *testing.B, res *SearchResult) { checkFacet(b, res, codedeploy) }},
		{"histogram=1d/service:codedeploy", SearchRequest{Query: "service:codedeploy", HistogramInterval: "1d"},
			func(b *testing.B, res *SearchResult) { checkHistogram(b, res, codedeploy, day) }},
		{"eventName/errorCode:*", SearchRequest{Query: "errorCode:*", Facets: []FacetRequest{{Field: "eventName"}}},
			func(b *testing.B, res *SearchResult) { checkFacet(b, res, hasError) }},
		{"histogram=10m/service:codedeploy/24h", SearchRequest{Query: "service:codedeploy", HistogramInterval: "10m", Start: dayEnd.Add(-24 * time.Hour), End: dayEnd},
			func(b *testing.B, res *SearchResult) { checkHistogram(b, res, inDay, 10*time.Minute) }},
	} {
		// Counted on postings bitmaps with columns (columns.go, for
		// segments of any size here), without them (bitmaps.go) and, for
		// comparison, match by match.
		cols := newColumns(1 << 30)
		cols.minDocs = 0
		for _, counted := range []string{"columns", "bitmaps", "matches"} {
			b.Run(tc.name+"/counted="+counted, func(b *testing.B) {
				s.noBitmaps.Store(counted == "matches")
				s.columns = nil
				if counted == "columns" {
					s.columns = cols
				}
				defer s.noBitmaps.Store(false)
				tc.req.PageSize = 1
				var res *SearchResult
				b.ReportAllocs()
				cpu := processCPU(b)
				for b.Loop() {
					var err error
					if res, err = s.Search(ctx, tc.req); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
				tc.check(b, res)
			})
		}
	}
}

// fanOutSub is one subscription of BenchmarkFanOut and what it must get.
type fanOutSub struct {
	query string
	want  int // matches per batch
	got   atomic.Int64
}

// fanOutSubs returns n subscriptions with distinct required terms, taken
// in turn from event names (most frequent first), callers, resources and
// request ids of batch, so that the prefilter holds n distinct terms over
// several fields, and every subscriber matches at least one event per
// batch. Counts are taken from the events' fields, not from the matcher.
func fanOutSubs(b *testing.B, batch []record.Event, n int) []*fanOutSub {
	b.Helper()
	type source struct {
		field  string
		values func(*record.Event) []string
	}
	sources := []source{
		{"eventName", func(e *record.Event) []string { return []string{e.Name} }},
		{"user", func(e *record.Event) []string { return []string{e.UserName} }},
		{"resource", func(e *record.Event) []string { return e.Resources }},
		{"requestID", func(e *record.Event) []string { return []string{e.RequestID} }},
	}
	lists := make([][]*fanOutSub, len(sources))
	for i, src := range sources {
		counts := map[string]int{}
		for j := range batch {
			for _, v := range slices.Compact(slices.Sorted(slices.Values(src.values(&batch[j])))) {
				if v != "" {
					counts[v]++
				}
			}
		}
		for v, c := range counts {
			lists[i] = append(lists[i], &fanOutSub{query: src.field + ":" + quote(v), want: c})
		}
		slices.SortFunc(lists[i], func(a, b *fanOutSub) int { return cmp.Or(cmp.Compare(b.want, a.want), cmp.Compare(a.query, b.query)) })
	}
	var out []*fanOutSub
	for k := 0; len(out) < n; k++ {
		added := false
		for _, l := range lists {
			if k < len(l) && len(out) < n {
				out = append(out, l[k])
				added = true
			}
		}
		if !added {
			b.Fatalf("the batch has only %d distinct terms for %d subscribers", len(out), n)
		}
	}
	return out
}

// BenchmarkFanOut measures the time from Put of a batch of 1000 generated
// events until every one of n live subscribers (distinct queries, each
// matching some events of the batch) has been sent all its matches.
// subscribers=0 is Put alone, the baseline the others add to.
func BenchmarkFanOut(b *testing.B) {
	const batchSize = 1000
	tmpl := generated(b, batchSize)
	for _, n := range []int{0, 1, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			s := openStoreCfg(b, func(*Config) {})
			subs := fanOutSubs(b, tmpl, n)
			perBatch := 0
			for _, sub := range subs {
				perBatch += sub.want
			}

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			errs := make(chan error, n)
			var caught, remaining atomic.Int64
			delivered := make(chan struct{}, 1)
			defer func() {
				cancel()
				wg.Wait()
				close(errs)
				for err := range errs {
					if !errors.Is(err, context.Canceled) {
						b.Errorf("subscription ended with %v", err)
					}
				}
			}()
			for _, sub := range subs {
				wg.Go(func() {
					errs <- s.Subscribe(ctx, SubscribeRequest{Query: sub.query}, func(m Message) error {
						switch {
						case m.Hit != nil:
							sub.got.Add(1)
							if remaining.Add(-1) == 0 {
								select { // never block a subscriber: it would hang on cancel
								case delivered <- struct{}{}:
								default:
								}
							}
						case m.CaughtUp != "":
							caught.Add(1)
						}
						return nil
					})
				})
			}
			for deadline := time.Now().Add(time.Minute); caught.Load() < int64(n); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d subscribers caught up", caught.Load(), n)
				}
			}

			iters := 0
			// Subscribers start on a batch when Put hands it to the hub, just
			// before Put returns; what is left after that is the fan-out,
			// which the cost of Put would otherwise hide. The worst batch is
			// reported too: a subscriber that misses its wake-up waits for
			// the next batch or its progress tick, seconds later.
			var afterPut, worst time.Duration
			for b.Loop() {
				b.StopTimer()
				// Fresh ids each time, or Put would drop the batch as
				// already stored; the records and terms stay the same.
				evs := slices.Clone(tmpl)
				for j := range evs {
					evs[j].ID = fmt.Sprintf("%s/%d", evs[j].ID, iters)
				}
				remaining.Store(int64(perBatch))
				iters++
				b.StartTimer()
				res, err := s.Put(ctx, evs, nil)
				if err != nil {
					b.Fatal(err)
				}
				if res.Stored != batchSize {
					b.Fatalf("stored %d of %d", res.Stored, batchSize)
				}
				if perBatch == 0 {
					continue
				}
				put := time.Now()
				select {
				case <-delivered:
				case <-time.After(time.Minute):
					b.Fatalf("%d of %d matches undelivered after a minute", remaining.Load(), perBatch)
				}
				d := time.Since(put)
				afterPut += d
				worst = max(worst, d)
			}
			b.StopTimer()
			for _, sub := range subs {
				if got := sub.got.Load(); got != int64(sub.want*iters) {
					b.Fatalf("%s: got %d events, want %d", sub.query, got, sub.want*iters)
				}
			}
			b.ReportMetric(float64(batchSize*iters)/b.Elapsed().Seconds(), "events/s")
			if n > 0 {
				b.ReportMetric(float64(perBatch*iters)/b.Elapsed().Seconds(), "deliveries/s")
				b.ReportMetric(float64(perBatch), "matches/batch")
				b.ReportMetric(float64(afterPut.Nanoseconds())/float64(iters), "ns-after-put/op")
				b.ReportMetric(float64(afterPut.Nanoseconds())/float64(iters*batchSize*n), "ns-after-put/event/sub")
				b.ReportMetric(float64(worst.Nanoseconds()), "worst-ns-after-put")
			}
		})
	}
}

// BenchmarkHit measures rebuilding a search hit from its stored blob: zstd
// with the dictionary, then parsing the record. Every page of results pays
// it once per hit, but for the summary view, read from the stored summary.
func BenchmarkHit(b *testing.B) {
	events := generated(b, 1000)
	blobs := make([][]byte, len(events))
	for i := range events {
		blobs[i] = encodeBlob(record.KindCloudTrail, uint64(i+1), events[i].Raw)
	}
	sums := make([][]byte, len(events))
	for i := range events {
		sums[i] = encodeSummary(&events[i])
	}
	s := openStoreCfg(b, func(*Config) {})
	b.Run("summary", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var h Hit
			if ok := s.summaryHit(&h, sums[i%len(sums)], 0); !ok || h.Event.ID != events[i%len(events)].ID {
				b.Fatalf("summary %d: %v, id %q", i, ok, h.Event.ID)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, _, _, err := decodeBlob(blobs[i%len(blobs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode+parse", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h, err := s.hit(blobs[i%len(blobs)], 0)
			if err != nil || h.Event.ID != events[i%len(events)].ID {
				b.Fatalf("hit %d: %v, id %q", i, err, h.Event.ID)
			}
		}
	})
}

// BenchmarkCursor measures sealing a hit's cursor: every hit of a page
// gets one.
func BenchmarkCursor(b *testing.B) {
	s := openStoreCfg(b, func(*Config) {})
	b.ReportAllocs()
	for i := uint64(1); b.Loop(); i++ {
		if c := s.Cursor(i); c == "" {
			b.Fatal("no cursor")
		}
	}
}

// BenchmarkSummary measures writing and reading an event's summary.
func BenchmarkSummary(b *testing.B) {
	events := generated(b, 1000)
	sums := make([][]byte, len(events))
	size := 0
	for i := range events {
		sums[i] = encodeSummary(&events[i])
		size += len(sums[i])
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			encodeSummary(&events[i%len(events)])
		}
		b.ReportMetric(float64(size)/float64(len(events)), "B/summary")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := decodeSummary(sums[i%len(sums)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCollectRing measures a full garbage collection while the hub's
// ring holds its default 8,192 parsed generated events, as a server does
// once it has ingested that many: what each collection has to mark. The
// "leaves-as-strings" case also keeps each event's leaves as a slice of
// string pairs, the layout before they became offsets (record.Leaves).
func BenchmarkCollectRing(b *testing.B) {
	evs := generated(b, DefaultConfig("").RingSize)
	for _, tc := range []struct {
		name    string
		strings bool
	}{{"parsed", false}, {"leaves-as-strings", true}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHub(len(evs))
			var keep [][]record.Leaf
			entries := make([]*ringEntry, len(evs))
			for i, ev := range evs {
				ev.Seq = uint64(i + 1)
				entries[i] = newRingEntry(ev, strconv.Itoa(i))
				if tc.strings {
					keep = append(keep, ev.Leaves.Slice())
				}
			}
			h.append(entries)
			if got := h.last - h.first + 1; got != uint64(len(evs)) {
				b.Fatalf("ring holds %d events, want %d", got, len(evs))
			}
			runtime.GC()
			for b.Loop() {
				runtime.GC()
			}
			runtime.KeepAlive(h)
			runtime.KeepAlive(keep)
		})
	}
}
