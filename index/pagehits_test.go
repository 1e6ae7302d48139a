package index

import (
	"context"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	bindex "github.com/blevesearch/bleve_index_api"
)

// TestPageHitsByNumber: a page's hits are read by their document number
// while the shards are numbered as in the search, and by id once a merge
// has renumbered them, with the same hits either way, summaries or records.
func TestPageHitsByNumber(t *testing.T) {
	eventsLayoutOnly(t)
	ctx := context.Background()
	s := openStoreCfg(t, func(c *Config) { c.Shards = 2; c.CompactIdle = 0 })
	events := timedEvents(t, "p", time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC), 400)
	putInChunks(t, s, events, 23)
	// One segment a shard: no background merge left to renumber them
	// between the search and the reads below.
	mergeShards(t, s)
	req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 60, 0, false)
	req.Score = "none"
	req.SortByCustom(timeSort(true))
	res, err := s.search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 60 {
		t.Fatalf("%d hits, want 60", len(res.Hits))
	}
	var matches search.DocumentMatchCollection
	check := func(t *testing.T, by string, want float64) {
		for _, summary := range []bool{false, true} {
			before := counter(metricHitReads.WithLabelValues(by))
			hits, err := s.pageHits(matches, summary)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != len(res.Hits) {
				t.Fatalf("%d hits, want %d", len(hits), len(res.Hits))
			}
			for i, h := range hits {
				if h.Event.ID != res.Hits[i].ID || h.Event.Seq == 0 {
					t.Fatalf("summary %v: hit %d is %q (seq %d), want %q", summary, i, h.Event.ID, h.Event.Seq, res.Hits[i].ID)
				}
			}
			if got := counter(metricHitReads.WithLabelValues(by)) - before; got < want {
				t.Errorf("summary %v: %v hits read by %s, want at least %v", summary, got, by, want)
			}
		}
	}
	matches = res.Hits
	t.Run("numbered as searched", func(t *testing.T) { check(t, "number", 60) })
	// Renumbered as a merge renumbers (each hit's number now holds another
	// event, or none): every hit is found by id.
	matches = make(search.DocumentMatchCollection, len(res.Hits))
	for i, m := range res.Hits {
		c := *m
		c.IndexInternalID = bindex.NewIndexInternalID(nil, m.IndexInternalID.Value()+1)
		matches[i] = &c
	}
	t.Run("renumbered", func(t *testing.T) { check(t, "id", 60) })
	// And after a real merge, whichever way each is read.
	matches = res.Hits
	putInChunks(t, s, timedEvents(t, "q", time.Date(2025, 3, 4, 1, 0, 0, 0, time.UTC), 50), 50)
	mergeShards(t, s)
	t.Run("after a merge", func(t *testing.T) { check(t, "number", 0) })
}
