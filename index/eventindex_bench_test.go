package index

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
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

// BenchmarkBlockEventIndex measures a block's event index (blockindex.go)
// as blockBuilder stores it, on 20,000 generated events in blocks of
// blockSize:
//   - build: blockBuilder.build, the whole block document (lists, Bloom
//     filter, event index, records; common words counted), CPU an event;
//     the bytes an event of the typed terms' event index raw (as stored),
//     with s2 and with zstd (fastest), of the rare terms' index, of the
//     records and of the Bloom filter as stored;
//   - encode: encodeEventIndex alone from a block's term pairs, the sort
//     and the layout, CPU an event;
//   - lookup: parseEventIndex and one term's events, index in memory;
//   - s2-decode, zstd-decode: what decompressing one block's index would
//     cost a search for each candidate block (it was stored with s2 inside
//     zap's compression until fieldIndex);
//   - records-decode, records-parse: what testing a block's events without
//     the index would cost: decodeBlockRecords, and parsing them all;
//   - candidate: a candidate block of a real index: its stored fields read
//     from its Bleve segment (zap decompresses them together; the records
//     are in a document of their own, as the store writes them), its event
//     index copied and parsed, one term looked up.
//
// It first checks the index against the events' own terms
// (checkEventIndex), and each timed part's result once.
func BenchmarkBlockEventIndex(b *testing.B) {
	events := generated(b, 20000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	var blocks [][]record.Event
	for lo := 0; lo < len(events); lo += blockSize {
		blocks = append(blocks, events[lo:min(lo+blockSize, len(events))])
	}
	checkEventIndex(b, blocks)
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		b.Fatal(err)
	}
	zdec, err := zstd.NewReader(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer zdec.Close()
	// Each block as stored, and its term pairs and keys for encode.
	var raw, ss, zs, rares, recs, blooms [][]byte
	var pairs [][]uint64
	var keys [][]eventKey
	var decoded [][]blockRecord
	bb := newBlockBuilder(nil)
	for _, blk := range blocks {
		doc, err := bb.build(blk)
		if err != nil {
			b.Fatal(err)
		}
		ix := storedOf(b, doc, fieldTyped)
		raw, ss, zs = append(raw, ix), append(ss, s2.Encode(nil, ix)), append(zs, zenc.EncodeAll(ix, nil))
		rares = append(rares, storedOf(b, doc, fieldRare))
		recs, blooms = append(recs, storedOf(b, doc, fieldBlob)), append(blooms, storedOf(b, doc, fieldBloom))
		pairs, keys = append(pairs, slices.Clone(bb.pairs)), append(keys, slices.Clone(bb.keys))
		rs, err := decodeBlockRecords(recs[len(recs)-1], nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != len(blk) {
			b.Fatalf("block of %d events: %d records decoded", len(blk), len(rs))
		}
		for i, r := range rs {
			if r.kind != blk[i].Kind || !bytes.Equal(r.raw, blk[i].Raw) {
				b.Fatalf("event %d: record decoded differs", blk[i].Seq)
			}
		}
		decoded = append(decoded, rs)
	}
	perEvent := func(bs [][]byte) float64 {
		n := 0
		for _, x := range bs {
			n += len(x)
		}
		return float64(n) / float64(len(events))
	}
	name := func(part string) string { return fmt.Sprintf("block=%d/%s", blockSize, part) }
	b.Run(name("build"), func(b *testing.B) {
		bb := newBlockBuilder(newWordCounts())
		start, n := time.Now(), 0
		for i := 0; b.Loop(); i++ {
			blk := blocks[i%len(blocks)]
			if _, err := bb.build(blk); err != nil {
				b.Fatal(err)
			}
			n += len(blk)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/event")
		b.ReportMetric(perEvent(raw), "raw-B/event")
		b.ReportMetric(perEvent(rares), "rare-B/event")
		b.ReportMetric(perEvent(ss), "s2-B/event")
		b.ReportMetric(perEvent(zs), "zstd-B/event")
		b.ReportMetric(perEvent(recs), "records-B/event")
		b.ReportMetric(perEvent(blooms), "bloom-B/event")
	})
	b.Run(name("encode"), func(b *testing.B) {
		var out []byte
		var work, spare []uint64
		start, n, last := time.Now(), 0, 0
		for i := 0; b.Loop(); i++ {
			last = i % len(blocks)
			// encodeEventIndex sorts in place: a copy, so that each run
			// sorts the pairs as the builder hands them over.
			work = append(work[:0], pairs[last]...)
			out, work, spare = encodeEventIndex(out[:0], work, spare, keys[last])
			n += len(keys[last])
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "µs/event")
		if !bytes.Equal(out, raw[last]) {
			b.Fatalf("block %d: encoded again from its pairs, its index differs from the stored one", last)
		}
	})
	// A term in about a third of the blocks' events: eventName of the
	// middle event; want is, for each block, the events holding it.
	term := events[len(events)/2].Name
	h := termHash("eventName", []byte(term))
	want := make([]eventSet, len(blocks))
	for k, blk := range blocks {
		for i := range blk {
			if blk[i].Name == term {
				want[k].add(i)
			}
		}
	}
	b.Run(name("lookup"), func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			x, err := parseEventIndex(raw[i%len(raw)])
			if err != nil {
				b.Fatal(err)
			}
			set, shared, err := x.lookup(h)
			if err != nil {
				b.Fatal(err)
			}
			if w := want[i%len(raw)]; set.and(w) != w || set != w && !shared {
				b.Fatalf("block %d: eventName:%s found events %v, want %v", i%len(raw), term, set, w)
			}
		}
	})
	b.Run(name("s2-decode"), func(b *testing.B) {
		var buf []byte
		last := 0
		for i := 0; b.Loop(); i++ {
			last = i % len(ss)
			if buf, err = s2.Decode(buf[:cap(buf)], ss[last]); err != nil {
				b.Fatal(err)
			}
		}
		if !bytes.Equal(buf, raw[last]) {
			b.Fatalf("block %d: s2 decoded a different index", last)
		}
	})
	b.Run(name("zstd-decode"), func(b *testing.B) {
		var buf []byte
		last := 0
		for i := 0; b.Loop(); i++ {
			last = i % len(zs)
			if buf, err = zdec.DecodeAll(zs[last], buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
		if !bytes.Equal(buf, raw[last]) {
			b.Fatalf("block %d: zstd decoded a different index", last)
		}
	})
	b.Run(name("records-decode"), func(b *testing.B) {
		var out []blockRecord
		last := 0
		for i := 0; b.Loop(); i++ {
			last = i % len(recs)
			if out, err = decodeBlockRecords(recs[last], out[:0]); err != nil {
				b.Fatal(err)
			}
		}
		if len(out) != len(blocks[last]) {
			b.Fatalf("block %d of %d events: %d records decoded", last, len(blocks[last]), len(out))
		}
	})
	b.Run(name("candidate"), func(b *testing.B) {
		segs, done := blockSegments(b, events)
		defer done()
		var buf []byte
		for i := 0; b.Loop(); i++ {
			ss := segs[i%len(segs)]
			local := uint64(i/len(segs)) % ss.Count()
			err := ss.Segment().VisitStoredFields(local, func(field string, _ byte, value []byte, _ []uint64) bool {
				if field != fieldTyped {
					return true
				}
				buf = append(buf[:0], value...) // as blockReader.read: value is zap's buffer
				x, err := parseEventIndex(buf)
				if err != nil {
					b.Fatal(err)
				}
				set, shared, err := x.lookup(h)
				if err != nil {
					b.Fatal(err)
				}
				if i == 0 && !shared {
					// Once: every event of the block, by its sequence
					// number, holds the term if and only if found.
					for o := range x.events {
						if ev := &events[x.key(o).seq-1]; set.has(o) != (ev.Name == term) {
							b.Fatalf("event %d (eventName %s): found %v for eventName:%s", ev.Seq, ev.Name, set.has(o), term)
						}
					}
				}
				return false
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(name("records-parse"), func(b *testing.B) {
		var p record.Parser
		for i := 0; b.Loop(); i++ {
			for _, r := range decoded[i%len(decoded)] {
				if _, err := p.Parse(r.kind, r.raw); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// checkEventIndex tests the event index blockBuilder stores for every
// sixteenth block of blocks and the last: it holds each event's sort key,
// and exactly the hashes of the block's terms (those of documentFields,
// each field with its tokenizer, and each eventID); a lookup of any term
// returns every event holding it and, unless the posting is marked shared,
// no other; a posting is marked shared only when another term of the block
// has its hash; and every field got checked.
func checkEventIndex(b *testing.B, blocks [][]record.Event) {
	b.Helper()
	type term struct{ name, term string }
	bb := newBlockBuilder(nil)
	checked := map[string]int{} // field: its terms checked
	shared := 0
	for k := range blocks {
		if k%16 != 0 && k != len(blocks)-1 {
			continue
		}
		blk := blocks[k]
		holders := map[term]eventSet{}
		hold := func(t term, ord int) {
			s := holders[t]
			s.add(ord)
			holders[t] = s
		}
		for i := range blk {
			for _, f := range documentFields(&blk[i]) {
				for _, t := range f.tok.tokens(f.value, nil) {
					hold(term{f.name, string(t.term)}, i)
				}
			}
			hold(term{"eventID", blk[i].ID}, i)
		}
		doc, err := bb.build(blk)
		if err != nil {
			b.Fatal(err)
		}
		x := storedIndex(b, doc)
		if x.events != len(blk) {
			b.Fatalf("block %d of %d events: its index has %d", k, len(blk), x.events)
		}
		for i := range blk {
			want := eventKey{nanos: noTime, seq: blk[i].Seq}
			if t, ok := indexedTime(&blk[i]); ok {
				want.nanos = t.UnixNano()
			}
			if got := x.key(i); got != want {
				b.Fatalf("block %d event %d: key %v, want %v", k, i, got, want)
			}
		}
		// Each term in its index: the typed terms' or the rare terms'.
		terms := map[bool]map[uint32]int{false: {}, true: {}} // rare: hash: the block's terms with it
		for t := range holders {
			terms[rareField(t.name)][termHash(t.name, []byte(t.term))]++
		}
		rare, err := x.rare()
		if err != nil {
			b.Fatal(err)
		}
		if x.n != len(terms[false]) || rare.n != len(terms[true]) {
			b.Fatalf("block %d: its indexes hold %d and %d term hashes, its events' terms have %d and %d", k, x.n, rare.n, len(terms[false]), len(terms[true]))
		}
		for t, want := range holders {
			h := termHash(t.name, []byte(t.term))
			ix := x.eventIndex
			if rareField(t.name) {
				ix = rare
			}
			got, sh, err := ix.lookup(h)
			if err != nil {
				b.Fatal(err)
			}
			if got.and(want) != want {
				b.Fatalf("block %d: %s:%q found events %v, want at least %v", k, t.name, t.term, got, want)
			}
			if sh {
				if terms[rareField(t.name)][h] < 2 {
					b.Fatalf("block %d: %s:%q is marked shared, no other term of the block has its hash", k, t.name, t.term)
				}
				shared++
				continue
			}
			if got != want {
				b.Fatalf("block %d: %s:%q found events %v, want %v", k, t.name, t.term, got, want)
			}
			checked[t.name]++
		}
		for t := range holders {
			if checked[t.name] == 0 {
				b.Fatalf("block %d: no term of %s checked", k, t.name)
			}
		}
	}
	b.Logf("terms checked by field: %v; %d marked shared (hash collisions)", checked, shared)
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
	const size = blockSize
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
// (blockBuilder, blocks of blockSize in batches of 5,000 events, Bleve's
// merge floor at 8) and returns its segments; done closes the index.
func blockSegments(b *testing.B, events []record.Event) (segs []*scorch.SegmentSnapshot, done func()) {
	b.Helper()
	idx, err := bleve.NewUsing(filepath.Join(b.TempDir(), "shard"), newMapping(), scorch.Name, scorch.Name, mergeFloor(8))
	if err != nil {
		b.Fatal(err)
	}
	// As the store writes them: the records, the summaries and the rare
	// terms' index in documents of their own.
	build := blockBuild(b, newBlockBuilder(newWordCounts()))
	recs := idx.NewBatch()
	writeBlocks(b, idx, events, 5000, blockSize, func(evs []record.Event) *document.Document {
		doc, rd, sums, rare := splitBlock(build(evs))
		for _, d := range []*document.Document{rd, sums, rare} {
			if err := recs.IndexAdvanced(d); err != nil {
				b.Fatal(err)
			}
		}
		return doc
	})
	if err := idx.Batch(recs); err != nil {
		b.Fatal(err)
	}
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

// blockBuild is bb.build for writeBlocks and writeShard.
func blockBuild(b *testing.B, bb *blockBuilder) func([]record.Event) *document.Document {
	return func(evs []record.Event) *document.Document {
		doc, err := bb.build(evs)
		if err != nil {
			b.Fatal(err)
		}
		return doc
	}
}

// BenchmarkBlockIngest measures the block layout end to end on both cores,
// as ingest would run it: trail-like gzip files of 100 records, two
// goroutines each taking files, gunzipping and parsing their records
// (record.Parser) and writing blocks of blockSize of them (blockBuilder,
// common words counted, one builder and one wordCounts a goroutine) into a
// shard of its own in batches of 5,000 events, each batch with its word
// counts' delta, Bleve's merge floor at 8 documents. block=1 is today's
// document per event (buildDocument, Bleve's default floor), the baseline.
// It reports events/s over the whole run, the CPU an event, Bleve's merges
// included, and the disk an event once the shards are closed. What it
// leaves out of the real Put: duplicate ids (a block store would look them
// up in the event indexes or filters), sequence numbers across shards and
// the checkpoint.
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
	for _, tc := range []ingestCase{
		{size: blockSize, batch: 5000, floor: 8},
		{size: 1, batch: 5000},
	} {
		name := fmt.Sprintf("block=%d", tc.size)
		if tc.size > 1 {
			name += "+counted"
		}
		if tc.floor != 0 {
			name += fmt.Sprintf("+floor=%d", tc.floor)
		}
		b.Run(name, func(b *testing.B) { ingestFiles(b, files, n, tc) })
	}
}

// checkCounted tests the word counts of blockBuilder on 20,000 generated
// events in blocks of blockSize and batches of 5,000, as ingestBlocks
// writes them: the total of word is the number of events holding it in the
// blocks built once it was common, the batches' deltas applied to a new
// wordCounts (as a partition does at open) give the same total, and word is
// in the Bloom filter of each of those blocks holding it.
func checkCounted(b *testing.B, word string) {
	b.Helper()
	const batch = 5000
	events := generated(b, 20000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	words, reopened := newWordCounts(), newWordCounts()
	bb := newBlockBuilder(words)
	h := termHash(fieldText, []byte(word))
	want := uint64(0)
	var delta []byte
	for i, j := range blockRanges(len(events), batch, blockSize) {
		_, _, common := words.total(word)
		holding := uint64(0)
		for k := i; k < j; k++ {
			if slices.Contains(analyzeText(textOf(&events[k])), word) {
				holding++
			}
		}
		doc, err := bb.build(events[i:j])
		if err != nil {
			b.Fatal(err)
		}
		if common {
			want += holding
			if holding > 0 && !(blockBloom{bits: storedOf(b, doc, fieldBloom)}).hasHash(h) {
				b.Fatalf("block at %d: %q is not in its Bloom filter", i, word)
			}
		}
		if j%batch == 0 || j == len(events) {
			delta = words.delta(delta[:0])
			if err := reopened.apply(delta); err != nil {
				b.Fatal(err)
			}
		}
	}
	got, _, ok := words.total(word)
	if !ok || want == 0 {
		b.Fatalf("%q never became a common word", word)
	}
	if sum, _, _ := reopened.total(word); got != want || sum != want {
		b.Fatalf("%q counted %d, its deltas sum to %d, %d events hold it", word, got, sum, want)
	}
}

// ingestCase is one row of BenchmarkBlockIngest: documents of size events
// (1: today's document per event; more: blockBuilder's blocks, with the
// word counts), in batches of batch events.
type ingestCase struct {
	size  int
	batch int
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
	var w *blockWriter
	if tc.size > 1 {
		var err error
		if w, err = newBlockWriter(context.Background(), idx); err != nil {
			return err
		}
	}
	var pending []record.Event
	var zr *gzip.Reader
	flush := func(all bool) error {
		if len(pending) < tc.batch && !all {
			return nil
		}
		defer func() { pending = pending[:0] }()
		if w != nil {
			return w.writeBatch(pending)
		}
		bt := idx.NewBatch()
		for i := range pending {
			if err := bt.IndexAdvanced(buildDocument(&pending[i], false)); err != nil {
				return err
			}
		}
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
			// A duplicate id is looked up as Put would: the blocks its
			// hash names, confirmed on their records.
			if w != nil && len(w.ids.blocks(termHash("eventID", []byte(ev.ID)))) > 0 {
				if _, dup, err := findEvent(context.Background(), idx, w.ids, ev.ID); err != nil || dup {
					return fmt.Errorf("event %s: duplicate %v (%v)", ev.ID, dup, err)
				}
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
// for each bit of the blocks' filters (blockBuilder's hashes, blockBloom's
// 4 probes, 10 bits a term), so that a word's candidate blocks are the AND
// of 4 bitmaps;
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
		bb := newBlockBuilder(nil)
		var blocks [][]uint64 // each block's distinct filter hashes, ascending
		most := 0
		for lo := 0; lo < len(events); lo += blockSize {
			if _, err := bb.build(events[lo:min(lo+blockSize, len(events))]); err != nil {
				b.Fatal(err)
			}
			blocks = append(blocks, slices.Clone(bb.bloomH))
			most = max(most, len(bb.bloomH))
		}
		m := uint64(10 * most) // one size for all blocks: the fullest block's
		// The probes of blockBloom's addHash, in m bits.
		probes := func(h uint32) [4]uint64 {
			var p [4]uint64
			x := spread(h)
			for i := range p {
				p[i] = (x + uint64(i)*(x>>32|1)) % m
			}
			return p
		}
		sliced := make([]*roaring.Bitmap, m)
		for blk, hs := range blocks {
			for _, h := range hs {
				for _, bit := range probes(uint32(h)) {
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
		word := termHash(fieldText, []byte("accessdenied"))
		var holding []uint32
		for blk, hs := range blocks {
			if _, ok := slices.BinarySearch(hs, uint64(word)); ok {
				holding = append(holding, uint32(blk))
			}
		}
		var cand *roaring.Bitmap
		for b.Loop() {
			cand = nil
			for _, bit := range probes(word) {
				s := sliced[bit]
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
		if len(holding) == 0 || !roaring.AndNot(roaring.BitmapOf(holding...), cand).IsEmpty() {
			b.Fatalf("candidate blocks %v for a word blocks %v hold", cand, holding)
		}
		b.ReportMetric(float64(size)/float64(len(events)), "B/event")
		b.ReportMetric(float64(cand.GetCardinality()), "candidate-blocks")
		b.ReportMetric(float64(len(holding)), "blocks-holding")
	})
}

// BenchmarkAllCounts measures facets and a daily histogram over all of a
// block shard's events from its value and hour counts (allCounts), which
// grow with the distinct values and hours, not with the events: 100,000
// generated events (or CODETRAIL_BENCH_EVENTS). It first checks the facet
// against the events.
func BenchmarkAllCounts(b *testing.B) {
	n, ok := benchEvents(b)
	if !ok {
		n = 100000
	}
	events := generated(b, n)
	c := newAllCounts()
	for lo := 0; lo < len(events); lo += 5000 {
		c.add(events[lo:min(lo+5000, len(events))])
		c.delta(nil)
	}
	f := blockColumn("eventName")
	want := map[string]int{}
	for i := range events {
		want[events[i].Name]++
	}
	if got := c.facet(f); !maps.Equal(got.values, want) {
		b.Fatalf("facet: %d values, want %d", len(got.values), len(want))
	}
	day := 24 * time.Hour
	start := events[len(events)-1].Time.UTC().Truncate(day).Add(-29 * day)
	b.Run("facet-eventName", func(b *testing.B) {
		for b.Loop() {
			c.facet(f)
		}
	})
	b.Run("days", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.histogram(start, day, 30); !ok {
				b.Fatal("no histogram")
			}
		}
	})
}

// BenchmarkBlockRecords measures reading a block's records
// (encodeBlockRecords) by the number of records a frame, on 20,480
// generated events in blocks of blockSize: one is a sparse hit (the block
// opened and one record got: one frame decompressed), all every record of
// the block; B/event is the records' stored size. per=256 is version 1's
// single frame.
func BenchmarkBlockRecords(b *testing.B) {
	events := generated(b, 20480)
	for _, per := range []int{blockFrame, 16, 32, blockSize} {
		var blocks [][]byte
		size := 0
		for lo := 0; lo < len(events); lo += blockSize {
			var recs []byte
			for i := lo; i < min(lo+blockSize, len(events)); i++ {
				recs = appendBlockRecord(recs, &events[i])
			}
			blocks = append(blocks, encodeRecordFrames(recs, per))
			size += len(blocks[len(blocks)-1])
		}
		b.Run(fmt.Sprintf("per=%d/one", per), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				o := i * 7 % blockSize
				r, err := openBlockRecordsAt(blocks[i%len(blocks)], []int{o})
				if err != nil {
					b.Fatal(err)
				}
				if rec, err := r.get(o); err != nil || !bytes.Equal(rec.raw, events[i%len(blocks)*blockSize+o].Raw) {
					b.Fatalf("record %d: %v", o, err)
				}
				r.release()
			}
			b.ReportMetric(float64(size)/float64(len(events)), "B/event")
		})
		b.Run(fmt.Sprintf("per=%d/all", per), func(b *testing.B) {
			var out []blockRecord
			var err error
			for i := 0; b.Loop(); i++ {
				if out, err = decodeBlockRecords(blocks[i%len(blocks)], out[:0]); err != nil || len(out) != blockSize {
					b.Fatalf("%d records: %v", len(out), err)
				}
			}
		})
	}
}
