package index

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

func TestMain(m *testing.M) {
	// Bleve starts a global pool of analysis workers on first use.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(testConfig(dir), nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// loadTestEvents parses testdata/events/*.json; the short name of an event
// is the "eNN" part of its file name.
func loadTestEvents(t testing.TB) (events []record.Event, short map[string]string) {
	t.Helper()
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test events: %v", err)
	}
	short = map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		kind := record.KindCloudTrail
		if rest, ok := strings.CutPrefix(base, "cc-"); ok {
			kind, base = record.KindCodeCatalyst, rest
		}
		ev, err := record.Parse(kind, raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		short[ev.ID] = strings.SplitN(base, "-", 2)[0]
		events = append(events, ev)
	}
	return events, short
}

type searchCase struct {
	Comment   string   `json:"comment"`
	Query     string   `json:"query"`
	WantIDs   []string `json:"want_ids"`
	WantError *string  `json:"want_error"`
}

// TestSearches walks testdata/searches.json: each query against the test
// events, newest first, by short name.
func TestSearches(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	events, short := loadTestEvents(t)
	if _, err := s.Put(context.Background(), events, nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/searches.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []searchCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Comment, func(t *testing.T) {
			res, err := s.Search(context.Background(), SearchRequest{Query: tc.Query, PageSize: 100})
			if tc.WantError != nil {
				var qe *query.Error
				if err == nil || !errors.As(err, &qe) || !strings.Contains(err.Error(), *tc.WantError) {
					t.Fatalf("query %q: got error %v, want a query error containing %q", tc.Query, err, *tc.WantError)
				}
				return
			}
			if err != nil {
				t.Fatalf("query %q: %v", tc.Query, err)
			}
			got := []string{}
			for _, h := range res.Hits {
				got = append(got, short[h.Event.ID])
			}
			want := tc.WantIDs
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("query %q:\n got %v\nwant %v", tc.Query, got, want)
			}
			if res.Total != uint64(len(want)) {
				t.Errorf("query %q: total %d, want %d", tc.Query, res.Total, len(want))
			}
		})
	}
}

// synthetic returns n small CloudTrail records with distinct ids and times.
func synthetic(t testing.TB, n, offset int) []record.Event {
	t.Helper()
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"StartBuild", "GetPipeline", "CreateDeployment", "GitPush"}
	out := make([]record.Event, 0, n)
	for i := offset; i < offset+n; i++ {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"id-%06d","eventTime":%q,"eventSource":"codebuild.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"111122223333","requestParameters":{"projectName":"p%d"}}`,
			i, base.Add(time.Duration(i%500)*time.Minute).Format(time.RFC3339), names[i%len(names)], i%7)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func TestDedupeAndSequence(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	ctx := context.Background()
	evs := synthetic(t, 100, 0)
	evs = append(evs, evs[3]) // repeated within the batch
	res, err := s.Put(ctx, evs, map[string][]byte{"src": []byte("one")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 100 || res.Duplicates != 1 || res.LastSeq != 100 {
		t.Fatalf("first put: %+v", res)
	}
	for i := 1; i < 100; i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Fatalf("sequence not consecutive at %d: %d after %d", i, evs[i].Seq, evs[i-1].Seq)
		}
	}
	again := synthetic(t, 150, 50) // 50 old, 100 new
	res, err = s.Put(ctx, again, map[string][]byte{"src": []byte("two")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 100 || res.Duplicates != 50 || res.LastSeq != 200 {
		t.Fatalf("second put: %+v", res)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	defer s.Close()
	st := s.Stats()
	if st.Events != 200 || st.LastSeq != 200 {
		t.Fatalf("after reopen: %+v", st)
	}
	cp, err := s.Checkpoint("src")
	if err != nil || string(cp) != "two" {
		t.Fatalf("checkpoint: %q %v", cp, err)
	}
	res, err = s.Put(ctx, synthetic(t, 10, 195), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stored != 5 || res.LastSeq != 205 {
		t.Fatalf("put after reopen: %+v", res)
	}
}

// TestSequenceFollowsTime: a batch's events are numbered in eventTime
// order, those without one first, equal times in the order they came, so
// that a batch's blocks follow one another in time.
func TestSequenceFollowsTime(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var evs []record.Event
	for i, h := range []int{3, 1, -1, 1, 2, 0, 1} {
		at := ""
		if h >= 0 {
			at = fmt.Sprintf(`"eventTime":%q,`, base.Add(time.Duration(h)*time.Hour).Format(time.RFC3339))
		}
		ev, err := record.Parse(record.KindCloudTrail, fmt.Appendf(nil, `{"eventVersion":"1.08","eventID":"e%d",%s"eventSource":"codebuild.amazonaws.com","eventName":"StartBuild"}`, i, at))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	evs = append(evs, evs[4]) // a repeat keeps its first's number
	if _, err := s.Put(context.Background(), evs, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range []uint64{1, 2, 3, 4, 5, 6, 7} {
		for _, ev := range evs[:7] {
			if ev.Seq == i {
				got = append(got, ev.ID)
			}
		}
	}
	if want := []string{"e2", "e5", "e1", "e3", "e6", "e4", "e0"}; !slices.Equal(got, want) {
		t.Fatalf("events by sequence number %v, want %v", got, want)
	}
	if evs[7].Seq != 0 {
		t.Fatalf("the repeat got %d", evs[7].Seq)
	}
}

func TestPagingEveryOrder(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Put(ctx, synthetic(t, 1000, 0), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		order Order
		query string
		want  int
	}{
		{"newest", OrderNewest, "", 1000},
		{"oldest", OrderOldest, "name:StartBuild", 250},
		{"relevance", OrderRelevance, "p3 OR StartBuild", 250 + 143 - 35},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			var last time.Time
			tok := ""
			pages := 0
			for {
				res, err := s.Search(ctx, SearchRequest{Query: tc.query, Order: tc.order, PageSize: 37, PageToken: tok})
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, h := range res.Hits {
					if seen[h.Event.ID] {
						t.Fatalf("page %d repeats %s", pages, h.Event.ID)
					}
					seen[h.Event.ID] = true
					switch tc.order {
					case OrderNewest:
						if !last.IsZero() && h.Event.Time.After(last) {
							t.Fatalf("not newest first: %s after %s", h.Event.Time, last)
						}
					case OrderOldest:
						if h.Event.Time.Before(last) {
							t.Fatalf("not oldest first: %s after %s", h.Event.Time, last)
						}
					}
					last = h.Event.Time
				}
				if res.NextPageToken == "" {
					break
				}
				tok = res.NextPageToken
			}
			if len(seen) != tc.want {
				t.Fatalf("paged through %d events, want %d", len(seen), tc.want)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Put(ctx, synthetic(t, 30, 0), nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctx, SearchRequest{PageSize: 10})
	if err != nil || res.NextPageToken == "" {
		t.Fatalf("first page: %v", err)
	}
	tok := res.NextPageToken
	flipped := []byte(tok)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct {
		name string
		req  SearchRequest
	}{
		{"altered", SearchRequest{PageSize: 10, PageToken: string(flipped)}},
		{"garbage", SearchRequest{PageSize: 10, PageToken: "not a token"}},
		{"other query", SearchRequest{Query: "name:GitPush", PageSize: 10, PageToken: tok}},
		{"other order", SearchRequest{Order: OrderOldest, PageSize: 10, PageToken: tok}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Search(ctx, tc.req); !errors.Is(err, ErrBadToken) {
				t.Fatalf("got %v, want ErrBadToken", err)
			}
		})
	}
	c := res.Hits[0].Cursor
	seq, err := s.ParseCursor(c)
	if err != nil || seq != res.Hits[0].Event.Seq {
		t.Fatalf("cursor round trip: %d %v", seq, err)
	}
	bad := []byte(c)
	bad[1] ^= 1
	if _, err := s.ParseCursor(string(bad)); !errors.Is(err, ErrBadToken) {
		t.Fatalf("altered cursor accepted: %v", err)
	}
}

func TestFacetsAndHistogram(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Put(ctx, synthetic(t, 400, 0), nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctx, SearchRequest{
		Query:             "account:111122223333",
		PageSize:          1,
		Facets:            []FacetRequest{{Field: "name", Size: 2}, {Field: "eventSource"}},
		HistogramInterval: "1h",
	})
	if err != nil {
		t.Fatal(err)
	}
	names := res.Facets[0]
	if len(names.Values) != 2 || names.Values[0].Count != 100 || names.Other != 200 {
		t.Fatalf("name facet: %+v", names)
	}
	if src := res.Facets[1]; len(src.Values) != 1 || src.Values[0].Value != "codebuild.amazonaws.com" || src.Values[0].Count != 400 {
		t.Fatalf("source facet: %+v", src)
	}
	// 400 events one minute apart from midnight: 6h40m, 7 hourly buckets.
	if len(res.Histogram) != 7 {
		t.Fatalf("histogram has %d buckets, want 7: %+v", len(res.Histogram), res.Histogram)
	}
	sum := 0
	for i, b := range res.Histogram {
		sum += b.Count
		if i < 6 && b.Count != 60 {
			t.Fatalf("bucket %d: %+v", i, b)
		}
	}
	if sum != 400 {
		t.Fatalf("histogram sums to %d", sum)
	}
	for _, tc := range []struct {
		name string
		req  SearchRequest
	}{
		{"facet on a text path", SearchRequest{Facets: []FacetRequest{{Field: "requestParameters.projectName"}}}},
		{"facet too large", SearchRequest{Facets: []FacetRequest{{Field: "name", Size: 5000}}}},
		{"bad interval", SearchRequest{HistogramInterval: "fortnight"}},
		{"too many buckets", SearchRequest{HistogramInterval: "1s"}},
		{"page too large", SearchRequest{PageSize: 5000}},
		{"end before start", SearchRequest{Start: time.Now(), End: time.Now().Add(-time.Hour)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Search(ctx, tc.req); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestGetAndTimeRange(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	events, _ := loadTestEvents(t)
	if _, err := s.Put(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	h, err := s.Get(ctx, "e0000004-0000-4000-8000-000000000004", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Event.Name != "DeletePipeline" || h.Event.ErrorCode != "AccessDenied" || h.Cursor == "" || len(h.Event.Raw) == 0 {
		t.Fatalf("get: %+v", h.Event)
	}
	if _, err := s.Get(ctx, "no-such-id", Scope{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing id: %v", err)
	}
	res, err := s.Search(ctx, SearchRequest{
		Start: time.Date(2024, 1, 12, 0, 0, 0, 0, time.UTC),
		End:   time.Date(2024, 1, 14, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 {
		t.Fatalf("time range: %d hits, want 2", res.Total)
	}
}

// Stats answers while a batch is being written (it reads a snapshot, not
// the writer's lock), and reflects each stored batch.
func TestStatsDoNotWaitForWrites(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if st := s.Stats(); st.Events != 0 || st.Cursor != "" {
		t.Fatalf("empty store: %+v", st)
	}
	if _, err := s.Put(ctx, synthetic(t, 10, 0), nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Events != 10 || st.LastSeq != 10 || st.DiskBytes == 0 {
		t.Fatalf("after a batch: %+v", st)
	}
	s.mu.Lock() // as a batch being written holds it
	done := make(chan Stats, 1)
	go func() { done <- s.Stats() }()
	select {
	case st := <-done:
		if st.Events != 10 {
			t.Fatalf("during a write: %+v", st)
		}
	case <-time.After(5 * time.Second):
		s.mu.Unlock()
		t.Fatal("Stats waited for the writer's lock")
	}
	s.mu.Unlock()
}

// testLayout is the layout the tests' stores write new partitions in:
// CODETRAIL_TEST_LAYOUT, else the default, so that CI runs them on both
// (make test).
var testLayout = cmp.Or(os.Getenv("CODETRAIL_TEST_LAYOUT"), DefaultConfig("").Layout)

// testConfig is DefaultConfig with the tests' layout. Tests that read the
// per-event layout's documents or caches take DefaultConfig.
func testConfig(dir string) Config {
	cfg := DefaultConfig(dir)
	cfg.Layout = testLayout
	return cfg
}

// eventsLayoutOnly skips a test of the per-event layout's documents or
// caches in the run with block partitions (it runs in the other).
func eventsLayoutOnly(t testing.TB) {
	t.Helper()
	if testLayout != LayoutEvents {
		t.Skipf("reads the per-event layout's internals; runs with CODETRAIL_TEST_LAYOUT=%s", LayoutEvents)
	}
}
