package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	bquery "github.com/blevesearch/bleve/v2/search/query"

	"github.com/codetrail/codetrail/index/record"
)

// The read path of the block layout (docs/blocks.md, "Sorting and pages"):
// a page of a plan's matches, newest or oldest first, read from the
// candidate blocks in the order of their newest (oldest) event, stopping
// once the next block cannot hold an event that sorts before the last one
// kept. A page token is the sort key of the page's last event, as on the
// per-event layout, so a deep page costs what page 1 costs: the blocks
// holding no event past the token are left out by their oldest (newest)
// event's key.

// blockMatch is one event a block search found.
type blockMatch struct {
	key   eventKey
	block *search.DocumentMatch
	ord   int
}

// orderKey is the sort key of an event of a block's event index as the
// per-event layout's _order field holds it (timeKey + seqKey), which page
// tokens and the blocks' _order and _oldest hold too.
func orderKey(k eventKey) string {
	var b [32]byte
	t := uint64(0) // an event without a time sorts oldest
	if k.nanos != noTime {
		t = uint64(k.nanos) ^ 1<<63
	}
	putHex(b[:16], t)
	putHex(b[16:], k.seq)
	return string(b[:])
}

// putHex writes v as 16 hex digits, as seqKey's %016x does.
func putHex(b []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
}

// parseOrderKey reverses orderKey.
func parseOrderKey(s string) (eventKey, error) {
	if len(s) != 32 {
		return eventKey{}, fmt.Errorf("sort key %q: %d characters", s, len(s))
	}
	t, err1 := strconv.ParseUint(s[:16], 16, 64)
	seq, err2 := strconv.ParseUint(s[16:], 16, 64)
	if err1 != nil || err2 != nil {
		return eventKey{}, fmt.Errorf("sort key %q: not hex", s)
	}
	k := eventKey{nanos: noTime, seq: seq}
	if t != 0 {
		k.nanos = int64(t ^ 1<<63)
	}
	return k, nil
}

// less says whether a sorts before b oldest first: by time, then sequence.
func (a eventKey) less(b eventKey) bool {
	return a.nanos < b.nanos || a.nanos == b.nanos && a.seq < b.seq
}

// blockStored visits the stored fields of the block m until fn returns
// false (visitByNumber, or by its id).
type blockStored func(m *search.DocumentMatch, fn storedVisit) error

// storedVisit is called with each stored field of a document until it
// returns false. kept says that value stays as it is for as long as it is
// referenced (a storedCache entry's bytes), so that a reader may keep it
// instead of copying it; else it is valid only during the call. Copying
// the newest blocks' indexes out of the cache was a fifth of a word
// query's CPU at 1M.
type storedVisit func(field string, value []byte, kept bool) bool

// keepOrCopy returns value when kept, else a copy of it in *own.
func keepOrCopy(own *[]byte, value []byte, kept bool) []byte {
	if kept {
		return value
	}
	*own = append((*own)[:0], value...)
	return *own
}

// plainVisit is fn for zapx's visitors, whose values are their buffers'.
func plainVisit(fn storedVisit) func(field string, value []byte) bool {
	return func(field string, value []byte) bool { return fn(field, value, false) }
}

// errNoDocument is what a blockStored returns, wrapped, for a document its
// shard does not hold.
var errNoDocument = errors.New("no such document")

// blockReader reads the blocks a search takes, keeping its buffers.
type blockReader struct {
	stored blockStored
	cols   bool   // read the columns too, into colBuf
	ix     []byte // the last block's event index: ixOwn's, or a kept value
	rix    []byte // its rare terms': rixOwn's, or a kept value
	ixOwn  []byte // the buffers ix and rix are copied into when not kept
	rixOwn []byte
	bloom  []byte
	colBuf []byte
	pooled *readerBufs // where the buffers came from (newBlockReader)
}

// readerBufs are a blockReader's buffers between searches: grown anew by
// each search's readers, they were half of what a word's page allocated.
type readerBufs struct{ ix, rix, bloom, colBuf []byte }

var readerPool = sync.Pool{New: func() any { return new(readerBufs) }}

// maxPooledBuf bounds a buffer kept in readerPool.
const maxPooledBuf = 1 << 20

// newBlockReader returns a reader with pooled buffers, to be released
// once nothing it read is used any more.
func newBlockReader(stored blockStored, cols bool) blockReader {
	b := readerPool.Get().(*readerBufs)
	return blockReader{stored: stored, cols: cols, ixOwn: b.ix[:0], rixOwn: b.rix[:0], bloom: b.bloom[:0], colBuf: b.colBuf[:0], pooled: b}
}

// release gives the reader's buffers back to the pool; it reads no more.
func (r *blockReader) release() {
	b := r.pooled
	if b == nil {
		return
	}
	keep := func(buf []byte) []byte {
		if cap(buf) > maxPooledBuf {
			return nil
		}
		return buf[:0]
	}
	b.ix, b.rix, b.bloom, b.colBuf = keep(r.ixOwn), keep(r.rixOwn), keep(r.bloom), keep(r.colBuf)
	*r = blockReader{}
	readerPool.Put(b)
}

// blockIndexes are the event indexes of a block: its typed terms' (with
// the events' keys) and, read when a query asks for one of them, its rare
// terms' (the Bloom filter's).
type blockIndexes struct {
	eventIndex
	// rare reads the rare terms' index; nil when the typed one holds them
	// too (blocks written before they were apart).
	rare func() (eventIndex, error)
}

// read returns the event indexes of the block m (the rare terms' valid
// until the next read), and its Bloom filter in r.bloom (and its columns
// in r.colBuf if r.cols).
func (r *blockReader) read(m *search.DocumentMatch) (blockIndexes, error) {
	var err error
	split := false
	found, want := 0, 2
	if r.cols {
		want = 3
	}
	r.bloom, r.colBuf = r.bloom[:0], r.colBuf[:0]
	serr := r.stored(m, func(field string, value []byte, kept bool) bool {
		switch field {
		case fieldTyped, fieldIndex: // copied unless kept: value is the reader's buffer
			split = split || field == fieldTyped
			r.ix = keepOrCopy(&r.ixOwn, value, kept)
			found++
		case fieldEvents:
			r.ixOwn, err = s2Decode(r.ixOwn[:cap(r.ixOwn)], value)
			r.ix = r.ixOwn
			found++
		case fieldBloom:
			r.bloom = append(r.bloom, value...)
			found++
		case fieldColumns:
			if r.cols {
				r.colBuf = append(r.colBuf, value...)
				found++
			}
		}
		return found < want && err == nil
	})
	if serr != nil || err != nil || found < want {
		return blockIndexes{}, fmt.Errorf("read block %s: %w", m.ID, cmp.Or(serr, err, errEventIndex))
	}
	x, err := parseEventIndex(r.ix)
	if err != nil || !split {
		return blockIndexes{eventIndex: x}, err
	}
	var rare *eventIndex
	return blockIndexes{eventIndex: x, rare: func() (eventIndex, error) {
		if rare == nil {
			rx, err := r.readRare(m)
			if err == nil && rx.events != x.events {
				err = fmt.Errorf("%w: %d events in the rare terms' index of %d", errEventIndex, rx.events, x.events)
			}
			if err != nil {
				return eventIndex{}, fmt.Errorf("read block %s: %w", m.ID, err)
			}
			rare = &rx
		}
		return *rare, nil
	}}, nil
}

// readRare reads the rare terms' index of the block m: from its own
// document (splitBlock), or from m's where it is kept with the block.
func (r *blockReader) readRare(m *search.DocumentMatch) (eventIndex, error) {
	found := false
	visit := func(field string, value []byte, kept bool) bool {
		if field != fieldRare {
			return true
		}
		r.rix, found = keepOrCopy(&r.rixOwn, value, kept), true
		return false
	}
	err := r.stored(blockSibling(m, rareID(m.ID)), visit)
	if errors.Is(err, errNoDocument) {
		err = r.stored(m, visit)
	}
	if err != nil || !found {
		return eventIndex{}, cmp.Or(err, errEventIndex)
	}
	return parseEventIndex(r.rix)
}

// records returns the records of the block m: from their own document
// (splitBlock), or from m's where they are kept with the block.
func (r *blockReader) records(m *search.DocumentMatch) (recs *blockRecords, err error) {
	return r.recordsAt(m, nil)
}

// recordsAt is records with only the records ords (openBlockRecordsAt),
// or all when ords is nil.
func (r *blockReader) recordsAt(m *search.DocumentMatch, ords []int) (recs *blockRecords, err error) {
	recs, found, err := r.partsAt(m, recordsID(m.ID), fieldBlob, ords)
	if err == nil && !found {
		err = errEventIndex
	}
	if err != nil {
		return nil, fmt.Errorf("read the records of block %s: %w", m.ID, err)
	}
	return recs, nil
}

// summariesAt reads the summaries ords of the block m (all when ords is
// nil), as recordsAt reads records; found is false for a block written
// without summaries.
func (r *blockReader) summariesAt(m *search.DocumentMatch, ords []int) (sums *blockRecords, found bool, err error) {
	sums, found, err = r.partsAt(m, sumsID(m.ID), fieldSums, ords)
	if err != nil {
		return nil, false, fmt.Errorf("read the summaries of block %s: %w", m.ID, err)
	}
	return sums, found, nil
}

// partsAt reads the stored field of the block m's sibling document id (or
// of m itself, for blocks that kept it): records or summaries, framed by
// encodeFrames.
func (r *blockReader) partsAt(m *search.DocumentMatch, id, field string, ords []int) (parts *blockRecords, found bool, err error) {
	visit := func(f string, value []byte, _ bool) bool {
		if f != field {
			return true
		}
		found = true
		if ords == nil {
			parts, err = openBlockRecords(value)
		} else {
			parts, err = openBlockRecordsAt(value, ords)
		}
		return false
	}
	serr := r.stored(blockSibling(m, id), visit)
	if errors.Is(serr, errNoDocument) {
		serr = r.stored(m, visit)
	}
	return parts, found, cmp.Or(serr, err)
}

// blockPage is a page of a block search.
type blockPage struct {
	matches []blockMatch // in order
	more    bool         // there may be matches after them
	read    int          // blocks whose event index was read
	parsed  int          // records tested on the matcher
}

// page returns the size matches of p that sort first in the order (newest
// or oldest first) after the key after ("" for the first page). search
// runs a Bleve search over the blocks, stored reads a block.
func (p *blockPlan) page(ctx context.Context, search searchFunc, stored blockStored, newest bool, size int, after string) (blockPage, error) {
	var pg blockPage
	out, err := p.collect(ctx, search, stored, newest, size, after, &pg)
	pg.matches = out
	return pg, err
}

func (p *blockPlan) collect(ctx context.Context, search searchFunc, stored blockStored, newest bool, size int, after string, pg *blockPage) (out []blockMatch, err error) {
	q := p.candidates
	sortField, boundField := fieldOrder, fieldOldest
	if !newest {
		sortField, boundField = fieldOldest, fieldOrder
	}
	sortBy := []string{sortField}
	if after != "" {
		// A block can hold an event past the token only if its oldest
		// (newest) event is: told by a second sort value of each block
		// rather than by a range over the blocks' keys, a term a block
		// (which made a page deep in 1M events cost 8 times the first).
		sortBy = append(sortBy, boundField)
	}
	if newest {
		for i := range sortBy {
			sortBy[i] = "-" + sortBy[i]
		}
	}
	var from eventKey
	if after != "" {
		if from, err = parseOrderKey(after); err != nil {
			return nil, err
		}
	}
	before := inOrder(newest)
	last := "" // orderKey of out[size-1]
	rd := newBlockReader(stored, false)
	defer rd.release()
	for skip, n := 0, 64; ; skip, n = skip+n, 1024 {
		req := bleve.NewSearchRequestOptions(q, n, skip, false)
		req.Score = "none"
		req.SortBy(sortBy)
		res, err := search(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("search blocks: %w", err)
		}
		for _, h := range res.Hits {
			if len(h.Sort) != len(sortBy) {
				return nil, fmt.Errorf("search blocks: block %s has no %s", h.ID, strings.Join(sortBy, " or "))
			}
			if len(out) == size && (newest && h.Sort[0] <= last || !newest && h.Sort[0] >= last) {
				// No event of this block or the next sorts before the
				// last kept: the page is full, and more may follow.
				pg.more = true
				return out, nil
			}
			if after != "" && (newest && h.Sort[1] >= after || !newest && h.Sort[1] <= after) {
				continue // every event of the block is at or before the token
			}
			if out, err = p.take(&rd, h, out, after != "", from, before, size, pg); err != nil {
				return nil, err
			}
			if len(out) == size {
				last = orderKey(out[size-1].key)
			}
		}
		if len(res.Hits) < n {
			return out, nil
		}
	}
}

// take adds to out the events of the block h, read by rd, that match p
// and sort after from (if after), keeping the first size (keepFirst).
func (p *blockPlan) take(rd *blockReader, h *search.DocumentMatch, out []blockMatch, after bool, from eventKey, before func(a, b eventKey) bool, size int, pg *blockPage) ([]blockMatch, error) {
	x, set, read, parsed, err := p.blockMatches(rd, h)
	if read {
		pg.read++
	}
	pg.parsed += parsed
	if err != nil || !read {
		return out, err
	}
	set.each(func(o int) {
		if k := x.key(o); !after || before(from, k) {
			out = append(out, blockMatch{key: k, block: h, ord: o})
		}
	})
	return keepFirst(out, size, before, pg), nil
}

// blockMatches reads the block h with rd and returns its event indexes and
// the events of it matching p. read is false when its Bloom filter rules
// the block out (its event indexes not tested); parsed is the number of
// records tested on the matcher.
func (p *blockPlan) blockMatches(rd *blockReader, h *search.DocumentMatch) (x blockIndexes, set eventSet, read bool, parsed int, err error) {
	if x, err = rd.read(h); err != nil {
		return x, set, false, 0, err
	}
	if !p.mayHold(blockBloom{rd.bloom}) {
		return x, set, false, 0, nil
	}
	set, parsed, err = p.test(x, func() (*blockRecords, error) { return rd.records(h) })
	if err != nil {
		err = fmt.Errorf("block %s: %w", h.ID, err)
	}
	return x, set, true, parsed, err
}

// orderedBlocks gives a shard's blocks in a page's order (sidecar.blocksFrom).
type orderedBlocks func(out []sidecarRef, newest, started bool, cursor eventKey, n int) []sidecarRef

// pageOrdered is page over the blocks in the order blocks gives them
// (the sidecar's), instead of a Bleve search sorting every candidate
// block by its key: that search was most of the CPU of a page of one word
// over 1M events.
func (p *blockPlan) pageOrdered(ctx context.Context, blocks orderedBlocks, stored blockStored, newest bool, size int, after string) (blockPage, error) {
	var pg blockPage
	var from eventKey
	if after != "" {
		var err error
		if from, err = parseOrderKey(after); err != nil {
			return pg, err
		}
	}
	before := inOrder(newest)
	rd := newBlockReader(stored, false)
	defer rd.release()
	var refs []sidecarRef
	started, cursor := false, eventKey{}
	for n := 64; ; n = 1024 {
		if err := ctx.Err(); err != nil {
			return pg, err
		}
		if refs = blocks(refs[:0], newest, started, cursor, n); len(refs) == 0 {
			return pg, nil
		}
		for _, b := range refs {
			if len(pg.matches) >= size && !before(b.head, pg.matches[size-1].key) {
				// No event of this block or the next sorts before the
				// last kept: the page is full, and more may follow.
				pg.more = true
				return pg, nil
			}
			if after != "" && !before(from, b.tail) {
				continue // every event of the block is at or before the token
			}
			var err error
			if pg.matches, err = p.take(&rd, &search.DocumentMatch{ID: blockID(b.first)}, pg.matches, after != "", from, before, size, &pg); err != nil {
				return pg, err
			}
		}
		started, cursor = true, refs[len(refs)-1].head
	}
}

// inOrder returns whether an event sorts before another, newest or
// oldest first.
func inOrder(newest bool) func(a, b eventKey) bool {
	if newest {
		return func(a, b eventKey) bool { return b.less(a) }
	}
	return eventKey.less
}

// keepFirst sorts a page's matches by before and keeps the first size,
// noting in pg that more follow when it drops some.
func keepFirst(out []blockMatch, size int, before func(a, b eventKey) bool, pg *blockPage) []blockMatch {
	slices.SortFunc(out, func(a, b blockMatch) int {
		if before(a.key, b.key) {
			return -1
		}
		return 1
	})
	if len(out) > size {
		out, pg.more = out[:size], true
	}
	return out
}

// count returns the number of p's matches, reading every candidate block.
func (p *blockPlan) count(ctx context.Context, search searchFunc, stored blockStored) (uint64, error) {
	c, err := p.counts(ctx, search, stored, blockCountRequest{})
	return c.total, err
}

// blockCountRequest is what blockPlan.counts counts beside the matches.
type blockCountRequest struct {
	fields []int // facets: numbers of blockColumnFields
	// A histogram: buckets of iv from start (UTC), the matches whose
	// eventTime falls in each.
	start   time.Time
	iv      time.Duration
	buckets int
}

// blockCounts are the counts over a plan's matches.
type blockCounts struct {
	total   uint64
	facets  []facetCount // by blockCountRequest.fields
	buckets []int        // by bucket
}

// counts counts p's matches and what r asks for over them, reading every
// candidate block (its columns too when facets are asked for).
func (p *blockPlan) counts(ctx context.Context, find searchFunc, stored blockStored, r blockCountRequest) (blockCounts, error) {
	return p.countIn(func(fn blockVisit) error {
		return visitSearched(ctx, find, p.candidates, false, 1024, fn)
	}, stored, r)
}

// countBlocks is counts over the blocks named by their first sequence
// numbers (the sidecar's, sidecarBlockList) instead of a Bleve search for
// the candidate blocks, which cost a millisecond even when it found one.
func (p *blockPlan) countBlocks(ctx context.Context, firsts []uint64, stored blockStored, r blockCountRequest) (blockCounts, error) {
	return p.countIn(func(fn blockVisit) error { return visitListed(ctx, firsts, fn) }, stored, r)
}

// blockVisit is called with blocks in turn; more false stops them.
type blockVisit func(h *search.DocumentMatch) (more bool, err error)

// visitListed calls fn with the blocks named by their first sequence
// numbers, in that order.
func visitListed(ctx context.Context, firsts []uint64, fn blockVisit) error {
	for _, f := range firsts {
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err := fn(&search.DocumentMatch{ID: blockID(f)}); err != nil || !more {
			return err
		}
	}
	return nil
}

// visitSearched calls fn with the blocks q finds through find, by first
// sequence number (descending with desc), asking for first of them, then
// 1024 at a time.
func visitSearched(ctx context.Context, find searchFunc, q bquery.Query, desc bool, first int, fn blockVisit) error {
	sortBy := fieldSeq
	if desc {
		sortBy = "-" + fieldSeq
	}
	for from, n := 0, first; ; from, n = from+n, 1024 {
		req := bleve.NewSearchRequestOptions(q, n, from, false)
		req.Score = "none"
		req.SortBy([]string{sortBy})
		res, err := find(ctx, req)
		if err != nil {
			return fmt.Errorf("search blocks: %w", err)
		}
		for _, h := range res.Hits {
			if more, err := fn(h); err != nil || !more {
				return err
			}
		}
		if len(res.Hits) < n {
			return nil
		}
	}
}

// countIn counts p's matches, and what r asks for over them, in the blocks
// each gives.
func (p *blockPlan) countIn(each func(fn blockVisit) error, stored blockStored, r blockCountRequest) (blockCounts, error) {
	rd := newBlockReader(stored, len(r.fields) > 0)
	defer rd.release()
	out := blockCounts{facets: make([]facetCount, len(r.fields)), buckets: make([]int, r.buckets)}
	var start int64
	if r.buckets > 0 {
		start = r.start.UnixNano()
	}
	err := each(func(h *search.DocumentMatch) (bool, error) {
		x, set, _, _, err := p.blockMatches(&rd, h)
		if err != nil || set.empty() {
			return true, err
		}
		out.total += uint64(set.count())
		if r.buckets > 0 {
			set.each(func(o int) {
				if t := x.key(o).nanos; t != noTime && t >= start {
					if i := (t - start) / int64(r.iv); i < int64(r.buckets) {
						out.buckets[i]++
					}
				}
			})
		}
		if len(r.fields) == 0 {
			return true, nil
		}
		cols, err := decodeBlockColumns(rd.colBuf, x.events, r.fields)
		if err != nil {
			return false, fmt.Errorf("block %s: %w", h.ID, err)
		}
		for i, f := range r.fields {
			cols.count(f, set, &out.facets[i])
		}
		return true, nil
	})
	return out, err
}

// readBlockEvents reads the event of ms[i] into into[i] from its block's
// records; each block's records are decoded once.
//
// With summary, the events are their summaries (Raw and Leaves empty), as
// the summary view shows them, their strings' bytes in arena (nil: each
// its own), read from the blocks' summaries where they
// have them: the record's frame costs some 25 µs of zstd and its parsing
// as much, a summary's frame 4 µs, and a page's parsed records were most
// of what a search allocated.
func readBlockEvents(ms []blockMatch, stored blockStored, summary bool, arena *byteArena, into []*record.Event) error {
	// Records' blocks side by side: a page's 50 events are in up to 50
	// frames, each some 40 µs of zstd.
	at := map[*search.DocumentMatch][]int{} // positions in ms by block
	var blocks []*search.DocumentMatch
	for i, m := range ms {
		if _, ok := at[m.block]; !ok {
			blocks = append(blocks, m.block)
		}
		at[m.block] = append(at[m.block], i)
	}
	// Summaries on the caller's goroutine: a block's are a few µs of s2
	// (less from the frame cache), about what handing a block to another
	// goroutine costs; through the server, the word's page took 7–11%
	// less CPU, and page 100 of all events, whose events come from more
	// blocks than page 1's, 74 → 66–70 µs in process (page 1 62).
	par := inParallel
	if summary {
		par = inSeries
	}
	return par(len(blocks), func(k int) error {
		b := blocks[k]
		{
			is := at[b]
			ords := make([]int, len(is))
			for k, i := range is {
				ords[k] = ms[i].ord
			}
			rd := blockReader{stored: stored}
			if summary {
				sums, found, err := rd.summariesAt(b, ords)
				if err != nil {
					return err
				}
				if found {
					defer sums.release()
					for _, i := range is {
						m := &ms[i]
						s, err := sums.get(m.ord)
						if err == nil {
							// The event's strings share their bytes: a copy
							// (in arena, unless nil), the frame's buffer
							// being pooled.
							*into[i], err = parseSummaryPayload(cloneIn(arena, s.raw))
						}
						if err != nil {
							return fmt.Errorf("block %s, event %d: %w", b.ID, m.key.seq, err)
						}
						into[i].Seq = m.key.seq
					}
					return nil
				}
			}
			rs, err := rd.recordsAt(b, ords)
			if err != nil {
				return err
			}
			defer rs.release() // Parse copies the record
			var p record.Parser
			for _, i := range is {
				m := &ms[i]
				rec, err := rs.get(m.ord)
				if err != nil {
					return fmt.Errorf("block %s: %w", b.ID, err)
				}
				ev, err := p.Parse(rec.kind, rec.raw)
				if err != nil {
					return fmt.Errorf("block %s, event %d: %w", b.ID, m.key.seq, err)
				}
				ev.Seq = m.key.seq
				*into[i] = ev
			}
			return nil
		}
	})
}
