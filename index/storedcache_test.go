package index

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/search"
)

// fakeRead is a blockStored over documents given as field -> value, in
// field order, counting its reads.
type fakeRead struct {
	docs  map[string][][2]string
	reads int
}

func (f *fakeRead) read(m *search.DocumentMatch, fn storedVisit) error {
	f.reads++
	d, ok := f.docs[m.ID]
	if !ok {
		return fmt.Errorf("read %s: %w", m.ID, errNoDocument)
	}
	for _, kv := range d {
		if !fn(kv[0], []byte(kv[1]), false) {
			break
		}
	}
	return nil
}

// visitAll returns what cached lets fn see of the document id, stopping
// after stop fields (0: all).
func visitAll(t *testing.T, c *storedCache, f *fakeRead, id string, gen, keepFrom uint64, stop int) string {
	t.Helper()
	var got []string
	err := c.cached(&search.DocumentMatch{ID: id}, gen, keepFrom, f.read, func(field string, value []byte, _ bool) bool {
		got = append(got, field+"="+string(value))
		return stop == 0 || len(got) < stop
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, " ")
}

func TestStoredCache(t *testing.T) {
	blk := func(seq uint64) string { return blockID(seq) }
	tests := []struct {
		name     string
		id       string
		keepFrom uint64
		kept     bool
	}{
		{"a block from keepFrom", blk(100), 100, true},
		{"a block after", blk(5000), 100, true},
		{"a block before", blk(99), 100, false},
		{"its summaries", sumsID(blk(100)), 100, true},
		{"its rare terms", rareID(blk(100)), 100, true},
		{"its records never", recordsID(blk(100)), 100, false},
		{"keepFrom 0 keeps none", blk(100), 0, false},
		{"an event's document", "6c1f0e4e-8b3a-4b1d-9d2e-0c8e9f7a1b2c", 1, false},
		{"not hex", "b00000000000000zz", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keeps(tt.id, tt.keepFrom); got != tt.kept {
				t.Fatalf("keeps(%q, %d) = %v, want %v", tt.id, tt.keepFrom, got, tt.kept)
			}
			c := newStoredCache(1 << 20)
			f := &fakeRead{docs: map[string][][2]string{tt.id: {{"_ixt", "index"}, {"_bloom", "bloom"}, {"_cols", "columns"}}}}
			want := "_ixt=index _bloom=bloom _cols=columns"
			// The first read stops early; the entry still holds every field.
			if got := visitAll(t, c, f, tt.id, 0, tt.keepFrom, 1); got != "_ixt=index" {
				t.Fatalf("first read saw %q", got)
			}
			if got := visitAll(t, c, f, tt.id, 0, tt.keepFrom, 0); got != want {
				t.Fatalf("second read saw %q, want %q", got, want)
			}
			if wantReads := map[bool]int{true: 1, false: 2}[tt.kept]; f.reads != wantReads {
				t.Fatalf("%d reads of the document, want %d", f.reads, wantReads)
			}
		})
	}
}

// TestStoredCacheGenerations: after forget, a search of the new generation
// reads the documents again, even if a search of the old one kept their
// old fields after the forget (it read a snapshot from before).
func TestStoredCacheGenerations(t *testing.T) {
	id := blockID(1)
	c := newStoredCache(1 << 20)
	old := &fakeRead{docs: map[string][][2]string{id: {{"_ixt", "old"}}}}
	gen0 := c.generation()
	if got := visitAll(t, c, old, id, gen0, 1, 0); got != "_ixt=old" {
		t.Fatal(got)
	}
	c.forget()
	gen1 := c.generation()
	// The old search goes on reading its snapshot, and keeps what it read.
	if got := visitAll(t, c, old, id, gen0, 1, 0); got != "_ixt=old" {
		t.Fatal(got)
	}
	now := &fakeRead{docs: map[string][][2]string{id: {{"_ixt", "new"}}}}
	if got := visitAll(t, c, now, id, gen1, 1, 0); got != "_ixt=new" || now.reads != 1 {
		t.Fatalf("new generation saw %q after %d reads", got, now.reads)
	}
	if got := visitAll(t, c, now, id, gen1, 1, 0); got != "_ixt=new" || now.reads != 1 {
		t.Fatalf("new generation saw %q after %d reads", got, now.reads)
	}
}

// TestStoredCacheEviction: the cache holds at most its bytes, the least
// recently used going first, and never one document of more than a
// sixteenth of them.
func TestStoredCacheEviction(t *testing.T) {
	value := strings.Repeat("x", 700)
	f := &fakeRead{docs: map[string][][2]string{}}
	var ids []string
	for i := range 40 {
		id := blockID(uint64(i + 1))
		ids = append(ids, id)
		f.docs[id] = [][2]string{{"_sums", value}}
	}
	big := blockID(1000)
	f.docs[big] = [][2]string{{"_sums", strings.Repeat("y", 2000)}}
	c := newStoredCache(16 * 1024) // room for about 18 of them
	for _, id := range ids {
		visitAll(t, c, f, id, 0, 1, 0)
		// The first stays the most recently used.
		visitAll(t, c, f, ids[0], 0, 1, 0)
	}
	if c.docs.size > c.docs.max {
		t.Fatalf("%d bytes held, at most %d", c.docs.size, c.docs.max)
	}
	var kept []string
	for _, d := range c.docs.values() {
		kept = append(kept, d.key.id)
	}
	if len(kept) < 10 || kept[0] != ids[0] || !slices.Contains(kept, ids[39]) || slices.Contains(kept, ids[1]) {
		t.Fatalf("kept %d: %v", len(kept), kept)
	}
	visitAll(t, c, f, big, 0, 1, 0)
	if c.get(storedKey{id: big}) != nil {
		t.Fatal("kept a document of over a sixteenth of the cache")
	}
	total := 0
	for _, d := range c.docs.values() {
		total += d.bytes()
	}
	if total != c.docs.size || len(c.docs.m) != len(kept) {
		t.Fatalf("size %d, entries' %d; %d entries, %d listed", c.docs.size, total, len(c.docs.m), len(kept))
	}
}

// TestStoredCacheSearches: on a block store, the writer keeps its blocks'
// documents (the fields zapx then reads), searches read them from the
// cache, and find the same pages as without it.
func TestStoredCacheSearches(t *testing.T) {
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.Layout = LayoutBlocks; c.Shards = 2 })
	if _, err := s.Put(ctx, synthetic(t, 3000, 0), nil); err != nil {
		t.Fatal(err)
	}
	// What the writer kept is what the shards store, field for field.
	p := s.cur()
	checked := 0
	for i, w := range p.blocks {
		stored, done, err := shardStored(p.shards[i], nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range w.side.blocks {
			for _, id := range []string{blockID(b.first), sumsID(blockID(b.first)), rareID(blockID(b.first))} {
				var want, got []string
				if err := stored(&search.DocumentMatch{ID: id}, func(field string, value []byte, _ bool) bool {
					want = append(want, field+"="+string(value))
					return true
				}); err != nil {
					t.Fatal(err)
				}
				d := s.stored.get(storedKey{id: id, gen: s.stored.generation()})
				if d == nil {
					t.Fatalf("block document %s not kept", id)
				}
				d.visit(func(field string, value []byte, _ bool) bool {
					got = append(got, field+"="+string(value))
					return true
				})
				slices.Sort(want)
				slices.Sort(got)
				if len(want) == 0 || !slices.Equal(got, want) {
					t.Fatalf("%s: kept %d fields, stored %d, or other values: %q %q", id, len(got), len(want), names(got), names(want))
				}
				checked++
			}
		}
		done()
	}
	if checked < 3*12 {
		t.Fatalf("checked %d documents", checked)
	}
	queries := []string{"*", "eventName:StartBuild", "p3", "GitPush OR projectName:p2"}
	search := func() []string {
		var out []string
		for _, q := range queries {
			for _, summary := range []bool{true, false} {
				res, err := s.Search(ctx, SearchRequest{Query: q, PageSize: 40, Summary: summary})
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range res.Hits {
					out = append(out, fmt.Sprintf("%s %d %s %s %d", q, h.Event.Seq, h.Event.ID, h.Event.Name, len(h.Event.Raw)))
				}
				out = append(out, fmt.Sprint(q, " total ", res.Total))
			}
		}
		return out
	}
	hits := func() float64 { return counter(metricStoredCache.WithLabelValues("hit")) }
	misses := func() float64 { return counter(metricStoredCache.WithLabelValues("miss")) }
	h0, m0 := hits(), misses()
	first := search()
	if hits() == h0 || misses() != m0 {
		t.Fatalf("searches after the writes: %v hits, %v misses", hits()-h0, misses()-m0)
	}
	// Read by searches once forgotten, then from the cache.
	s.stored.forget()
	h0, m0 = hits(), misses()
	if again := search(); !slices.Equal(first, again) {
		t.Fatal("the searches found other pages reading the blocks")
	}
	h1, m1 := hits(), misses()
	if m1 == m0 {
		t.Fatal("no reads after forget")
	}
	if again := search(); !slices.Equal(first, again) {
		t.Fatal("the searches found other pages from what they kept")
	}
	if misses() != m1 || hits()-h1 <= h1-h0 {
		t.Fatalf("second searches: %v misses, %v hits (the first %v)", misses()-m1, hits()-h1, h1-h0)
	}
	s.stored.forget()
	s.stored.docs.max = 0 // keeps nothing
	if again := search(); !slices.Equal(first, again) {
		t.Fatal("the searches found other pages without the cache")
	}
}

func names(fields []string) []string {
	var out []string
	for _, f := range fields {
		n, _, _ := strings.Cut(f, "=")
		out = append(out, n)
	}
	return out
}
