package index

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/search"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/record"
)

// A shard of the block layout holds, beside its block documents, one
// document per batch with the word counts the batch added, and the event
// ids' hashes of each block (fieldIDs), so that opening a shard restores
// its word counts and its id index without reading every record.

const (
	fieldIDs    = "_ids"    // stored on a block: termHash("eventID", id) of each event, uint32 little-endian
	fieldCounts = "_counts" // stored on a batch's counts document: wordCounts.delta
	fieldAll    = "_all"    // stored on a batch's counts document: allCounts.delta
	countsDoc   = "counts"  // fieldDoc of a counts document
	countsMark  = "k"       // a counts document's id is countsMark + seqKey(the batch's first sequence number)
)

// blockWriter writes batches of events as blocks into one shard. One
// writer at a time (a shard takes one chunk at a time); the value counts
// (allCounts) and the ids may be read meanwhile.
type blockWriter struct {
	sh    bleve.Index
	build *blockBuilder
	words *wordCounts
	ids   *blockIDs
	mu    sync.RWMutex // guards all, side and stored
	all   *allCounts   // of the stored events only
	side  *sidecar     // of the stored events only
	// stored is words' totals as stored, by their numbers in words, and
	// numbers their words (words also holds the batch being built, and
	// only the writer may read it; the keys are words' own strings). A
	// batch sets the totals it changed by number: by word, hashing each,
	// it was 1% of ingest's CPU.
	stored   []wordTotal
	wordNums map[string]int
	// failed is set by a failed batch: the word counts may hold some of
	// its events, so the writer takes no more (the Store opens a new one
	// from what the shard stores).
	failed bool
	// cache, if set, is given each stored block's documents but its
	// records: the newest blocks are what the next searches read.
	cache *storedCache
	// frozen is set (under mu) once the shard takes no more batches and
	// its sidecar is in a mapped file (freeze); unfrozen once a freeze
	// failed, not to be tried again.
	frozen, unfrozen bool
	frozenWords      *frozenWords // instead of stored and wordNums once frozen
	// newline holds the fields whose values some block left out of its
	// list for holding a newline (fieldNewline's terms): read from the
	// shard's dictionary once (every segment's, a goroutine each: 5% of
	// a term's search through the server when read each time), and added
	// to before a batch holding more is stored. A retention that deletes
	// such blocks leaves their names: more than the blocks hold only
	// sends a term to the slower test of its blocks.
	nlMu    sync.Mutex
	newline []string
	nlRead  bool
}

// newlineFields returns the fields some stored block left a value of out
// of its list for holding a newline; the slice is not to be changed.
func (w *blockWriter) newlineFields() ([]string, error) {
	w.nlMu.Lock()
	defer w.nlMu.Unlock()
	if !w.nlRead {
		names, err := indexTerms(w.sh)(fieldNewline)
		if err != nil {
			return nil, err
		}
		w.newline, w.nlRead = mergeNames(w.newline, names), true
	}
	return w.newline, nil
}

// noteNewline adds names to newlineFields' before the batch holding them
// is stored.
func (w *blockWriter) noteNewline(names []string) {
	if len(names) == 0 {
		return
	}
	w.nlMu.Lock()
	defer w.nlMu.Unlock()
	w.newline = mergeNames(w.newline, names)
}

// mergeNames returns the sorted union of a and b in a new slice (readers
// may hold a).
func mergeNames(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// freeze moves what a shard that takes no more batches (its partition is
// not the newest) keeps for searches, its sidecar, value counts, common
// words' totals and ids' hashes, to a mapped file at path
// (sidecarfreeze.go), and lets go of what only writing needs: the builder
// and the word counts. Searches read them meanwhile; a batch after it is
// refused.
func (w *blockWriter) freeze(path string) error {
	w.mu.RLock()
	if w.frozen || w.unfrozen {
		w.mu.RUnlock()
		return nil
	}
	if w.side.broken {
		// Its counts are read from the blocks: nothing to keep.
		w.mu.RUnlock()
		w.mu.Lock()
		w.build, w.words, w.frozen = nil, nil, true
		w.mu.Unlock()
		return nil
	}
	st := &shardState{side: w.side, all: w.all, words: w.wordNums, tots: w.stored, ids: w.ids.merged()}
	fz, err := st.freeze(path)
	next := w.side.next
	w.mu.RUnlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil:
		w.unfrozen = true
		return err
	case w.side != st.side || w.side.next != next || !w.ids.freeze(fz.ids):
		w.unfrozen = true
		return fmt.Errorf("index: a batch stored while the shard was frozen to %s", path)
	}
	w.side, w.all, w.frozenWords, w.frozen = fz.side, fz.all, fz.frozenWords, true
	w.build, w.words, w.wordNums, w.stored = nil, nil, nil, nil
	return nil
}

// isFrozen says whether freeze moved the sidecar to a file (or failed to).
func (w *blockWriter) isFrozen() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.frozen || w.unfrozen
}

// counts calls fn with the value counts of the stored events, which it
// must not keep or change.
func (w *blockWriter) counts(fn func(*allCounts)) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	fn(w.all)
}

// newBlockWriter returns the writer of sh, its word counts and id index
// read from what sh stores.
func newBlockWriter(ctx context.Context, sh bleve.Index) (*blockWriter, error) {
	words, all, err := loadCounts(ctx, sh)
	if err != nil {
		return nil, err
	}
	ids, side, err := loadBlocks(ctx, sh)
	if err != nil {
		return nil, err
	}
	w := &blockWriter{sh: sh, build: newBlockBuilder(words), words: words, all: all, ids: ids, side: side, wordNums: map[string]int{}}
	w.storeTotals(nil)
	return w, nil
}

// sidecarSearch is blockPlan.page and, with count, blockPlan.counts, on
// the sidecar; ok is false when the sidecar cannot decide p (or page it).
// The page's blocks are named by id, read by shardStored from its
// snapshot or, for a block stored since, from the shard.
func (w *blockWriter) sidecarSearch(p *blockPlan, newest bool, size int, after string, count bool, r blockCountRequest) (pg blockPage, c blockCounts, ok bool, err error) {
	var from eventKey
	if after != "" {
		if from, err = parseOrderKey(after); err != nil {
			return pg, c, false, err
		}
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	match, ok := w.side.matches(p)
	if !ok || w.side.unpaged {
		return pg, c, false, nil
	}
	pg = w.side.page(match, newest, size, from, after != "", func(first uint64) *search.DocumentMatch {
		return &search.DocumentMatch{ID: blockID(first)}
	})
	if count {
		if c, err = w.side.counts(match, r); err != nil {
			return pg, c, false, err
		}
	}
	return pg, c, true, nil
}

// sidecarBlocks returns how a page of p reads the shard's blocks in the
// sidecar's order (blocksFrom, holding an event the sidecar cannot rule
// out); ok is false when the sidecar cannot order them (broken, or a
// block whose events' keys it does not know).
func (w *blockWriter) sidecarBlocks(p *blockPlan) (blocks orderedBlocks, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.side.broken || w.side.unpaged {
		return nil, false
	}
	cand := w.side.superset(&p.root)
	return func(out []sidecarRef, newest, started bool, cursor eventKey, n int) []sidecarRef {
		w.mu.RLock()
		defer w.mu.RUnlock()
		return w.side.blocksFrom(out, newest, started, cursor, cand, n)
	}, true
}

// bestKey returns the key of the shard's event that sorts first, newest
// or oldest first, from the sidecar's block order; ok is false when it
// does not know (broken, unpaged, no block).
func (w *blockWriter) bestKey(newest bool) (k eventKey, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s := w.side
	if s.broken || s.unpaged || len(s.byNewest) == 0 {
		return k, false
	}
	if newest {
		return s.blocks[s.byNewest[len(s.byNewest)-1]].hi, true
	}
	return s.blocks[s.byOldest[0]].lo, true
}

// lastSeq returns the newest sequence number of the shard's blocks, from
// the sidecar; ok is false when it does not know (broken, unpaged, no
// block).
func (w *blockWriter) lastSeq() (seq uint64, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s := w.side
	if s.broken || s.unpaged || len(s.blocks) == 0 {
		return 0, false
	}
	b := &s.blocks[len(s.blocks)-1]
	return b.first + uint64(b.n) - 1, true
}

// sidecarBlockList returns the first sequence numbers of the shard's
// blocks that start before seq (0: any) and hold an event the sidecar's
// part of p leaves in (sidecar.superset), for p's counts to read; ok is
// false when the sidecar is broken.
func (w *blockWriter) sidecarBlockList(p *blockPlan, seq uint64) (firsts []uint64, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.side.broken {
		return nil, false
	}
	return w.side.blockList(p, seq), true
}

// sidecarTerms returns the values of a facetable field in the shard's
// blocks, which a block list of the field holds unless they hold a
// newline (those are in the sidecar too); ok is false for another field
// or a broken sidecar.
func (w *blockWriter) sidecarTerms(field string) (terms []string, ok bool) {
	f := blockColumn(field)
	if f < 0 {
		return nil, false
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.side.broken {
		return nil, false
	}
	sf := &w.side.fields[f]
	terms = make([]string, 0, sf.count())
	if sf.frozen != nil {
		for _, v := range sf.frozen.copied() {
			if strings.IndexByte(v, '\n') < 0 {
				terms = append(terms, v)
			}
		}
		return terms, true
	}
	for v := range sf.values {
		if strings.IndexByte(v, '\n') < 0 {
			terms = append(terms, v)
		}
	}
	return terms, true
}

// wordTotal returns the stored events holding a common word from the
// sequence number since on; ok is false if the word is not common.
func (w *blockWriter) wordTotal(word string) (n, since uint64, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.frozenWords != nil {
		return w.frozenWords.total(word)
	}
	k, ok := w.wordNums[word]
	if !ok {
		return 0, 0, false
	}
	return w.stored[k].n, w.stored[k].since, true
}

// storeTotals copies the totals of the words numbered in touched from the
// word counts to stored, and those of the words that became common since
// it last ran; mu held for writing.
func (w *blockWriter) storeTotals(touched []int) {
	for k := len(w.stored); k < len(w.words.words); k++ {
		w.wordNums[w.words.words[k]] = k
		w.stored = append(w.stored, wordTotal{w.words.counts[k], w.words.since[k]})
	}
	for _, k := range touched {
		w.stored[k] = wordTotal{w.words.counts[k], w.words.since[k]}
	}
}

// sidecarCounts counts p's matches and what r asks for over them on the
// sidecar; ok is false when the sidecar cannot decide p.
func (w *blockWriter) sidecarCounts(p *blockPlan, r blockCountRequest) (c blockCounts, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	match, ok := w.side.matches(p)
	if !ok {
		return c, false
	}
	c, err := w.side.counts(match, r)
	return c, err == nil // else counted on the blocks
}

// writeBatch stores events (consecutive, their sequence numbers set) as
// blocks of blockSize, with the word counts they added and the newest
// sequence number, in one Bleve batch: all of it or none. The counts and
// ids in memory change only once the batch is stored.
func (w *blockWriter) writeBatch(events []record.Event) error {
	if len(events) == 0 {
		return nil
	}
	if w.failed {
		return errors.New("index: a block writer after a failed batch")
	}
	if w.isFrozen() {
		return errors.New("index: a batch for a partition that takes no more")
	}
	b := w.sh.NewBatch()
	// The builder counts as it goes (a copy would cost every batch): a
	// failed batch fails the writer.
	type built struct {
		first uint64
		ids   []uint32
		ix    eventIndex // typed, for the sidecar
		cols  []byte
	}
	var blocks []built
	var kept []*document.Document // for w.cache
	var newline []string          // fields whose values a block left out for a newline
	// The batch's own counts, added to the store's once it is stored: the
	// values from the blocks' columns, as they are built.
	added := newAllCounts()
	added.addTimes(events)
	w.build.cols.counts = added
	defer func() { w.build.cols.counts = nil }()
	for lo := 0; lo < len(events); lo += blockSize {
		blk := events[lo:min(lo+blockSize, len(events))]
		doc, err := w.build.build(blk)
		if err != nil {
			w.failed = true
			return err
		}
		ids := make([]uint32, len(blk))
		raw := make([]byte, 4*len(blk))
		for i := range blk {
			id := blk[i].ID
			ids[i] = hashFrom(idSeeds.hash, unsafe.Slice(unsafe.StringData(id), len(id)))
			binary.LittleEndian.PutUint32(raw[4*i:], ids[i])
		}
		doc.AddField(document.NewTextFieldWithIndexingOptions(fieldIDs, nil, raw, optStoreOnly))
		block, recs, sums, rare := splitBlock(doc)
		if w.cache != nil {
			kept = append(kept, block, sums, rare)
		}
		for _, d := range []*document.Document{block, recs, sums, rare} {
			if d == nil {
				continue
			}
			if err := b.IndexAdvanced(d); err != nil {
				w.failed = true
				return fmt.Errorf("block %d (%s): %w", blk[0].Seq, d.ID(), err)
			}
		}
		bt := built{first: blk[0].Seq, ids: ids}
		for _, f := range block.Fields {
			switch f.Name() {
			case fieldTyped:
				bt.ix, err = parseEventIndex(f.Value())
			case fieldColumns:
				bt.cols = f.Value()
			case fieldNewline:
				newline = append(newline, strings.FieldsFunc(string(f.Value()), func(r rune) bool { return r == '\n' })...)
			}
		}
		if err != nil {
			w.failed = true
			return fmt.Errorf("block %d: %w", blk[0].Seq, err)
		}
		blocks = append(blocks, bt)
	}
	delta := added.delta(nil)
	doc := document.NewDocument(countsMark + seqKey(events[0].Seq))
	doc.AddField(newIndexedField(fieldDoc, []byte(countsDoc), optKeyword, wholeValue))
	touched := slices.Clone(w.words.touched)
	wdelta := w.words.delta(nil)
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldCounts, nil, wdelta, optStoreOnly))
	doc.AddField(document.NewTextFieldWithIndexingOptions(fieldAll, nil, delta, optStoreOnly))
	if err := b.IndexAdvanced(doc); err != nil {
		w.failed = true
		return fmt.Errorf("counts: %w", err)
	}
	setSeq(b, events[len(events)-1].Seq)
	w.noteNewline(newline)
	if err := w.sh.Batch(b); err != nil {
		w.failed = true
		return err
	}
	w.mu.Lock()
	err := w.all.apply(delta)
	w.storeTotals(touched)
	for _, blk := range blocks {
		// A block the sidecar cannot take breaks it (counts are then
		// read from the blocks), not the batch, which is stored.
		_ = w.side.add(blk.ix, blk.cols)
	}
	w.mu.Unlock()
	if err != nil {
		return fmt.Errorf("count the batch's values: %w", err)
	}
	for _, blk := range blocks {
		w.ids.add(blk.first, blk.ids)
	}
	w.cache.keep(kept)
	return nil
}

// blockIDs finds the blocks that may hold an event id, by the id's hash:
// two sorted runs of (hash << 32 | block number), the block numbers
// indexing firsts (each block's first sequence number), 12 bytes an event.
// New blocks go into the short run, merged into the long one when it
// passes idTail entries. Safe for concurrent use.
type blockIDs struct {
	mu     sync.RWMutex
	firsts []uint64
	sorted []uint64
	tail   []uint64
}

// idTail bounds the short run: merging costs the long run's size once per
// idTail events (about 4 bytes moved an event at 2M events), sorting the
// short run a few microseconds a block.
const idTail = 4096

// add notes the ids' hashes of the block whose first event has seq.
func (x *blockIDs) add(first uint64, hashes []uint32) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := uint64(len(x.firsts))
	x.firsts = append(x.firsts, first)
	for _, h := range hashes {
		x.tail = append(x.tail, uint64(h)<<32|n)
	}
	slices.Sort(x.tail)
	if len(x.tail) <= idTail {
		return
	}
	x.sorted, x.tail = mergeRuns(x.sorted, x.tail), x.tail[:0]
}

// mergeRuns returns the sorted runs a and b merged into a new one.
func mergeRuns(a, b []uint64) []uint64 {
	merged := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] <= b[j] {
			merged = append(merged, a[i])
			i++
		} else {
			merged = append(merged, b[j])
			j++
		}
	}
	return append(append(merged, a[i:]...), b[j:]...)
}

// merged returns the ids' hashes as one sorted run, a copy.
func (x *blockIDs) merged() []uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return mergeRuns(x.sorted, x.tail)
}

// freeze replaces the runs with sorted, merged's run read from a mapping,
// unless ids were added since (false).
func (x *blockIDs) freeze(sorted []uint64) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(sorted) != len(x.sorted)+len(x.tail) {
		return false
	}
	x.sorted, x.tail = sorted, nil
	return true
}

// blocks returns the first sequence numbers of the blocks that may hold
// an event whose id has the hash h.
func (x *blockIDs) blocks(h uint32) []uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []uint64
	for _, run := range [][]uint64{x.sorted, x.tail} {
		i, _ := slices.BinarySearch(run, uint64(h)<<32)
		for ; i < len(run) && run[i]>>32 == uint64(h); i++ {
			out = append(out, x.firsts[uint32(run[i])])
		}
	}
	return out
}

// mayHold appends to into the indexes (the low 32 bits) of the keys,
// sorted by their high 32 bits, a hash of an id, whose hash some block
// has. Sorted, each search starts where the last ended and gallops: a
// batch of ids was one binary search an id and shard over all of the
// shard's ids, and those, with a lock each, were 2% of ingest's time in
// Put.
func (x *blockIDs) mayHold(keys []uint64, into []int) []int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := len(into)
	for _, run := range [][]uint64{x.sorted, x.tail} {
		at := 0
		for _, k := range keys {
			at = gallop(run, at, k>>32<<32)
			if at < len(run) && run[at]>>32 == k>>32 {
				into = append(into, int(uint32(k)))
			}
		}
	}
	// A hash in both runs: each index once, in order.
	slices.Sort(into[n:])
	return append(into[:n], slices.Compact(into[n:])...)
}

// gallop returns the first index from at of the sorted run whose value is
// not below v, probing at, at+1, at+3, at+7... before a binary search.
func gallop(run []uint64, at int, v uint64) int {
	step := 1
	hi := at
	for hi < len(run) && run[hi] < v {
		at = hi + 1
		hi += step
		step *= 2
	}
	hi = min(hi, len(run))
	i, _ := slices.BinarySearch(run[at:hi], v)
	return at + i
}

// wordTotal is a common word's stored count and the sequence number it
// starts at.
type wordTotal struct{ n, since uint64 }

// loadCounts sums the word and value counts of the counts documents of sh.
func loadCounts(ctx context.Context, sh bleve.Index) (w *wordCounts, all *allCounts, err error) {
	w, all = newWordCounts(), newAllCounts()
	err = eachDoc(ctx, sh, countsDoc, "_id", func(m *search.DocumentMatch, stored func(string) []byte) error {
		if err := w.apply(stored(fieldCounts)); err != nil {
			return fmt.Errorf("%s: %w", m.ID, err)
		}
		if err := all.apply(stored(fieldAll)); err != nil {
			return fmt.Errorf("%s: %w", m.ID, err)
		}
		return nil
	})
	return w, all, err
}

// loadBlocks reads the ids' hashes of the blocks of sh, and their
// sidecar (broken if a block has no columns or event index it can read:
// its counts are read from the blocks then).
func loadBlocks(ctx context.Context, sh bleve.Index) (*blockIDs, *sidecar, error) {
	x, side := &blockIDs{}, newSidecar()
	err := eachDoc(ctx, sh, blockDoc, fieldSeq, func(m *search.DocumentMatch, stored func(string) []byte) error {
		side.addStored(stored)
		raw := stored(fieldIDs)
		if len(raw)%4 != 0 || len(raw) == 0 || len(raw) > 4*blockSize {
			return fmt.Errorf("block %s: %w: %d bytes of ids", m.ID, errEventIndex, len(raw))
		}
		first, ok := blockFirst(m.ID)
		if !ok {
			return fmt.Errorf("block %s: %w: not a block id", m.ID, errEventIndex)
		}
		hs := make([]uint32, len(raw)/4)
		for i := range hs {
			hs[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
		x.add(first, hs)
		return nil
	})
	return x, side, err
}

// addStored adds a block from its stored fields; one it cannot read
// breaks the sidecar.
func (s *sidecar) addStored(stored func(string) []byte) {
	if s.broken {
		return
	}
	ix, err := storedEventIndex(stored)
	if err != nil {
		s.broken = true
		return
	}
	_ = s.add(ix, stored(fieldColumns))
}

// storedEventIndex is the event index of a block's stored fields holding
// the typed terms, in any format blocks were written in.
func storedEventIndex(stored func(string) []byte) (eventIndex, error) {
	if b := stored(fieldTyped); b != nil {
		return parseEventIndex(b)
	}
	if b := stored(fieldIndex); b != nil {
		return parseEventIndex(b)
	}
	if b := stored(fieldEvents); b != nil {
		return decodeEventIndex(b)
	}
	return eventIndex{}, errEventIndex
}

// blockFirst is the first sequence number of the block with the id.
func blockFirst(id string) (uint64, bool) {
	if len(id) != len(blockIDMark)+16 || id[:len(blockIDMark)] != blockIDMark {
		return 0, false
	}
	var v uint64
	for _, c := range id[len(blockIDMark):] {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// eachDoc calls fn with each document of sh whose fieldDoc is kind, in the
// order of sortField, and its stored fields by name.
func eachDoc(ctx context.Context, sh bleve.Index, kind, sortField string, fn func(m *search.DocumentMatch, stored func(string) []byte) error) error {
	q := termOn(fieldDoc, kind)
	for from, n := 0, 1024; ; from += n {
		req := bleve.NewSearchRequestOptions(q, n, from, false)
		req.Score = "none"
		req.SortBy([]string{sortField, "_id"})
		res, err := sh.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("read %s documents: %w", kind, err)
		}
		for _, m := range res.Hits {
			fields, err := docFields(sh, m.ID)
			if err != nil || fields == nil {
				return fmt.Errorf("read %s: %w", m.ID, cmp.Or(err, errEventIndex))
			}
			if err := fn(m, func(name string) []byte { return fields[name] }); err != nil {
				return err
			}
		}
		if len(res.Hits) < n {
			return nil
		}
	}
}

// findEvent returns the event with the id among the blocks of sh that ids
// says may hold it; ok is false if none does.
func findEvent(ctx context.Context, sh bleve.Index, ids *blockIDs, id string) (ev record.Event, ok bool, err error) {
	h := termHash("eventID", []byte(id))
	for _, first := range ids.blocks(h) {
		bid := blockID(first)
		// The id's events from the rare terms' index, in a document of its
		// own or, in blocks written before it was, in the block's.
		fields, err := docFields(sh, rareID(bid))
		if err == nil && fields == nil {
			fields, err = docFields(sh, bid)
		}
		if err != nil || fields == nil {
			return ev, false, fmt.Errorf("read block %s: %w", bid, cmp.Or(err, errEventIndex))
		}
		var x eventIndex
		switch {
		case fields[fieldRare] != nil:
			x, err = parseEventIndex(fields[fieldRare])
		case fields[fieldIndex] != nil:
			x, err = parseEventIndex(fields[fieldIndex])
		default:
			x, err = decodeEventIndex(fields[fieldEvents])
		}
		if err != nil {
			return ev, false, fmt.Errorf("block %s: %w", bid, err)
		}
		set, _, err := x.lookup(h)
		if err != nil {
			return ev, false, fmt.Errorf("block %s: %w", bid, err)
		}
		if set.empty() {
			continue
		}
		blob := fields[fieldBlob]
		if blob == nil { // in the records' own document
			rf, err := docFields(sh, recordsID(bid))
			if err != nil || rf[fieldBlob] == nil {
				return ev, false, fmt.Errorf("read the records of block %s: %w", bid, cmp.Or(err, errEventIndex))
			}
			blob = rf[fieldBlob]
		}
		recs, err := openBlockRecords(blob)
		if err != nil || recs.len() != x.events {
			return ev, false, fmt.Errorf("block %s: %w", bid, cmp.Or(err, errEventIndex))
		}
		// The hash may be another id's: the record says.
		var p record.Parser
		for o := range x.events {
			if !set.has(o) {
				continue
			}
			rec, err := recs.get(o)
			if err != nil {
				return ev, false, fmt.Errorf("block %s: %w", bid, err)
			}
			e, err := p.Parse(rec.kind, rec.raw)
			if err != nil {
				return ev, false, fmt.Errorf("block %s, event %d: %w", bid, x.key(o).seq, err)
			}
			if e.ID == id {
				e.Seq = x.key(o).seq
				return e, true, nil
			}
		}
	}
	return ev, false, nil
}

// docFields returns the stored fields of the document of sh with the id,
// nil if sh holds none.
func docFields(sh bleve.Index, id string) (map[string][]byte, error) {
	doc, err := sh.Document(id)
	if err != nil || doc == nil {
		return nil, err
	}
	fields := map[string][]byte{}
	doc.VisitFields(func(f bindex.Field) { fields[f.Name()] = f.Value() })
	return fields, nil
}
