package index

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/blevesearch/bleve/v2/document"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/codetrail/codetrail/index/record"
)

// The block layout (docs/blocks.md) writes one Bleve document for up to
// blockSize consecutive events instead of one each: Bleve's cost is per
// document and per distinct term, and a block's events share most of their
// typed terms. A block document indexes the union of its events' typed
// keyword terms and _exists paths (a Bleve search on them finds the blocks
// that may hold a match); the near-unique terms (words, path=value pairs,
// ids), most of a per-event document's cost, go into a Bloom filter stored
// with the block; the block's event index (blockindex.go) says which of its
// events hold each term; and the records are compressed together.

// Fields of a block document beside the typed lists, _exists, eventTime
// (its oldest and newest), _hour (every hour it covers) and _blob (its
// records, encodeBlockRecords).
const (
	fieldBloom   = "_bloom"   // stored: the Bloom filter of the block's near-unique terms
	fieldEvents  = "_events"  // stored: the event index, s2 (read only: blocks written before fieldIndex)
	fieldIndex   = "_ix"      // stored: the event index of all terms, as it is (read only: blocks written before fieldTyped)
	fieldTyped   = "_ixt"     // stored: the event index of the typed terms and the events' keys, as it is (zap compresses a document's stored fields)
	fieldRare    = "_ixr"     // stored in the rare terms' document: the event index of the near-unique terms (the Bloom filter's)
	fieldNewline = "_nl"      // keyword: the list fields that left a value holding a newline out
	fieldOldest  = "_oldest"  // keyword with doc values: timeKey + seqKey of the oldest event
	fieldDoc     = "_doc"     // keyword: blockDoc on every block, so that a search can leave other documents out
	blockIDMark  = "b"        // a block's document id is blockIDMark + seqKey(first sequence number)
	recordsMark  = "r"        // the document of a block's records: recordsMark + seqKey(first sequence number)
	rareMark     = "w"        // the document of a block's rare terms' index: rareMark + seqKey(first sequence number)
	sumsMark     = "s"        // the document of a block's summaries: sumsMark + seqKey(first sequence number)
	fieldSums    = "_sums"    // stored in the summaries' document: the events' summaries, encodeBlockSummaries
	blockRecsV1  = byte(0x10) // records' first version: kind, length and record of each event, zstd in one frame (read only)
	blockRecsV2  = byte(0x11) // encodeBlockRecords' version: the same in frames of blockFrame records
	blockSumsV1  = byte(0x12) // encodeBlockSummaries' version: kind, length and summary payload of each event, s2 with the summaries' dictionary in frames of blockFrame
	blockDoc     = "block"
)

// The seeds of the fields the builder hashes for each event, looked up
// once: a map lookup a term was 3% of the builder's CPU.
var (
	kvSeeds, idSeeds, resourceSeeds = blockSeeds[fieldKV], blockSeeds["eventID"], blockSeeds[multiResource]
	// keywordSeeds and keywordRare are by keywordFields' index.
	keywordSeeds = func() []seedPair {
		out := make([]seedPair, len(keywordFields))
		for i, f := range keywordFields {
			out[i] = blockSeeds[f.name]
		}
		return out
	}()
	keywordRare = func() []bool {
		out := make([]bool, len(keywordFields))
		for i, f := range keywordFields {
			out[i] = rareField(f.name)
		}
		return out
	}()
)

// Seeds of termHash and termCheck for the fields a block hashes, so that
// a term is hashed without hashing its field's name again.
type seedPair struct{ hash, check uint32 }

var blockSeeds = func() map[string]seedPair {
	m := map[string]seedPair{}
	for _, name := range []string{fieldText, fieldKV, fieldExists, multiResource, "eventID"} {
		m[name] = seedPair{fieldSeed(name), checkSeed(name)}
	}
	for _, f := range keywordFields {
		m[f.name] = seedPair{fieldSeed(f.name), checkSeed(f.name)}
	}
	return m
}()

// bloomLastSlots is the size of blockBuilder.bloomLast (16 KB).
const bloomLastSlots = 4096

// blockBuilder builds block documents, keeping its buffers from one block
// to the next. Not safe for concurrent use.
type blockBuilder struct {
	pairs, spare       []uint64 // termPair of each typed term of each event
	rare               []uint64 // termPair of each near-unique term of each event
	bloomH, bloomSpare []uint64 // hashes of the near-unique terms
	// bloomLast is the last hash appended to bloomH in each of its slots
	// (by the hash's low bits), this block: most of a block's words are
	// in many of its events, and sorting them all to drop the repeats was
	// 2% of ingest's CPU. Repeats it misses are dropped after sorting.
	bloomLast [bloomLastSlots]uint32
	toks      []token
	lists     map[string]map[string]struct{}
	newline   map[string]struct{}
	seen      map[string]struct{}
	buf       []byte
	keys      []eventKey
	ix, rix   []byte
	recs      []byte
	sums, sum []byte // the block's summaries (appendBlockRecord's framing), one summary
	cols      columnsBuilder
	// words counts the common words (wordCounts); nil counts none.
	words *wordCounts
	// shapes are the _exists terms of the event shapes seen (existsShape),
	// by shapeKey; blocks counts the blocks built, to tell whether a
	// shape's terms are in this block's list already.
	shapes   map[string]*existsShape
	shapeKey []byte
	blocks   int
}

// An existsShape is what an event's _exists paths put into a block: its
// terms (a path's lines) and their hash and check. Events of one kind of
// call share their paths, and computing them (every leaf path and its
// ancestors, deduplicated, then hashed twice) was a sixth of the builder's
// CPU.
type existsShape struct {
	terms []string
	pairs []uint64 // hash<<32 | check of each term
	block int      // the last block (blockBuilder.blocks) whose list has the terms
}

// maxShapes bounds the shapes a builder keeps (about 3 KB each): past it
// they are dropped and found again.
const maxShapes = 1024

// newBlockBuilder returns a builder counting common words in words (nil
// for none).
func newBlockBuilder(words *wordCounts) *blockBuilder {
	return &blockBuilder{
		lists: map[string]map[string]struct{}{}, newline: map[string]struct{}{},
		seen: map[string]struct{}{}, words: words,
	}
}

// blockID is the document id of the block whose first event has seq.
func blockID(seq uint64) string { return blockIDMark + seqKey(seq) }

// recordsID and rareID are the ids of the documents holding the records
// and the rare terms' event index of the block with the id block. The
// writer keeps them out of the block document (splitBlock) so that the
// many reads of a block's typed index, for counting and paging, decompress
// neither: zap decompresses a document's stored fields together, and the
// rare terms' index is three quarters of the block's two (57 of 77 KB for
// 256 generated events).
func recordsID(block string) string { return recordsMark + strings.TrimPrefix(block, blockIDMark) }

func rareID(block string) string { return rareMark + strings.TrimPrefix(block, blockIDMark) }

// sumsID is the id of the document holding the summaries of the block
// with the id block (summary.go's payloads): a page in the summary view
// reads them instead of decompressing and parsing its events' records,
// about 30 µs a hit against 1. Blocks written before summaries have none,
// and their pages read the records.
func sumsID(block string) string { return sumsMark + strings.TrimPrefix(block, blockIDMark) }

// splitBlock moves the records, the summaries and the rare terms' index of
// the block document doc into documents of their own (nil where doc holds
// none).
func splitBlock(doc *document.Document) (block, records, sums, rare *document.Document) {
	take := func(field, id string) *document.Document {
		i := slices.IndexFunc(doc.Fields, func(f document.Field) bool { return f.Name() == field })
		if i < 0 {
			return nil
		}
		d := document.NewDocument(id)
		d.AddField(doc.Fields[i])
		doc.Fields = slices.Delete(doc.Fields, i, i+1)
		return d
	}
	records = take(fieldBlob, recordsID(doc.ID()))
	sums = take(fieldSums, sumsID(doc.ID()))
	rare = take(fieldRare, rareID(doc.ID()))
	return doc, records, sums, rare
}

// rareField reports whether the terms of a field are near-unique (a word, a
// path=value pair, an id): those of the Bloom filter and the rare terms'
// index, which the query plan tests with blockBloomTerm.
func rareField(name string) bool {
	switch name {
	case "requestID", "eventID", fieldKV, fieldText:
		return true
	}
	return false
}

// hashTerm adds the typed term of field seeds (a keyword field's value or
// an _exists path) for the event ord to the pairs of the typed index.
func (b *blockBuilder) hashTerm(s seedPair, term []byte, ord int) {
	b.pairs = append(b.pairs, termPair(hashFrom(s.hash, term), termCheck(s.check, term), ord))
}

// hashRare adds the near-unique term of field seeds (a word, a
// path=value pair, an id) for the event ord to the pairs of the rare
// terms' index and to the Bloom filter's hashes, and returns its hash.
func (b *blockBuilder) hashRare(s seedPair, term []byte, ord int) uint32 {
	h := hashFrom(s.hash, term)
	b.rare = append(b.rare, termPair(h, termCheck(s.check, term), ord))
	if slot := &b.bloomLast[h%bloomLastSlots]; *slot != h || h == 0 {
		*slot = h
		b.bloomH = append(b.bloomH, uint64(h))
	}
	return h
}

// list adds v to the block document's list of field name, or notes the
// field in _nl when v holds a newline (a list holds a value a line).
func (b *blockBuilder) list(name string, v []byte) {
	if bytes.IndexByte(v, '\n') >= 0 {
		b.newline[name] = struct{}{}
		return
	}
	l := b.lists[name]
	if l == nil {
		l = map[string]struct{}{}
		b.lists[name] = l
	}
	if _, ok := l[string(v)]; !ok {
		l[string(v)] = struct{}{}
	}
}

// build returns the block document of evs (1 to blockSize events with
// their sequence numbers set), with the terms documentFields gives each
// event (so that a query means the same on both layouts).
func (b *blockBuilder) build(evs []record.Event) (*document.Document, error) {
	if len(evs) == 0 || len(evs) > blockSize {
		return nil, fmt.Errorf("index: a block of %d events", len(evs))
	}
	for _, l := range b.lists {
		clear(l)
	}
	clear(b.newline)
	b.pairs, b.rare, b.bloomH, b.keys, b.recs, b.sums = b.pairs[:0], b.rare[:0], b.bloomH[:0], b.keys[:0], b.recs[:0], b.sums[:0]
	clear(b.bloomLast[:])
	var span blockSpan
	for i := range evs {
		ev := &evs[i]
		if b.words != nil {
			b.words.stamp++
		}
		// keywordDocFields' terms, without copying each value: they are
		// hashed, and a list keeps a copy of the new ones.
		for k := range keywordFields {
			f := &keywordFields[k]
			v := f.value(ev)
			if v == "" {
				continue
			}
			bv := unsafe.Slice(unsafe.StringData(v), len(v))
			if keywordRare[k] {
				b.hashRare(keywordSeeds[k], bv, i)
				continue
			}
			b.hashTerm(keywordSeeds[k], bv, i)
			if !f.facetable { // the facetable are listed from the columns' values
				b.list(f.name, bv)
			}
		}
		for _, r := range ev.Resources { // listed from the columns' values
			b.hashTerm(resourceSeeds, unsafe.Slice(unsafe.StringData(r), len(r)), i)
		}
		b.exists(ev, i)
		clear(b.seen)
		for l := range ev.Leaves.All() {
			if _, dup := b.seen[l.Value]; !dup {
				b.seen[l.Value] = struct{}{}
				b.text(l.Value, i)
			}
			if ev.Kind == record.KindCloudTrail && typedLeaves[l.Path] || len(l.Value) > maxKVValueLen || strings.IndexByte(l.Value, '\n') >= 0 {
				continue
			}
			// A path holding a newline makes two terms, as in the
			// per-event document's list.
			b.buf = append(append(append(b.buf[:0], l.Path...), kvSep...), l.Value...)
			b.toks = eachLine.tokens(b.buf, b.toks[:0])
			for _, t := range b.toks {
				b.hashRare(kvSeeds, t.term, i)
			}
		}
		if ev.Service != "" {
			b.text(ev.Service, i)
		}
		b.buf = append(b.buf[:0], ev.ID...)
		b.hashRare(idSeeds, b.buf, i)
		k := eventKey{nanos: noTime, seq: ev.Seq}
		if t, ok := indexedTime(ev); ok {
			k.nanos = t.UnixNano()
		}
		b.keys = append(b.keys, k)
		span.add(k)
		b.recs = appendBlockRecord(b.recs, ev)
		b.sum = appendSummaryPayload(b.sum[:0], ev)
		b.sums = appendBlockPart(b.sums, ev.Kind, b.sum)
	}
	b.bloomH, b.bloomSpare = radixSort(b.bloomH, b.bloomSpare, 0, 32)
	b.bloomH = slices.Compact(b.bloomH)
	f := newBloom(len(b.bloomH))
	for _, h := range b.bloomH {
		f.addHash(uint32(h))
	}
	doc := document.NewDocument(blockID(evs[0].Seq))
	// The columns' dictionaries list the facetable fields' values (and
	// the resources): listing them again, a map update an event and
	// field, was 3% of ingest's CPU.
	cols := b.cols.encode(evs)
	for f, name := range blockColumnFields {
		for _, v := range b.cols.distinct[f] {
			b.list(name, unsafe.Slice(unsafe.StringData(v), len(v)))
		}
	}
	for name, vs := range b.lists {
		if len(vs) > 0 {
			doc.AddField(newIndexedField(name, []byte(joinLines(vs)), optKeyword, eachLine))
		}
	}
	if len(b.newline) > 0 {
		doc.AddField(newIndexedField(fieldNewline, []byte(joinLines(b.newline)), optKeyword, eachLine))
	}
	span.addFields(doc)
	doc.AddField(newIndexedField(fieldDoc, []byte(blockDoc), optKeyword, wholeValue))
	doc.AddField(newIndexedField(fieldSeq, []byte(seqKey(evs[0].Seq)), sortKeyOpts, wholeValue))
	b.ix, b.pairs, b.spare = encodeEventIndex(b.ix[:0], b.pairs, b.spare, b.keys)
	b.rix, b.rare, b.spare = encodeEventIndex(b.rix[:0], b.rare, b.spare, b.keys)
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldTyped, nil, slices.Clone(b.ix), optStoreOnly))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldRare, nil, slices.Clone(b.rix), optStoreOnly))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldBloom, nil, f.bits, optStoreOnly))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldBlob, nil, encodeBlockRecords(b.recs), optStoreOnly))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldSums, nil, encodeBlockSummaries(b.sums), optStoreOnly))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldColumns, nil, cols, optStoreOnly))
	if b.words != nil {
		b.words.promote(evs[len(evs)-1].Seq + 1)
	}
	b.blocks++
	return doc, nil
}

// exists adds the _exists terms of ev, event ord, to the block's list and
// its typed pairs, from the shape of an earlier event with the same
// (shapeKey) if there was one.
func (b *blockBuilder) exists(ev *record.Event, ord int) {
	b.shapeKey = shapeKey(b.shapeKey[:0], ev)
	sh, ok := b.shapes[string(b.shapeKey)]
	if !ok {
		sh = &existsShape{block: -1}
		seeds := blockSeeds[fieldExists]
		for path := range existsPaths(ev) {
			// A path holding a newline is a term a line, as the per-event
			// document's list reads it (existsTerms).
			b.buf = append(b.buf[:0], path...)
			b.toks = eachLine.tokens(b.buf, b.toks[:0])
			for _, t := range b.toks {
				sh.terms = append(sh.terms, string(t.term))
				sh.pairs = append(sh.pairs, uint64(hashFrom(seeds.hash, t.term))<<32|uint64(termCheck(seeds.check, t.term)))
			}
		}
		if b.shapes == nil || len(b.shapes) >= maxShapes {
			b.shapes = map[string]*existsShape{}
		}
		b.shapes[string(b.shapeKey)] = sh
	}
	if sh.block != b.blocks {
		sh.block = b.blocks
		for _, t := range sh.terms {
			b.list(fieldExists, unsafe.Slice(unsafe.StringData(t), len(t)))
		}
	}
	for _, p := range sh.pairs {
		b.pairs = append(b.pairs, termPair(uint32(p>>32), uint32(p), ord))
	}
}

// shapeKey keeps a bit for each keyword field, below its own two.
func init() {
	if len(keywordFields) > 62 {
		panic("index: shapeKey holds 62 keyword fields")
	}
}

// shapeKey appends to key what existsPaths(ev) depends on: which keyword
// fields have a value, whether ev has resources and an indexed time, and
// its leaves' paths (each with its length, so that no two lists of paths
// make one key).
func shapeKey(key []byte, ev *record.Event) []byte {
	var bits uint64
	for i := range keywordFields {
		if keywordFields[i].value(ev) != "" {
			bits |= 1 << i
		}
	}
	if len(ev.Resources) > 0 {
		bits |= 1 << 62
	}
	if _, ok := indexedTime(ev); ok {
		bits |= 1 << 63
	}
	key = binary.LittleEndian.AppendUint64(key, bits)
	for i := range ev.Leaves.Len() {
		p := ev.Leaves.At(i).Path
		key = binary.AppendUvarint(key, uint64(len(p)))
		key = append(key, p...)
	}
	return key
}

// text hashes the words of v (a leaf value or the service) for the event
// ord, counts the common ones and adds them all to the Bloom filter.
func (b *blockBuilder) text(v string, ord int) {
	b.buf = append(b.buf[:0], v...)
	b.toks = wordTokens(b.buf, b.toks[:0])
	seeds := textSeeds
	for _, t := range b.toks {
		h := b.hashRare(seeds, t.term, ord)
		if b.words != nil {
			b.words.saw(h, t.term)
		}
	}
}

// blockSpan is what a block document keeps of its events' times: the
// oldest and newest eventTime, the hours they fall in, and the sort keys of
// its newest and oldest events. It takes the keys the event index already
// holds and formats them once a block, not once an event.
type blockSpan struct {
	n              int
	lo, hi         int64 // nanoseconds; noTime while no event has a time
	hours          map[int64]struct{}
	newest, oldest eventKey
}

func (s *blockSpan) add(k eventKey) {
	if s.n == 0 {
		s.lo, s.hi, s.newest, s.oldest = noTime, noTime, k, k
	}
	s.n++
	if k.nanos != noTime {
		if s.lo == noTime || k.nanos < s.lo {
			s.lo = k.nanos
		}
		s.hi = max(s.hi, k.nanos)
		if s.hours == nil {
			s.hours = map[int64]struct{}{}
		}
		s.hours[hourOf(time.Unix(0, k.nanos))] = struct{}{}
	}
	if s.newest.less(k) {
		s.newest = k
	}
	if k.less(s.oldest) {
		s.oldest = k
	}
}

// addFields adds the span's fields to doc.
func (s *blockSpan) addFields(doc *document.Document) {
	if s.lo != noTime {
		for _, ns := range []int64{s.lo, s.hi} {
			f, _ := document.NewDateTimeFieldWithIndexingOptions(fieldTime, nil, time.Unix(0, ns).UTC(), "", optKeyword)
			doc.AddField(f)
		}
		hours := make(map[string]struct{}, len(s.hours))
		for h := range s.hours {
			hours[hourKey(time.Unix(h*3600, 0))] = struct{}{}
		}
		doc.AddField(newIndexedField(fieldHour, []byte(joinLines(hours)), optKeyword, eachLine))
	}
	doc.AddField(newIndexedField(fieldOrder, []byte(orderKey(s.newest)), sortKeyOpts, wholeValue))
	doc.AddField(newIndexedField(fieldOldest, []byte(orderKey(s.oldest)), sortKeyOpts, wholeValue))
}

// blockBloom is a Bloom filter of 10 bits a value and 4 probes (about 1%
// false positives) over term hashes.
type blockBloom struct{ bits []byte }

func newBloom(n int) *blockBloom { return &blockBloom{bits: make([]byte, max(8, (10*n+7)/8))} }

// spread makes a 32-bit term hash the 64 bits the probes take.
func spread(h uint32) uint64 { return uint64(h) * 0x9e3779b97f4a7c15 }

// addHash adds a term by its hash.
func (f *blockBloom) addHash(h uint32) {
	x, m := spread(h), uint64(len(f.bits)*8)
	for i := range uint64(4) {
		bit := (x + i*(x>>32|1)) % m
		f.bits[bit/8] |= 1 << (bit % 8)
	}
}

// hasHash reports whether a term hash may have been added. A filter of no
// bytes (damaged) may hold anything.
func (f blockBloom) hasHash(h uint32) bool {
	if len(f.bits) == 0 {
		return true
	}
	x, m := spread(h), uint64(len(f.bits)*8)
	for i := range uint64(4) {
		if bit := (x + i*(x>>32|1)) % m; f.bits[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
	}
	return true
}

// appendBlockRecord appends ev's kind, record length and record to b.
func appendBlockRecord(b []byte, ev *record.Event) []byte {
	return appendBlockPart(b, ev.Kind, ev.Raw)
}

// appendBlockPart appends an event's kind, the length of v and v to b: a
// record, or a summary's payload.
func appendBlockPart(b []byte, kind record.Kind, v []byte) []byte {
	b = append(b, byte(kind))
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// blockFrame is the number of records compressed together in a block's
// records (version 2): a hit, or a record a query confirms, costs the
// decompression of its frame, not of the block's 256 records. On generated
// events (BenchmarkBlockRecords, decoding from the stored value), one
// record of a block: 27 µs at 8, 41 at 16, 68 at 32, 416 in one frame;
// all of them 0.78 ms against 0.38; stored, 264 B an event against 241,
// 220 and 169. A page's 50 events lie in some 40 frames: at 16 their
// decoding was most of a page's CPU. Encoding costs 1.6 µs an event more
// than at 16.
const blockFrame = 8

// encodeBlockRecords compresses a block's records (appendBlockRecord, at
// most blockSize of them) in frames of blockFrame, each with the blob
// dictionary (blockRecsV2: the count, the frame size and each frame's
// length, then the frames). Without the codec (a broken embedded
// dictionary) they are kept raw, under blobRaw.
func encodeBlockRecords(recs []byte) []byte { return encodeRecordFrames(recs, blockFrame) }

// encodeRecordFrames is encodeBlockRecords with per records a frame.
func encodeRecordFrames(recs []byte, per int) []byte {
	c, err := codec()
	if err != nil {
		return append([]byte{blobRaw}, recs...)
	}
	return encodeFrames(recs, per, blockRecsV2, func(dst, src []byte) []byte { return c.enc.EncodeAll(src, dst) })
}

// encodeBlockSummaries compresses a block's summaries (appendBlockPart of
// each event's summary payload) in frames of blockFrame with s2 and the
// summaries' dictionary (blockSumsV1, framed as blockRecsV2): a hit costs
// the decoding of its frame, about 4 µs, and the summaries about 220 B an
// event on disk (generated events; 152 in one frame of 256, 168 with zstd,
// whose frame takes 13 µs). Without the codec they are kept raw.
func encodeBlockSummaries(sums []byte) []byte {
	c, err := codec()
	if err != nil {
		return append([]byte{blobRaw}, sums...)
	}
	var tmp []byte
	return encodeFrames(sums, blockFrame, blockSumsV1, func(dst, src []byte) []byte {
		tmp = c.sum.Encode(tmp[:cap(tmp)], src)
		return append(dst, tmp...)
	})
}

// encodeFrames compresses the parts of recs (appendBlockPart's) in frames
// of per, each with compress (appending to dst), under version.
func encodeFrames(recs []byte, per int, version byte, compress func(dst, src []byte) []byte) []byte {
	var ends []int // end of each frame in recs
	n := 0
	for at := 0; at < len(recs); n++ {
		l, k := binary.Uvarint(recs[min(at+1, len(recs)):])
		if k <= 0 || l > uint64(len(recs)-at-1-k) {
			// Not appendBlockRecord's: kept as it is, raw.
			return append([]byte{blobRaw}, recs...)
		}
		at += 1 + k + int(l)
		if (n+1)%per == 0 || at == len(recs) {
			ends = append(ends, at)
		}
	}
	head := []byte{version}
	head = binary.AppendUvarint(head, uint64(n))
	head = binary.AppendUvarint(head, uint64(per))
	frames := make([]byte, 0, len(recs)/4)
	from := 0
	for _, end := range ends {
		before := len(frames)
		frames = compress(frames, recs[from:end])
		head = binary.AppendUvarint(head, uint64(len(frames)-before))
		from = end
	}
	return append(head, frames...)
}

// blockRecord is one event's record as a block stores it.
type blockRecord struct {
	kind record.Kind
	raw  []byte
}

// blockRecords reads a block's stored records (encodeBlockRecords),
// decompressing a frame the first time one of its records is asked for.
type blockRecords struct {
	s2     bool          // summaries (blockSumsV1), not zstd records
	per    int           // records a frame
	frames [][]byte      // compressed; nil once decoded or when not kept
	recs   []blockRecord // by ordinal; those of an undecoded frame are zero
	ready  eventSet      // the records decoded
	// pooled: from recordsPool, its frames decoded into frameBufs'
	// buffers, kept in bodies until release.
	pooled bool
	bodies []*[]byte
	// cached: its frames are found in and kept in decodedFrames (a
	// page's reads, openBlockRecordsAt), their records shared with it.
	cached bool
}

// frameBufs are buffers a frame's records decode into, for readers that
// copy what they keep of them (record.Parser.Parse copies the record):
// a page decodes some 40 frames, and their buffers were most of what a
// search allocated. recordsPool holds readers of a block's records, whose
// table of 256 records was the next most.
var (
	frameBufs   = sync.Pool{New: func() any { return new([]byte) }}
	recordsPool = sync.Pool{New: func() any { return new(blockRecords) }}
)

// release returns a pooled blockRecords and its buffers; its records are
// not to be read after. Others it leaves to the collector.
func (r *blockRecords) release() {
	if !r.pooled {
		return
	}
	for _, b := range r.bodies {
		frameBufs.Put(b)
	}
	clear(r.bodies)
	clear(r.frames)
	clear(r.recs)
	r.bodies, r.frames, r.recs, r.ready = r.bodies[:0], r.frames[:0], r.recs[:0], eventSet{}
	r.cached = false
	recordsPool.Put(r)
}

// openBlockRecords reads the frame table of b; it keeps no reference to b
// (stored values alias a reader's buffer). Blocks of version 1 and raw
// ones are decoded whole.
func openBlockRecords(b []byte) (*blockRecords, error) {
	r, err := readBlockRecords(b, false)
	if err != nil || r.frames == nil {
		return r, err
	}
	// The compressed frames copied in one piece, to decode when asked.
	total := 0
	for _, f := range r.frames {
		total += len(f)
	}
	body := make([]byte, 0, total)
	for i, f := range r.frames {
		body = append(body, f...)
		r.frames[i] = body[len(body)-len(f) : len(body) : len(body)]
	}
	return r, nil
}

// openBlockRecordsAt is openBlockRecords for a reader that knows the
// records it wants: their frames are decoded at once from b, and no other
// is kept (asking for another record is an error). It spares copying the
// block's compressed records, most of what a page's read of one record a
// block cost. It is pooled, its records in pooled buffers: the reader
// copies what it keeps and calls release.
func openBlockRecordsAt(b []byte, ords []int) (*blockRecords, error) {
	r, err := readBlockRecords(b, true)
	if err != nil || r.frames == nil {
		return r, err
	}
	r.cached = true
	for _, o := range ords {
		if _, err := r.get(o); err != nil {
			return nil, err
		}
	}
	clear(r.frames)
	return r, nil
}

// readBlockRecords reads the header of b: the frames alias b. Raw and
// version 1 records are decoded whole (frames nil); others are read into a
// reader from recordsPool if pool.
func readBlockRecords(b []byte, pool bool) (*blockRecords, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("decode block records: empty")
	}
	whole := func(body []byte) (*blockRecords, error) {
		recs, err := splitBlockRecords(body, nil, blockSize)
		return &blockRecords{per: max(1, len(recs)), recs: recs, ready: firstEvents(len(recs))}, err
	}
	switch b[0] {
	case blobRaw:
		return whole(slices.Clone(b[1:]))
	case blockRecsV1:
		c, err := codec()
		if err != nil {
			return nil, err
		}
		body, err := c.dec.DecodeAll(b[1:], nil)
		if err != nil {
			return nil, fmt.Errorf("decode block records: %w", err)
		}
		return whole(body)
	case blockRecsV2, blockSumsV1:
	default:
		return nil, fmt.Errorf("decode block records: unknown version %d", b[0])
	}
	rest := b[1:]
	next := func() int {
		v, k := binary.Uvarint(rest)
		if k <= 0 || v > uint64(len(b)) {
			return -1
		}
		rest = rest[k:]
		return int(v)
	}
	n, per := next(), next()
	if n < 1 || n > blockSize || per < 1 {
		return nil, fmt.Errorf("decode block records: damaged header (%d records, %d a frame)", n, per)
	}
	r := new(blockRecords)
	if pool {
		r = recordsPool.Get().(*blockRecords)
		r.pooled = true
	}
	r.s2, r.per, r.cached = b[0] == blockSumsV1, per, false
	r.recs = slices.Grow(r.recs[:0], n)[:n]
	r.frames = slices.Grow(r.frames[:0], (n+per-1)/per)[:(n+per-1)/per]
	var lensBuf [blockSize / blockFrame]int
	lens := lensBuf[:]
	if len(r.frames) > len(lens) {
		lens = make([]int, len(r.frames))
	}
	lens = lens[:len(r.frames)]
	total := 0
	for i := range lens {
		if lens[i] = next(); lens[i] < 0 {
			return nil, fmt.Errorf("decode block records: damaged frame table")
		}
		total += lens[i]
	}
	if total != len(rest) {
		return nil, fmt.Errorf("decode block records: frames of %d bytes in %d", total, len(rest))
	}
	for i, l := range lens {
		r.frames[i], rest = rest[:l:l], rest[l:]
	}
	return r, nil
}

// len is the number of records.
func (r *blockRecords) len() int { return len(r.recs) }

// get returns record o, decompressing its frame if no record of it was
// asked for before.
func (r *blockRecords) get(o int) (blockRecord, error) {
	if o < 0 || o >= len(r.recs) {
		return blockRecord{}, fmt.Errorf("%w: record %d of %d", errEventIndex, o, len(r.recs))
	}
	if r.ready.has(o) {
		return r.recs[o], nil
	}
	f := o / r.per
	if f >= len(r.frames) || r.frames[f] == nil {
		return blockRecord{}, fmt.Errorf("index: record %d of a block was not read", o)
	}
	lo := f * r.per
	want := min(r.per, len(r.recs)-lo)
	var hit []blockRecord
	if r.cached {
		hit = decodedFrames.get(r.frames[f])
	}
	if len(hit) == want {
		copy(r.recs[lo:lo+want], hit)
	} else {
		body, err := r.decodeFrame(f)
		if err != nil {
			return blockRecord{}, err
		}
		got, err := splitBlockRecords(body, r.recs[lo:lo], want)
		if err == nil && len(got) != want {
			err = fmt.Errorf("decode block records: %d records in frame %d, want %d", len(got), f, want)
		}
		if err != nil {
			return blockRecord{}, err
		}
		if r.cached {
			decodedFrames.put(r.frames[f], body, got)
		}
	}
	r.frames[f] = nil
	for k := lo; k < lo+want; k++ {
		r.ready.add(k)
	}
	return r.recs[o], nil
}

// decodeFrame decodes the frame f: into a pooled buffer if r is pooled
// and not cached, else into its own (a cached r's go to decodedFrames).
func (r *blockRecords) decodeFrame(f int) ([]byte, error) {
	c, err := codec()
	if err != nil {
		return nil, err
	}
	// Sized from the frame's header: growing the output as it decodes
	// cost as much as decoding.
	size := uint64(0)
	if r.s2 {
		n, err := s2.DecodedLen(r.frames[f])
		if err != nil || n > maxBlockPart {
			return nil, fmt.Errorf("decode block summaries, frame %d: decoded length %d (%v)", f, n, err)
		}
		size = uint64(n)
	} else {
		var h zstd.Header
		if h.Decode(r.frames[f]) == nil && h.HasFCS && h.FrameContentSize <= maxBlockPart {
			size = h.FrameContentSize
		}
	}
	var dst []byte
	var buf *[]byte
	if r.pooled && !r.cached {
		buf = frameBufs.Get().(*[]byte)
		dst = (*buf)[:0]
	}
	if uint64(cap(dst)) < size {
		dst = make([]byte, 0, size)
	}
	var body []byte
	if r.s2 {
		body, err = c.sum.Decode(dst[:size], r.frames[f])
	} else {
		body, err = c.dec.DecodeAll(r.frames[f], dst)
	}
	if buf != nil {
		*buf = body
		r.bodies = append(r.bodies, buf)
	}
	if err != nil {
		return nil, fmt.Errorf("decode block records, frame %d: %w", f, err)
	}
	return body, nil
}

// decodeBlockRecords decodes all the records of b (encodeBlockRecords),
// appending them to out.
func decodeBlockRecords(b []byte, out []blockRecord) ([]blockRecord, error) {
	r, err := openBlockRecords(b)
	if err != nil {
		return out, err
	}
	for o := range r.len() {
		rec, err := r.get(o)
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// splitBlockRecords appends the records of body (appendBlockRecord's,
// at most limit of them) to out; they alias body.
func splitBlockRecords(body []byte, out []blockRecord, limit int) ([]blockRecord, error) {
	for n := 0; len(body) > 0; n++ {
		l, k := binary.Uvarint(body[min(1, len(body)):])
		if len(body) < 2 || k <= 0 || l > uint64(len(body)-1-k) {
			return out, fmt.Errorf("decode block records: damaged record %d", n)
		}
		if n == limit {
			return out, fmt.Errorf("decode block records: over %d records", limit)
		}
		out = append(out, blockRecord{record.Kind(body[0]), body[1+k : 1+k+int(l)]})
		body = body[1+k+int(l):]
	}
	return out, nil
}
