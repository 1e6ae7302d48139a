package index

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSearchRelease: a released page's hits go back for the next search's
// page, cleared, and what the caller copied from them (the server's
// messages share their strings and slices) stays as it was.
func TestSearchRelease(t *testing.T) {
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.CompactIdle = 0 })
	putInChunks(t, s, genEvents(t, rand.New(rand.NewPCG(7, 11)), 300), 40)
	req := SearchRequest{PageSize: 50, Summary: true}
	first, err := s.Search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if testLayout == LayoutBlocks && first.pooled == nil {
		t.Fatal("a page of blocks' hits is not pooled")
	}
	kept := slices.Clone(first.Hits)
	first.Release()
	if first.Hits != nil || first.pooled != nil {
		t.Fatalf("released result keeps %d hits", len(first.Hits))
	}
	first.Release() // twice is harmless
	// The next pages take the array (or a new one) and fill it anew.
	for _, q := range []string{"NOT eventName:" + kept[0].Event.Name, ""} {
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
		k := kept[i]
		if k.Event.ID != h.Event.ID || k.Event.Name != h.Event.Name || k.Event.UserARN != h.Event.UserARN || k.Cursor != h.Cursor || !slices.Equal(k.Event.Resources, h.Event.Resources) {
			t.Fatalf("hit %d kept from a released page as %+v, the same search gives %+v", i, k.Event, h.Event)
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
