package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"
	bquery "github.com/blevesearch/bleve/v2/search/query"

	"github.com/codetrail/codetrail/index/record"
)

func TestSplitChunks(t *testing.T) {
	for _, tc := range []struct {
		n, shards int
		want      [][2]int
	}{
		{0, 4, [][2]int{{0, 0}}},
		{10, 4, [][2]int{{0, 10}}},
		{minChunk, 2, [][2]int{{0, minChunk}}},
		{minChunk + 1, 2, [][2]int{{0, minChunk / 2}, {minChunk / 2, minChunk + 1}}},
		{5000, 2, [][2]int{{0, 2500}, {2500, 5000}}},
		{3000, 8, [][2]int{{0, 500}, {500, 1000}, {1000, 1500}, {1500, 2000}, {2000, 2500}, {2500, 3000}}},
		{5000, 1, [][2]int{{0, 5000}}},
	} {
		if got := splitChunks(tc.n, tc.shards); !slices.Equal(got, tc.want) {
			t.Errorf("splitChunks(%d, %d) = %v, want %v", tc.n, tc.shards, got, tc.want)
		}
	}
}

// TestShards: large batches spread over the shards; searches, paging, Get,
// dedupe and checkpoints see one index; reopening with another shard count
// keeps everything and continues the sequence.
func TestShards(t *testing.T) {
	eventsLayoutOnly(t)
	dir := t.TempDir()
	ctx := context.Background()
	cfg := testConfig(dir)
	cfg.Shards = 3
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	evs := synthetic(t, 3000, 0)
	res, err := s.Put(ctx, evs, map[string][]byte{"src": []byte("a")})
	if err != nil || res.Stored != 3000 || res.LastSeq != 3000 {
		t.Fatalf("put: %+v %v", res, err)
	}
	perShard := make([]uint64, len(s.cur().shards))
	for i, sh := range s.cur().shards {
		perShard[i], _ = sh.DocCount()
	}
	if len(perShard) != 3 || perShard[0] != 1000 || perShard[1] != 1000 || perShard[2] != 1000 {
		t.Fatalf("documents per shard = %v, want 1000 each", perShard)
	}
	// Newest first across shards, in store order within equal times.
	ids := searchIDs(t, s, "eventName:StartBuild")
	if len(ids) != 750 {
		t.Fatalf("%d StartBuild hits, want 750", len(ids))
	}
	if h, err := s.Get(ctx, "id-002999", Scope{}); err != nil || h.Event.Seq != 3000 {
		t.Fatalf("get: %+v %v", h.Event.Seq, err)
	}
	// A second batch half old: dedupe finds ids in every shard.
	more := synthetic(t, 2000, 2000)
	res, err = s.Put(ctx, more, map[string][]byte{"src": []byte("b")})
	if err != nil || res.Stored != 1000 || res.Duplicates != 1000 || res.LastSeq != 4000 {
		t.Fatalf("second put: %+v %v", res, err)
	}
	if cp, _ := s.Checkpoint("src"); string(cp) != "b" {
		t.Fatalf("checkpoint = %q", cp)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopen with one shard: the other shards are found and read.
	cfg.Shards = 1
	s, err = Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(s.cur().shards) != 3 || s.Stats().Events != 4000 || s.Stats().LastSeq != 4000 {
		t.Fatalf("reopened: %d shards, %+v", len(s.cur().shards), s.Stats())
	}
	if got := len(searchIDs(t, s, "*")); got != 4000 {
		t.Fatalf("%d events searchable after reopen, want 4000", got)
	}
	res, err = s.Put(ctx, synthetic(t, 10, 5000), nil)
	if err != nil || res.LastSeq != 4010 {
		t.Fatalf("put after reopen: %+v %v", res, err)
	}
	var names []string
	for _, d := range []string{dir, filepath.Join(dir, "p-0000000000000001")} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			names = append(names, e.Name())
		}
	}
	if strings.Join(names, ",") != "checkpoints.db,p-0000000000000001,partition.json,shard-0.bleve,shard-1.bleve,shard-2.bleve" {
		t.Fatalf("data dir holds %v", names)
	}
}

// TestShardFailure: when one shard's batch fails, the chunks before it are
// kept and published, later ones are undone, their sequence numbers are
// handed out again and the checkpoint is not stored.
func TestShardFailure(t *testing.T) {
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.Shards = 3 })
	// The middle shard fails (its files are gone, so its segment cannot be
	// written): chunk 0 is kept, chunk 2 is undone.
	if err := os.RemoveAll(s.cur().shardPath(s.cfg.Dir, 1)); err != nil {
		t.Fatal(err)
	}
	// In time order, as Put numbers them: chunk 0 is evs[:1000].
	evs := synthetic(t, 3000, 0)
	slices.SortStableFunc(evs, func(a, b record.Event) int { return a.Time.Compare(b.Time) })
	res, err := s.Put(ctx, evs, map[string][]byte{"src": []byte("x")})
	if err == nil {
		t.Fatal("put on a broken shard succeeded")
	}
	if res.Stored != 1000 || res.LastSeq != 1000 || s.broken != nil {
		t.Fatalf("result %+v, broken %v", res, s.broken)
	}
	if evs[999].Seq != 1000 || evs[1000].Seq != 0 || evs[2999].Seq != 0 {
		t.Fatalf("seqs %d %d %d", evs[999].Seq, evs[1000].Seq, evs[2999].Seq)
	}
	if n, _ := s.cur().shards[2].DocCount(); n != 0 {
		t.Fatalf("shard 2 keeps %d undone documents", n)
	}
	if cp, _ := s.Checkpoint("src"); cp != nil {
		t.Fatalf("checkpoint stored: %q", cp)
	}
	if st := s.Stats(); st.Events != 1000 || st.LastSeq != 1000 {
		t.Fatalf("stats %+v", st)
	}
	// The hub got exactly the kept events.
	entries, ok := s.hub.since(0, 5000, 5000)
	if !ok || len(entries) != 1000 || entries[999].hit.Event.Seq != 1000 {
		t.Fatalf("hub holds %d entries", len(entries))
	}
	// The failed shard was reopened: what is searchable is what is stored,
	// and it takes writes again.
	if got := len(searchIDs(t, s, "*")); got != 1000 {
		t.Fatalf("%d events searchable, want the 1000 kept", got)
	}
	res, err = s.Put(ctx, evs[1000:], nil)
	if err != nil || res.Stored != 2000 || res.LastSeq != 3000 {
		t.Fatalf("put after the failure: %+v %v", res, err)
	}
	if got := len(searchIDs(t, s, "*")); got != 3000 {
		t.Fatalf("%d events searchable, want 3000", got)
	}
}

// TestShardFailureFewerChunks: with fewer chunks than shards, a chunk after
// the failed one is undone in the shard it went to, which the rotation of
// shards has moved past by then.
func TestShardFailureFewerChunks(t *testing.T) {
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.Shards = 4 })
	evs := synthetic(t, 2000, 0)
	// Two chunks, to shards 0 and 1; the next batch starts at shard 2.
	if res, err := s.Put(ctx, evs[:1000], nil); err != nil || res.Stored != 1000 {
		t.Fatalf("first put: %+v %v", res, err)
	}
	if err := os.RemoveAll(s.cur().shardPath(s.cfg.Dir, 2)); err != nil {
		t.Fatal(err)
	}
	// Chunk 0 fails on shard 2; chunk 1, written to shard 3, is undone.
	if _, err := s.Put(ctx, evs[1000:], nil); err == nil {
		t.Fatal("put on a broken shard succeeded")
	}
	if n, _ := s.cur().shards[3].DocCount(); n != 0 {
		t.Fatalf("shard 3 keeps %d undone documents", n)
	}
	if got := len(searchIDs(t, s, "*")); got != 1000 {
		t.Fatalf("%d events searchable, want the 1000 of the first put", got)
	}
	res, err := s.Put(ctx, evs[1000:], nil)
	if err != nil || res.Stored != 1000 || res.LastSeq != 2000 {
		t.Fatalf("put after the failure: %+v %v", res, err)
	}
	if got := len(searchIDs(t, s, "*")); got != 2000 {
		t.Fatalf("%d events searchable, want 2000", got)
	}
}

// TestFacetsAcrossShards: facet counts are exact over several shards, also
// for a value that is in no single shard's top.
func TestFacetsAcrossShards(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.Shards = 3 })
	var evs []record.Event
	for i := range 3000 {
		name := "common"
		if i%5 < 3 {
			name = fmt.Sprintf("N%d", i/1000) // each third of the batch has its own
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"f-%d","eventTime":"2024-03-01T00:00:00Z","eventSource":"codebuild.amazonaws.com","eventName":%q,"recipientAccountId":"111122223333"}`, i, name)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	if _, err := s.Put(context.Background(), evs, nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(context.Background(), SearchRequest{Facets: []FacetRequest{{Field: "eventName", Size: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Facets[0]
	// Each shard's own top value is its N; only the sum shows common first.
	if len(f.Values) != 1 || f.Values[0] != (FacetValue{"common", 1200}) || f.Other != 1800 {
		t.Fatalf("facet %+v, want common 1200, other 1800", f)
	}
}

// TestPageHits: hits are loaded from the shard each came from, in the
// page's order, and a hit whose shard or document has gone since the search
// is left out instead of failing the page.
func TestPageHits(t *testing.T) {
	eventsLayoutOnly(t)
	cfg := testConfig(t.TempDir())
	cfg.Shards = 2
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A batch's newer half goes to one shard: a first batch of one chunk
	// (to shard 0) puts some of the newest in the other.
	evs := synthetic(t, 3000, 0)
	for _, b := range [][]record.Event{evs[:500], evs[500:]} {
		if _, err := s.Put(context.Background(), b, nil); err != nil {
			t.Fatal(err)
		}
	}
	req := bleve.NewSearchRequestOptions(bquery.NewMatchAllQuery(), 64, 0, false)
	req.SortByCustom(timeSort(true))
	res, err := s.search(context.Background(), req)
	if err != nil || len(res.Hits) != 64 {
		t.Fatalf("search: %v, %d hits", err, len(res.Hits))
	}
	shards := map[string]bool{}
	for _, m := range res.Hits {
		shards[m.Index] = true
	}
	if len(shards) != 2 {
		t.Fatalf("the page's hits come from shards %v, want both", shards)
	}
	matches := slices.Clone(res.Hits)
	gone := *matches[3]
	gone.ID = "no-such-event"
	dropped := *matches[7]
	dropped.Index = filepath.Join(cfg.Dir, "dropped-partition")
	matches[3], matches[7] = &gone, &dropped
	for _, summary := range []bool{false, true} {
		hits, err := s.pageHits(matches, summary)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i, m := range res.Hits {
			if i != 3 && i != 7 {
				want = append(want, m.ID)
			}
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.Event.ID)
			if h.Event.Seq == 0 || h.Cursor == "" {
				t.Fatalf("hit %s lacks its sequence or cursor", h.Event.ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("summary %v: hits %v, want %v", summary, got, want)
		}
	}
}
