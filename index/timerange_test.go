package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/scorer"
	bindex "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"

	"github.com/codetrail/codetrail/index/record"
)

// timedEvents returns n events 7m13.5s apart from base, every third with
// the word "odd" in its request, every tenth without an eventTime.
func timedEvents(t *testing.T, prefix string, base time.Time, n int) []record.Event {
	t.Helper()
	out := make([]record.Event, n)
	for i := range out {
		tm := ""
		if i%10 != 9 {
			tm = fmt.Sprintf(`,"eventTime":%q`, base.Add(time.Duration(i)*(7*time.Minute+13*time.Second+500*time.Millisecond)).Format(time.RFC3339Nano))
		}
		word := "even"
		if i%3 == 0 {
			word = "odd"
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"%s%04d","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","requestParameters":{"w":%q}%s}`, prefix, i, word, tm)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = ev
	}
	return out
}

// putInChunks stores events in Puts of size each, so that every shard has
// several segments.
func putInChunks(t *testing.T, s *Store, events []record.Event, size int) {
	t.Helper()
	for lo := 0; lo < len(events); lo += size {
		if _, err := s.Put(context.Background(), events[lo:min(lo+size, len(events))], nil); err != nil {
			t.Fatal(err)
		}
	}
}

// rangeCases are time ranges over timedEvents from base: whole hours,
// bounds inside hours, on an event's exact time (inclusive and not), and
// empty ones.
func rangeCases(base time.Time) []struct {
	lo, hi       time.Time
	loIn, hiIncl bool
} {
	step := 7*time.Minute + 13*time.Second + 500*time.Millisecond
	type rc = struct {
		lo, hi       time.Time
		loIn, hiIncl bool
	}
	return []rc{
		{base, base.Add(5 * time.Hour), true, false},
		{base.Add(90 * time.Minute), base.Add(17*time.Hour + 11*time.Minute), true, false},
		{base.Add(3 * step), base.Add(40 * step), true, true},
		{base.Add(3 * step), base.Add(40 * step), false, false},
		{base.Add(3*step + time.Nanosecond), base.Add(40*step - time.Nanosecond), true, true},
		{base.Add(25 * time.Minute), base.Add(26 * time.Minute), true, false},
		{base.Add(-48 * time.Hour), base.Add(-47 * time.Hour), true, false},
		{base.Add(10 * time.Hour), base.Add(10 * time.Hour), true, true},
		{base.Add(time.Hour), time.Time{}, true, false},
		{time.Time{}, base.Add(9*time.Hour + 30*time.Minute), true, false},
	}
}

// wantInRange returns the ids of events with the word (any when "") whose
// eventTime is in the range, sorted.
func wantInRange(events []record.Event, gone map[string]bool, word string, lo, hi time.Time, loIn, hiIncl bool) []string {
	out := []string{}
	for _, ev := range events {
		if gone[ev.ID] || ev.Time.IsZero() || (word != "" && !slices.ContainsFunc(ev.Leaves.Slice(), func(l record.Leaf) bool { return l.Value == word })) {
			continue
		}
		if !lo.IsZero() && (ev.Time.Before(lo) || (!loIn && ev.Time.Equal(lo))) {
			continue
		}
		if !hi.IsZero() && (ev.Time.After(hi) || (!hiIncl && ev.Time.Equal(hi))) {
			continue
		}
		out = append(out, ev.ID)
	}
	sort.Strings(out)
	return out
}

// TestTimeRangeQuery: a time range finds exactly the events in it, alone
// and with another clause that steps it across segments (Advance), with
// deleted events left out, in shards whose events carry no numeric
// eventTime.
func TestTimeRangeQuery(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.Shards = 2; c.CompactIdle = 0 })
	base := time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)
	events := timedEvents(t, "t", base, 300)
	putInChunks(t, s, events, 37)
	// Deleted behind the store's back, as undoChunk does.
	gone := map[string]bool{}
	for _, i := range []int{0, 41, 42, 150, 299} {
		for _, sh := range s.cur().shards {
			if err := sh.Delete(events[i].ID); err != nil {
				t.Fatal(err)
			}
		}
		gone[events[i].ID] = true
	}
	segs := 0
	if err := eachShardReader(*s.shardsView.Load(), func(r bindex.IndexReader) error {
		segs += len(r.(*scorch.IndexSnapshot).Segments())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Bleve merges small segments in the background: how many are left
	// varies (TestBitmapSearcher steps across segments for certain).
	t.Logf("%d segments", segs)
	hours := counter(metricTimeRanges.WithLabelValues("hours"))
	keptHits := 0 // searches that used kept times
	for i, rc := range rangeCases(base) {
		for _, word := range []string{"", "odd"} {
			t.Run(fmt.Sprintf("%d/%s", i, word), func(t *testing.T) {
				q := dateRange(rc.lo, rc.hi, rc.loIn, rc.hiIncl)
				if word != "" {
					q = bquery.NewConjunctionQuery([]bquery.Query{termOn(fieldKV, "requestParameters.w="+word), q})
				}
				want := wantInRange(events, gone, word, rc.lo, rc.hi, rc.loIn, rc.hiIncl)
				// Each range with the hours walked in the dictionaries,
				// then counted from segCounts (hourSpan); each first with
				// no edge hour's times kept, then again with those the
				// first search kept (edgetimes.go).
				for _, hours := range []string{"walked", "counted"} {
					hourCountsFor(t, hours == "counted")
					s.edges = newEdgeTimes(1 << 20)
					s.edges.minDocs = 0 // a small store's segments
					for _, pass := range []string{"read", "kept"} {
						hits := counter(metricEdgeTimes.WithLabelValues("hit"))
						got, err := indexIDs(ctx, s, q, len(events))
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got, want) {
							t.Fatalf("%s, %s: [%v %v] (incl %v %v) %q:\n got %v\nwant %v", hours, pass, rc.lo, rc.hi, rc.loIn, rc.hiIncl, word, got, want)
						}
						if counter(metricEdgeTimes.WithLabelValues("hit")) > hits {
							keptHits++
						}
					}
				}
			})
		}
	}
	if counter(metricTimeRanges.WithLabelValues("hours")) == hours {
		t.Error("no time range was searched on the hour terms")
	}
	if keptHits < 16 {
		t.Errorf("%d searches used kept edge hour times; want most of those with a bound inside an hour", keptHits)
	}

	// The sweep drops the times of a segment no longer in the index
	// (as after a merge) and keeps those of the live ones.
	s.edges = newEdgeTimes(1 << 20)
	var seg segment.Segment
	for k := range liveSegments(t, s) {
		seg = k
	}
	dead := &fakeSeg{n: 1}
	s.edges.put(edgeKey{seg, "h"}, &hourTimes{docs: []uint32{1}, times: []uint64{1}})
	s.edges.put(edgeKey{dead, "h"}, &hourTimes{docs: []uint32{1}, times: []uint64{1}})
	s.lastSweep.Store(0)
	s.sweepSegmentCaches()
	if s.edges.get(edgeKey{dead, "h"}) != nil || s.edges.get(edgeKey{seg, "h"}) == nil {
		t.Error("the sweep kept a gone segment's times or dropped a live one's")
	}

	// Segments under minDocs (this store's) keep nothing: see edgeTimes.
	s.edges = newEdgeTimes(1 << 20)
	for range 2 {
		if _, err := indexIDs(ctx, s, dateRange(base.Add(90*time.Minute), base.Add(5*time.Hour+10*time.Minute), true, false), len(events)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.edges.size(); n != 0 {
		t.Errorf("%d bytes of edge times kept for segments under %d events", n, s.edges.minDocs)
	}

	// An event deleted after its hour's times were kept stays out.
	ev := events[101]
	lo, hi := ev.Time.Add(-time.Minute), ev.Time.Add(20*time.Minute)
	q := dateRange(lo, hi, true, false)
	s.edges = newEdgeTimes(1 << 20)
	s.edges.minDocs = 0
	for pass := range 2 {
		if pass == 1 {
			for _, sh := range s.cur().shards {
				if err := sh.Delete(ev.ID); err != nil {
					t.Fatal(err)
				}
			}
			gone[ev.ID] = true
		}
		got, err := indexIDs(ctx, s, q, len(events))
		if err != nil {
			t.Fatal(err)
		}
		if want := wantInRange(events, gone, "", lo, hi, true, false); !slices.Equal(got, want) || len(want) == 0 {
			t.Fatalf("pass %d: got %v, want %v", pass, got, want)
		}
	}
}

// TestBitmapSearcher: Next and Advance visit exactly the matches at or
// after their target, across segments, skipping targets inside segments
// and in the gaps between them, and the events a segment's test refuses.
func TestBitmapSearcher(t *testing.T) {
	not := func(refused ...uint32) func(uint32) (bool, error) {
		return func(doc uint32) (bool, error) { return !slices.Contains(refused, doc), nil }
	}
	segs := []bitmapSeg{
		{offset: 0, bm: roaring.BitmapOf(1, 5, 9)},
		{offset: 25, bm: roaring.BitmapOf(0, 2, 3), test: not(0, 2)},
		{offset: 40, bm: roaring.BitmapOf(7, 8, 70000), test: not(8)},
	}
	all := []uint64{1, 5, 9, 28, 47, 70040}
	newSearcher := func() *bitmapSearcher {
		return &bitmapSearcher{segs: segs, count: uint64(len(all)), scorer: scorer.NewConstantScorer(1, 1, search.SearcherOptions{})}
	}
	ctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(10, 0)}
	id := func(d *search.DocumentMatch) int64 {
		if d == nil {
			return -1
		}
		return int64(d.IndexInternalID.Value())
	}
	s := newSearcher()
	for _, want := range all {
		d, err := s.Next(ctx)
		if err != nil || id(d) != int64(want) {
			t.Fatalf("Next = %d (%v), want %d", id(d), err, want)
		}
		ctx.DocumentMatchPool.Put(d)
	}
	if d, _ := s.Next(ctx); d != nil || s.Count() != uint64(len(all)) {
		t.Fatalf("after the last: %d, count %d", id(d), s.Count())
	}
	// Each target from a fresh searcher, then from one that already
	// stepped past some: the first match at or after it.
	for target := uint64(0); target < 70045; target++ {
		if target > 100 && target < 69990 {
			continue
		}
		want := int64(-1)
		if i, _ := slices.BinarySearch(all, target); i < len(all) {
			want = int64(all[i])
		}
		s := newSearcher()
		d, err := s.Advance(ctx, bindex.NewIndexInternalID(nil, target))
		if err != nil || id(d) != want {
			t.Fatalf("Advance(%d) = %d (%v), want %d", target, id(d), err, want)
		}
		if d != nil {
			ctx.DocumentMatchPool.Put(d)
			next := int64(-1)
			if i := slices.Index(all, uint64(want)); i+1 < len(all) {
				next = int64(all[i+1])
			}
			if d, _ := s.Next(ctx); id(d) != next {
				t.Fatalf("Next after Advance(%d) = %d, want %d", target, id(d), next)
			} else if d != nil {
				ctx.DocumentMatchPool.Put(d)
			}
		}
	}
	// A test that fails fails the search.
	failing := &bitmapSearcher{segs: []bitmapSeg{{bm: roaring.BitmapOf(3), test: func(uint32) (bool, error) { return false, errors.New("no sort key") }}},
		scorer: scorer.NewConstantScorer(1, 1, search.SearcherOptions{})}
	if d, err := failing.Next(ctx); d != nil || err == nil {
		t.Fatalf("Next with a failing test = %v, %v; want the error", d, err)
	}
}

// TestTimeRangeLegacyShard: a shard made before fieldHour (no mark) is
// still written the numeric eventTime and searched Bleve's way; a new one
// holds only the full-precision term of each time.
func TestTimeRangeLegacyShard(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Shards = 1
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)
	newer := timedEvents(t, "n", base, 40)
	putInChunks(t, s, newer, 20)
	if got, want := timeTerms(t, s), distinctTimes(newer); got != want {
		t.Fatalf("a new shard holds %d eventTime terms, want one per distinct time (%d)", got, want)
	}
	// As made by an earlier version: without the mark, and (the test's
	// events aside) with events that have no fieldHour.
	s = reopenUnmarked(t, s, cfg)
	if s.cur().hourly[0] {
		t.Fatal("a shard without the mark counts as hourly")
	}
	legacy := timedEvents(t, "l", base.Add(24*time.Hour), 40)
	putInChunks(t, s, legacy, 40)
	if got, min := timeTerms(t, s), distinctTimes(newer)+4*distinctTimes(legacy); got < min {
		t.Fatalf("the legacy shard holds %d eventTime terms, want the numeric field's (at least %d)", got, min)
	}
	lo, hi := base.Add(24*time.Hour+30*time.Minute), base.Add(26*time.Hour)
	numeric := counter(metricTimeRanges.WithLabelValues("numeric"))
	got, err := indexIDs(ctx, s, dateRange(lo, hi, true, false), 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantInRange(legacy, nil, "", lo, hi, true, false); len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("range over the legacy shard:\n got %v\nwant %v", got, want)
	}
	if counter(metricTimeRanges.WithLabelValues("numeric")) == numeric {
		t.Error("the legacy shard's range was not searched Bleve's way")
	}
}

// timeTerms counts the eventTime terms of the store's shards.
func timeTerms(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	for _, sh := range s.cur().shards {
		r, err := shardReader(shardView{idx: sh})
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.FieldDict(fieldTime)
		if err != nil {
			t.Fatal(err)
		}
		for {
			e, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if e == nil {
				break
			}
			if shift, err := numeric.PrefixCoded(e.Term).Shift(); err != nil || shift > 63 {
				t.Fatalf("eventTime term %x is not prefix-coded", e.Term)
			}
			n++
		}
		_ = d.Close()
		_ = r.Close()
	}
	return n
}

func distinctTimes(events []record.Event) int {
	seen := map[int64]bool{}
	for _, ev := range events {
		if !ev.Time.IsZero() {
			seen[ev.Time.UnixNano()] = true
		}
	}
	return len(seen)
}

// TestMemberOf: memberOf answers as Contains does, for docs asked in
// increasing order (with repeats and jumps across containers) and out of
// order, and for no bitmap.
func TestMemberOf(t *testing.T) {
	bm := roaring.New()
	rng := rand.New(rand.NewPCG(5, 7))
	for range 5000 {
		bm.Add(rng.Uint32N(300_000))
	}
	bm.AddRange(100_000, 170_000) // a run container
	in := memberOf(bm)
	for doc := uint32(0); doc < 310_000; doc += 1 + rng.Uint32N(40) {
		for range 1 + rng.IntN(2) {
			if got, want := in(doc), bm.Contains(doc); got != want {
				t.Fatalf("in order: doc %d: %v, want %v", doc, got, want)
			}
		}
	}
	in = memberOf(bm)
	for range 20000 {
		doc := rng.Uint32N(310_000)
		if got, want := in(doc), bm.Contains(doc); got != want {
			t.Fatalf("any order: doc %d: %v, want %v", doc, got, want)
		}
	}
	if memberOf(nil)(3) {
		t.Error("no bitmap holds 3")
	}
}

// TestRangeOverEveryEvent: a range holding every event of a segment, all
// of them with a time, is answered without walking the hours outside it
// (hourTerms), alone and beside a term, with the same events as Bleve's
// way.
func TestRangeOverEveryEvent(t *testing.T) {
	eventsLayoutOnly(t)
	s := openStoreCfg(t, func(c *Config) { c.Shards = 2; c.CompactIdle = 0 })
	base := time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)
	var events []record.Event
	for i := range 400 {
		name := []string{"StartBuild", "StopBuild"}[i%2]
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"all%04d","eventSource":"codebuild.amazonaws.com","eventName":%q,"eventTime":%q}`, i, name, base.Add(time.Duration(i)*47*time.Second).Format(time.RFC3339))
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	putInChunks(t, s, events, 400)
	mergeShards(t, s)
	for _, hours := range []string{"walked", "counted"} {
		hourCountsFor(t, hours == "counted")
		s.segCounts = newSegCounts()
		counted := counter(metricHourSpans.WithLabelValues("counts"))
		for _, q := range []string{"", "eventName:StopBuild", "eventName:StartBuild AND NOT eventID:all0002"} {
			for _, start := range []time.Time{base.Add(-time.Hour), base.Add(30 * time.Minute), base.Add(90 * time.Minute), base.Add(3 * time.Hour)} {
				req := SearchRequest{Query: q, Start: start, PageSize: 7}
				got, total := walkPages(t, s, req)
				s.noBitmaps.Store(true)
				want, wantTotal := walkPages(t, s, req)
				s.noBitmaps.Store(false)
				if total != wantTotal || !slices.Equal(got, want) || len(want) == 0 {
					t.Errorf("%s: %q from %s: %d events (total %d), want %d (total %d)", hours, q, start.Format(time.TimeOnly), len(got), total, len(want), wantTotal)
				}
			}
		}
		if used := counter(metricHourSpans.WithLabelValues("counts")) > counted; used != (hours == "counted") {
			t.Errorf("%s: hour counts read from segCounts: %v", hours, used)
		}
		if hours == "counted" {
			// Counts already kept are used when there is no room for more.
			s.segCounts.entries = segCountsMaxTerms
			counted := counter(metricHourSpans.WithLabelValues("counts"))
			walkPages(t, s, SearchRequest{Start: base.Add(90 * time.Minute), PageSize: 7})
			if counter(metricHourSpans.WithLabelValues("counts")) == counted {
				t.Error("the kept hour counts went unused once segCounts was full")
			}
		}
	}
}

// hourCountsFor makes hourSpan read the hour terms of every segment from
// segCounts (on), or of none (walking the dictionaries), until t ends.
func hourCountsFor(t *testing.T, on bool) {
	old := hourCountsMinDocs
	hourCountsMinDocs = math.MaxUint64
	if on {
		hourCountsMinDocs = 0
	}
	t.Cleanup(func() { hourCountsMinDocs = old })
}

// TestHourCountsUnkept: a segment whose hour counts segCounts does not
// keep (more hours than it keeps for a field) is read once for hourSpan,
// then walked in its dictionary, not read again on every search, until
// the sweep finds it gone.
func TestHourCountsUnkept(t *testing.T) {
	eventsLayoutOnly(t)
	s := openStoreCfg(t, func(c *Config) { c.Shards = 1; c.CompactIdle = 0 })
	base := time.Date(2025, 3, 4, 5, 30, 0, 0, time.UTC)
	var events []record.Event
	for i := range segCountsFieldTerms + 10 {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"h%05d","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","eventTime":%q}`, i, base.Add(time.Duration(i)*time.Hour).Format(time.RFC3339))
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	putInChunks(t, s, events, len(events))
	mergeShards(t, s)
	hourCountsFor(t, true)
	s.segCounts = newSegCounts()
	req := SearchRequest{Query: "eventName:StartBuild", Start: base.Add(100 * time.Hour), End: base.Add(4000 * time.Hour), PageSize: 10}
	spans := func(from string) float64 { return counter(metricHourSpans.WithLabelValues(from)) }
	for pass := range 3 {
		counts, walked, misses := spans("counts"), spans("dictionary"), counter(metricSegCounts.WithLabelValues("miss"))
		res, err := s.Search(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 3900 {
			t.Fatalf("pass %d: total %d, want 3900", pass, res.Total)
		}
		read := counter(metricSegCounts.WithLabelValues("miss")) - misses
		switch {
		case pass == 0 && (spans("counts") == counts || read == 0):
			t.Errorf("first search: the hour counts were not read (%v read)", read)
		case pass > 0 && (spans("counts") != counts || spans("dictionary") == walked || read != 0):
			t.Errorf("pass %d: counts read again (%v) instead of walking the dictionary", pass, read)
		}
	}
	if len(s.segCounts.unkept) == 0 {
		t.Fatal("no segment marked unkept")
	}
	s.segCounts.sweep(map[segment.Segment]struct{}{})
	if len(s.segCounts.unkept) != 0 {
		t.Error("the sweep kept the unkept mark of a gone segment")
	}
}
