package index

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestSearchRelease: a released page's hits and their summaries' bytes go
// back for the next searches' pages, which come out as they would anew.
func TestSearchRelease(t *testing.T) {
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.CompactIdle = 0 })
	putInChunks(t, s, genEvents(t, rand.New(rand.NewPCG(7, 11)), 300), 40)
	req := SearchRequest{PageSize: 50, Summary: true}
	first, err := s.Search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if testLayout == LayoutBlocks && (first.pooled == nil || first.arena == nil) {
		t.Fatal("a page of blocks' hits in the summary view is not pooled")
	}
	// Deep copies: the hits' strings are the arena's, which later pages
	// overwrite once released.
	type seen struct{ id, name, arn, cursor, resources string }
	see := func(h Hit) seen {
		return seen{strings.Clone(h.Event.ID), strings.Clone(h.Event.Name), strings.Clone(h.Event.UserARN), strings.Clone(h.Cursor), strings.Clone(strings.Join(h.Event.Resources, "\x00"))} // Join returns a lone element as it is
	}
	var kept []seen
	for _, h := range first.Hits {
		kept = append(kept, see(h))
	}
	first.Release()
	if first.Hits != nil || first.pooled != nil || first.arena != nil {
		t.Fatalf("released result keeps %d hits", len(first.Hits))
	}
	first.Release() // twice is harmless
	// Other pages take the arrays and chunks and fill them anew.
	for _, q := range []string{"NOT eventName:" + kept[0].name, "", "eventName:" + kept[1].name} {
		res, err := s.Search(ctx, SearchRequest{Query: q, PageSize: 50, Summary: true})
		if err != nil {
			t.Fatal(err)
		}
		res.Release()
	}
	again, err := s.Search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Release()
	if len(again.Hits) != len(kept) || len(kept) != 50 {
		t.Fatalf("%d hits, then %d, want 50", len(kept), len(again.Hits))
	}
	for i, h := range again.Hits {
		if got := see(h); got != kept[i] {
			t.Fatalf("hit %d is %q after pages were released, %q before", i, got, kept[i])
		}
	}
}

// TestHitPool: an array back from the pool holds no event of its last
// page, whatever length it is taken at.
func TestHitPool(t *testing.T) {
	p := getHits(4)
	for i := range *p {
		(*p)[i].Event.ID, (*p)[i].Cursor = "old", "c"
	}
	putHits(p)
	if len(*p) != 0 {
		t.Fatalf("a pooled array has length %d", len(*p))
	}
	for _, n := range []int{2, 4, 9} {
		q := getHits(n)
		if len(*q) != n {
			t.Fatalf("getHits(%d) has %d hits", n, len(*q))
		}
		for i, h := range *q {
			if h.Event.ID != "" || h.Cursor != "" {
				t.Fatalf("getHits(%d): hit %d is %q", n, i, h.Event.ID)
			}
		}
		putHits(q)
	}
	putHits(nil)
}
