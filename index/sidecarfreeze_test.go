package index

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/codetrail/codetrail/index/record"
)

// TestFreezeClosed: once a block store starts a new partition, the
// previous one's sidecars go to their files (the warm loop's
// freezeClosed), its writers take no more batches, the newest partition's
// stay on the heap, and searches answer as before.
func TestFreezeClosed(t *testing.T) {
	ctx := context.Background()
	open := func(maxEvents uint64) *Store {
		cfg := DefaultConfig(t.TempDir())
		cfg.Shards, cfg.PartitionMaxEvents, cfg.Layout = 2, maxEvents, LayoutBlocks
		s, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	// ref keeps its one partition on the heap.
	s, ref := open(1500), open(0)
	evs := variedEvents(t, 3000)
	for _, st := range []*Store{s, ref} {
		for lo := 0; lo < len(evs); lo += 1000 {
			if _, err := st.Put(ctx, slices.Clone(evs[lo:lo+1000]), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.freezeClosed()
	if len(s.parts) != 2 || len(ref.parts) != 1 {
		t.Fatalf("%d and %d partitions, want 2 and 1", len(s.parts), len(ref.parts))
	}
	for i, p := range s.parts {
		for j, w := range p.blocks {
			frozen := w.side.mapped != nil
			if frozen != (i == 0) || w.unfrozen {
				t.Fatalf("partition %d shard %d: frozen %v (failed %v)", i, j, frozen, w.unfrozen)
			}
			_, err := os.Stat(p.sidecarPath(s.cfg.Dir, j))
			if (err == nil) != frozen {
				t.Fatalf("partition %d shard %d: frozen %v, its file: %v", i, j, frozen, err)
			}
			if frozen {
				if w.build != nil || w.words != nil {
					t.Fatal("a frozen writer keeps what writing needs")
				}
				if err := w.writeBatch(slices.Clone(evs[:10])); err == nil {
					t.Fatal("a frozen writer took a batch")
				}
			}
		}
	}
	// Ids of the frozen partition are found: by Get, and a duplicate is
	// not stored again.
	for _, i := range []int{5, 1999, 2500} {
		if g, err := s.Get(ctx, evs[i].ID, Scope{}); err != nil || g.Event.ID != evs[i].ID {
			t.Fatalf("get %s: %v %v", evs[i].ID, g.Event.ID, err)
		}
	}
	if _, err := s.Put(ctx, []record.Event{evs[7]}, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Events != 3000 {
		t.Fatalf("%d events after a duplicate of a frozen partition's", st.Events)
	}
	for _, q := range []string{"", "NOT eventName:GitPush", "resource:*p1*", "u7", "errorCode:E2 OR awsRegion:us-east-2", "codebuild"} {
		for _, order := range []Order{OrderNewest, OrderOldest} {
			// With facets and a histogram, and without (a common word's
			// total is then its count).
			for _, r := range []SearchRequest{
				{Query: q, Order: order, PageSize: 300, Facets: []FacetRequest{{Field: "eventName"}, {Field: multiResource}, {Field: "errorCode"}}, HistogramInterval: "1h"},
				{Query: q, Order: order, PageSize: 300},
			} {
				got, want := allPages(t, s, r), allPages(t, ref, r)
				if !slices.Equal(got.ids, want.ids) || got.total != want.total || fmt.Sprint(got.facets) != fmt.Sprint(want.facets) || fmt.Sprint(got.histogram) != fmt.Sprint(want.histogram) {
					t.Fatalf("%q %v: %d events, total %d, facets %v\nwant %d, %d, %v", q, order, len(got.ids), got.total, got.facets, len(want.ids), want.total, want.facets)
				}
			}
		}
	}
}

// TestFrozenDamage: a frozen sidecar's file that is not what freeze wrote
// is refused, never read.
func TestFrozenDamage(t *testing.T) {
	evs := blockTestEvents(t, 600)
	idx, _ := writeBlockShardAs(t, evs, formatOne)
	side := storedSidecar(t, idx)
	dir := t.TempDir()
	path := filepath.Join(dir, "good.sidecar")
	st := &shardState{side: side, all: newAllCounts(), ids: []uint64{1, 2, 3}}
	if err := st.write(path); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.read(&fileMap{data: good}); err != nil {
		t.Fatalf("the file as written: %v", err)
	}
	other := &shardState{side: newSidecar(), all: st.all}
	other.side.next = side.next + 1
	for _, c := range []struct {
		name string
		data []byte
		st   *shardState
	}{
		{"empty", nil, st},
		{"magic", append([]byte("xx"), good[2:]...), st},
		{"version", binary.LittleEndian.AppendUint32([]byte(sidecarMagic), 99), st},
		{"truncated", good[:len(good)-5], st},
		{"cut in half", good[:len(good)/2], st},
		{"another sidecar's", good, other},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := c.data
			if c.name == "version" {
				data = append(data, good[len(data):]...)
			}
			_, err := c.st.read(&fileMap{data: data})
			if err == nil || !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("read: %v", err)
			}
		})
	}
	// A frozen sidecar takes no block.
	fz, err := side.freeze(filepath.Join(dir, "frozen.sidecar"))
	if err != nil {
		t.Fatal(err)
	}
	if err := fz.addBlock(eventIndex{}, nil); err == nil {
		t.Fatal("a block added to a frozen sidecar")
	}
}

// freeze freezes a sidecar alone (shardState.freeze), for the tests.
func (s *sidecar) freeze(path string) (*sidecar, error) {
	st, err := (&shardState{side: s, all: newAllCounts()}).freeze(path)
	if err != nil {
		return nil, err
	}
	return st.side, nil
}

// FuzzFrozenShard: whatever a frozen shard's file holds, reading it and
// everything read from it returns values or an error, never a panic.
func FuzzFrozenShard(f *testing.F) {
	st := fuzzShardState()
	path := filepath.Join(f.TempDir(), "seed.sidecar")
	if err := st.write(path); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := fuzzShardState().read(&fileMap{data: seed}); err != nil {
		f.Fatalf("the seed: %v", err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		fz, err := fuzzShardState().read(&fileMap{data: data})
		if err != nil {
			return
		}
		for i := range fz.side.fields {
			sf := &fz.side.fields[i]
			_ = sf.each(func(v string, ev *sidecarValue) bool {
				if ev.bm != nil {
					_ = ev.bm.GetCardinality()
				}
				_, _, _ = sf.lookup(v)
				return true
			})
			_, _, _ = sf.lookup("x")
			_ = fz.all.facet(i)
			_ = fz.all.count(i, "x")
		}
		_, _, _ = fz.frozenWords.total("word")
		for o := range fz.side.next {
			_ = fz.side.times[o]
		}
		_ = len(fz.ids)
	})
}

// fuzzShardState is a small shard's state of each kind of value: few
// events, a bitmap, value counts, a word and ids.
func fuzzShardState() *shardState {
	s := newSidecar()
	s.next, s.times = 40, make([]uint32, 40)
	sf := &s.fields[0]
	sf.values["x"], sf.values["y"] = 0, 1
	bm := roaring.New()
	bm.AddRange(0, 30)
	sf.vals = []sidecarValue{{few: []uint32{1, 3}}, {bm: bm}}
	all := newAllCounts()
	all.values[0]["x"], all.values[0]["y"] = 2, 30
	return &shardState{side: s, all: all, words: map[string]int{"word": 0}, tots: []wordTotal{{7, 1}}, ids: []uint64{1 << 32, 2 << 32}}
}
