package index

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	bindex "github.com/blevesearch/bleve_index_api"
	"github.com/klauspost/compress/s2"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// blockTestEvents is generated events and a few written here for the
// cases the generator does not make (a typed value and a path holding a
// newline, no eventTime, a readOnly in upper case), numbered from 1.
func blockTestEvents(t testing.TB, n int) []record.Event {
	t.Helper()
	evs := generated(t, n)
	for i, raw := range []string{
		`{"eventVersion":"1.08","eventID":"hand-1","eventTime":"2026-01-02T03:04:05Z","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","userAgent":"first line\nsecond line","readOnly":"TRUE","requestParameters":{"projectName":"hand made","note":"two\nlines","count":7}}`,
		`{"eventVersion":"1.08","eventID":"hand-2","eventSource":"codebuild.amazonaws.com","eventName":"StopBuild","requestParameters":{"projectName":"no time at all"}}`,
		`{"eventVersion":"1.08","eventID":"hand-3","eventTime":"2026-01-02T03:04:06Z","eventSource":"codecommit.amazonaws.com","eventName":"GitPush","requestParameters":{"weird\nkey":"v"}}`,
	} {
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatalf("hand event %d: %v", i, err)
		}
		// Among the generated ones, so that blocks mix both.
		at := (i*2 + 1) * len(evs) / 7
		evs = slices.Insert(evs, at, ev)
	}
	for i := range evs {
		evs[i].Seq = uint64(i + 1)
	}
	return evs
}

// blockTerms is every (field, term) of ev's document as the event index
// hashes them: documentFields through each field's tokenizer, and eventID.
func blockTerms(ev *record.Event) map[[2]string]bool {
	out := map[[2]string]bool{{"eventID", ev.ID}: true}
	for _, f := range documentFields(ev) {
		for _, tk := range f.tok.tokens(slices.Clone(f.value), nil) {
			out[[2]string{f.name, string(tk.term)}] = true
		}
	}
	return out
}

// TestBlockEventIndex builds blocks and checks that their event index
// lists, for every term of every event's document, the event, and under
// each hash no event without the term unless it says the hash is shared;
// and that it keeps each event's sort key.
func TestBlockEventIndex(t *testing.T) {
	evs := blockTestEvents(t, 1500)
	b := newBlockBuilder(nil)
	for lo := 0; lo < len(evs); lo += blockSize {
		blk := evs[lo:min(lo+blockSize, len(evs))]
		doc, err := b.build(blk)
		if err != nil {
			t.Fatal(err)
		}
		x := storedIndex(t, doc)
		holders := map[[2]string][]int{}
		for o := range blk {
			for term := range blockTerms(&blk[o]) {
				holders[term] = append(holders[term], o)
			}
			want := eventKey{noTime, blk[o].Seq}
			if tm, ok := indexedTime(&blk[o]); ok {
				want.nanos = tm.UnixNano()
			}
			if got := x.key(o); got != want {
				t.Fatalf("block at %d, event %d: key %v, want %v", lo, o, got, want)
			}
		}
		rare, _ := x.rare()
		for term, os := range holders {
			ix := x.eventIndex
			if rareField(term[0]) {
				ix = rare
			}
			set, shared, err := ix.lookup(termHash(term[0], []byte(term[1])))
			if err != nil {
				t.Fatal(err)
			}
			var want eventSet
			for _, o := range os {
				want.add(o)
			}
			if set.and(want) != want || !shared && set != want {
				t.Fatalf("block at %d: %s:%q holds %v, index says %v (shared %v)", lo, term[0], term[1], want, set, shared)
			}
		}
		if set, _, _ := x.lookup(termHash("eventName", []byte("NoSuchEventName"))); !set.empty() {
			t.Fatalf("block at %d: a term no event holds has events %v", lo, set)
		}
	}
}

// storedOf is the stored value of the field name of doc.
func storedOf(tb testing.TB, doc interface {
	VisitFields(bindex.FieldVisitor)
}, name string) []byte {
	tb.Helper()
	var v []byte
	doc.VisitFields(func(f bindex.Field) {
		if f.Name() == name {
			v = f.Value()
		}
	})
	if v == nil {
		tb.Fatalf("no stored %s", name)
	}
	return v
}

// storedIndex is the event indexes doc stores (as built, both in it),
// decoded.
func storedIndex(tb testing.TB, doc interface {
	VisitFields(bindex.FieldVisitor)
}) blockIndexes {
	tb.Helper()
	x, err := parseEventIndex(storedOf(tb, doc, fieldTyped))
	if err != nil {
		tb.Fatal(err)
	}
	rare, err := parseEventIndex(storedOf(tb, doc, fieldRare))
	if err != nil {
		tb.Fatal(err)
	}
	if rare.events != x.events {
		tb.Fatalf("%d events in the rare terms' index, %d in the typed", rare.events, x.events)
	}
	return blockIndexes{eventIndex: x, rare: func() (eventIndex, error) { return rare, nil }}
}

// TestEventIndexShared writes hashes shared by two terms (told apart by
// their check) and postings of both kinds, and reads them back.
func TestEventIndexShared(t *testing.T) {
	keys := make([]eventKey, 40)
	for i := range keys {
		keys[i] = eventKey{int64(i) * 1e9, uint64(100 + i)}
	}
	var pairs []uint64
	for o := range 40 {
		pairs = append(pairs, termPair(7, 1, o)) // 40 events: a bitset
	}
	pairs = append(pairs, termPair(9, 1, 3), termPair(9, 2, 5), termPair(9, 1, 3)) // shared
	pairs = append(pairs, termPair(11, 4, 39), termPair(11, 4, 2))                 // one term
	ix, _, _ := encodeEventIndex(nil, pairs, nil, keys)
	x, err := parseEventIndex(ix)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hash   uint32
		want   []int
		shared bool
	}{
		{7, ordinals(0, 40), false},
		{9, []int{3, 5}, true},
		{11, []int{2, 39}, false},
		{8, nil, false},
		{12, nil, false},
	} {
		set, shared, err := x.lookup(tc.hash)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		set.each(func(o int) { got = append(got, o) })
		if !slices.Equal(got, tc.want) || shared != tc.shared {
			t.Errorf("hash %d: %v shared %v, want %v shared %v", tc.hash, got, shared, tc.want, tc.shared)
		}
	}
	if k := x.key(39); k != keys[39] {
		t.Errorf("key 39: %v", k)
	}
}

func ordinals(lo, hi int) []int {
	var out []int
	for i := lo; i < hi; i++ {
		out = append(out, i)
	}
	return out
}

// TestEventIndexDamaged: a cut or altered index is refused or read without
// a panic, and a posting naming events past the block is an error.
func TestEventIndexDamaged(t *testing.T) {
	keys := []eventKey{{1, 1}, {2, 2}}
	ix, _, _ := encodeEventIndex(nil, []uint64{termPair(5, 0, 0), termPair(5, 0, 1), termPair(6, 0, 1)}, nil, keys)
	for _, cut := range []int{0, 1, 8, len(ix) - 1} {
		if _, err := parseEventIndex(ix[:cut]); err == nil {
			t.Errorf("cut to %d bytes: no error", cut)
		}
	}
	bad := slices.Clone(ix)
	bad[len(bad)-1] = 200 // the posting of hash 6 names event 200 of 2
	x, err := parseEventIndex(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.lookup(6); err == nil {
		t.Error("a posting past the block's events: no error")
	}
}

func FuzzEventIndex(f *testing.F) {
	ix, _, _ := encodeEventIndex(nil, []uint64{termPair(5, 0, 0), termPair(5, 1, 1), termPair(6, 0, 1)}, nil, []eventKey{{1, 1}, {noTime, 2}})
	f.Add(ix, uint32(5))
	f.Add(ix, uint32(6))
	f.Add(s2.Encode(nil, ix), uint32(6))
	f.Fuzz(func(t *testing.T, b []byte, h uint32) {
		// As stored (s2), then as decoded.
		if x, err := decodeEventIndex(b); err == nil {
			x.lookup(h)
		}
		x, err := parseEventIndex(b)
		if err != nil {
			return
		}
		set, _, err := x.lookup(h)
		if err == nil && set.and(x.all()) != set {
			t.Fatalf("lookup returned events past the block: %v", set)
		}
		x.key(x.events - 1)
	})
}

// TestBlockRecords: the records of a block come back as they went in,
// whole or one at a time in any order (only the asked-for frames are
// decompressed), from full and partial blocks, from version 1 blocks too;
// damaged ones are an error.
func TestBlockRecords(t *testing.T) {
	evs := blockTestEvents(t, 300)[:blockSize]
	c, err := codec()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, blockFrame - 1, blockFrame, blockFrame + 1, 37, blockSize} {
		var recs []byte
		for i := range evs[:n] {
			recs = appendBlockRecord(recs, &evs[i])
		}
		v1 := c.enc.EncodeAll(recs, []byte{blockRecsV1})
		for name, enc := range map[string][]byte{"v2": encodeBlockRecords(recs), "v1": v1, "raw": append([]byte{blobRaw}, recs...)} {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				got, err := decodeBlockRecords(enc, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != n {
					t.Fatalf("%d records, want %d", len(got), n)
				}
				for i, r := range got {
					if r.kind != evs[i].Kind || !bytes.Equal(r.raw, evs[i].Raw) {
						t.Fatalf("record %d differs", i)
					}
				}
				// One at a time, backwards and skipping: each record is its
				// own, and a frame never asked for stays compressed.
				br, err := openBlockRecords(enc)
				if err != nil {
					t.Fatal(err)
				}
				for o := n - 1; o >= 0; o -= 3 {
					r, err := br.get(o)
					if err != nil {
						t.Fatal(err)
					}
					if r.kind != evs[o].Kind || !bytes.Equal(r.raw, evs[o].Raw) {
						t.Fatalf("record %d differs", o)
					}
				}
				if _, err := br.get(n); err == nil {
					t.Errorf("record %d of %d: no error", n, n)
				}
				// Only asked records, decoded into pooled buffers: what a
				// reader copied stays when the buffers are reused.
				ords := []int{n - 1, n / 2, 0}
				var kept [][]byte
				for round := range 3 {
					ar, err := openBlockRecordsAt(enc, ords)
					if err != nil {
						t.Fatal(err)
					}
					for _, o := range ords {
						r, err := ar.get(o)
						if err != nil || !bytes.Equal(r.raw, evs[o].Raw) {
							t.Fatalf("record %d asked for: %v", o, err)
						}
						if round == 0 {
							kept = append(kept, slices.Clone(r.raw))
						}
					}
					if o := n / 3; name == "v2" && o/blockFrame != 0 && o/blockFrame != (n/2)/blockFrame && o/blockFrame != (n-1)/blockFrame {
						if _, err := ar.get(o); err == nil {
							t.Errorf("record %d not asked for: read", o)
						}
					}
					ar.release()
				}
				for i, o := range ords {
					if !bytes.Equal(kept[i], evs[o].Raw) {
						t.Fatalf("record %d copied, changed once its buffer was reused", o)
					}
				}
				if name == "v2" && n > 2*blockFrame {
					br, _ := openBlockRecords(enc)
					if _, err := br.get(blockFrame); err != nil {
						t.Fatal(err)
					}
					if br.frames[0] == nil || br.frames[1] != nil || br.frames[2] == nil {
						t.Errorf("after record %d, frames decoded: %v %v %v (want only the second)", blockFrame, br.frames[0] == nil, br.frames[1] == nil, br.frames[2] == nil)
					}
				}
			})
		}
		if n == blockSize {
			if enc := encodeBlockRecords(recs); len(enc) > len(recs)/3 {
				t.Errorf("%d events' records compress to %d bytes of %d", n, len(enc), len(recs))
			}
		}
	}

	var recs []byte
	for i := range evs[:40] {
		recs = appendBlockRecord(recs, &evs[i])
	}
	enc := encodeBlockRecords(recs)
	// A frame holding a record less than its table says.
	short := []byte{blockRecsV2, 2, 2}
	one := c.enc.EncodeAll(appendBlockRecord(nil, &evs[0]), nil)
	short = append(binary.AppendUvarint(short, uint64(len(one))), one...)
	for name, bad := range map[string][]byte{
		"nil":           nil,
		"version":       {9},
		"raw damaged":   {blobRaw, byte(record.KindCloudTrail), 50, 'x'},
		"half":          enc[:len(enc)/2],
		"one byte less": enc[:len(enc)-1],
		"no records":    {blockRecsV2, 0, 16},
		"frame of 0":    {blockRecsV2, 1, 0, 0},
		"too many":      binary.AppendUvarint([]byte{blockRecsV2}, blockSize+1),
		"short frame":   short,
		"v1 damaged":    c.enc.EncodeAll([]byte{1, 9, 'x'}, []byte{blockRecsV1}),
	} {
		if _, err := decodeBlockRecords(bad, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// blockSummaries is what the block builder stores as the summaries of evs.
func blockSummaries(evs []record.Event) []byte {
	var sums []byte
	for i := range evs {
		sums = appendBlockPart(sums, evs[i].Kind, summaryPayload(&evs[i]))
	}
	return encodeBlockSummaries(sums)
}

// TestBlockSummaries: a block's summaries read whole or only those asked
// for give each event's typed fields, each in a buffer of its own, and
// damage is an error.
func TestBlockSummaries(t *testing.T) {
	evs := summaryEvents(t)
	for _, n := range []int{1, blockFrame - 1, blockFrame + 1, 37, blockSize} {
		blk := evs[:n]
		enc := blockSummaries(blk)
		if enc[0] != blockSumsV1 {
			t.Fatalf("version %#x, want %#x", enc[0], blockSumsV1)
		}
		all, err := decodeBlockRecords(enc, nil)
		if err != nil || len(all) != n {
			t.Fatalf("%d events: %d summaries, %v", n, len(all), err)
		}
		ords := []int{n - 1, n / 2, 0}
		at, err := openBlockRecordsAt(enc, ords)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ords {
			one, err := at.get(o)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []blockRecord{all[o], one} {
				ev, err := parseSummaryPayload(r.raw)
				if err != nil || r.kind != blk[o].Kind {
					t.Fatalf("summary %d of %d (kind %d): %v", o, n, r.kind, err)
				}
				sameSummary(t, ev, blk[o])
			}
		}
		// The reader is pooled: what was copied out of it stays once its
		// buffers are read into again.
		kept := slices.Clone(all[0].raw)
		at.release()
		for range 3 {
			again, err := openBlockRecordsAt(enc, ords)
			if err != nil {
				t.Fatal(err)
			}
			if r, err := again.get(0); err != nil || !bytes.Equal(r.raw, kept) {
				t.Fatalf("summary 0 read again: %v", err)
			}
			again.release()
		}
		if n == blockSize {
			t.Logf("%d summaries: %d bytes, %.0f an event", n, len(enc), float64(len(enc))/float64(n))
		}
	}
	enc := blockSummaries(evs[:40])
	for name, bad := range map[string][]byte{
		"half":          enc[:len(enc)/2],
		"one byte less": enc[:len(enc)-1],
		"frame flipped": append(slices.Clone(enc[:len(enc)-20]), bytes.Repeat([]byte{0xff}, 20)...),
		"zstd frame":    append([]byte{blockSumsV1}, encodeBlockRecords(appendBlockRecord(nil, &evs[0]))[1:]...),
	} {
		if got, err := decodeBlockRecords(bad, nil); err == nil {
			for _, r := range got {
				if _, perr := parseSummaryPayload(r.raw); perr != nil {
					err = perr
				}
			}
			if err == nil {
				t.Errorf("%s: no error", name)
			}
		}
	}
}

func FuzzDecodeBlockRecords(f *testing.F) {
	evs := generated(f, 40)
	var recs []byte
	for i := range evs {
		recs = appendBlockRecord(recs, &evs[i])
	}
	f.Add(encodeBlockRecords(recs))
	f.Add(blockSummaries(evs))
	f.Add(encodeBlockRecords(append([]byte{byte(record.KindCloudTrail), 2}, "{}"...)))
	f.Add(append([]byte{blobRaw}, byte(record.KindCodeCatalyst), 1, 'x'))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := decodeBlockRecords(b, nil)
		if err == nil && len(recs) > blockSize {
			t.Fatalf("%d records", len(recs))
		}
		// Record by record, backwards: the same records or an error.
		br, err := openBlockRecords(b)
		if err != nil {
			return
		}
		for o := br.len() - 1; o >= 0; o-- {
			r, err := br.get(o)
			if err != nil {
				return
			}
			if o < len(recs) && (r.kind != recs[o].kind || !bytes.Equal(r.raw, recs[o].raw)) {
				t.Fatalf("record %d differs read alone", o)
			}
		}
	})
}

// TestWordCounts: once a word is common, its count is the events holding
// it in the blocks after, and the deltas a batch stores add up to the
// same counts.
func TestWordCounts(t *testing.T) {
	evs := blockTestEvents(t, 3000)
	w := newWordCounts()
	b := newBlockBuilder(w)
	stored := newWordCounts()
	since := map[string]int{} // the first block a word was common in
	holding := map[string][]int{}
	for lo, blk := 0, 0; lo < len(evs); lo, blk = lo+blockSize, blk+1 {
		part := evs[lo:min(lo+blockSize, len(evs))]
		for _, word := range w.words {
			if _, ok := since[word]; !ok {
				since[word] = blk
			}
		}
		if _, err := b.build(part); err != nil {
			t.Fatal(err)
		}
		for i := range part {
			for term := range blockTerms(&part[i]) {
				if term[0] == fieldText {
					holding[term[1]] = append(holding[term[1]], blk)
				}
			}
		}
		if blk%3 == 2 || lo+blockSize >= len(evs) {
			if err := stored.apply(w.delta(nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if w.index.len() < 50 || w.index.len() != len(w.words) {
		t.Fatalf("only %d common words (%d in the table)", len(w.words), w.index.len())
	}
	for word, first := range since {
		want := uint64(0)
		for _, blk := range holding[word] {
			if blk >= first {
				want++
			}
		}
		got, from, _ := w.total(word)
		s, sfrom, _ := stored.total(word)
		if got != want || s != want || from != evs[first*blockSize].Seq || sfrom != from {
			t.Fatalf("%q: counted %d from %d, deltas %d from %d; %d events hold it from block %d (sequence %d)",
				word, got, from, s, sfrom, want, first, evs[first*blockSize].Seq)
		}
	}
	if stored.index.len() != w.index.len() {
		t.Errorf("%d common words from the deltas, %d counted", stored.index.len(), w.index.len())
	}
	if _, _, ok := w.total("nosuchword"); ok {
		t.Error("a word never seen is common")
	}
	before := stored.index.len()
	if err := stored.apply([]byte{5, 'a'}); err == nil || stored.index.len() != before {
		t.Errorf("damaged delta: err %v, %d words (was %d)", err, stored.index.len(), before)
	}
}

// TestWordTable: words are found by hash and text, also when their hashes
// are the same or share a slot, across the table's growth.
func TestWordTable(t *testing.T) {
	var tab wordTable
	var words []string
	for i := range 5000 {
		w := fmt.Sprintf("w%d", i)
		h := wordHash(w)
		if i%3 == 0 {
			h = 42 // many words of one hash
		}
		if _, ok := tab.find(h, w, words); ok {
			t.Fatalf("%q found before it was added", w)
		}
		words = append(words, w)
		tab.add(h, len(words)-1)
		for j := 0; j <= i; j += 97 {
			hj := wordHash(words[j])
			if j%3 == 0 {
				hj = 42
			}
			if k, ok := tab.find(hj, words[j], words); !ok || k != j {
				t.Fatalf("after %d words: %q found as %d (%v)", i+1, words[j], k, ok)
			}
		}
	}
	if _, ok := tab.find(42, "nosuchword", words); ok {
		t.Error("a word never added found")
	}
	if tab.len() != len(words) || 2*tab.len() > len(tab.slots) {
		t.Errorf("%d words in %d slots", tab.len(), len(tab.slots))
	}
}

// writeBlockShard writes evs as block documents into a one-shard Bleve index on
// disk and returns it with the stored parts of each block by id.
func writeBlockShard(t *testing.T, evs []record.Event) (bleve.Index, map[string]storedBlock) {
	t.Helper()
	return writeBlockShardAs(t, evs, formatOne)
}

// Formats a block is stored in: in one document (formatOne: the typed
// and the rare terms' event indexes raw, the records and the summaries in
// frames), in four (formatSplit: the records, the summaries and the rare
// terms' index in documents of their own, as the blockWriter writes), with
// one event index of all terms raw and the records apart, no summaries
// (formatAllIndex, as 5482a42 wrote), and as the first writer did
// (formatV1: in one document, one event index with s2, the records in a
// single frame, no summaries).
const (
	formatOne = iota
	formatSplit
	formatAllIndex
	formatV1
)

// writeBlockShardAs is writeBlockShard with the blocks in a format.
func writeBlockShardAs(t *testing.T, evs []record.Event, format int) (bleve.Index, map[string]storedBlock) {
	t.Helper()
	c, err := codec()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := bleve.NewUsing(filepath.Join(t.TempDir(), "shard"), newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	b := newBlockBuilder(newWordCounts())
	batch := idx.NewBatch()
	for lo := 0; lo < len(evs); lo += blockSize {
		blk := evs[lo:min(lo+blockSize, len(evs))]
		doc, err := b.build(blk)
		if err != nil {
			t.Fatal(err)
		}
		docs := []*document.Document{doc}
		// One index of all terms, as blocks held before the rare terms'
		// went apart: from the builder's pairs of both (sorted, still
		// pairs).
		all, _, _ := encodeEventIndex(nil, append(slices.Clone(b.pairs), b.rare...), nil, b.keys)
		switch format {
		case formatSplit:
			block, recs, sums, rare := splitBlock(doc)
			docs = []*document.Document{block, recs, sums, rare}
		case formatAllIndex, formatV1:
			var recs []byte
			for i := range blk {
				recs = appendBlockRecord(recs, &blk[i])
			}
			old := document.NewDocument(doc.ID())
			for _, f := range doc.Fields {
				switch f.Name() {
				case fieldRare, fieldSums:
					continue
				case fieldTyped:
					f = document.NewTextFieldWithIndexingOptions(fieldIndex, nil, all, optStoreOnly)
					if format == formatV1 {
						f = document.NewTextFieldWithIndexingOptions(fieldEvents, nil, s2.Encode(nil, all), optStoreOnly)
					}
				case fieldBlob:
					if format == formatV1 {
						f = document.NewTextFieldWithIndexingOptions(fieldBlob, nil, c.enc.EncodeAll(recs, []byte{blockRecsV1}), optStoreOnly)
					}
				}
				old.AddField(f)
			}
			docs = []*document.Document{old}
			if format == formatAllIndex {
				block, recs, _, _ := splitBlock(old)
				docs = []*document.Document{block, recs}
			}
		}
		for _, d := range docs {
			if err := batch.IndexAdvanced(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A partition holds other documents beside blocks (a batch's word
	// counts), which no search of blocks may return.
	counts := document.NewDocument("c" + seqKey(evs[0].Seq))
	counts.AddField(document.NewTextFieldWithIndexingOptions("_counts", nil, []byte{1, 'a', 1}, optStoreOnly))
	if err := batch.IndexAdvanced(counts); err != nil {
		t.Fatal(err)
	}
	if err := idx.Batch(batch); err != nil {
		t.Fatal(err)
	}
	blocks := map[string]storedBlock{}
	for lo := 0; lo < len(evs) && format == formatOne; lo += blockSize {
		id := blockID(evs[lo].Seq)
		doc, err := idx.Document(id)
		if err != nil || doc == nil {
			t.Fatalf("block %s: %v", id, err)
		}
		blocks[id] = storedBlock{storedIndex(t, doc), blockBloom{storedOf(t, doc, fieldBloom)}, storedOf(t, doc, fieldBlob)}
	}
	return idx, blocks
}

type storedBlock struct {
	x     blockIndexes
	bloom blockBloom
	blob  []byte
}

// TestBlockPlan runs queries of every kind on blocks written to a real
// Bleve index: the candidate blocks (Bleve's search on block documents and
// the Bloom filters) hold every match, and the test inside each block finds
// exactly the events the in-memory matcher (the live subscribers', which
// decides as a search of the per-event layout) accepts. Queries the event
// index decides must read no record; the others must.
func TestBlockPlan(t *testing.T) {
	evs := blockTestEvents(t, 3000)
	idx, blocks := writeBlockShard(t, evs)
	s := &evs[1234]
	var word, phrase, kvPath, kvValue string
	for l := range s.Leaves.All() {
		toks := analyzeText(l.Value)
		if !typedLeaves[l.Path] && kvPath == "" && len(l.Value) < 100 && strings.Contains(l.Path, ".") {
			kvPath, kvValue = l.Path, l.Value
		}
		if len(toks) >= 3 && phrase == "" {
			phrase = l.Value
		}
		if len(toks) == 1 && word == "" && !typedLeaves[l.Path] {
			word = toks[0]
		}
	}
	if word == "" || kvPath == "" || phrase == "" {
		t.Fatalf("event %d: no word or path to query (%q %q)", s.Seq, word, kvPath)
	}
	term := func(f, v string) query.Node { return query.Term{Field: f, Value: v} }
	and := func(n ...query.Node) query.Node { return query.And{Clauses: n} }
	or := func(n ...query.Node) query.Node { return query.Or{Clauses: n} }
	not := func(n query.Node) query.Node { return query.Not{Clause: n} }
	tm := func(ev *record.Event) string { return ev.Time.UTC().Format(time.RFC3339Nano) }
	oldest, newest := s.Time, s.Time
	for i := range evs {
		if !evs[i].Time.IsZero() && !strings.HasPrefix(evs[i].ID, "hand-") {
			oldest, newest = minTime(oldest, evs[i].Time), maxTime(newest, evs[i].Time)
		}
	}
	at := func(f float64) string {
		return oldest.Add(time.Duration(f * float64(newest.Sub(oldest)))).UTC().Format(time.RFC3339Nano)
	}
	mid := at(0.5)
	cases := []struct {
		name  string
		q     query.Node
		exact bool // decided on the event index alone
		wide  bool // may read every block (NOT, ranges on paths)
	}{
		{"all", query.MatchAll{}, true, false},
		{"eventName", term("eventName", s.Name), true, false},
		{"source+name", and(term("eventSource", s.Source), term("eventName", s.Name)), true, false},
		{"name OR name", or(term("eventName", s.Name), term("eventName", "StopBuild")), true, false},
		{"NOT name", not(term("eventName", s.Name)), true, false},
		{"service AND NOT errorCode", and(term("service", s.Service), not(query.Exists{Field: "errorCode"})), true, false},
		{"exists", query.Exists{Field: "errorCode"}, true, false},
		{"resource", term("resource", s.Resources[0]), true, false},
		{"user arn", term("userIdentity.arn", s.UserARN), true, false},
		{"word", term("", word), true, false},
		{"two words", term("", phrase), true, false},
		{"word OR name", or(term("", word), term("eventName", "GitPush")), true, false},
		{"kv", term(kvPath, kvValue), true, false},
		{"eventID", term("eventID", s.ID), true, false},
		{"requestID", term("requestID", s.RequestID), true, false},
		{"readOnly upper", term("readOnly", "TRUE"), true, false},
		{"time day", term("eventTime", s.Time.UTC().Format("2006-01-02")), true, false},
		{"time range", query.Range{Field: "eventTime", Min: at(0.25), Max: tm(s), MinInclusive: true}, true, false},
		{"time open", query.Range{Field: "eventTime", Min: mid, MinInclusive: false}, true, false},
		{"no time", not(query.Exists{Field: "eventTime"}), true, true},
		{"name AND time", and(term("eventName", s.Name), query.Range{Field: "eventTime", Max: tm(s), MaxInclusive: true}), true, false},
		{"no such term", term("eventName", "NoSuchEventName"), true, false},
		{"phrase", query.Term{Value: phrase, Phrase: true}, false, false},
		{"wildcard keyword", query.Wildcard{Field: "eventName", Pattern: s.Name[:3] + "*"}, true, false},
		{"regexp keyword", query.Regexp{Field: "eventName", Pattern: "(Start|Stop).*"}, true, false},
		{"wildcard text", query.Wildcard{Pattern: word[:min(3, len(word))] + "*"}, false, false},
		{"wildcard kv", query.Wildcard{Field: kvPath, Pattern: "*" + kvValue[len(kvValue)/2:]}, false, false},
		{"keyword range", query.Range{Field: "eventName", Min: "C", Max: "G", MinInclusive: true}, true, false},
		{"kv numeric range", query.Range{Field: "requestParameters.count", Min: "5", MinInclusive: true}, false, true},
		{"newline value", query.Regexp{Field: "userAgent", Pattern: "first[^x]*line"}, false, false},
		{"newline kv text", term("", "lines"), true, false},
		{"NOT wildcard", and(term("eventSource", "codebuild.amazonaws.com"), not(query.Wildcard{Field: "eventName", Pattern: "Start*"})), true, false},
	}
	c := compiler{now: newest}
	for _, tc := range cases {
		for _, terms := range []termSource{indexTerms(idx), nil} {
			name, exact := tc.name, tc.exact
			if terms == nil {
				// Patterns on typed fields not expanded: decided on records.
				name += "/records"
				exact = exact && !strings.Contains(tc.name, "keyword") && !strings.Contains(tc.name, "wildcard")
			}
			t.Run(name, func(t *testing.T) { checkPlan(t, c, tc.q, terms, idx, blocks, evs, exact, tc.wide) })
		}
	}
}

// checkPlan compiles q for blocks and checks it on the blocks of idx
// against the matcher on evs (see TestBlockPlan).
func checkPlan(t *testing.T, c compiler, q query.Node, terms termSource, idx bleve.Index, blocks map[string]storedBlock, evs []record.Event, exact, wide bool) {
	p, err := c.blockPlan(q, terms)
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for i := range evs {
		if p.match(newEventTerms(&evs[i])) {
			want = append(want, evs[i].Seq)
		}
	}
	req := bleve.NewSearchRequestOptions(p.candidates, len(blocks)+1, 0, false)
	res, err := idx.Search(req)
	if err != nil {
		t.Fatal(err)
	}
	cand := map[string]bool{}
	for _, h := range res.Hits {
		if _, ok := blocks[h.ID]; !ok {
			t.Fatalf("candidate %s is not a block", h.ID)
		}
		cand[h.ID] = true
	}
	var got []uint64
	parsed, read := 0, 0
	for _, id := range slices.Sorted(maps.Keys(blocks)) {
		blk := blocks[id]
		holds := false
		for o := range blk.x.events {
			_, holds = slices.BinarySearch(want, blk.x.key(o).seq)
			if holds {
				break
			}
		}
		if !cand[id] || !p.mayHold(blk.bloom) {
			if holds {
				t.Fatalf("block %s holds a match but is no candidate (Bleve %v)", id, cand[id])
			}
			continue
		}
		read++
		set, n, err := p.test(blk.x, func() (*blockRecords, error) { return openBlockRecords(blk.blob) })
		if err != nil {
			t.Fatal(err)
		}
		parsed += n
		set.each(func(o int) { got = append(got, blk.x.key(o).seq) })
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%d matches, want %d (query %s)\nmissing %v\nextra %v", len(got), len(want), query.Format(q),
			missing(want, got), missing(got, want))
	}
	if exact && parsed > 0 || !exact && len(want) > 0 && parsed == 0 {
		t.Errorf("%d records parsed for %d matches (exact %v)", parsed, len(want), exact)
	}
	if !wide && len(want) > 0 && len(want) < 40 && read == len(blocks) {
		t.Errorf("%d matches, and every block (%d) read", len(want), read)
	}
	t.Logf("%d matches, %d of %d blocks read, %d records parsed", len(want), read, len(blocks), parsed)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// missing is the values of a not in b (both sorted).
func missing(a, b []uint64) []uint64 {
	var out []uint64
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); !ok {
			out = append(out, v)
		}
	}
	if len(out) > 10 {
		out = append(out[:10:10], 0)
	}
	return out
}

// Each termPair's check must fit the 24 bits it keeps.
func TestTermPair(t *testing.T) {
	p := termPair(0xdeadbeef, 0xffabcdef, 200)
	if p>>32 != 0xdeadbeef || byte(p>>24) != 200 || p&0xffffff != 0xabcdef {
		t.Fatalf("%x", p)
	}
}

// docStored reads a block of idx by its id.
func docStored(idx bleve.Index) blockStored {
	return func(m *search.DocumentMatch, fn storedVisit) error {
		return visitDocument(idx, m.ID, plainVisit(fn))
	}
}

// TestBlockPages pages through the matches of queries on blocks, newest
// and oldest first, with the sort key of each page's last event as the
// token, and checks the pages against the matcher's matches in order, and
// the count against their number.
func TestBlockPages(t *testing.T) {
	evs := blockTestEvents(t, 3000)
	for format, name := range []string{"one document", "records, summaries and rare terms apart", "one index, records apart", "version 1"} {
		t.Run(name, func(t *testing.T) {
			idx, _ := writeBlockShardAs(t, evs, format)
			stored, done, err := shardStored(idx, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			testBlockPages(t, evs, idx, stored, format == formatOne || format == formatSplit)
		})
	}
}

func testBlockPages(t *testing.T, evs []record.Event, idx bleve.Index, stored blockStored, sums bool) {
	s := &evs[1234]
	search := func(ctx context.Context, r *bleve.SearchRequest) (*bleve.SearchResult, error) {
		return idx.SearchInContext(ctx, r)
	}
	c := compiler{now: time.Now()}
	// The blocks in the sidecar's order too (pageOrdered), as the store
	// reads the pages of the queries the sidecar does not decide.
	side := storedSidecar(t, idx)
	if side.broken || side.unpaged {
		t.Fatalf("sidecar broken %v, unpaged %v", side.broken, side.unpaged)
	}
	for _, q := range []string{
		"", "eventName:" + s.Name, "NOT eventName:" + s.Name, "eventName:Start*", "accessdenied",
		"eventTime:>=" + s.Time.UTC().Format(time.RFC3339), "NOT _exists_:eventTime", "eventName:NoSuchName",
		"accessdenied AND service:" + s.Service, "accessdenied OR eventName:" + s.Name,
		"NOT accessdenied AND service:" + s.Service + " AND NOT eventName:" + s.Name, "pipeline AND NOT pipeline",
	} {
		p := mustPlan(t, c, idx, q)
		cand := side.superset(&p.root)
		blocks := func(out []sidecarRef, newest, started bool, cursor eventKey, n int) []sidecarRef {
			return side.blocksFrom(out, newest, started, cursor, cand, min(n, 5)) // chunks of 5: many cursors
		}
		var want []string // order keys, oldest first
		for i := range evs {
			if p.match(newEventTerms(&evs[i])) {
				want = append(want, timeKey(&evs[i])+seqKey(evs[i].Seq))
			}
		}
		slices.Sort(want)
		n, err := p.count(context.Background(), search, stored)
		if err != nil || n != uint64(len(want)) {
			t.Fatalf("%q: count %d (%v), want %d", q, n, err, len(want))
		}
		// Counted in the blocks the sidecar names, and in those before
		// the 1000th event (as a word's total counts those before it
		// became common) against the plan's own.
		c, err := p.countBlocks(context.Background(), side.blockList(p, 0), stored, blockCountRequest{})
		if err != nil || c.total != uint64(len(want)) {
			t.Fatalf("%q: counted in the sidecar's blocks %d (%v), want %d", q, c.total, err, len(want))
		}
		cut := evs[999].Seq
		early, err := p.before(cut).count(context.Background(), search, stored)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := p.countBlocks(context.Background(), side.blockList(p, cut), stored, blockCountRequest{}); err != nil || c.total != early {
			t.Fatalf("%q: counted before %d in the sidecar's blocks %d (%v), want %d", q, cut, c.total, err, early)
		}
		for _, newest := range []bool{true, false} {
			exp := slices.Clone(want)
			if newest {
				slices.Reverse(exp)
			}
			for _, size := range []int{50, 7} {
				for _, ordered := range []bool{false, true} {
					var got []string
					after, pages := "", 0
					for {
						pg, err := p.page(context.Background(), search, stored, newest, size, after)
						if ordered {
							pg, err = p.pageOrdered(context.Background(), blocks, stored, newest, size, after)
						}
						if err != nil {
							t.Fatal(err)
						}
						pages++
						for _, m := range pg.matches {
							got = append(got, orderKey(m.key))
						}
						if !pg.more || len(pg.matches) == 0 || pages > len(exp)/size+2 {
							break
						}
						after = orderKey(pg.matches[len(pg.matches)-1].key)
					}
					if !slices.Equal(got, exp) {
						t.Fatalf("%q newest %v, pages of %d, in the sidecar's order %v: %d keys, want %d\ngot  %.3v\nwant %.3v", q, newest, size, ordered, len(got), len(exp), got, exp)
					}
				}
				// The first page's events, from the blocks' records.
				pg, err := p.page(context.Background(), search, stored, newest, size, "")
				if err != nil {
					t.Fatal(err)
				}
				page, err := blockEvents(pg.matches, stored, false)
				if err != nil {
					t.Fatal(err)
				}
				for i, ev := range page {
					orig := &evs[ev.Seq-1]
					if orderKey(pg.matches[i].key) != exp[i] || ev.ID != orig.ID || !bytes.Equal(ev.Raw, orig.Raw) {
						t.Fatalf("%q: hit %d is %s (seq %d), want %s", q, i, ev.ID, ev.Seq, exp[i])
					}
				}
				checkSummaries(t, pg.matches, stored, page, sums)
			}
		}
		t.Logf("%q: %d matches", q, len(want))
	}
}

// blockEvents returns the events of ms, in order, as readBlockEvents reads
// them.
func blockEvents(ms []blockMatch, stored blockStored, summary bool) ([]record.Event, error) {
	out := make([]record.Event, len(ms))
	into := make([]*record.Event, len(ms))
	for i := range out {
		into[i] = &out[i]
	}
	return out, readBlockEvents(ms, stored, summary, nil, into)
}

// checkSummaries: a page's events in the summary view are the typed
// fields of the events read from the records (full), read from the
// blocks' summaries if sums, else from the records.
func checkSummaries(t *testing.T, ms []blockMatch, stored blockStored, full []record.Event, sums bool) {
	t.Helper()
	got, err := blockEvents(ms, stored, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range got {
		if ev.Seq != full[i].Seq {
			t.Fatalf("summary %d is event %d, want %d", i, ev.Seq, full[i].Seq)
		}
		if fromRecord := ev.Raw != nil; fromRecord == sums {
			t.Fatalf("event %d read from its record %v, want %v", ev.Seq, fromRecord, !sums)
		}
		ev.Raw, ev.Leaves = nil, record.Leaves{}
		sameSummary(t, ev, full[i])
	}
}

// TestOrderKey: orderKey writes what timeKey and seqKey write, and
// parseOrderKey reads it back.
func TestOrderKey(t *testing.T) {
	for _, k := range []eventKey{{noTime, 1}, {0, 0}, {-5, 7}, {time.Date(2026, 12, 5, 1, 2, 3, 4, time.UTC).UnixNano(), 1 << 40}} {
		ev := record.Event{Seq: k.seq}
		if k.nanos != noTime {
			ev.Time = time.Unix(0, k.nanos)
		}
		s := orderKey(k)
		if want := timeKey(&ev) + seqKey(k.seq); k.nanos != 0 && s != want {
			t.Errorf("%v: %s, want %s", k, s, want)
		}
		if back, err := parseOrderKey(s); err != nil || back != k {
			t.Errorf("%v: read back %v (%v)", k, back, err)
		}
	}
	for _, bad := range []string{"", "00", strings.Repeat("g", 32)} {
		if _, err := parseOrderKey(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestBlockWriter writes events in batches as blocks, finds them by id,
// reopens the shard and finds the same word counts and ids, and searches
// it as TestBlockPlan does.
func TestBlockWriter(t *testing.T) {
	evs := blockTestEvents(t, 3000)
	dir := filepath.Join(t.TempDir(), "shard")
	ctx := context.Background()
	open := func(create bool) (bleve.Index, *blockWriter) {
		var idx bleve.Index
		var err error
		if create {
			idx, err = bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, nil)
		} else {
			idx, err = bleve.Open(dir)
		}
		if err != nil {
			t.Fatal(err)
		}
		w, err := newBlockWriter(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		return idx, w
	}
	idx, w := open(true)
	for lo := 0; lo < len(evs); lo += 1000 {
		if err := w.writeBatch(evs[lo:min(lo+1000, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}
	find := func(w *blockWriter, idx bleve.Index) {
		t.Helper()
		for _, i := range []int{0, 1, 255, 256, 999, 1000, 1234, len(evs) - 1} {
			ev, ok, err := findEvent(ctx, idx, w.ids, evs[i].ID)
			if err != nil || !ok || ev.Seq != evs[i].Seq || !bytes.Equal(ev.Raw, evs[i].Raw) {
				t.Fatalf("event %d (%s): found %v (%v), seq %d", i, evs[i].ID, ok, err, ev.Seq)
			}
		}
		if _, ok, err := findEvent(ctx, idx, w.ids, "no-such-id"); ok || err != nil {
			t.Fatalf("an id never written: found %v (%v)", ok, err)
		}
	}
	find(w, idx)
	counts := map[string]uint64{}
	for k, word := range w.words.words {
		counts[word] = w.words.counts[k]
	}
	if len(counts) < 50 {
		t.Fatalf("%d common words", len(counts))
	}
	if err := idx.Close(); err != nil {
		t.Fatal(err)
	}
	idx, w = open(false)
	defer idx.Close()
	find(w, idx)
	for word, n := range counts {
		if got, _, _ := w.words.total(word); got != n {
			t.Fatalf("%q: %d after reopening, %d before", word, got, n)
		}
	}
	if w.words.index.len() != len(counts) {
		t.Fatalf("%d common words after reopening, %d before", w.words.index.len(), len(counts))
	}
	// Searches see every event once, and no counts document; the value
	// counts restored at open give what reading every block counts.
	c := compiler{now: time.Now()}
	p, err := c.blockPlan(query.MatchAll{}, indexTerms(idx))
	if err != nil {
		t.Fatal(err)
	}
	run := searchOfIndex(idx)
	fields := make([]int, len(blockColumnFields))
	for i := range fields {
		fields[i] = i
	}
	day := 24 * time.Hour
	start := evs[0].Time.UTC().Truncate(day).Add(-2 * day)
	cs, err := p.counts(ctx, run, docStored(idx), blockCountRequest{fields: fields, start: start, iv: day, buckets: 60})
	if err != nil || cs.total != uint64(len(evs)) || w.all.events != cs.total {
		t.Fatalf("count %d (%v), restored %d, want %d", cs.total, err, w.all.events, len(evs))
	}
	for f, name := range blockColumnFields {
		got := w.all.facet(f)
		if !maps.Equal(got.values, cs.facets[f].values) || got.missing != cs.facets[f].missing || len(got.values) == 0 {
			t.Fatalf("%s: restored %d values, %d missing; the blocks %d values, %d missing", name, len(got.values), got.missing, len(cs.facets[f].values), cs.facets[f].missing)
		}
	}
	days, ok := w.all.histogram(start, day, 60)
	if !ok || !slices.Equal(days, cs.buckets) || slices.Max(days) == 0 {
		t.Fatalf("days restored %v (%v), from the blocks %v", days, ok, cs.buckets)
	}
	if _, ok := w.all.histogram(start.Add(time.Minute), day, 60); ok {
		t.Fatal("a histogram off the hour from hour counts")
	}
}

// add counts evs from the events themselves: what the block builder
// counts from its columns (addColumn) and addTimes, for the tests to
// check it against.
func (c *allCounts) add(evs []record.Event) {
	for _, t := range []*allCounts{c, c.d} {
		t.events += uint64(len(evs))
	}
	for i := range evs {
		ev := &evs[i]
		for f, name := range blockColumnFields {
			var vs []string
			if name == multiResource {
				vs = ev.Resources
			} else if v := fieldByName[name].value(ev); v != "" {
				vs = []string{v}
			}
			for _, t := range []*allCounts{c, c.d} {
				if len(vs) == 0 {
					t.missing[f]++
				}
				for _, v := range vs {
					t.values[f][v]++
				}
			}
		}
		if tm, ok := indexedTime(ev); ok {
			h := hourOf(tm)
			c.hours[h]++
			c.d.hours[h]++
		}
	}
}

// TestAllCountsFromColumns checks the counts the block builder's columns
// feed (addColumn, addTimes) against counting the events themselves (add),
// over blocks of several sizes, events without resources or times among
// them.
func TestAllCountsFromColumns(t *testing.T) {
	evs := generated(t, 3000)
	for i := range evs {
		switch i % 97 {
		case 3:
			evs[i].Resources = nil
		case 5:
			evs[i].Time = time.Time{}
		case 7:
			evs[i].Resources = append(evs[i].Resources, evs[i].Resources...) // one named twice
		}
	}
	for _, size := range []int{1, 100, blockSize} {
		want, got := newAllCounts(), newAllCounts()
		want.add(evs)
		got.addTimes(evs)
		var cb columnsBuilder
		cb.counts = got
		for lo := 0; lo < len(evs); lo += size {
			cb.encode(evs[lo:min(lo+size, len(evs))])
		}
		if w, g := want.delta(nil), got.delta(nil); !bytes.Equal(w, g) {
			t.Fatalf("blocks of %d: the columns' delta differs from the events' (%d bytes, want %d)", size, len(g), len(w))
		}
		if want.events != got.events || !slices.Equal(want.missing, got.missing) || !maps.Equal(want.hours, got.hours) {
			t.Fatalf("blocks of %d: events %d missing %v, want %d %v", size, got.events, got.missing, want.events, want.missing)
		}
	}
}

func FuzzAllCountsApply(f *testing.F) {
	c := newAllCounts()
	c.add(generated(f, 20))
	f.Add(c.delta(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newAllCounts()
		if err := c.apply(b); err != nil && c.events != 0 {
			t.Fatalf("a damaged delta counted %d events", c.events)
		}
	})
}

// TestBlockFacets counts, over the matches of queries on blocks, every
// facetable field from the blocks' columns, against the values of the
// events the matcher accepts.
func TestBlockFacets(t *testing.T) {
	evs := blockTestEvents(t, 3000)
	idx, _ := writeBlockShard(t, evs)
	s := &evs[1234]
	run := searchOfIndex(idx)
	c := compiler{now: time.Now()}
	fields := make([]int, len(blockColumnFields))
	for i := range fields {
		fields[i] = i
	}
	for _, q := range []string{"", "eventName:" + s.Name, "NOT eventName:" + s.Name, "accessdenied", "errorCode:*", "eventName:NoSuchName"} {
		p := mustPlan(t, c, idx, q)
		want := wantCounts(t, p, evs, len(fields) > 0)
		cs, err := p.counts(context.Background(), run, docStored(idx), blockCountRequest{fields: fields, start: want.start, iv: day, buckets: len(want.buckets)})
		if err != nil {
			t.Fatal(err)
		}
		want.check(t, q, cs)
	}
}

// countsWant is what counts over a query's matches must give: the total,
// every blockColumnFields facet, and daily buckets from the day of the
// oldest event.
type countsWant struct {
	blockCounts
	start time.Time
}

const day = 24 * time.Hour

// wantCounts counts the matches of p among evs with the matcher.
func wantCounts(t *testing.T, p *blockPlan, evs []record.Event, facets bool) countsWant {
	t.Helper()
	want := countsWant{start: evs[0].Time.UTC().Truncate(day)}
	want.buckets = make([]int, 40)
	if facets {
		want.facets = make([]facetCount, len(blockColumnFields))
	}
	for i := range evs {
		ev := &evs[i]
		if !p.match(newEventTerms(ev)) {
			continue
		}
		want.total++
		if t := ev.Time; !t.IsZero() && !t.Before(want.start) {
			if b := int(t.Sub(want.start) / day); b < len(want.buckets) {
				want.buckets[b]++
			}
		}
		for f, name := range blockColumnFields[:len(want.facets)] {
			if want.facets[f].values == nil {
				want.facets[f].values = map[string]int{}
			}
			var vs []string
			if name == multiResource {
				vs = ev.Resources
			} else if v := fieldByName[name].value(ev); v != "" {
				vs = []string{v}
			}
			if len(vs) == 0 {
				want.facets[f].missing++
			}
			for _, v := range vs {
				want.facets[f].values[v]++
			}
		}
	}
	inDays := 0
	for _, b := range want.buckets {
		inDays += b
	}
	if want.total > 5 && inDays == 0 {
		t.Fatalf("no match in the %d days from %s", len(want.buckets), want.start)
	}
	return want
}

// check compares counts with what they must be.
func (want countsWant) check(t *testing.T, q string, cs blockCounts) {
	t.Helper()
	if !slices.Equal(cs.buckets, want.buckets) {
		t.Fatalf("%q: days %v, want %v", q, cs.buckets, want.buckets)
	}
	if cs.total != want.total {
		t.Fatalf("%q: %d matches counted, want %d", q, cs.total, want.total)
	}
	for f, name := range blockColumnFields[:len(want.facets)] {
		got := cs.facets[f]
		if want.total == 0 {
			if len(got.values) != 0 || got.missing != 0 {
				t.Fatalf("%q: %s counted %v over no match", q, name, got)
			}
			continue
		}
		if !maps.Equal(got.values, want.facets[f].values) || got.missing != want.facets[f].missing {
			t.Fatalf("%q: %s: %d values, %d missing; want %d values, %d missing", q, name, len(got.values), got.missing, len(want.facets[f].values), want.facets[f].missing)
		}
	}
	t.Logf("%q: %d matches", q, want.total)
}

func FuzzDecodeBlockColumns(f *testing.F) {
	var c columnsBuilder
	evs := []record.Event{{Name: "A", Source: "s", Resources: []string{"r1", "r2"}}, {Name: "B"}}
	f.Add(c.encode(evs), 2)
	f.Add(c.encode(evs[:1]), 1)
	f.Fuzz(func(t *testing.T, b []byte, events int) {
		if events < 0 || events > blockSize {
			return
		}
		cols, err := decodeBlockColumns(b, events, nil)
		if err != nil {
			return
		}
		var fc facetCount
		for i := range blockColumnFields {
			cols.count(i, firstEvents(events), &fc)
		}
	})
}

// mustPlan compiles q for the blocks of idx.
func mustPlan(t testing.TB, c compiler, idx bleve.Index, q string) *blockPlan {
	t.Helper()
	ast, err := query.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.blockPlan(ast, indexTerms(idx))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWordCountsEvents: a word an event repeats in two values (an id, and
// an ARN ending with it) does not become common; one in two events of a
// block does.
func TestWordCountsEvents(t *testing.T) {
	var evs []record.Event
	for i := range 4 {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"w-%d","eventTime":"2025-01-01T00:00:0%dZ","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","requestParameters":{"id":"deadbeef%d","note":"sharedword"},"responseElements":{"build":{"arn":"arn:aws:codebuild:us-east-1:111122223333:build/p:deadbeef%d"}}}`, i, i, i, i)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(i + 1)
		evs = append(evs, ev)
	}
	w := newWordCounts()
	if _, err := newBlockBuilder(w).build(evs); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := w.total("deadbeef0"); ok {
		t.Error("an id one event repeats became common")
	}
	if _, since, ok := w.total("sharedword"); !ok || since != 5 {
		t.Errorf("a word of every event: common %v from %d, want from 5", ok, since)
	}
}

// TestRadixSort: radixSort orders values by their bits lo to hi (whole
// bytes) as a stable sort does, for the ranges the builder sorts on and a
// few more.
func TestRadixSort(t *testing.T) {
	for _, r := range []struct{ lo, hi uint }{{0, 32}, {24, 64}, {0, 64}, {8, 16}, {40, 48}, {0, 0}} {
		for _, n := range []int{0, 1, 2, 100, 40000} {
			v := make([]uint64, n)
			x := uint64(n)*0x9e3779b97f4a7c15 + uint64(r.lo)
			for i := range v {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				v[i] = x
				if i%3 == 0 {
					v[i] &= 0xffff_0000_ffff_00ff // many equal digits
				}
			}
			key := func(x uint64) uint64 {
				if r.hi-r.lo == 64 {
					return x
				}
				return x >> r.lo & (1<<(r.hi-r.lo) - 1)
			}
			want := slices.Clone(v)
			slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(key(a), key(b)) })
			got, _ := radixSort(slices.Clone(v), nil, r.lo, r.hi)
			if !slices.Equal(got, want) {
				t.Fatalf("bits %d to %d of %d values: not a stable sort", r.lo, r.hi, n)
			}
		}
	}
}
