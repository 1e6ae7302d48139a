package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/codetrail/codetrail/index/record"
)

// layoutStores returns three stores holding the same 4,000 variedEvents
// in partitions of 1,500: every partition per-event, every one blocks, and
// the first per-event and the others blocks (a store whose layout changed
// on a restart).
func layoutStores(t *testing.T) (events, blocks, mixed *Store) {
	t.Helper()
	evs := variedEvents(t, 4000)
	open := func(dir, layout string) *Store {
		cfg := DefaultConfig(dir)
		cfg.Shards, cfg.PartitionMaxEvents, cfg.MaxFacets, cfg.Layout = 2, 1500, 64, layout
		s, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	put := func(s *Store, lo, hi int) {
		t.Helper()
		for i := lo; i < hi; i += 1000 {
			// A copy: Put sets the sequence numbers.
			if _, err := s.Put(context.Background(), slices.Clone(evs[i:i+1000]), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	bdir := t.TempDir()
	events, blocks = open(t.TempDir(), LayoutEvents), open(bdir, LayoutBlocks)
	put(events, 0, 4000)
	put(blocks, 0, 4000)
	// Opened again: the partitions before the newest are read from their
	// frozen sidecars (sidecarfreeze.go), the newest from the heap.
	if err := blocks.Close(); err != nil {
		t.Fatal(err)
	}
	blocks = open(bdir, LayoutBlocks)
	if n := len(blocks.parts); n != 2 {
		t.Fatalf("%d block partitions, want 2", n)
	}
	for i, p := range blocks.parts {
		for _, w := range p.blocks {
			if frozen := w.side.mapped != nil; frozen != (i == 0) || w.unfrozen {
				t.Fatalf("partition %d: frozen %v (failed %v)", i, frozen, w.unfrozen)
			}
		}
	}
	dir := t.TempDir()
	mixed = open(dir, LayoutEvents)
	put(mixed, 0, 2000)
	if err := mixed.Close(); err != nil {
		t.Fatal(err)
	}
	mixed = open(dir, LayoutBlocks)
	put(mixed, 2000, 4000)
	for _, s := range []*Store{events, blocks, mixed} {
		t.Cleanup(func() { _ = s.Close() })
	}
	if n := len(mixed.blockShards()); n != 2 || len(*mixed.shardsView.Load()) != 2 {
		t.Fatalf("mixed store: %d block shards, %d per-event; want 2 and 2", n, len(*mixed.shardsView.Load()))
	}
	return events, blocks, mixed
}

// TestLayoutsAgree: a store of block partitions, and one of both layouts,
// answer searches (every page, by page token, newest and oldest first,
// with totals, facets and histograms), Get, ScopedStats and the pages
// lagging subscribers read exactly as a store of per-event partitions.
func TestLayoutsAgree(t *testing.T) {
	ctx := context.Background()
	want, blocks, mixed := layoutStores(t)
	from, to := time.Date(2025, 6, 2, 6, 0, 0, 0, time.UTC), time.Date(2025, 6, 4, 0, 0, 0, 0, time.UTC)
	queries := []struct {
		q          string
		start, end time.Time
	}{
		{q: ""},
		{q: "eventName:StartBuild"},
		{q: "NOT eventName:GitPush AND errorCode:*"},
		{q: "u7"},
		{q: "userIdentity.userName:u3 OR awsRegion:us-east-2"},
		{q: "resource:*p1*"},
		{q: "_exists_:errorCode AND NOT errorCode:E1"},
		{q: "eventTime:>=2025-06-03"},
		{q: "", start: from, end: to},
		{q: "eventName:(GetPipeline OR PutPackage)", start: from},
		{q: "nosuchword"},
		{q: "account:111122223332"},
		{q: "awsRegion:us-east-1"},
		{q: "errorCode:E2"},
		{q: "resource:\"arn:aws:codebuild:us-east-1:111122223333:project/p3\""},
		{q: "eventName:NoSuchName"},
	}
	facets := []FacetRequest{{Field: "eventName", Size: 3}, {Field: "account"}, {Field: "errorCode"}, {Field: multiResource, Size: 4}}
	for _, c := range queries {
		for _, order := range []Order{OrderNewest, OrderOldest} {
			for _, iv := range []string{"", "1d", "1h", "30m"} {
				name := fmt.Sprintf("%q/%v/%d/%s", c.q, c.start.IsZero(), order, iv)
				t.Run(name, func(t *testing.T) {
					r := SearchRequest{Query: c.q, Start: c.start, End: c.end, Order: order, PageSize: 250, Facets: facets, HistogramInterval: iv}
					w := allPages(t, want, r)
					for _, s := range []*Store{blocks, mixed} {
						got := allPages(t, s, r)
						if !slices.Equal(got.ids, w.ids) {
							t.Fatalf("%d events %v...\nwant %d %v...", len(got.ids), head(got.ids), len(w.ids), head(w.ids))
						}
						if got.total != w.total || fmt.Sprint(got.facets) != fmt.Sprint(w.facets) || fmt.Sprint(got.histogram) != fmt.Sprint(w.histogram) {
							t.Fatalf("total %d facets %v histogram %v\nwant %d %v %v", got.total, got.facets, got.histogram, w.total, w.facets, w.histogram)
						}
					}
				})
			}
		}
	}

	t.Run("get", func(t *testing.T) {
		scope := Scope{Accounts: []string{"111122223331"}}
		for _, id := range []string{"v-000000", "v-001777", "v-003999", "v-002001", "nosuch"} {
			for _, sc := range []Scope{{}, scope} {
				w, werr := want.Get(ctx, id, sc)
				for _, s := range []*Store{blocks, mixed} {
					g, err := s.Get(ctx, id, sc)
					if (err == nil) != (werr == nil) || err == nil && (g.Event.ID != w.Event.ID || string(g.Event.Raw) != string(w.Event.Raw) || g.Cursor != "" && g.Event.Seq != w.Event.Seq) {
						t.Fatalf("get %s %v: %s %v, want %s %v", id, sc, g.Event.ID, err, w.Event.ID, werr)
					}
				}
			}
		}
	})
	t.Run("stats", func(t *testing.T) {
		for _, sc := range []Scope{{}, {Regions: []string{"us-east-2"}}} {
			w, err := want.ScopedStats(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []*Store{blocks, mixed} {
				if g, err := s.ScopedStats(ctx, sc); err != nil || g != w {
					t.Fatalf("scoped stats %v: %+v %v, want %+v", sc, g, err, w)
				}
				if g, w := s.Stats(), want.Stats(); g.Events != w.Events || !g.Oldest.Equal(w.Oldest) || !g.Newest.Equal(w.Newest) || g.LastSeq != w.LastSeq {
					t.Fatalf("stats %+v, want %+v", g, w)
				}
			}
		}
	})
	t.Run("replay pages", func(t *testing.T) {
		w, err := want.readPage(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Store{blocks, mixed} {
			g, err := s.readPage(ctx, 0)
			if err != nil || len(g) != len(w) {
				t.Fatalf("page 0: %d events %v, want %d", len(g), err, len(w))
			}
			for i := range g {
				if g[i].hit.Event.ID != w[i].hit.Event.ID || g[i].hit.Event.Seq != w[i].hit.Event.Seq {
					t.Fatalf("page 0, event %d: %s %d, want %s %d", i, g[i].hit.Event.ID, g[i].hit.Event.Seq, w[i].hit.Event.ID, w[i].hit.Event.Seq)
				}
			}
		}
	})
	t.Run("relevance", func(t *testing.T) {
		for _, c := range []struct {
			q      string
			leaves []string // the clauses that score (blockNode.scoreLeaves), as queries
			scope  Scope
		}{
			{q: "u7"},
			{q: "eventName:StartBuild"},
			{q: "u7 OR awsRegion:us-east-2", leaves: []string{"u7", "awsRegion:us-east-2"}},
			{q: "userIdentity.userName:u3 OR awsRegion:us-east-2 OR errorCode:E1", leaves: []string{"userIdentity.userName:u3", "awsRegion:us-east-2", "errorCode:E1"}},
			{q: "eventName:(GetPipeline OR PutPackage) AND NOT u7", leaves: []string{"eventName:GetPipeline", "eventName:PutPackage"}},
			// Decided on the sidecars (blockWriter.sidecarRelevance).
			{q: "awsRegion:us-east-2 OR errorCode:E1 OR eventName:GitPush", leaves: []string{"awsRegion:us-east-2", "errorCode:E1", "eventName:GitPush"}},
			{q: "eventName:(GetPipeline OR PutPackage) AND NOT account:111122223331", leaves: []string{"eventName:GetPipeline", "eventName:PutPackage"}},
			{q: "errorCode:*"},
			// The scope's own OR ranks nothing.
			{q: "u7 OR awsRegion:us-east-2", leaves: []string{"u7", "awsRegion:us-east-2"}, scope: Scope{Accounts: []string{"111122223331", "111122223332"}}},
		} {
			t.Run(c.q, func(t *testing.T) {
				r := SearchRequest{Query: c.q, Order: OrderRelevance, PageSize: 37, Scope: c.scope}
				w := allPages(t, want, r)
				rank := relevanceRank(t, want, r, c.leaves)
				for i, s := range []*Store{blocks, mixed} {
					got := allPages(t, s, r)
					if got.total != w.total || !sameSet(got.ids, w.ids) {
						t.Fatalf("store %d: %d events (total %d), want %d (%d)", i, len(got.ids), got.total, len(w.ids), w.total)
					}
					if i == 0 && !slices.Equal(got.ids, rank) {
						t.Fatalf("blocks rank %v..., want %v...", head(got.ids), head(rank))
					}
				}
			})
		}
		// Relevance pages only so deep, on blocks too.
		if _, err := blocks.Search(ctx, SearchRequest{Query: "u7", Order: OrderRelevance, PageToken: blocks.encodePageToken(pageToken{fingerprint: fingerprint(SearchRequest{Query: "u7", Order: OrderRelevance}), offset: 9990}), PageSize: 20}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("page past the relevance depth: %v", err)
		}
	})
}

// relevanceRank returns the ids of r's matches on s as the block layout
// ranks them (blockrelevance.go), from searches of s in newest order: by
// the sum of the inverse document frequencies, among the matches, of the
// leaves each holds, then stored last first.
func relevanceRank(t *testing.T, s *Store, r SearchRequest, leaves []string) []string {
	t.Helper()
	type event struct {
		id    string
		seq   uint64
		score float64
	}
	var evs []*event
	byID := map[string]*event{}
	all := r
	all.Order, all.PageSize, all.PageToken = OrderNewest, 1000, ""
	for {
		res, err := s.Search(context.Background(), all)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			e := &event{id: h.Event.ID, seq: h.Event.Seq}
			evs, byID[e.id] = append(evs, e), e
		}
		if all.PageToken = res.NextPageToken; all.PageToken == "" {
			break
		}
	}
	for _, l := range leaves {
		// The matches holding the leaf.
		held := r
		held.Query, held.Order, held.PageSize, held.PageToken = "("+r.Query+") AND ("+l+")", OrderNewest, 1000, ""
		var ids []string
		for {
			res, err := s.Search(context.Background(), held)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range res.Hits {
				ids = append(ids, h.Event.ID)
			}
			if held.PageToken = res.NextPageToken; held.PageToken == "" {
				break
			}
		}
		m, df := float64(len(evs)), float64(len(ids))
		w := math.Log(1 + (m-df+0.5)/(df+0.5))
		for _, id := range ids {
			byID[id].score += w
		}
	}
	slices.SortFunc(evs, func(a, b *event) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(b.seq, a.seq)
	})
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.id
	}
	return out
}

// sameSet reports whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b) && len(slices.Compact(a)) == len(b)
}

// pages is what allPages read.
type pages struct {
	ids       []string
	total     uint64
	facets    []FacetResult
	histogram []Bucket
}

// allPages reads every page of r by page token, checking that each page
// reports the same total, facets and histogram.
func allPages(t *testing.T, s *Store, r SearchRequest) pages {
	t.Helper()
	var out pages
	for n := 0; ; n++ {
		res, err := s.Search(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			out.total, out.facets, out.histogram = res.Total, res.Facets, res.Histogram
		} else if res.Total != out.total {
			t.Fatalf("page %d: total %d, first page's %d", n, res.Total, out.total)
		}
		for _, h := range res.Hits {
			out.ids = append(out.ids, h.Event.ID)
		}
		if res.NextPageToken == "" {
			if uint64(len(out.ids)) != out.total {
				t.Fatalf("%d events paged, total %d", len(out.ids), out.total)
			}
			return out
		}
		if n > 100 {
			t.Fatal("no last page")
		}
		r.PageToken = res.NextPageToken
	}
}

// TestBlockIDsMayHold checks the batched lookup of ids' hashes (mayHold,
// gallop) against blocks, one hash at a time, with hashes in both of the
// index's runs, repeated, and absent.
func TestBlockIDsMayHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x blockIDs
	var stored []uint32
	for b := range 40 { // past idTail, so that both runs hold some
		hs := make([]uint32, 256)
		for i := range hs {
			hs[i] = rng.Uint32() % 100000 // some shared
		}
		stored = append(stored, hs...)
		x.add(uint64(b*256+1), hs)
	}
	if len(x.sorted) == 0 || len(x.tail) == 0 {
		t.Fatalf("runs of %d and %d", len(x.sorted), len(x.tail))
	}
	for _, n := range []int{0, 1, 7, 500, 5000} {
		keys := make([]uint64, n)
		for i := range keys {
			h := rng.Uint32() % 100000
			if i%3 == 0 {
				h = stored[rng.IntN(len(stored))]
			}
			keys[i] = uint64(h)<<32 | uint64(i)
		}
		var want []int
		for i, k := range keys {
			if len(x.blocks(uint32(k>>32))) > 0 {
				want = append(want, i)
			}
		}
		keys, _ = radixSort(keys, nil, 32, 64)
		got := x.mayHold(keys, []int{-1})[1:]
		if !slices.Equal(got, want) {
			t.Fatalf("%d keys: %d may be held, want %d", n, len(got), len(want))
		}
	}
}

// TestBlockPagesSkipped pages stores of three block partitions whose
// events follow one another in time, so that a page in time order is
// read from one partition's shards and the others' are only counted
// (blockSearch's waves), against a per-event store of the same events.
func TestBlockPagesSkipped(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []record.Event
	for i := range 3000 {
		tm := base.Add(time.Duration(i) * time.Minute)
		if i%400 == 399 {
			tm = base.Add(time.Duration(i%7) * time.Hour) // late: among the oldest
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"s-%06d","eventTime":%q,"eventSource":"codebuild.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"111122223333","requestParameters":{"projectName":"p%d"}}`,
			i, tm.Format(time.RFC3339), []string{"StartBuild", "GetPipeline", "GitPush"}[i%3], i%7)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	open := func(layout string, shards int, partition uint64, batch int) *Store {
		cfg := DefaultConfig(t.TempDir())
		cfg.Shards, cfg.PartitionMaxEvents, cfg.Layout = shards, partition, layout
		s, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		for i := 0; i < len(evs); i += batch {
			if _, err := s.Put(context.Background(), slices.Clone(evs[i:i+batch]), nil); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	want, blocks := open(LayoutEvents, 2, 1000, 500), open(LayoutBlocks, 2, 1000, 500)
	if n := len(blocks.parts); n != 3 {
		t.Fatalf("%d partitions, want 3", n)
	}
	skipped := counter(metricBlockPagesSkipped)
	for _, q := range []string{"", "p3", "eventName:StartBuild", "p3 OR eventName:GitPush"} {
		for _, order := range []Order{OrderNewest, OrderOldest} {
			r := SearchRequest{Query: q, Order: order, PageSize: 37}
			w, got := allPages(t, want, r), allPages(t, blocks, r)
			if !slices.Equal(got.ids, w.ids) || got.total != w.total {
				t.Fatalf("%q %d: %d events %v... (total %d), want %d %v... (%d)", q, order, len(got.ids), head(got.ids), got.total, len(w.ids), head(w.ids), w.total)
			}
		}
	}
	if counter(metricBlockPagesSkipped) == skipped {
		t.Fatal("no shard only counted")
	}
	// Relevance without an OR ranks the last stored first: the shards
	// holding only older events are not read. One partition, each Put of
	// 1,000 in two chunks in the next two of more shards than run at once,
	// so that the first wave's shards' older runs are older than other
	// shards' newest.
	skipped = counter(metricBlockPagesSkipped)
	blocks = open(LayoutBlocks, runtime.GOMAXPROCS(0)+2, 0, 1000)
	want = open(LayoutEvents, 2, 0, 1000) // the same batches: the same sequence numbers, which break ties
	for _, c := range []struct {
		q      string
		leaves []string
	}{{q: "p3"}, {q: "eventName:StartBuild"}, {q: "p3 OR eventName:GitPush", leaves: []string{"p3", "eventName:GitPush"}}} {
		for _, size := range []int{37, 60} {
			r := SearchRequest{Query: c.q, Order: OrderRelevance, PageSize: size}
			got, rank := allPages(t, blocks, r), relevanceRank(t, want, r, c.leaves)
			if !slices.Equal(got.ids, rank) {
				t.Fatalf("%q by relevance, pages of %d: %v..., want %v...", c.q, size, head(got.ids), head(rank))
			}
		}
	}
	if counter(metricBlockPagesSkipped) == skipped {
		t.Fatal("no shard left unread by relevance")
	}
}

// TestNewlineFieldsAfterBatch: a pattern on a typed field is expanded
// over the field's listed values only while no stored block left a value
// of the field out of its list for holding a newline, also when the
// shard's list of such fields was read before that block was stored
// (blockWriter.newlineFields): a list read once and never added to missed
// the third event here.
func TestNewlineFieldsAfterBatch(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.Layout, cfg.Shards = LayoutBlocks, 1
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	event := func(id, agent string) record.Event {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2026-01-02T03:04:05Z","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","userAgent":%q}`, id, agent)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	ctx := context.Background()
	search := func(want uint64) {
		t.Helper()
		for _, q := range []string{`userAgent:/first[^x]*line/`} {
			res, err := s.Search(ctx, SearchRequest{Query: q, PageSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != want || uint64(len(res.Hits)) != want {
				t.Errorf("%s: total %d, %d hits; want %d", q, res.Total, len(res.Hits), want)
			}
		}
	}
	if _, err := s.Put(ctx, []record.Event{event("a", "first line"), event("b", "first line")}, nil); err != nil {
		t.Fatal(err)
	}
	search(2) // the list of fields read: none
	if _, err := s.Put(ctx, []record.Event{event("c", "first line\nsecond line")}, nil); err != nil {
		t.Fatal(err)
	}
	search(3)
}
