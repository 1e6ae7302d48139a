package index

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/record"
)

// BenchmarkBlockDocuments measures what writing one Bleve document per
// block of blockSize consecutive events (blockBuilder, common words
// counted, Bleve's merge floor at 8 documents) costs against one document
// per event (block=1, buildDocument). Each run writes 20,000 generated
// events into one shard on one goroutine in batches of 5,000, as one shard
// of Put does, without the gunzip, parse and word counts' deltas of
// BenchmarkBlockIngest. It reports events/s and bytes of disk per event
// after the index is closed, and checks first that a term query finds
// exactly the blocks holding an event with that eventName.
func BenchmarkBlockDocuments(b *testing.B) {
	events := generated(b, 20000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	const batch = 5000
	b.Run("block=1", func(b *testing.B) {
		build := func(evs []record.Event) *document.Document { return buildDocument(&evs[0], false) }
		writeShard(b, events, batch, 1, nil, build, func(idx bleve.Index) { checkBlocks(b, idx, events, 1, batch) })
	})
	b.Run(fmt.Sprintf("block=%d", blockSize), func(b *testing.B) {
		build := blockBuild(b, newBlockBuilder(newWordCounts()))
		writeShard(b, events, batch, blockSize, mergeFloor(8), build, func(idx bleve.Index) { checkBlocks(b, idx, events, blockSize, batch) })
	})
}

// writeShard is the loop of BenchmarkBlockDocuments and
// BenchmarkDocumentParts: each run writes events into a new one-shard
// index (config is Bleve's, nil for its defaults) on one goroutine, in
// Bleve batches of batch events, as one shard of Put does, with one
// document from build for each size consecutive events (never across a
// batch). check is called on the first run's index. It reports events/s, the process's CPU per event
// (Bleve analyses and merges on goroutines of its own) and bytes of disk
// per event after the index is closed.
func writeShard(b *testing.B, events []record.Event, batch, size int, config map[string]any, build func([]record.Event) *document.Document, check func(bleve.Index)) {
	var bytes int64
	var took, cpu time.Duration
	runs := 0
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "shard")
		idx, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, config)
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
		b.Run(tc.name, func(b *testing.B) { writeShard(b, events, 5000, 1, nil, tc.build, nil) })
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

// indexReader returns a reader of idx's current snapshot; the caller
// closes it.
func indexReader(tb testing.TB, idx bleve.Index) bindex.IndexReader {
	tb.Helper()
	ai, err := idx.Advanced()
	if err != nil {
		tb.Fatal(err)
	}
	r, err := ai.Reader()
	if err != nil {
		tb.Fatal(err)
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

// processCPU is the CPU time this process has used, user and system: Bleve
// analyses and merges on goroutines of its own.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBlockBuild measures the block builder alone (blockBuilder.build
// with common words counted, no Bleve), the larger part of the CPU of block
// ingest: 20,000 generated events in blocks of blockSize, reported per
// event.
func BenchmarkBlockBuild(b *testing.B) {
	events := generated(b, 20000)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	bb := newBlockBuilder(newWordCounts())
	for b.Loop() {
		for lo := 0; lo < len(events); lo += blockSize {
			if _, err := bb.build(events[lo:min(lo+blockSize, len(events))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events))/1000, "µs/event")
}
