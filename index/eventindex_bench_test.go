package index

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/codetrail/codetrail/index/record"
	"github.com/codetrail/codetrail/ingest/gen"
)

// The block layout of BenchmarkBlockDocuments finds candidate blocks; a
// search then needs, inside each candidate block, which of its events hold
// a term, without decoding and parsing the block's records for every
// candidate. BenchmarkBlockEventIndex is the experiment for that part (issue
// #5): a block's event index, built for every term any of its events'
// documents would hold (the same terms as buildDocument, from
// documentFields), and each event's sort key. It measures what building
// it costs an event, what it takes on disk, and what reading it costs a
// candidate block against decoding the block's records, so that what a
// block store would cost at search time is measured, not guessed.

// blockEventIndex layout, little-endian:
//
//	n uint32, events uint32
//	events sort keys: eventTime in Unix nanoseconds (int64) and sequence
//	  number (uint64) of each event, in block order
//	n term hashes (uint32, ascending), n+1 posting offsets (uint32)
//	postings: a posting of 32 bytes is a bitset of the block's events,
//	  a shorter one lists their ordinals (ascending)
//
// A term is hashed with its field's name (CRC-32C): two terms of one block
// with the same hash share a posting, so a lookup may return events that
// hold the other term. A search would test its candidates with the
// in-memory matcher, as it must for phrases and wildcards anyway.
const eventIndexBitset = 32

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// termHash is the hash of term in the field name.
func termHash(name string, term []byte) uint32 {
	return crc32.Update(fieldSeed(name), crcTable, term)
}

// fieldSeed is where termHash starts for the terms of the field name.
func fieldSeed(name string) uint32 {
	return crc32.Update(crc32.Update(0, crcTable, []byte(name)), crcTable, []byte{0})
}

// eventIndexBuilder keeps its buffers from one block to the next.
type eventIndexBuilder struct {
	pairs []uint64 // hash<<8 | ordinal
	spare []uint64 // radixSort's other buffer
	toks  []token
	out   []byte
}

// build returns the event index of evs (at most 256 events); the result is
// valid until the next call.
func (b *eventIndexBuilder) build(evs []record.Event) []byte {
	if len(evs) > 256 {
		panic("eventIndexBuilder: more than 256 events")
	}
	b.pairs = b.pairs[:0]
	for i := range evs {
		ev := &evs[i]
		ord := uint64(i)
		for _, f := range documentFields(ev) {
			// documentFields' values are new slices: words may lowercase in place.
			b.toks = f.tok.tokens(f.value, b.toks[:0])
			seed := fieldSeed(f.name)
			for _, t := range b.toks {
				b.pairs = append(b.pairs, uint64(crc32.Update(seed, crcTable, t.term))<<8|ord)
			}
		}
		b.pairs = append(b.pairs, uint64(termHash("eventID", []byte(ev.ID)))<<8|ord)
	}
	return b.encode(evs)
}

// encode sorts b.pairs, the (term hash, ordinal) pairs of evs, and returns
// their event index; the result is valid until the next call.
func (b *eventIndexBuilder) encode(evs []record.Event) []byte {
	b.pairs, b.spare = radixSort(b.pairs, b.spare, 40)
	b.pairs = slices.Compact(b.pairs)
	n := 0
	for i := range b.pairs {
		if i == 0 || b.pairs[i]>>8 != b.pairs[i-1]>>8 {
			n++
		}
	}
	out := b.out[:0]
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(evs)))
	for i := range evs {
		t, _ := indexedTime(&evs[i])
		out = binary.LittleEndian.AppendUint64(out, uint64(t.UnixNano()))
		out = binary.LittleEndian.AppendUint64(out, evs[i].Seq)
	}
	hashes := len(out)
	offsets := hashes + 4*n
	postings := offsets + 4*(n+1)
	out = slices.Grow(out, 8*n+4)[:postings]
	k := 0
	for i := 0; i < len(b.pairs); {
		h := b.pairs[i] >> 8
		j := i
		for j < len(b.pairs) && b.pairs[j]>>8 == h {
			j++
		}
		binary.LittleEndian.PutUint32(out[hashes+4*k:], uint32(h))
		binary.LittleEndian.PutUint32(out[offsets+4*k:], uint32(len(out)-postings))
		if j-i >= eventIndexBitset {
			var set [eventIndexBitset]byte
			for _, p := range b.pairs[i:j] {
				set[p&0xff/8] |= 1 << (p & 7)
			}
			out = append(out, set[:]...)
		} else {
			for _, p := range b.pairs[i:j] {
				out = append(out, byte(p))
			}
		}
		k++
		i = j
	}
	binary.LittleEndian.PutUint32(out[offsets+4*n:], uint32(len(out)-postings))
	b.out = out
	return out
}

// eventIndexLookup appends the ordinals of the events of the block whose
// index is ix that hold the term with hash h.
func eventIndexLookup(ix []byte, h uint32, out []uint8) []uint8 {
	n := int(binary.LittleEndian.Uint32(ix))
	events := int(binary.LittleEndian.Uint32(ix[4:]))
	hashes := 8 + 16*events
	offsets := hashes + 4*n
	postings := offsets + 4*(n+1)
	i, found := 0, false
	for lo, hi := 0, n; lo < hi; {
		m := int(uint(lo+hi) >> 1)
		switch v := binary.LittleEndian.Uint32(ix[hashes+4*m:]); {
		case v < h:
			lo = m + 1
		case v > h:
			hi = m
		default:
			i, found = m, true
			lo = hi
		}
	}
	if !found {
		return out
	}
	p := ix[postings+int(binary.LittleEndian.Uint32(ix[offsets+4*i:])) : postings+int(binary.LittleEndian.Uint32(ix[offsets+4*i+4:]))]
	if len(p) < eventIndexBitset {
		return append(out, p...)
	}
	for w := range 4 {
		for v := binary.LittleEndian.Uint64(p[8*w:]); v != 0; v &= v - 1 {
			out = append(out, uint8(64*w+bits.TrailingZeros64(v)))
		}
	}
	return out
}

// BenchmarkBlockEventIndex measures a block's event index (see
// eventIndexBuilder) for blocks of 64 and 256 generated events:
//   - build: the CPU of building it, an event; its bytes an event raw, with
//     s2 and with zstd (fastest), as a block store would keep it;
//   - lookup: finding one term's events in an index already in memory;
//   - s2-decode, zstd-decode: decompressing one block's index, which a
//     search pays for each candidate block it reads from disk;
//   - records-decode, records-parse: what testing a block's events
//     without the index would cost: decompressing the block's records
//     compressed together (zstd, fastest), and parsing them all.
//
// It first checks, for a sample of every kind of term, that a lookup
// returns at least the events whose document holds the term and, but for
// hash collisions, no other.
func BenchmarkBlockEventIndex(b *testing.B) {
	events := generated(b, 20000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		b.Fatal(err)
	}
	zdec, err := zstd.NewReader(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer zdec.Close()
	for _, size := range []int{64, 256} {
		var blocks [][]record.Event
		for lo := 0; lo < len(events); lo += size {
			blocks = append(blocks, events[lo:min(lo+size, len(events))])
		}
		var ib eventIndexBuilder
		checkEventIndex(b, &ib, blocks[len(blocks)/2])
		var raw, zs, ss [][]byte
		var recs [][]byte
		for _, blk := range blocks {
			ix := ib.build(blk)
			raw = append(raw, slices.Clone(ix))
			ss = append(ss, s2.Encode(nil, ix))
			zs = append(zs, zenc.EncodeAll(ix, nil))
			var r []byte
			for i := range blk {
				r = append(r, blk[i].Raw...)
				r = append(r, '\n')
			}
			recs = append(recs, zenc.EncodeAll(r, nil))
		}
		perEvent := func(bs [][]byte) float64 {
			n := 0
			for _, x := range bs {
				n += len(x)
			}
			return float64(n) / float64(len(events))
		}
		b.Run(fmt.Sprintf("block=%d/build", size), func(b *testing.B) {
			start, n := time.Now(), 0
			for i := 0; b.Loop(); i++ {
				blk := blocks[i%len(blocks)]
				ib.build(blk)
				n += len(blk)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/event")
			b.ReportMetric(perEvent(raw), "raw-B/event")
			b.ReportMetric(perEvent(ss), "s2-B/event")
			b.ReportMetric(perEvent(zs), "zstd-B/event")
			b.ReportMetric(perEvent(recs), "records-zstd-B/event")
		})
		// A term in about a third of the blocks' events: eventName of
		// the middle event.
		h := termHash("eventName", []byte(events[len(events)/2].Name))
		b.Run(fmt.Sprintf("block=%d/lookup", size), func(b *testing.B) {
			var out []uint8
			for i := 0; b.Loop(); i++ {
				out = eventIndexLookup(raw[i%len(raw)], h, out[:0])
			}
		})
		b.Run(fmt.Sprintf("block=%d/s2-decode", size), func(b *testing.B) {
			var buf []byte
			for i := 0; b.Loop(); i++ {
				if buf, err = s2.Decode(buf[:cap(buf)], ss[i%len(ss)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("block=%d/zstd-decode", size), func(b *testing.B) {
			var buf []byte
			for i := 0; b.Loop(); i++ {
				if buf, err = zdec.DecodeAll(zs[i%len(zs)], buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("block=%d/records-decode", size), func(b *testing.B) {
			var buf []byte
			for i := 0; b.Loop(); i++ {
				if buf, err = zdec.DecodeAll(recs[i%len(recs)], buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What a search pays for each candidate block of a real index: the
		// block document's stored fields read from its Bleve segment (zap
		// decompresses them together, records included), its event index
		// decoded, one term looked up.
		b.Run(fmt.Sprintf("block=%d/candidate", size), func(b *testing.B) {
			segs, done := blockSegments(b, events, size)
			defer done()
			var buf []byte
			var out []uint8
			found, runs := 0, 0
			for i := 0; b.Loop(); i++ {
				runs++
				ss := segs[i%len(segs)]
				local := uint64(i/len(segs)) % ss.Count()
				err := ss.Segment().VisitStoredFields(local, func(field string, _ byte, value []byte, _ []uint64) bool {
					if field != "_events" {
						return true
					}
					var derr error
					if buf, derr = s2.Decode(buf[:cap(buf)], value); derr != nil {
						b.Fatal(derr)
					}
					out = eventIndexLookup(buf, h, out[:0])
					found += len(out)
					return false
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if found == 0 && runs >= len(blocks) {
				b.Fatalf("none of %d candidate blocks read held the term", runs)
			}
		})
		b.Run(fmt.Sprintf("block=%d/records-parse", size), func(b *testing.B) {
			var p record.Parser
			for i := 0; b.Loop(); i++ {
				for j := range blocks[i%len(blocks)] {
					if _, err := p.Parse(record.KindCloudTrail, blocks[i%len(blocks)][j].Raw); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// checkEventIndex tests the event index of blk: for every term of a sample
// of its events' documents (every field, every tenth event), a lookup
// returns the events holding it; it may return others only on a hash
// collision, which are counted and reported.
func checkEventIndex(b *testing.B, ib *eventIndexBuilder, blk []record.Event) {
	b.Helper()
	type key struct{ name, term string }
	holders := map[key][]uint8{}
	for i := range blk {
		for _, f := range documentFields(&blk[i]) {
			for _, t := range f.tok.tokens(f.value, nil) {
				k := key{f.name, string(t.term)}
				if l := holders[k]; len(l) == 0 || l[len(l)-1] != uint8(i) {
					holders[k] = append(l, uint8(i))
				}
			}
		}
	}
	ix := ib.build(blk)
	checked, extra := 0, 0
	for k, want := range holders {
		if int(want[0])%10 != 0 {
			continue
		}
		got := eventIndexLookup(ix, termHash(k.name, []byte(k.term)), nil)
		for _, w := range want {
			if !slices.Contains(got, w) {
				b.Fatalf("%s:%q: lookup found events %v, want at least %v", k.name, k.term, got, want)
			}
		}
		if len(got) != len(want) {
			extra++
		}
		checked++
	}
	if checked < 100 {
		b.Fatalf("checked only %d terms", checked)
	}
	b.Logf("block of %d events: %d terms checked, %d with another term's events (hash collisions)", len(blk), checked, extra)
}

// BenchmarkBlockCandidates counts, for the harness's queries (bench/), what
// a block store would read: on 100,000 generated events (the default
// stream, as the harness writes it, in its order) in blocks of 256, the
// blocks holding a match (every one of them must be read for an exact
// total, or a facet or histogram over the matches, unless counts are kept
// per block), and the fewest blocks a search for the 50 newest must read
// (those holding a match at least as new as the 50th newest). The queries
// run on the in-memory matcher; each b.Loop run counts once more, so its
// time is that of matching 100,000 events, not a search's.
func BenchmarkBlockCandidates(b *testing.B) {
	const size = 256
	events := generated(b, 100000)
	terms := make([]*eventTerms, len(events))
	for i := range events {
		terms[i] = newEventTerms(&events[i])
	}
	week := gen.DefaultEnd.Add(-7 * 24 * time.Hour)
	for _, q := range []struct {
		name, query string
		start       time.Time
	}{
		{"term", "eventName:StartBuild", time.Time{}},
		{"source+name+7d", "eventSource:codepipeline.amazonaws.com AND eventName:StartPipelineExecution", week},
		{"word", "AccessDenied", time.Time{}},
		{"resource", "resource:MyFirstPipeline", time.Time{}},
		{"errors", "errorCode:*", time.Time{}},
		{"one-service", "service:codedeploy", time.Time{}},
	} {
		b.Run(q.name, func(b *testing.B) {
			_, m := mustMatcher(b, q.query)
			var matches, holding, newest int
			for b.Loop() {
				var times []time.Time
				newestIn := map[int]time.Time{} // block: its newest match
				for i := range events {
					if ev := &events[i]; (q.start.IsZero() || !ev.Time.Before(q.start)) && m(terms[i]) {
						times = append(times, ev.Time)
						if t, ok := newestIn[i/size]; !ok || ev.Time.After(t) {
							newestIn[i/size] = ev.Time
						}
					}
				}
				slices.SortFunc(times, func(x, y time.Time) int { return y.Compare(x) })
				matches, holding, newest = len(times), len(newestIn), 0
				if len(times) == 0 {
					b.Fatalf("%s matched nothing", q.query)
				}
				cut := times[min(49, len(times)-1)]
				for _, t := range newestIn {
					if !t.Before(cut) {
						newest++
					}
				}
			}
			blocks := (len(events) + size - 1) / size
			b.ReportMetric(float64(matches)/float64(len(events)), "matched/event")
			b.ReportMetric(float64(holding)/float64(blocks), "blocks-holding/block")
			b.ReportMetric(float64(newest), "blocks-for-50-newest")
		})
	}
}

// blockSegments writes events into a one-shard index of block documents
// (blocks of size, near-unique terms in a Bloom filter, event index
// stored) as BenchmarkBlockDocuments does, and returns its segments; done
// closes the index.
func blockSegments(b *testing.B, events []record.Event, size int) (segs []*scorch.SegmentSnapshot, done func()) {
	b.Helper()
	idx, err := bleve.NewUsing(filepath.Join(b.TempDir(), "shard"), newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		b.Fatal(err)
	}
	ib := new(eventIndexBuilder)
	writeBlocks(b, idx, events, 5000, size, func(evs []record.Event) *document.Document { return blockDocument(evs, true, ib) })
	r := indexReader(b, idx)
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		b.Fatalf("reader is a %T", r)
	}
	return snap.Segments(), func() {
		if err := r.Close(); err != nil {
			b.Error(err)
		}
		if err := idx.Close(); err != nil {
			b.Error(err)
		}
	}
}

// onePassBlock builds what blockDocument does with a Bloom filter and an
// event index, in one pass over each event's terms instead of two (the
// block document's lists, then documentFields again for the event index):
// each term is cut and hashed once, and the Bloom filter takes the hashes
// of the near-unique terms instead of the terms. The event index comes out
// byte for byte the same as eventIndexBuilder.build's (checked by
// BenchmarkBlockDocuments).
//
// With words set (newOnePassWords), the words of the text field that are
// common go into the block document's text field instead of the filter,
// once for each event of the block holding them, so that Bleve's term
// frequency is the number of the block's events holding the word: exact
// totals of a word query then come from the dictionary instead of reading
// every block holding it. A word becomes common, for the blocks after it,
// once it occurs twice in one block; ids and other near-unique values
// never do.
type onePassBlock struct {
	eventIndexBuilder
	lists              map[string]map[string]struct{}
	bloomH, bloomSpare []uint64 // near-unique terms' hashes
	fields             []docField
	seen               map[string]struct{}
	buf                []byte
	words              *commonWords
	// noLists leaves the typed fields and _exists out of the block
	// document (they stay in the event index): what Bleve's share
	// would be if a sidecar's bitmaps found their candidate blocks.
	noLists bool
}

// commonWords are the words an onePassBlock puts into its text field, or,
// if outside, counts beside the index: Bleve then never holds the words'
// postings and their frequencies (most of its merges' work), the block's
// Bloom filter finds their blocks, and a word's total is its count.
type commonWords struct {
	index  map[string]int // word -> its stamp
	stamps []uint32       // the last event (stamp) whose text got the word
	stamp  uint32
	// outside: counts instead of the text field; words, counts and
	// deltas by the word's index, touched the words whose delta is not 0.
	outside bool
	words   []string
	counts  []uint32
	deltas  []uint32
	touched []int
	text    []byte   // this block's common words, one line per word and event
	refs    []uint64 // this block's other words: hash<<32 | offset in arena
	spare   []uint64
	arena   []byte // uvarint length and bytes of each word of refs
}

func newOnePassWords() *onePassBlock {
	return &onePassBlock{words: &commonWords{index: map[string]int{}}}
}

// promote makes the words of refs occurring twice or more common.
func (w *commonWords) promote() {
	w.refs, w.spare = radixSort(w.refs, w.spare, 64)
	for i := 0; i < len(w.refs); {
		j := i + 1
		for j < len(w.refs) && w.refs[j]>>32 == w.refs[i]>>32 {
			j++
		}
		if j-i >= 2 {
			off := int(uint32(w.refs[i]))
			n, k := binary.Uvarint(w.arena[off:])
			word := string(w.arena[off+k : off+k+int(n)])
			if _, ok := w.index[word]; !ok {
				w.index[word] = len(w.stamps)
				w.stamps = append(w.stamps, 0)
				w.words = append(w.words, word)
				w.counts = append(w.counts, 0)
				w.deltas = append(w.deltas, 0)
			}
		}
		i = j
	}
	w.refs, w.arena = w.refs[:0], w.arena[:0]
}

// Field seeds of termHash, for hashing a term in pieces.
var seedText, seedKV = fieldSeed(fieldText), fieldSeed(fieldKV)

func (p *onePassBlock) document(evs []record.Event) *document.Document {
	if p.lists == nil {
		p.lists, p.seen = map[string]map[string]struct{}{}, map[string]struct{}{}
	}
	for _, l := range p.lists {
		clear(l)
	}
	add := func(name, v string) {
		if p.lists[name] == nil {
			p.lists[name] = map[string]struct{}{}
		}
		p.lists[name][v] = struct{}{}
	}
	p.pairs, p.bloomH = p.pairs[:0], p.bloomH[:0]
	var span blockSpan
	if p.words != nil {
		p.words.text = p.words.text[:0]
	}
	for i := range evs {
		ev, ord := &evs[i], uint64(i)
		if p.words != nil {
			p.words.stamp++
		}
		p.fields = keywordDocFields(ev, p.fields[:0])
		for _, f := range p.fields {
			h := termHash(f.name, f.value)
			p.pairs = append(p.pairs, uint64(h)<<8|ord)
			if f.name == "requestID" {
				p.bloomH = append(p.bloomH, uint64(h))
			} else if !p.noLists && bytesHaveNoNewline(f.value) {
				add(f.name, string(f.value))
			}
		}
		for path := range existsPaths(ev) {
			if !p.noLists {
				add(fieldExists, path)
			}
			p.pairs = append(p.pairs, uint64(termHash(fieldExists, []byte(path)))<<8|ord)
		}
		clear(p.seen)
		text := func(v string) {
			p.buf = append(p.buf[:0], v...)
			p.toks = wordTokens(p.buf, p.toks[:0])
			for _, t := range p.toks {
				h := crc32.Update(seedText, crcTable, t.term)
				p.pairs = append(p.pairs, uint64(h)<<8|ord)
				if w := p.words; w != nil {
					if k, ok := w.index[string(t.term)]; !ok {
						w.refs = append(w.refs, uint64(h)<<32|uint64(len(w.arena)))
						w.arena = append(binary.AppendUvarint(w.arena, uint64(len(t.term))), t.term...)
					} else if w.outside {
						if w.stamps[k] != w.stamp {
							w.stamps[k] = w.stamp
							w.count(k)
						}
					} else {
						if w.stamps[k] != w.stamp {
							w.stamps[k] = w.stamp
							w.text = append(append(w.text, t.term...), '\n')
						}
						continue
					}
				}
				p.bloomH = append(p.bloomH, uint64(h))
			}
		}
		for l := range ev.Leaves.All() {
			if _, dup := p.seen[l.Value]; !dup {
				p.seen[l.Value] = struct{}{}
				text(l.Value)
			}
			if ev.Kind == record.KindCloudTrail && typedLeaves[l.Path] || len(l.Value) > maxKVValueLen || strings.IndexByte(l.Value, '\n') >= 0 {
				continue
			}
			p.buf = append(append(append(p.buf[:0], l.Path...), kvSep...), l.Value...)
			h := crc32.Update(seedKV, crcTable, p.buf)
			p.pairs = append(p.pairs, uint64(h)<<8|ord)
			p.bloomH = append(p.bloomH, uint64(h))
		}
		if ev.Service != "" {
			text(ev.Service)
		}
		h := termHash("eventID", []byte(ev.ID))
		p.pairs = append(p.pairs, uint64(h)<<8|ord)
		p.bloomH = append(p.bloomH, uint64(h))
		span.add(ev)
	}
	p.bloomH, p.bloomSpare = radixSort(p.bloomH, p.bloomSpare, 32)
	p.bloomH = slices.Compact(p.bloomH)
	f := newBloom(len(p.bloomH))
	for _, h := range p.bloomH {
		f.addHash(uint32(h))
	}
	doc := document.NewDocument("b" + seqKey(evs[0].Seq))
	doc.AddField(document.NewTextFieldCustom("_bloom", nil, f.bits, optStoreOnly, keywordAnalyzer))
	for name, vs := range p.lists {
		if len(vs) > 0 {
			doc.AddField(newIndexedField(name, []byte(joinLines(vs)), optKeyword, eachLine))
		}
	}
	span.addFields(doc, &evs[0])
	doc.AddField(document.NewTextFieldCustom("_events", nil, s2.Encode(nil, p.encode(evs)), optStoreOnly, keywordAnalyzer))
	if w := p.words; w != nil {
		if len(w.text) > 0 {
			doc.AddField(newIndexedField(fieldText, slices.Clone(w.text), optKeyword, words))
		}
		w.promote()
	}
	return doc
}

// count adds an event to the count of the word k.
func (w *commonWords) count(k int) {
	if w.deltas[k] == 0 {
		w.touched = append(w.touched, k)
	}
	w.deltas[k]++
	w.counts[k]++
}

// delta encodes the words counted since the last delta with their counts
// (uvarint length, word, uvarint count), as a batch would store them
// beside its documents to keep the counts durable with the batch.
func (w *commonWords) delta(buf []byte) []byte {
	for _, k := range w.touched {
		buf = binary.AppendUvarint(buf, uint64(len(w.words[k])))
		buf = append(buf, w.words[k]...)
		buf = binary.AppendUvarint(buf, uint64(w.deltas[k]))
		w.deltas[k] = 0
	}
	w.touched = w.touched[:0]
	return buf
}

func bytesHaveNoNewline(b []byte) bool { return !slices.Contains(b, '\n') }

// radixSort sorts the low keyBits bits of v's values (the rest must be zero)
// a byte at a time, least significant first, with spare as the other
// buffer: about 8 times faster than slices.Sort on a block's 40,000 term
// pairs, which took a fifth of the CPU of onePassBlock. It returns the
// sorted slice and the other buffer, for reuse.
func radixSort(v, spare []uint64, keyBits uint) (sorted, other []uint64) {
	spare = slices.Grow(spare[:0], len(v))[:len(v)]
	for shift := uint(0); shift < keyBits; shift += 8 {
		var count [257]int
		for _, x := range v {
			count[(x>>shift)&0xff+1]++
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for _, x := range v {
			d := (x >> shift) & 0xff
			spare[count[d]] = x
			count[d]++
		}
		v, spare = spare, v
	}
	return v, spare
}

// BenchmarkBlockIngest measures the block layout end to end on both cores,
// as ingest would run it: trail-like gzip files of 100 records, two
// goroutines each taking files, gunzipping and parsing their records
// (record.Parser) and writing blocks of 256 of them (onePassBlock: Bloom
// filter and event index) into a shard of its own in batches of 5,000
// events (25,000 in three rows). It reports events/s over the whole run, the CPU an event,
// Bleve's merges included, and the disk an event once the shards are
// closed. What it leaves out of the real Put: duplicate
// ids (a block store would look them up in the event indexes or filters),
// sequence numbers across shards and the checkpoint.
//
// CODETRAIL_BENCH_EVENTS sets another number of events than 20,000: at
// 1,000,000, the rate with Bleve merging a million events' blocks, as a
// server would, instead of 20,000's.
func BenchmarkBlockIngest(b *testing.B) {
	n, ok := benchEvents(b)
	if !ok {
		n = 20000
	}
	checkCounted(b, "accessdenied")
	files := trailFiles(b, n, 100)
	// size 1: today's document per event (buildDocument), the baseline.
	for _, tc := range []ingestCase{
		{size: 256, batch: 5000},
		{size: 256, words: true, batch: 5000},
		{size: 256, words: true, noLists: true, batch: 5000},
		{size: 256, words: true, batch: 25000},
		{size: 256, words: true, noLists: true, batch: 25000},
		{size: 256, noLists: true, batch: 25000},
		{size: 256, noLists: true, batch: 5000},
		{size: 256, words: true, counted: true, batch: 5000},
		{size: 256, words: true, counted: true, noLists: true, batch: 5000},
		{size: 256, words: true, counted: true, noLists: true, batch: 25000},
		{size: 256, words: true, counted: true, noLists: true, batch: 5000, floor: 8},
		{size: 256, words: true, counted: true, batch: 5000, floor: 8},
		{size: 256, words: true, batch: 5000, floor: 8},
		{size: 256, batch: 5000, floor: 8},
		{size: 1, batch: 5000},
	} {
		name := fmt.Sprintf("block=%d", tc.size)
		if tc.counted {
			name += "+counted"
		} else if tc.words {
			name += "+words"
		}
		if tc.noLists {
			name += "-lists"
		}
		if tc.batch != 5000 {
			name += fmt.Sprintf("+batch=%d", tc.batch)
		}
		if tc.floor != 0 {
			name += fmt.Sprintf("+floor=%d", tc.floor)
		}
		b.Run(name, func(b *testing.B) { ingestFiles(b, files, n, tc) })
	}
}

// checkCounted tests an onePassBlock counting common words outside the
// index: word's count, and the sum of its deltas, is the number of events
// holding it in the blocks written once it was common, and it is in those
// blocks' Bloom filters.
func checkCounted(b *testing.B, word string) {
	b.Helper()
	events := generated(b, 20000)
	one := newOnePassWords()
	one.words.outside = true
	want, sum := 0, 0
	var delta []byte
	for i, j := range blockRanges(len(events), 5000, 256) {
		_, common := one.words.index[word]
		holding := 0
		for k := i; k < j; k++ {
			if slices.Contains(analyzeText(textOf(&events[k])), word) {
				holding++
			}
		}
		doc := one.document(events[i:j])
		if !common {
			continue
		}
		want += holding
		if holding > 0 {
			bits := doc.Fields[slices.IndexFunc(doc.Fields, func(f document.Field) bool { return f.Name() == "_bloom" })].Value()
			if !(&blockBloom{bits: bits}).hasHash(crc32.Update(seedText, crcTable, []byte(word))) {
				b.Fatalf("block %d: %q is not in its Bloom filter", i, word)
			}
		}
		delta = one.words.delta(delta[:0])
		for len(delta) > 0 {
			n, k := binary.Uvarint(delta)
			w := string(delta[k : k+int(n)])
			delta = delta[k+int(n):]
			c, k := binary.Uvarint(delta)
			delta = delta[k:]
			if w == word {
				sum += int(c)
			}
		}
	}
	k, ok := one.words.index[word]
	if !ok || want == 0 {
		b.Fatalf("%q never became a common word", word)
	}
	if got := int(one.words.counts[k]); got != want || sum != want {
		b.Fatalf("%q counted %d, its deltas sum to %d, %d events hold it", word, got, sum, want)
	}
}

// ingestCase is one row of BenchmarkBlockIngest: documents of size events,
// with common words in the block documents' text field if words (counted
// beside the index instead if counted as well), without the typed fields'
// and _exists' lists if noLists, in batches of batch events.
type ingestCase struct {
	size                    int
	words, counted, noLists bool
	batch                   int
	// floor is Bleve's merge plan floor segment size in documents when
	// not 0 (Bleve's default is 2,000).
	floor int64
}

// mergeFloor is the Bleve config setting its merge plan's floor segment
// size to floor documents (Bleve's default of 2,000 if floor is 0): a
// segment of fewer documents is planned as if it had floor.
func mergeFloor(floor int64) map[string]any {
	if floor == 0 {
		return nil
	}
	return map[string]any{"scorchMergePlanOptions": map[string]any{"FloorSegmentSize": floor}}
}

// trailFiles gzips the first n generated records into files of per
// records, one record a line, streaming them from the generator so that a
// million records take only their compressed size in memory.
func trailFiles(b *testing.B, n, per int) [][]byte {
	cfg := gen.DefaultConfig()
	cfg.Events = n
	g, err := gen.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var files [][]byte
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	count := 0
	closeFile := func() {
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
		files = append(files, bytes.Clone(buf.Bytes()))
		buf.Reset()
		zw.Reset(&buf)
	}
	for rec := range g.All() {
		if _, err := zw.Write(append(rec, '\n')); err != nil {
			b.Fatal(err)
		}
		if count++; count%per == 0 {
			closeFile()
		}
	}
	if count%per != 0 {
		closeFile()
	}
	if count != n {
		b.Fatalf("the generator gave %d records, want %d", count, n)
	}
	return files
}

// ingestFiles is one run of BenchmarkBlockIngest. Besides the rate to the
// last batch it reports the rate and CPU to quiet, once Bleve's merges
// have stopped using the CPU: larger batches leave more merging for after
// the last one, which a sustained stream would pay as it goes.
func ingestFiles(b *testing.B, files [][]byte, events int, tc ingestCase) {
	const shards = 2
	var took, cpu, tookQuiet, cpuQuiet time.Duration
	var disk int64
	runs := 0
	for b.Loop() {
		dir := b.TempDir()
		idxs := make([]bleve.Index, shards)
		config := mergeFloor(tc.floor)
		for i := range idxs {
			var err error
			if idxs[i], err = bleve.NewUsing(filepath.Join(dir, fmt.Sprint(i)), newMapping(), scorch.Name, scorch.Name, config); err != nil {
				b.Fatal(err)
			}
		}
		next := make(chan []byte)
		errs := make(chan error, shards)
		start, cpu0 := time.Now(), processCPU(b)
		var seq atomic.Uint64
		for s := range shards {
			go func() { errs <- ingestBlocks(idxs[s], next, &seq, tc) }()
		}
		for _, f := range files {
			next <- f
		}
		close(next)
		for range shards {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		took += time.Since(start)
		cpu += processCPU(b) - cpu0
		quietAt, quietCPU := waitQuiet(b)
		tookQuiet += quietAt.Sub(start)
		cpuQuiet += quietCPU - cpu0
		total := uint64(0)
		for _, idx := range idxs {
			n, err := idx.DocCount()
			if err != nil {
				b.Fatal(err)
			}
			total += n
			if err := idx.Close(); err != nil {
				b.Fatal(err)
			}
		}
		disk += dirSize(dir)
		if want := uint64((events + tc.size - 1) / tc.size); total < want {
			b.Fatalf("%d block documents, want at least %d", total, want)
		}
		runs++
	}
	b.ReportMetric(float64(events*runs)/took.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(events*runs), "cpu-µs/event")
	b.ReportMetric(float64(events*runs)/tookQuiet.Seconds(), "events/s-quiet")
	b.ReportMetric(float64(cpuQuiet.Microseconds())/float64(events*runs), "cpu-µs/event-quiet")
	b.ReportMetric(float64(disk)/float64(events*runs), "disk-B/event")
}

// waitQuiet waits for a half second in which the process used under 5% of
// a core (Bleve's merges done), and returns when that half second began and
// the process's CPU then.
func waitQuiet(b *testing.B) (time.Time, time.Duration) {
	const tick = 500 * time.Millisecond
	for last := processCPU(b); ; {
		time.Sleep(tick)
		now := processCPU(b)
		if now-last < tick/20 {
			return time.Now().Add(-tick), now
		}
		last = now
	}
}

// ingestBlocks is one shard's goroutine of BenchmarkBlockIngest.
func ingestBlocks(idx bleve.Index, files <-chan []byte, seq *atomic.Uint64, tc ingestCase) error {
	var p record.Parser
	one := new(onePassBlock)
	if tc.words {
		one = newOnePassWords()
		one.words.outside = tc.counted
	}
	one.noLists = tc.noLists
	var pending []record.Event
	var delta []byte
	var zr *gzip.Reader
	flush := func(all bool) error {
		if len(pending) < tc.batch && !all {
			return nil
		}
		bt := idx.NewBatch()
		for lo := 0; lo < len(pending); lo += tc.size {
			var doc *document.Document
			if tc.size == 1 {
				doc = buildDocument(&pending[lo], false)
			} else {
				doc = one.document(pending[lo:min(lo+tc.size, len(pending))])
			}
			if err := bt.IndexAdvanced(doc); err != nil {
				return err
			}
		}
		if tc.counted && len(pending) > 0 {
			// The batch's word counts, stored with it as its checkpoints are.
			delta = one.words.delta(delta[:0])
			doc := document.NewDocument("c" + seqKey(pending[0].Seq))
			doc.AddField(document.NewTextFieldCustom("_counts", nil, slices.Clone(delta), optStoreOnly, keywordAnalyzer))
			if err := bt.IndexAdvanced(doc); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return idx.Batch(bt)
	}
	for f := range files {
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(f))
		} else {
			err = zr.Reset(bytes.NewReader(f))
		}
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			return err
		}
		for line := range bytes.SplitSeq(bytes.TrimSpace(raw), []byte{'\n'}) {
			ev, err := p.Parse(record.KindCloudTrail, line)
			if err != nil {
				return err
			}
			ev.Seq = seq.Add(1)
			pending = append(pending, ev)
		}
		if err := flush(false); err != nil {
			return err
		}
	}
	return flush(true)
}

// blockSidecar is what BenchmarkBlockCounts keeps beside a block store's
// documents for counting without reading blocks: for each facetable field a
// column of each event's value (its ordinal in the field's values, 0 for
// none), and for each of its values, and for having a value at all, a
// bitmap of the events; and each event's day.
type blockSidecar struct {
	values []map[string]uint32 // per facetable field: value -> ordinal (from 1)
	cols   [][]uint32          // per facetable field: each event's ordinal
	terms  map[string]*roaring.Bitmap
	has    []*roaring.Bitmap // per facetable field
	days   []uint32
}

// facetable are the indexes in keywordFields of the fields counted.
var facetable = func() (out []int) {
	for i := range keywordFields {
		if keywordFields[i].facetable {
			out = append(out, i)
		}
	}
	return out
}()

func newBlockSidecar() *blockSidecar {
	s := &blockSidecar{terms: map[string]*roaring.Bitmap{}}
	for range facetable {
		s.values = append(s.values, map[string]uint32{})
		s.cols = append(s.cols, nil)
		s.has = append(s.has, roaring.New())
	}
	return s
}

// add records events, numbered from the sidecar's current length.
func (s *blockSidecar) add(evs []record.Event) {
	for i := range evs {
		ev, n := &evs[i], uint32(len(s.days))
		for j, k := range facetable {
			v := keywordFields[k].value(ev)
			var ord uint32
			if v != "" {
				if ord = s.values[j][v]; ord == 0 {
					ord = uint32(len(s.values[j]) + 1)
					s.values[j][v] = ord
				}
				s.has[j].Add(n)
				key := keywordFields[k].name + kvSep + v
				bm := s.terms[key]
				if bm == nil {
					bm = roaring.New()
					s.terms[key] = bm
				}
				bm.Add(n)
			}
			s.cols[j] = append(s.cols[j], ord)
		}
		s.days = append(s.days, uint32(ev.Time.Unix()/86400))
	}
}

// field returns the index in facetable of the field name.
func (s *blockSidecar) field(tb testing.TB, name string) int {
	for j, k := range facetable {
		if keywordFields[k].name == name {
			return j
		}
	}
	tb.Fatalf("%s is not facetable", name)
	return -1
}

// BenchmarkBlockCounts measures the counting side a block store would need
// (see BenchmarkBlockCandidates: exact totals and facets over a query's
// matches would otherwise read most blocks), on 100,000 generated events:
//   - build: adding events to a blockSidecar, CPU and bytes an event
//     (columns of 4-byte ordinals, bitmaps serialized);
//   - facet-errors: the 10 most frequent eventNames of the events with an
//     errorCode; histogram-service: events of service codedeploy by day;
//     total-name-source: the exact total of eventSource and eventName
//     together. Each is checked against counting the events directly.
//
// And the filter a search for a word would use across blocks instead of
// reading every block's Bloom filter (sliced): one bitmap over the blocks
// for each bit of the blocks' filters (the same bits, 10 a term, 4 probes),
// so that a word's candidate blocks are the AND of 4 bitmaps;
// sliced-filter reports its bytes an event, how many candidate blocks a
// word gets against the blocks that hold it, and the time of the AND.
func BenchmarkBlockCounts(b *testing.B) {
	events := generated(b, 100000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	var sc *blockSidecar
	b.Run("build", func(b *testing.B) {
		start, n := time.Now(), 0
		for b.Loop() {
			sc = newBlockSidecar()
			for lo := 0; lo < len(events); lo += 256 {
				sc.add(events[lo:min(lo+256, len(events))])
			}
			n += len(events)
		}
		size := 4 * len(sc.days) * (len(facetable) + 1)
		for _, bm := range sc.terms {
			bm.RunOptimize()
			size += int(bm.GetSerializedSizeInBytes())
		}
		for _, bm := range sc.has {
			size += int(bm.GetSerializedSizeInBytes())
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/event")
		b.ReportMetric(float64(size)/float64(len(events)), "B/event")
	})
	errs, names := sc.field(b, "errorCode"), sc.field(b, "eventName")
	wantNames := map[uint32]int{}
	for i := range events {
		if events[i].ErrorCode != "" {
			wantNames[sc.values[names][events[i].Name]]++
		}
	}
	b.Run("facet-errors", func(b *testing.B) {
		var counts []int
		for b.Loop() {
			counts = make([]int, len(sc.values[names])+1)
			col := sc.cols[names]
			it := sc.has[errs].Iterator()
			for it.HasNext() {
				counts[col[it.Next()]]++
			}
		}
		for ord, n := range wantNames {
			if counts[ord] != n {
				b.Fatalf("eventName %d: counted %d events with an error, want %d", ord, counts[ord], n)
			}
		}
	})
	service := sc.terms["service"+kvSep+"codedeploy"]
	b.Run("histogram-service", func(b *testing.B) {
		var days map[uint32]int
		for b.Loop() {
			days = map[uint32]int{}
			it := service.Iterator()
			for it.HasNext() {
				days[sc.days[it.Next()]]++
			}
		}
		total := 0
		for _, n := range days {
			total += n
		}
		if want := int(service.GetCardinality()); total != want || want == 0 {
			b.Fatalf("histogram of %d events, want %d", total, want)
		}
	})
	b.Run("total-name-source", func(b *testing.B) {
		var n uint64
		for b.Loop() {
			n = roaring.And(sc.terms["eventSource"+kvSep+"codepipeline.amazonaws.com"], sc.terms["eventName"+kvSep+"StartPipelineExecution"]).GetCardinality()
		}
		want := 0
		for i := range events {
			if events[i].Source == "codepipeline.amazonaws.com" && events[i].Name == "StartPipelineExecution" {
				want++
			}
		}
		if n != uint64(want) || want == 0 {
			b.Fatalf("total %d, want %d", n, want)
		}
	})
	b.Run("sliced-filter", func(b *testing.B) {
		var one onePassBlock
		var blocks [][]uint64 // each block's distinct filter hashes
		most := 0
		for lo := 0; lo < len(events); lo += 256 {
			one.document(events[lo:min(lo+256, len(events))])
			blocks = append(blocks, slices.Clone(one.bloomH))
			most = max(most, len(one.bloomH))
		}
		m := uint64(10 * most) // one size for all blocks: the fullest block's
		sliced := make([]*roaring.Bitmap, m)
		for blk, hs := range blocks {
			for _, h := range hs {
				x := uint64(h) * 0x9e3779b97f4a7c15
				for i := range uint64(4) {
					bit := (x + i*(x>>32|1)) % m
					if sliced[bit] == nil {
						sliced[bit] = roaring.New()
					}
					sliced[bit].Add(uint32(blk))
				}
			}
		}
		size := 0
		for _, s := range sliced {
			if s != nil {
				s.RunOptimize()
				size += int(s.GetSerializedSizeInBytes())
			}
		}
		word := crc32.Update(seedText, crcTable, []byte("accessdenied"))
		holding := 0
		for _, hs := range blocks {
			if _, ok := slices.BinarySearch(hs, uint64(word)); ok {
				holding++
			}
		}
		var cand *roaring.Bitmap
		for b.Loop() {
			x := uint64(word) * 0x9e3779b97f4a7c15
			cand = nil
			for i := range uint64(4) {
				s := sliced[(x+i*(x>>32|1))%m]
				if s == nil {
					cand = roaring.New()
					break
				}
				if cand == nil {
					cand = s.Clone()
				} else {
					cand.And(s)
				}
			}
		}
		if int(cand.GetCardinality()) < holding || holding == 0 {
			b.Fatalf("%d candidate blocks for a word %d blocks hold", cand.GetCardinality(), holding)
		}
		b.ReportMetric(float64(size)/float64(len(events)), "B/event")
		b.ReportMetric(float64(cand.GetCardinality()), "candidate-blocks")
		b.ReportMetric(float64(holding), "blocks-holding")
	})
}
