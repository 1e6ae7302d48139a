package index

import (
	"testing"

	"github.com/blevesearch/bleve/v2/index/scorch"
)

// TestSegDocs: the cached numbers of block documents and their siblings
// are Bleve's own (InternalID), in every segment, and a deleted document
// has none.
func TestSegDocs(t *testing.T) {
	evs := blockTestEvents(t, 3000)
	idx, _ := writeBlockShardAs(t, evs, formatSplit)
	// The first block deleted: its segment keeps it, marked.
	b := idx.NewBatch()
	b.Delete(blockID(evs[0].Seq))
	if err := idx.Batch(b); err != nil {
		t.Fatal(err)
	}
	r := indexReader(t, idx)
	defer r.Close()
	snap := r.(*scorch.IndexSnapshot)
	checked := 0
	for lo := 0; lo < len(evs); lo += blockSize {
		block := blockID(evs[lo].Seq)
		for _, id := range []string{block, recordsID(block), sumsID(block), rareID(block), "c" + seqKey(evs[lo].Seq), "nosuch"} {
			want, err := snap.InternalID(id)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := blockDocs.number(snap, id)
			if ok != (want != nil) || ok && got != want.Value() {
				if id[0] == 'c' && !ok {
					continue // not a block's: left to Bleve
				}
				t.Fatalf("%s: number %d (%v), Bleve's %v", id, got, ok, want)
			}
			checked++
		}
	}
	if _, ok := blockDocs.number(snap, blockID(evs[0].Seq)); ok {
		t.Error("a deleted block found")
	}
	if checked < 4*len(evs)/blockSize {
		t.Errorf("%d ids checked", checked)
	}
}
