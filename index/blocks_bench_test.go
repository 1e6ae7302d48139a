package index

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
	"github.com/klauspost/compress/s2"

	"github.com/codetrail/codetrail/index/record"
)

// BenchmarkBlockDocuments is an experiment for issue #5, not a path the
// store takes: it measures what indexing blocks of consecutive events as one
// Bleve document would gain over one document per event, the redesign named
// as what would close the gap between Bleve's ~0.6 ms of CPU per event and
// 20,000 events/s on 2 cores.
//
// A block document holds the union of its events' terms (each distinct value
// once, as one list field per name, text without positions: a phrase or any
// other exact test would be made by the in-memory matcher on the block's
// events), the oldest and newest eventTime, the hours it spans, its newest
// sort key, and its records compressed together. block=1 is today's
// document (buildDocument) for comparison. Each run writes one shard on one
// goroutine in batches of 5,000 events, as one shard of Put does. It reports
// events/s and bytes of disk per event after the index is closed, and checks
// first that a term query finds exactly the blocks holding an event with
// that eventName.
//
// The +events rows also store each block's event index (which of its
// events hold which term), which a search needs to find the events of a
// candidate block without parsing its records; BenchmarkBlockEventIndex
// and BenchmarkBlockCandidates measure the search side of it. What is
// left out: merges beyond those during the run, and the in-memory
// matching, sorting and counting of a candidate block's events.
func BenchmarkBlockDocuments(b *testing.B) {
	events := generated(b, 20000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	const batch = 5000
	checkOnePass(b, events)
	for _, tc := range []struct {
		size                          int
		bloom, events, onePass, words bool
	}{{1, false, false, false, false}, {16, false, false, false, false}, {64, false, false, false, false}, {256, false, false, false, false},
		{64, true, false, false, false}, {256, true, false, false, false},
		{64, true, true, false, false}, {256, true, true, false, false}, {256, false, true, false, false},
		{64, true, true, true, false}, {256, true, true, true, false}, {256, true, true, true, true}} {
		size := tc.size
		var ib *eventIndexBuilder
		if tc.events {
			ib = new(eventIndexBuilder)
		}
		one := new(onePassBlock)
		if tc.words {
			one = newOnePassWords()
		}
		build := func(evs []record.Event) *document.Document {
			switch {
			case size == 1:
				return buildDocument(&evs[0], false)
			case tc.onePass:
				return one.document(evs)
			}
			return blockDocument(evs, tc.bloom, ib)
		}
		name := fmt.Sprintf("block=%d", size)
		if tc.bloom {
			name += "+bloom"
		}
		if tc.events {
			name += "+events"
		}
		if tc.onePass {
			name += "-onepass"
		}
		if tc.words {
			name += "+words"
		}
		b.Run(name, func(b *testing.B) {
			writeShard(b, events, batch, size, build, func(idx bleve.Index) {
				checkBlocks(b, idx, events, size, batch)
				if tc.words {
					checkCommonWord(b, idx, events, size, batch, "accessdenied")
				}
			})
		})
	}
}

// writeShard is the loop of BenchmarkBlockDocuments and
// BenchmarkDocumentParts: each run writes events into a new one-shard
// index on one goroutine, in Bleve batches of batch events, as one shard of
// Put does, with one document from build for each size consecutive events
// (never across a batch). check is called on the first run's index. It
// reports events/s, the process's CPU per event (Bleve analyses and merges
// on goroutines of its own) and bytes of disk per event after the index is
// closed.
func writeShard(b *testing.B, events []record.Event, batch, size int, build func([]record.Event) *document.Document, check func(bleve.Index)) {
	var bytes int64
	var took, cpu time.Duration
	runs := 0
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "shard")
		idx, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, nil)
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), processCPU(b)
		writeBlocks(b, idx, events, batch, size, build)
		took += time.Since(start)
		cpu += processCPU(b) - cpu0
		if runs == 0 && check != nil {
			check(idx)
		}
		if err := idx.Close(); err != nil {
			b.Fatal(err)
		}
		bytes += dirSize(dir)
		runs++
	}
	b.ReportMetric(float64(len(events)*runs)/took.Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(len(events)*runs), "disk-B/event")
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(events)*runs), "cpu-µs/event")
}

// BenchmarkDocumentParts is an experiment for issue #5, like
// BenchmarkBlockDocuments: it writes today's one document per event with
// some of its fields left out, to measure what each part costs and what
// Bleve costs for a document with almost nothing in it. If even the
// smallest document cannot be indexed at 20,000 events/s on 2 cores (about
// 100 µs of CPU an event, decoding included), no trimming of the fields of
// one document per event reaches that target.
//
// Leaving fields out breaks searches on them; no query is checked here.
func BenchmarkDocumentParts(b *testing.B) {
	events := generated(b, 20000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	without := func(names ...string) func([]record.Event) *document.Document {
		return func(evs []record.Event) *document.Document {
			doc := buildDocument(&evs[0], false)
			doc.Fields = slices.DeleteFunc(doc.Fields, func(f document.Field) bool { return slices.Contains(names, f.Name()) })
			return doc
		}
	}
	var keywords []string
	for i := range keywordFields {
		keywords = append(keywords, keywordFields[i].name)
	}
	for _, tc := range []struct {
		name  string
		build func([]record.Event) *document.Document
	}{
		{"all", without()},
		// As written before timeRangeQuery, and still to shards made
		// before fieldHour.
		{"numeric-time", func(evs []record.Event) *document.Document { return buildDocument(&evs[0], true) }},
		{"no-time", without(fieldTime)},
		// Phrases need the positions: without them they would have to be
		// tested on the events' records.
		{"text-no-positions", func(evs []record.Event) *document.Document {
			doc := buildDocument(&evs[0], false)
			for i, f := range doc.Fields {
				if f.Name() == fieldText {
					tf := f.(*document.TextField)
					doc.Fields[i] = document.NewTextFieldCustom(fieldText, nil, tf.Value(), bindex.IndexField, textAnalyzer)
				}
			}
			return doc
		}},
		// Unique ids are most of the terms new to the index: an event's
		// id and request id, about 10 tokens of its text, 8 of them new.
		{"text-no-ids", func(evs []record.Event) *document.Document {
			ev := evs[0]
			ev.Leaves = record.MakeLeaves(slices.DeleteFunc(ev.Leaves.Slice(), func(l record.Leaf) bool { return l.Path == "eventID" || l.Path == "requestID" })...)
			return buildDocument(&ev, false)
		}},
		{"no-summary", without(fieldSum)},
		{"no-text", without(fieldText)},
		{"no-text-kv-exists", without(fieldText, fieldKV, fieldExists)},
		{"no-text-kv-exists-keywords", without(append([]string{fieldText, fieldKV, fieldExists, multiResource}, keywords...)...)},
		{"id-and-blob-only", func(evs []record.Event) *document.Document {
			doc := document.NewDocument(evs[0].ID)
			doc.AddField(document.NewTextFieldCustom(fieldBlob, nil, encodeBlob(evs[0].Kind, evs[0].Seq, evs[0].Raw), optStoreOnly, keywordAnalyzer))
			return doc
		}},
	} {
		b.Run(tc.name, func(b *testing.B) { writeShard(b, events, 5000, 1, tc.build, nil) })
	}
}

// blockRanges yields the bounds [i, j) of each block of size of n events
// written in batches of batch events: a block never spans two batches.
func blockRanges(n, batch, size int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		for lo := 0; lo < n; lo += batch {
			for i := lo; i < lo+batch && i < n; i += size {
				if !yield(i, min(i+size, lo+batch, n)) {
					return
				}
			}
		}
	}
}

// writeBlocks writes events into idx in Bleve batches of batch events, one
// document from build for each block of blockRanges.
func writeBlocks(b *testing.B, idx bleve.Index, events []record.Event, batch, size int, build func([]record.Event) *document.Document) {
	b.Helper()
	bt := idx.NewBatch()
	for i, j := range blockRanges(len(events), batch, size) {
		if i > 0 && i%batch == 0 {
			if err := idx.Batch(bt); err != nil {
				b.Fatal(err)
			}
			bt = idx.NewBatch()
		}
		if err := bt.IndexAdvanced(build(events[i:j])); err != nil {
			b.Fatal(err)
		}
	}
	if err := idx.Batch(bt); err != nil {
		b.Fatal(err)
	}
}

// checkBlocks tests that a term query on eventName finds exactly the blocks
// (of size events, never across a batch boundary) holding such an event.
func checkBlocks(b *testing.B, idx bleve.Index, events []record.Event, size, batch int) {
	b.Helper()
	name := events[len(events)/2].Name
	want := 0
	for i, j := range blockRanges(len(events), batch, size) {
		if slices.ContainsFunc(events[i:j], func(e record.Event) bool { return e.Name == name }) {
			want++
		}
	}
	q := bquery.NewTermQuery(name)
	q.SetField("eventName")
	res, err := idx.SearchInContext(context.Background(), bleve.NewSearchRequestOptions(q, 0, 0, false))
	if err != nil || int(res.Total) != want {
		b.Fatalf("eventName:%s found %v documents (%v), want %d", name, res, err, want)
	}
}

// checkCommonWord tests the text field of onePassBlock's documents with
// common words: from the first block whose document holds word on, each
// block's term frequency of word is the number of its events whose text
// holds it, and before it none does.
func checkCommonWord(b *testing.B, idx bleve.Index, events []record.Event, size, batch int, word string) {
	b.Helper()
	holding := map[string]uint64{} // block document id: events holding word
	for i, j := range blockRanges(len(events), batch, size) {
		for k := i; k < j; k++ {
			if slices.Contains(analyzeText(textOf(&events[k])), word) {
				holding["b"+seqKey(events[i].Seq)]++
			}
		}
	}
	r := indexReader(b, idx)
	defer r.Close()
	tfr, err := r.TermFieldReader(context.Background(), []byte(word), fieldText, true, false, false)
	if err != nil {
		b.Fatal(err)
	}
	defer tfr.Close()
	got := map[string]uint64{}
	for {
		d, err := tfr.Next(nil)
		if err != nil {
			b.Fatal(err)
		}
		if d == nil {
			break
		}
		id, err := r.ExternalID(d.ID)
		if err != nil {
			b.Fatal(err)
		}
		got[id] = d.Freq
	}
	if len(got) == 0 {
		b.Fatalf("%q never became a common word", word)
	}
	first := slices.Min(slices.Collect(maps.Keys(got)))
	for id, n := range holding {
		if id >= first && got[id] != n {
			b.Fatalf("block %s: %q has term frequency %d, %d events hold it", id, word, got[id], n)
		}
	}
}

// indexReader returns a reader of idx's current snapshot; the caller
// closes it.
func indexReader(b *testing.B, idx bleve.Index) bindex.IndexReader {
	b.Helper()
	ai, err := idx.Advanced()
	if err != nil {
		b.Fatal(err)
	}
	r, err := ai.Reader()
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// textOf is the text field of ev's document, as leafDocFields writes it.
func textOf(ev *record.Event) string {
	for _, f := range leafDocFields(ev, nil) {
		if f.name == fieldText {
			return string(f.value)
		}
	}
	return ""
}

// checkOnePass tests that onePassBlock stores the same event index as
// blockDocument and lists the same terms in its keyword fields, on blocks of
// 256 of events.
func checkOnePass(b *testing.B, events []record.Event) {
	b.Helper()
	var one onePassBlock
	ib := new(eventIndexBuilder)
	stored := func(doc *document.Document) map[string]string {
		out := map[string]string{}
		for _, f := range doc.Fields {
			if f.Name() == "_bloom" || f.Name() == fieldBlob {
				continue
			}
			v := string(f.Value())
			if f.Name() != "_events" && f.Name() != fieldTime {
				lines := strings.Split(strings.TrimSuffix(v, "\n"), "\n")
				slices.Sort(lines)
				v = strings.Join(lines, "\n")
			}
			out[f.Name()] += v
		}
		return out
	}
	for lo := 0; lo+256 <= len(events); lo += 256 * 16 {
		blk := events[lo : lo+256]
		want, got := stored(blockDocument(blk, true, ib)), stored(one.document(blk))
		if len(got) != len(want) {
			b.Fatalf("block at %d: one pass wrote fields %v, two passes %v", lo, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		for name, v := range want {
			if got[name] != v {
				b.Fatalf("block at %d: field %s differs between one pass and two (%d and %d bytes)", lo, name, len(got[name]), len(v))
			}
		}
	}
}

// blockDocument is the block document of evs (see BenchmarkBlockDocuments).
// With ib, it also stores the block's event index (BenchmarkBlockEventIndex),
// compressed with s2, which a search would read for each candidate block.
// With bloom, the text tokens, path=value terms and requestIDs, most of them
// values seen once (ids, times, hashes) whose dictionary entries are most of
// Bleve's cost, go into a Bloom filter stored with the block instead of the index:
// a word or kv query would test every block's filter (a few thousand
// blocks per million events), then match the events of those that pass.
func blockDocument(evs []record.Event, bloom bool, ib *eventIndexBuilder) *document.Document {
	doc := document.NewDocument("b" + seqKey(evs[0].Seq))
	lists := map[string]map[string]struct{}{}
	add := func(name, v string) {
		if strings.IndexByte(v, '\n') >= 0 {
			return
		}
		if lists[name] == nil {
			lists[name] = map[string]struct{}{}
		}
		lists[name][v] = struct{}{}
	}
	var text strings.Builder
	seen := map[string]struct{}{}
	var span blockSpan
	for i := range evs {
		ev := &evs[i]
		for _, f := range keywordDocFields(ev, nil) {
			add(f.name, string(f.value))
		}
		for p := range existsPaths(ev) {
			add(fieldExists, p)
		}
		for l := range ev.Leaves.All() {
			if _, dup := seen[l.Value]; !dup {
				seen[l.Value] = struct{}{}
				text.WriteString(l.Value)
				text.WriteByte('\n')
			}
			if (ev.Kind != record.KindCloudTrail || !typedLeaves[l.Path]) && len(l.Value) <= maxKVValueLen {
				add(fieldKV, l.Path+kvSep+l.Value)
			}
		}
		span.add(ev)
	}
	if bloom {
		// requestID and eventID (the document id of an event, not of a
		// block) are unique per event too.
		kv, reqs := lists[fieldKV], lists["requestID"]
		delete(lists, fieldKV)
		delete(lists, "requestID")
		tokens := textAnalyzer.Analyze([]byte(text.String()))
		f := newBloom(len(kv) + len(tokens) + len(reqs) + len(evs))
		for v := range kv {
			f.add(v)
		}
		for v := range reqs {
			f.add("requestID" + kvSep + v)
		}
		for i := range evs {
			f.add("eventID" + kvSep + evs[i].ID)
		}
		for _, t := range tokens {
			f.add(string(t.Term))
		}
		doc.AddField(document.NewTextFieldCustom("_bloom", nil, f.bits, optStoreOnly, keywordAnalyzer))
	}
	for name, vs := range lists {
		doc.AddField(document.NewTextFieldCustom(name, nil, []byte(joinLines(vs)), optKeyword, listAnalyzer))
	}
	if !bloom {
		doc.AddField(document.NewTextFieldCustom(fieldText, nil, []byte(text.String()), optKeyword, textAnalyzer))
	}
	span.addFields(doc, &evs[0])
	if ib != nil {
		doc.AddField(document.NewTextFieldCustom("_events", nil, s2.Encode(nil, ib.build(evs)), optStoreOnly, keywordAnalyzer))
	}
	return doc
}

// blockSpan is what a block document keeps of its events beside their
// terms: the oldest and newest eventTime, the hours they fall in, the
// newest sort key, and the records.
type blockSpan struct {
	lo, hi time.Time
	hours  map[string]struct{}
	order  string
	raws   []byte
}

func (s *blockSpan) add(ev *record.Event) {
	if t, ok := indexedTime(ev); ok {
		if s.lo.IsZero() || t.Before(s.lo) {
			s.lo = t
		}
		s.hi = maxTime(s.hi, t)
		if s.hours == nil {
			s.hours = map[string]struct{}{}
		}
		s.hours[hourKey(t)] = struct{}{}
	}
	s.order = max(s.order, timeKey(ev)+seqKey(ev.Seq))
	s.raws = append(s.raws, ev.Raw...)
	s.raws = append(s.raws, '\n')
}

// addFields adds the span's fields to doc; the records are stored as one
// blob with first's kind and sequence number.
func (s *blockSpan) addFields(doc *document.Document, first *record.Event) {
	for _, t := range []time.Time{s.lo, s.hi} {
		if !t.IsZero() {
			f, _ := document.NewDateTimeFieldWithIndexingOptions(fieldTime, nil, t, "", optKeyword)
			doc.AddField(f)
		}
	}
	doc.AddField(document.NewTextFieldCustom(fieldHour, nil, []byte(joinLines(s.hours)), optKeyword, listAnalyzer))
	doc.AddField(document.NewTextFieldCustom(fieldOrder, nil, []byte(s.order), optFacet, keywordAnalyzer))
	doc.AddField(document.NewTextFieldCustom(fieldBlob, nil, encodeBlob(first.Kind, first.Seq, s.raws), optStoreOnly, keywordAnalyzer))
}

// blockBloom is a Bloom filter of 10 bits a value and 4 probes (about 1%
// false positives), for BenchmarkBlockDocuments.
type blockBloom struct{ bits []byte }

var bloomSeed = maphash.MakeSeed()

func newBloom(n int) *blockBloom { return &blockBloom{bits: make([]byte, max(8, (10*n+7)/8))} }

func (f *blockBloom) add(v string) { f.set(maphash.String(bloomSeed, v)) }

// addHash adds a value by its 32-bit term hash (onePassBlock), spread to
// 64 bits for the probes.
func (f *blockBloom) addHash(h uint32) { f.set(uint64(h) * 0x9e3779b97f4a7c15) }

// hasHash reports whether a term hash may have been added.
func (f *blockBloom) hasHash(h uint32) bool {
	x, m := uint64(h)*0x9e3779b97f4a7c15, uint64(len(f.bits)*8)
	for i := range uint64(4) {
		if bit := (x + i*(x>>32|1)) % m; f.bits[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

func (f *blockBloom) set(h uint64) {
	m := uint64(len(f.bits) * 8)
	for i := range uint64(4) {
		bit := (h + i*(h>>32|1)) % m
		f.bits[bit/8] |= 1 << (bit % 8)
	}
}

// processCPU is the CPU time this process has used, user and system: Bleve
// analyses and merges on goroutines of its own.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
