package index

import (
	"path/filepath"
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

// TestWarmShard: warmShard reads the ids of every segment of a shard's
// snapshot into the cache, and passes over a closed shard.
func TestWarmShard(t *testing.T) {
	idx, _ := writeBlockShardAs(t, blockTestEvents(t, 2000), formatSplit)
	r := indexReader(t, idx)
	defer r.Close()
	segs := r.(*scorch.IndexSnapshot).Segments()
	held := func() (n int) {
		blockDocs.mu.Lock()
		defer blockDocs.mu.Unlock()
		for _, ss := range segs {
			if _, ok := blockDocs.segs[ss.Segment()]; ok {
				n++
			}
		}
		return n
	}
	if n := held(); n != 0 {
		t.Fatalf("%d segments of a new shard cached", n)
	}
	warmShard(idx)
	if n := held(); n != len(segs) || n == 0 {
		t.Fatalf("%d of %d segments cached", n, len(segs))
	}
	closed, err := openShardWith(filepath.Join(t.TempDir(), "closed"), blockShardConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	warmShard(closed)
}
