package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/codetrail/codetrail/index/record"
)

// Newest-first pages taken from eventTime windows, by Bleve's searches or
// on postings bitmaps (the sort keys of few matches or of hour windows),
// are exactly the pages of the sorted whole: the reverse of oldest-first
// order (which sorts every match), with events without eventTime last, at
// every page size, for queries of every density, with and without a time
// range on whole hours or not, also where a page ends amid events of the
// same time or a range's bound falls on them.
func TestNewestPagesFromWindows(t *testing.T) {
	eventsLayoutOnly(t)
	s := openStoreCfg(t, func(*Config) {})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	end := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"StartBuild", "GetPipeline", "CreateDeployment", "GitPush", "RareCall"}
	for batch := range 4 {
		var evs []record.Event
		for i := range 300 {
			n := batch*300 + i
			name := names[rng.IntN(4)]
			if rng.IntN(100) == 0 {
				name = "RareCall"
			}
			when := ""
			switch r := rng.IntN(100); {
			case r < 4: // no eventTime: sorts oldest
			case r < 5: // one Bleve cannot index: the same
				when = `"eventTime":"ThisIsAWrongEventTime",`

			case r < 40: // a burst of events sharing their times, so that pages end amid ties
				when = fmt.Sprintf(`"eventTime":%q,`, end.Add(-time.Duration(rng.Int64N(int64(24*time.Hour)))).Truncate(10*time.Minute).Format(time.RFC3339))
			case r < 75: // a burst in the last day
				when = fmt.Sprintf(`"eventTime":%q,`, end.Add(-time.Duration(rng.Int64N(int64(24*time.Hour)))).Format(time.RFC3339))
			default: // spread over 60 days
				when = fmt.Sprintf(`"eventTime":%q,`, end.Add(-time.Duration(rng.Int64N(int64(60*24*time.Hour)))).Format(time.RFC3339))
			}
			evs = append(evs, parseRecord(t, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"w-%05d",%s"eventSource":"codebuild.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"111122223333"}`, n, when, name)))
		}
		if _, err := s.Put(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
	}
	all := func(r SearchRequest) ([]string, uint64) { return walkPages(t, s, r) }
	pages := func(from string) float64 {
		var m dto.Metric
		if err := metricNewestWindows.WithLabelValues(from).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	ranges := [][2]time.Time{
		{},
		{end.Add(-30 * 24 * time.Hour), {}},
		{end.Add(-40 * 24 * time.Hour), end.Add(-2 * time.Hour)},
		// Bounds amid hours, on the times of a burst's events.
		{end.Add(-5*time.Hour - 20*time.Minute), end.Add(-3*time.Hour - 40*time.Minute)},
		{end.Add(-4*time.Hour - 50*time.Minute), end.Add(-4*time.Hour - 10*time.Minute)},
		{end.Add(-45*24*time.Hour + 17*time.Minute + 3*time.Second), {}},
		{{}, end.Add(-50*time.Minute - 7*time.Second)},
	}
	queries := []string{"", "name:StartBuild", "name:RareCall", "name:NoSuchCall", "NOT name:GitPush",
		"name:StartBuild AND eventTime:>2024-05-31T19:30:00Z", "eventTime:[2024-05-31T10:10:00Z TO 2024-05-31T20:20:00Z]"}
	defer func(n int) { pageAllKeys = n; s.noBitmaps.Store(false) }(pageAllKeys)
	for _, mode := range []struct {
		name     string
		bitmaps  bool
		allKeys  int
		answered string
	}{
		{"on bitmaps", true, pageAllKeys, "bitmaps"},
		{"on bitmaps by hour windows", true, 0, "bitmaps"},
		{"by searches", false, 0, "page"},
	} {
		s.noBitmaps.Store(!mode.bitmaps)
		pageAllKeys = mode.allKeys
		before := pages(mode.answered)
		for _, q := range queries {
			for _, rng := range ranges {
				oldest, ototal := all(SearchRequest{Query: q, Start: rng[0], End: rng[1], Order: OrderOldest, PageSize: 1000})
				slices.Reverse(oldest)
				for _, size := range []int{1, 7, 50} {
					if size == 1 && len(oldest) > 300 {
						continue // a page an event: slow, and 7 tests the same
					}
					got, total := all(SearchRequest{Query: q, Start: rng[0], End: rng[1], PageSize: size})
					if total != ototal || !slices.Equal(got, oldest) {
						t.Fatalf("%s: query %q range %v page size %d: %d events (total %d), want %d (total %d)\ngot  %v\nwant %v",
							mode.name, q, rng, size, len(got), total, len(oldest), ototal, head(got), head(oldest))
					}
				}
			}
		}
		if pages(mode.answered) == before {
			t.Fatalf("%s: no page was answered so: the test does not test it", mode.name)
		}
	}
}

// walkPages returns the ids of every page of r's results, and the total.
func walkPages(t *testing.T, s *Store, r SearchRequest) (ids []string, total uint64) {
	t.Helper()
	for {
		res, err := s.Search(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		total = res.Total
		ids = append(ids, hitIDs(res)...)
		if res.NextPageToken == "" {
			return ids, total
		}
		r.PageToken = res.NextPageToken
	}
}

// parseRecord parses a CloudTrail record written by a test.
func parseRecord(t *testing.T, raw string) record.Event {
	t.Helper()
	ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func head(ids []string) []string { return ids[:min(len(ids), 12)] }

// TestHoursPlanBounds: a time range's hours and exact bounds hold the
// events Bleve's range holds, to the nanosecond, with either bound
// inclusive or not, open, or on a whole hour; an open bound stops where
// Bleve's ±Inf does, 52 days short of the times it indexes.
func TestHoursPlanBounds(t *testing.T) {
	lo := time.Date(2024, 5, 31, 10, 10, 0, 0, time.UTC)
	hi := time.Date(2024, 5, 31, 12, 20, 0, 0, time.UTC)
	in := func(n *bmNode, at time.Time) bool {
		ev := record.Event{Time: at}
		key := timeKey(&ev) + seqKey(3)
		h := hourKey(at)
		return (n.from == nil || h >= string(n.from)) && (n.to == nil || h <= string(n.to)) &&
			(n.lo == "" || key >= n.lo) && (n.hi == "" || key < n.hi)
	}
	ns := time.Nanosecond
	for _, tc := range []struct {
		lo, hi  time.Time
		incl    [2]bool
		whole   bool // no bound to test on keys
		in, out []time.Time
	}{
		{lo, hi, [2]bool{true, false}, false, []time.Time{lo, lo.Add(ns), hi.Add(-ns)}, []time.Time{lo.Add(-ns), hi, hi.Add(ns)}},
		{lo, hi, [2]bool{false, true}, false, []time.Time{lo.Add(ns), hi.Add(-ns), hi}, []time.Time{lo.Add(-ns), lo, hi.Add(ns)}},
		{lo, hi, [2]bool{true, true}, false, []time.Time{lo, hi}, []time.Time{lo.Add(-ns), hi.Add(ns)}},
		{lo, hi, [2]bool{false, false}, false, []time.Time{lo.Add(ns), hi.Add(-ns)}, []time.Time{lo, hi}},
		{lo.Truncate(time.Hour), hi.Truncate(time.Hour), [2]bool{true, false}, true,
			[]time.Time{lo.Truncate(time.Hour), hi.Truncate(time.Hour).Add(-ns)}, []time.Time{lo.Truncate(time.Hour).Add(-ns), hi.Truncate(time.Hour)}},
		{time.Time{}, hi, [2]bool{true, false}, false,
			[]time.Time{time.Date(1677, 12, 1, 0, 0, 0, 0, time.UTC), hi.Add(-ns)}, []time.Time{time.Date(1677, 10, 1, 0, 0, 0, 0, time.UTC), hi}},
		{lo, time.Time{}, [2]bool{true, false}, false,
			[]time.Time{lo, time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)}, []time.Time{lo.Add(-ns), time.Date(2262, 3, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		n, ok := hoursPlan(dateRange(tc.lo, tc.hi, tc.incl[0], tc.incl[1]).(*timeRangeQuery).date, true)
		if !ok || n.op != bmHours {
			t.Fatalf("%v..%v: no hours", tc.lo, tc.hi)
		}
		if whole := n.lo == "" && n.hi == ""; whole != tc.whole {
			t.Errorf("%v..%v: whole hours %v, want %v", tc.lo, tc.hi, whole, tc.whole)
		}
		for _, at := range tc.in {
			if !in(n, at) {
				t.Errorf("%v..%v inclusive %v: %s not in range", tc.lo, tc.hi, tc.incl, at.Format(time.RFC3339Nano))
			}
		}
		for _, at := range tc.out {
			if in(n, at) {
				t.Errorf("%v..%v inclusive %v: %s in range", tc.lo, tc.hi, tc.incl, at.Format(time.RFC3339Nano))
			}
		}
	}
}

// TestNewestPagesUnindexedFutureTime: an event whose eventTime Bleve
// cannot index (after 2262) sorts with the events without a time and does
// not move the newest time the windows of newest-first pages start from:
// once it did, and every such search failed (Bleve refuses a range from
// 9930) until a restart.
func TestNewestPagesUnindexedFutureTime(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.Shards = 2 })
	evs := variedEvents(t, 400)
	evs = append(evs,
		parseRecord(t, `{"eventID":"far-9999","eventTime":"9999-12-31T23:59:59Z","eventName":"StartBuild"}`),
		parseRecord(t, `{"eventID":"far-2500","eventTime":"2500-01-01T00:00:00Z","eventName":"StartBuild"}`))
	if _, err := s.Put(context.Background(), evs, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Newest.Year() != 2025 {
		t.Fatalf("newest eventTime %v, want one in 2025", st.Newest)
	}
	for _, q := range []string{"", "eventName:StartBuild", "u3 OR StartBuild"} {
		ids, total := walkPages(t, s, SearchRequest{Query: q, PageSize: 10})
		if len(ids) != int(total) || total == 0 {
			t.Fatalf("%q: %d ids of %d", q, len(ids), total)
		}
		tail := ids[len(ids)-20:]
		if !slices.Contains(tail, "far-9999") || !slices.Contains(tail, "far-2500") {
			t.Fatalf("%q: the far-future events are not among the last (no time): %v", q, tail)
		}
	}
}

// TestNewestWindowLocalDensity: the window of a newest-first page is sized
// from how dense events are around its end, not on average. Here ten hours
// of 100 events an hour are followed by ten of 5 an hour; at the average
// density the first window of a page in the sparse hours held one event,
// and the page took three searches.
func TestNewestWindowLocalDensity(t *testing.T) {
	eventsLayoutOnly(t)
	s := openStoreCfg(t, func(*Config) {})
	s.noBitmaps.Store(true)
	ctx := context.Background()
	end := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	var evs []record.Event
	add := func(from time.Time, hours, perHour int) {
		for i := range hours * perHour {
			at := from.Add(time.Duration(i) * time.Hour / time.Duration(perHour))
			evs = append(evs, parseRecord(t, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"d-%05d","eventTime":%q,"eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","awsRegion":"us-east-1","recipientAccountId":"111122223333"}`, len(evs), at.Format(time.RFC3339))))
		}
	}
	add(end.Add(-20*time.Hour), 10, 100)
	add(end.Add(-10*time.Hour), 10, 5)
	if _, err := s.Put(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	searches := func() float64 {
		var m dto.Metric
		if err := metricNewestWindowSearches.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	want := slices.Clone(evs)
	slices.Reverse(want)
	tok := ""
	for page := range 3 {
		before := searches()
		res, err := s.Search(ctx, SearchRequest{PageSize: 5, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		if n := searches() - before; n != 1 {
			t.Errorf("page %d took %v window searches, want 1", page+1, n)
		}
		for i, h := range res.Hits {
			if h.Event.ID != want[page*5+i].ID {
				t.Fatalf("page %d hit %d: %s, want %s", page+1, i, h.Event.ID, want[page*5+i].ID)
			}
		}
		tok = res.NextPageToken
	}
}
