package index

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/search"
)

// A block shard's sidecar (docs/blocks.md, step 3): its stored events as
// bitmaps by each value of every facetable field (blockColumnFields) and
// by their _exists terms, with each event's time, in memory beside the
// blocks. A query made only of those terms, time ranges, AND, OR and NOT
// is counted, faceted, bucketed and paged on them in a few roaring
// operations instead of by reading every candidate block: a facet over the
// errors of 1M events read the columns of about 3,900 blocks (120 ms; 2.6
// ms on the sidecar). Anything else (words, ids, paths, patterns left
// undecided) is counted and paged from the blocks as before.
//
// It is built from what the blocks store (their columns and typed event
// index), when the writer opens and as each batch is stored, so it counts
// what a read of the blocks would. Its cost is memory, about 46 bytes an
// event (BenchmarkSidecar): about 2 for each field of many values, a
// fraction of a byte for the others, 4 for the time.

// sidecar is a block shard's events by value. An event's number is its
// block's base plus its ordinal in the block: blocks are numbered in the
// order they were stored, so numbers follow sequence numbers.
type sidecar struct {
	// broken is set when a block could not be added (a damaged or
	// older block): nothing is counted on it then.
	broken bool
	// unpaged is set by a block whose sequence numbers are not its first
	// one's and the next ones: its events' keys are not known, so pages
	// are read from the blocks.
	unpaged bool
	next    uint32 // events so far
	blocks  []sidecarBlock
	// times are the events' eventTime, by event number: milliseconds
	// after their block's oldest, untimed without one; a block whose times
	// are not whole milliseconds, or span more than 49 days, keeps them
	// in wide (Unix nanoseconds, noTime without one), by its base.
	times  []uint32
	wide   map[uint32][]int64
	fields []sidecarField
	strs   stringArena // the fields' values
	// The blocks' numbers by their newest event's key and by their
	// oldest's, ascending: the orders pages read them in.
	byNewest, byOldest []int32
	// mapped is set on a frozen sidecar (sidecarfreeze.go): its times and
	// fields' values are in this mapping, which it keeps mapped.
	mapped *fileMap
	// every is the bitmap of every event eval gives for a query of all
	// events, kept until events are added (made for each search, it was
	// 5% of a page of all events in process); readers share it.
	every atomic.Pointer[everyEvent]
}

// everyEvent is a sidecar's bitmap of its first n events.
type everyEvent struct {
	n  uint32
	bm *roaring.Bitmap
}

// sidecarBlock is where a block's events are in a sidecar.
type sidecarBlock struct {
	base, n        uint32
	first          uint64 // sequence number of its first event; its others follow
	oldest, newest int64  // of its events with a time
	untimed        bool   // some event has no time
	wide           bool   // its times are in sidecar.wide
	// ordered: its events' keys ascend with their ordinals, as a batch's
	// do (Put numbers them in time order), so that a page stops in it at
	// the first event that cannot make the page.
	ordered bool
	lo, hi  eventKey
}

// untimed is a time of sidecar.times for an event without one.
const untimed = math.MaxUint32

// time returns the time of the event o of the block b (noTime for none).
func (s *sidecar) time(b *sidecarBlock, o uint32) int64 {
	if b.wide {
		return s.wide[b.base][o-b.base]
	}
	if d := s.times[o]; d != untimed {
		return b.oldest + int64(d)*int64(time.Millisecond)
	}
	return noTime
}

// sidecarField is a field's events by value: vals[values[v]] holds the
// events of value v. Numbered, not pointed to, and the values' strings in
// an arena: a sidecar's objects are what a collection marks, about two
// thirds of the live heap's after the opening of a 1M block store.
type sidecarField struct {
	values map[string]int32
	vals   []sidecarValue
	frozen *frozenField    // instead of values and vals once frozen
	has    *roaring.Bitmap // the events with a value
	exists *roaring.Bitmap // the events holding the field's _exists term; nil once a block's hash of it was shared
}

// lookup returns the events holding value v; ok is false if none does.
// A frozen field's are in its mapping.
func (f *sidecarField) lookup(v string) (ev sidecarValue, ok bool, err error) {
	if f.frozen != nil {
		i, ok := f.frozen.find(v)
		if !ok {
			return ev, false, nil
		}
		ev, err = f.frozen.events(i)
		return ev, err == nil, err
	}
	i, ok := f.values[v]
	if !ok {
		return ev, false, nil
	}
	return f.vals[i], true, nil
}

// count returns how many values the field has.
func (f *sidecarField) count() int {
	if f.frozen != nil {
		return f.frozen.len()
	}
	return len(f.values)
}

// each calls fn with each value and its events, until fn returns false.
// A frozen field's value is in its mapping: fn copies what it keeps.
func (f *sidecarField) each(fn func(v string, ev *sidecarValue) bool) error {
	if f.frozen == nil {
		for v, i := range f.values {
			if !fn(v, &f.vals[i]) {
				break
			}
		}
		return nil
	}
	for i := range f.frozen.len() {
		ev, err := f.frozen.events(i)
		if err != nil {
			return err
		}
		if !fn(f.frozen.at(i), &ev) {
			break
		}
	}
	return nil
}

func newSidecar() *sidecar {
	s := &sidecar{fields: make([]sidecarField, len(blockColumnFields))}
	for i := range s.fields {
		s.fields[i] = sidecarField{values: map[string]int32{}, has: roaring.New(), exists: roaring.New()}
	}
	return s
}

// sidecarValue is the events holding a value: their numbers while they
// are few (most values of resources, agents and addresses are), a bitmap
// from fewMax on. A roaring bitmap of one small container costs about
// 150 bytes; most of the sidecar's memory was resources' such bitmaps.
type sidecarValue struct {
	few []uint32
	bm  *roaring.Bitmap
}

const fewMax = 16

// add adds event o, numbered after those it holds.
func (v *sidecarValue) add(o uint32) {
	switch {
	case v.bm != nil:
		v.bm.Add(o)
	case len(v.few) < fewMax:
		v.few = append(v.few, o)
	default:
		v.bm = roaring.BitmapOf(v.few...)
		v.bm.Add(o)
		v.few = nil
	}
}

// bitmap returns the events as a bitmap, never to be modified.
func (v *sidecarValue) bitmap() *roaring.Bitmap {
	if v.bm != nil {
		return v.bm
	}
	return roaring.BitmapOf(v.few...)
}

// count counts the events among k's matches.
func (v *sidecarValue) count(k *matchCounter) uint64 {
	if v.bm != nil {
		return k.count(v.bm, 0, false)
	}
	n := uint64(0)
	for _, o := range v.few {
		if k.has(o) {
			n++
		}
	}
	return n
}

// add adds a block: its typed event index x and its stored columns. A
// block that cannot be read breaks the sidecar.
func (s *sidecar) add(x eventIndex, columns []byte) error {
	if s.broken {
		return nil
	}
	err := s.addBlock(x, columns)
	if err != nil {
		s.broken = true
	}
	return err
}

func (s *sidecar) addBlock(x eventIndex, columns []byte) error {
	if s.mapped != nil {
		return errors.New("index: a block added to a frozen sidecar")
	}
	if uint64(s.next)+uint64(x.events) > math.MaxUint32 {
		return fmt.Errorf("index: a sidecar of more than %d events", uint32(math.MaxUint32))
	}
	cols, err := decodeBlockColumns(columns, x.events, nil)
	if err != nil {
		return err
	}
	base := s.next
	b := sidecarBlock{base: base, n: uint32(x.events), first: x.key(0).seq, oldest: math.MaxInt64, newest: math.MinInt64, ordered: true}
	var prev eventKey
	for o := range x.events {
		k := x.key(o)
		if k.seq != b.first+uint64(o) {
			s.unpaged = true
		}
		if o > 0 && !prev.less(k) {
			b.ordered = false
		}
		prev = k
		if o == 0 || k.less(b.lo) {
			b.lo = k
		}
		if o == 0 || b.hi.less(k) {
			b.hi = k
		}
		if k.nanos == noTime {
			b.untimed = true
			continue
		}
		b.oldest, b.newest = min(b.oldest, k.nanos), max(b.newest, k.nanos)
	}
	for o := range x.events {
		t := x.key(o).nanos
		d := (t - b.oldest) / int64(time.Millisecond)
		switch {
		case t == noTime:
			s.times = append(s.times, untimed)
		case (t-b.oldest)%int64(time.Millisecond) == 0 && d < untimed:
			s.times = append(s.times, uint32(d))
		default:
			b.wide = true
			s.times = append(s.times, untimed)
		}
	}
	if b.wide {
		ts := make([]int64, x.events)
		for o := range ts {
			ts[o] = x.key(o).nanos
		}
		if s.wide == nil {
			s.wide = map[uint32][]int64{}
		}
		s.wide[base] = ts
	}
	var nums []int32
	for f, name := range blockColumnFields {
		sf := &s.fields[f]
		nums = nums[:0]
		for _, v := range cols.fields[f] {
			i, ok := sf.values[v]
			if !ok {
				i = int32(len(sf.vals))
				sf.vals = append(sf.vals, sidecarValue{})
				sf.values[s.strs.intern(v)] = i
			}
			nums = append(nums, i)
		}
		if name == multiResource {
			for o, ords := range cols.res {
				if len(ords) > 0 {
					sf.has.Add(base + uint32(o))
				}
				for _, v := range ords {
					sf.vals[nums[v]].add(base + uint32(o))
				}
			}
		} else {
			for o, v := range cols.cells[f] {
				if v >= 0 {
					sf.vals[nums[v]].add(base + uint32(o))
					sf.has.Add(base + uint32(o))
				}
			}
		}
		if sf.exists == nil {
			continue
		}
		set, shared, err := x.lookup(termHash(fieldExists, []byte(name)))
		if err != nil {
			return err
		}
		if shared {
			sf.exists = nil // the block's events are told apart on records, which the sidecar does not read
			continue
		}
		set.each(func(o int) { sf.exists.Add(base + uint32(o)) })
	}
	s.blocks = append(s.blocks, b)
	s.next += uint32(x.events)
	num := int32(len(s.blocks) - 1)
	s.byNewest = insertBlock(s.byNewest, num, func(i int32) bool { return s.blocks[i].hi.less(b.hi) })
	s.byOldest = insertBlock(s.byOldest, num, func(i int32) bool { return s.blocks[i].lo.less(b.lo) })
	return nil
}

// superset returns events among which are all the matches of n, from the
// parts of n the sidecar decides (nil: any event may match): a page of a
// query it does not decide reads, in the sidecar's order, only the blocks
// holding one of them. Never one the sidecar keeps.
func (s *sidecar) superset(n *blockNode) *roaring.Bitmap {
	if bm, ok := s.eval(n); ok {
		return bm.Clone()
	}
	switch n.op {
	case bnAnd:
		var pos, neg []*roaring.Bitmap
		for i := range n.kids {
			k := &n.kids[i]
			if k.op == bnNot {
				// A NOT the sidecar decides takes its events away; one it
				// does not, none.
				if bm, ok := s.eval(&k.kids[0]); ok {
					neg = append(neg, bm)
				}
				continue
			}
			if bm := s.superset(k); bm != nil {
				pos = append(pos, bm)
			}
		}
		if len(pos) == 0 {
			return nil
		}
		out := pos[0]
		if len(pos) > 1 {
			out = roaring.FastAnd(pos...)
		}
		for _, bm := range neg {
			out.AndNot(bm)
		}
		return out
	case bnOr:
		bms := make([]*roaring.Bitmap, len(n.kids))
		for i := range n.kids {
			if bms[i] = s.superset(&n.kids[i]); bms[i] == nil {
				return nil
			}
		}
		return roaring.FastOr(bms...)
	}
	return nil
}

// blockList returns the first sequence numbers of the blocks that start
// before seq (0: any) and hold an event of superset(p).
func (s *sidecar) blockList(p *blockPlan, seq uint64) (firsts []uint64) {
	cand := s.superset(&p.root)
	for i := range s.blocks {
		b := &s.blocks[i]
		if seq != 0 && b.first >= seq || cand != nil && !cand.IntersectsWithInterval(uint64(b.base), uint64(b.base+b.n)) {
			continue
		}
		firsts = append(firsts, b.first)
	}
	return firsts
}

// sidecarRef is a block as a page in the sidecar's order reads it: its
// first sequence number, and its first and last event in the order.
type sidecarRef struct {
	first      uint64
	head, tail eventKey
}

// blocksFrom appends to out at most n blocks holding an event of cand (nil:
// any), newest (oldest) first: from the first, or after the block whose
// first event in the order is cursor if started.
func (s *sidecar) blocksFrom(out []sidecarRef, newest, started bool, cursor eventKey, cand *roaring.Bitmap, n int) []sidecarRef {
	take := func(b *sidecarBlock) bool {
		return cand == nil || cand.IntersectsWithInterval(uint64(b.base), uint64(b.base+b.n))
	}
	if newest {
		i := len(s.byNewest) - 1
		if started {
			i = sort.Search(len(s.byNewest), func(j int) bool { return !s.blocks[s.byNewest[j]].hi.less(cursor) }) - 1
		}
		for ; i >= 0 && len(out) < n; i-- {
			if b := &s.blocks[s.byNewest[i]]; take(b) {
				out = append(out, sidecarRef{first: b.first, head: b.hi, tail: b.lo})
			}
		}
		return out
	}
	i := 0
	if started {
		i = sort.Search(len(s.byOldest), func(j int) bool { return cursor.less(s.blocks[s.byOldest[j]].lo) })
	}
	for ; i < len(s.byOldest) && len(out) < n; i++ {
		if b := &s.blocks[s.byOldest[i]]; take(b) {
			out = append(out, sidecarRef{first: b.first, head: b.lo, tail: b.hi})
		}
	}
	return out
}

// insertBlock inserts num into list after the blocks for which before
// holds (a prefix): blocks come mostly in time order, so mostly at the
// end.
func insertBlock(list []int32, num int32, before func(int32) bool) []int32 {
	at := len(list)
	if at > 0 && !before(list[at-1]) {
		at = sort.Search(len(list), func(i int) bool { return !before(list[i]) })
	}
	return slices.Insert(list, at, num)
}

// matches returns the events matching p, or ok false when the sidecar
// is broken or cannot decide p.
func (s *sidecar) matches(p *blockPlan) (*roaring.Bitmap, bool) {
	if s.broken {
		return nil, false
	}
	return s.eval(&p.root)
}

// eval returns the events matching n, or ok false when n holds a test the
// sidecar cannot make. The bitmap may be one the sidecar keeps: callers
// never modify it.
func (s *sidecar) eval(n *blockNode) (bm *roaring.Bitmap, ok bool) {
	switch n.op {
	case bnAll:
		if e := s.every.Load(); e != nil && e.n == s.next {
			return e.bm, true
		}
		e := &everyEvent{n: s.next, bm: s.all()}
		s.every.Store(e)
		return e.bm, true
	case bnNone:
		return roaring.New(), true
	case bnTerm:
		if n.bloom || n.field == "" {
			return nil, false
		}
		if n.field == fieldExists {
			f := blockColumn(n.term)
			if f < 0 || s.fields[f].exists == nil {
				return nil, false
			}
			return s.fields[f].exists, true
		}
		f := blockColumn(n.field)
		if f < 0 {
			return nil, false
		}
		ev, found, err := s.fields[f].lookup(n.term)
		if err != nil {
			return nil, false // read from the blocks instead
		}
		if found {
			return ev.bitmap(), true
		}
		return roaring.New(), true
	case bnTime:
		return s.between(n.lo, n.hi), true
	case bnAnd:
		// NOT clauses are taken away from the others' intersection
		// instead of each being made from all events.
		var pos, neg []*roaring.Bitmap
		var times []*blockNode
		for i := range n.kids {
			k, not := &n.kids[i], n.kids[i].op == bnNot
			if not {
				k = &k.kids[0]
			} else if k.op == bnTime {
				times = append(times, k)
				continue
			}
			bm, ok := s.eval(k)
			if !ok {
				return nil, false
			}
			if not {
				neg = append(neg, bm)
			} else {
				pos = append(pos, bm)
			}
		}
		// A time range beside other terms takes their events outside it
		// away, instead of being made a bitmap of every event inside it
		// (128 KiB over 1M events for a week's range, half of what the
		// harness's source+name+7d query allocated).
		shared := len(pos) == 1 // the sidecar's own, not to be changed
		if len(pos) == 0 && len(times) > 0 {
			pos, times = append(pos, s.between(times[0].lo, times[0].hi)), times[1:]
		}
		out := s.all()
		switch len(pos) {
		case 0:
		case 1:
			out = pos[0]
		default:
			out = roaring.FastAnd(pos...)
		}
		for _, t := range times {
			out, shared = s.within(out, shared, t.lo, t.hi)
		}
		for _, bm := range neg {
			out = roaring.AndNot(out, bm)
		}
		return out, true
	case bnOr:
		bms := make([]*roaring.Bitmap, len(n.kids))
		for i := range n.kids {
			if bms[i], ok = s.eval(&n.kids[i]); !ok {
				return nil, false
			}
		}
		if len(bms) == 1 {
			return bms[0], true
		}
		return roaring.FastOr(bms...), true
	case bnNot:
		bm, ok := s.eval(&n.kids[0])
		if !ok {
			return nil, false
		}
		return roaring.AndNot(s.all(), bm), true
	}
	return nil, false // bnMaybe: decided on records
}

// size estimates the sidecar's memory in bytes: its bitmaps' and number
// lists' own sizes, the values as map keys with their entries, the times
// and the blocks.
// A frozen sidecar's are its heap's only, not its mapping's.
func (s *sidecar) size() uint64 {
	n := uint64(cap(s.blocks))*uint64(unsafe.Sizeof(sidecarBlock{})) + uint64(cap(s.byNewest)+cap(s.byOldest))*4
	if s.mapped == nil {
		n += uint64(cap(s.times)) * 4
	}
	for _, ts := range s.wide {
		n += 8*uint64(len(ts)) + 40
	}
	for i := range s.fields {
		f := &s.fields[i]
		n += f.has.GetSizeInBytes()
		if f.exists != nil {
			n += f.exists.GetSizeInBytes()
		}
		for v, i := range f.values { // none when frozen
			bm := &f.vals[i]
			n += uint64(len(v)) + 16 + 4 + 32 // key, its header, the number, the value
			if bm.bm != nil {
				n += bm.bm.GetSizeInBytes() + 100 // and the bitmap's headers
			} else {
				n += 4 * uint64(cap(bm.few))
			}
		}
	}
	return n
}

// all returns every event.
func (s *sidecar) all() *roaring.Bitmap {
	bm := roaring.New()
	bm.AddRange(0, uint64(s.next))
	return bm
}

// between returns the events whose time is from lo to hi, both included,
// as the block test's bnTime decides.
func (s *sidecar) between(lo, hi int64) *roaring.Bitmap {
	bm := roaring.New()
	for i := range s.blocks {
		b := &s.blocks[i]
		switch all, none := b.cover(lo, hi); {
		case none:
		case all:
			bm.AddRange(uint64(b.base), uint64(b.base+b.n))
		default:
			for o := b.base; o < b.base+b.n; o++ {
				if s.timeIn(b, o, lo, hi) {
					bm.Add(o)
				}
			}
		}
	}
	return bm
}

// cover says whether [lo, hi] holds all of block b's events or none of
// them (no event with a time, or none in range); if neither, each is
// tested with timeIn.
func (b *sidecarBlock) cover(lo, hi int64) (all, none bool) {
	none = b.oldest > b.newest || b.newest < lo || b.oldest > hi
	return !none && !b.untimed && b.oldest >= lo && b.newest <= hi, none
}

// timeIn reports whether event o of block b has a time in [lo, hi].
func (s *sidecar) timeIn(b *sidecarBlock, o uint32, lo, hi int64) bool {
	t := s.time(b, o)
	return t != noTime && t >= lo && t <= hi
}

// within takes from bm its events outside [lo, hi] (as between decides),
// copying bm first if shared, and returns it and whether it is still
// shared. Only the blocks not wholly inside the range are looked at.
func (s *sidecar) within(bm *roaring.Bitmap, shared bool, lo, hi int64) (*roaring.Bitmap, bool) {
	for i := range s.blocks {
		b := &s.blocks[i]
		all, none := b.cover(lo, hi)
		first, end := uint64(b.base), uint64(b.base+b.n)
		if all || !bm.IntersectsWithInterval(first, end) {
			continue
		}
		if shared {
			bm, shared = bm.Clone(), false
		}
		if none {
			bm.RemoveRange(first, end)
			continue
		}
		for o := b.base; o < b.base+b.n; o++ {
			if bm.Contains(o) && !s.timeIn(b, o, lo, hi) {
				bm.Remove(o)
			}
		}
	}
	return bm, shared
}

// counts counts the events of match and what r asks for over them, as
// blockPlan.counts does over the blocks.
func (s *sidecar) counts(match *roaring.Bitmap, r blockCountRequest) (blockCounts, error) {
	out := blockCounts{total: match.GetCardinality(), facets: make([]facetCount, len(r.fields)), buckets: make([]int, r.buckets)}
	if out.total == 0 {
		return out, nil
	}
	for i, f := range r.fields {
		sf := &s.fields[f]
		fc := facetCount{values: map[string]int{}, missing: int(out.total - match.AndCardinality(sf.has))}
		k := newCounter(match, uint64(s.next), sf.count())
		frozen := sf.frozen != nil
		err := sf.each(func(v string, ev *sidecarValue) bool {
			if n := ev.count(k); n > 0 {
				if frozen {
					v = strings.Clone(v) // out of the mapping
				}
				fc.values[v] = int(n)
			}
			return true
		})
		if err != nil {
			return out, err
		}
		out.facets[i] = fc
	}
	if r.buckets > 0 {
		start := r.start.UnixNano()
		var buf [256]uint32
		bi := 0 // the block of the event: numbers come in order
		it := match.ManyIterator()
		for n := it.NextMany(buf[:]); n > 0; n = it.NextMany(buf[:]) {
			for _, o := range buf[:n] {
				for o >= s.blocks[bi].base+s.blocks[bi].n {
					bi++
				}
				if t := s.time(&s.blocks[bi], o); t != noTime && t >= start {
					if b := (t - start) / int64(r.iv); b < int64(r.buckets) {
						out.buckets[b]++
					}
				}
			}
		}
	}
	return out, nil
}

// page returns the size events of match that sort first in the order
// (newest or oldest first) after the key from (when after), as
// blockPlan.page finds them on the blocks: the blocks are visited in the
// order of their newest (oldest) event, until the next cannot hold an
// event sorting before the last kept. block gives the match of a block
// for its records to be read.
func (s *sidecar) page(match *roaring.Bitmap, newest bool, size int, from eventKey, after bool, block func(first uint64) *search.DocumentMatch) blockPage {
	var pg blockPage
	if size <= 0 {
		pg.more = !match.IsEmpty()
		return pg
	}
	before := inOrder(newest)
	order := s.byOldest
	if newest {
		order = s.byNewest
	}
	var out []blockMatch
	var it roaring.IntIterator
	var ordBuf [blockSize]uint32
	ords := ordBuf[:0] // a block's matches
	for i := range order {
		if newest {
			i = len(order) - 1 - i
		}
		b := &s.blocks[order[i]]
		head, tail := b.lo, b.hi // its first and last event in the order
		if newest {
			head, tail = b.hi, b.lo
		}
		if len(out) >= size && !before(head, out[size-1].key) {
			// No event of this block or the next sorts before the last
			// kept: the page is full, and more may follow.
			pg.more = true
			break
		}
		if after && !before(from, tail) {
			continue // each of its events is at or before the token
		}
		// The block's matches: all its events when the bitmap holds them
		// all (all events, or a block of one value), else from the
		// bitmap's own order, instead of a lookup for each of its events
		// (a page of a query matching one event in a hundred looked up
		// 256 for every 3 it kept).
		n := int(b.n)
		ords = ords[:0]
		if !holdsRange(match, b.base, b.n) {
			it.Initialize(match)
			it.AdvanceIfNeeded(b.base)
			for it.HasNext() && it.PeekNext() < b.base+b.n {
				ords = append(ords, it.Next()-b.base)
			}
			if n = len(ords); n == 0 {
				continue
			}
		}
		pg.read++
		var m *search.DocumentMatch
		// The block's events in the page's order of sequence numbers,
		// which is time's within a batch (Put): once the page is full
		// (out sorted, keepFirst), an event is kept only if it sorts
		// before the last kept, and in an ordered block none after the
		// first that does not is; the events up to the token are found
		// by halving. Page 100 of all events at 1M sorted 419 events,
		// a quarter of its time, and tested every event of 3 blocks.
		key := func(j int) eventKey {
			if newest {
				j = n - 1 - j
			}
			o := uint32(j)
			if len(ords) > 0 {
				o = ords[j]
			}
			return eventKey{nanos: s.time(b, b.base+o), seq: b.first + uint64(o)}
		}
		start := 0
		if after && b.ordered {
			// The events at or before the token come first.
			start = sort.Search(n, func(j int) bool { return before(from, key(j)) })
		}
		full, added := len(out) >= size, false
		for j := start; j < n; j++ {
			k := key(j)
			if after && !before(from, k) {
				continue
			}
			if full && !before(k, out[size-1].key) {
				pg.more = true
				if b.ordered {
					break // the rest sort after it
				}
				continue
			}
			if m == nil {
				m = block(b.first)
			}
			if out == nil {
				// Room for the page and as many after it: grown by
				// appends, it was a fifth of a page's time.
				out = make([]blockMatch, 0, min(2*size, 4096))
			}
			out, added = append(out, blockMatch{key: k, block: m, ord: int(k.seq - b.first)}), true
			if !full && len(out) == size {
				out, full, added = keepFirst(out, size, before, &pg), true, false
			}
		}
		if added {
			out = keepFirst(out, size, before, &pg)
		}
	}
	pg.matches = out
	return pg
}

// holdsRange reports whether bm holds each of the n numbers from lo (its
// ends looked up first: most blocks a sparse query reads hold few).
func holdsRange(bm *roaring.Bitmap, lo, n uint32) bool {
	if n == 0 || !bm.Contains(lo) || !bm.Contains(lo+n-1) {
		return false
	}
	below := uint64(0)
	if lo > 0 {
		below = bm.Rank(lo - 1)
	}
	return bm.Rank(lo+n-1)-below == uint64(n)
}

// stringArena holds strings in shared chunks: one allocation for many
// small strings, which the collector then marks once.
type stringArena struct{ chunk []byte }

const arenaChunk = 64 << 10

// intern returns a copy of v in the arena (a long one on its own).
func (a *stringArena) intern(v string) string {
	if len(v) == 0 {
		return ""
	}
	if len(v) > arenaChunk/16 {
		return strings.Clone(v)
	}
	if cap(a.chunk)-len(a.chunk) < len(v) {
		a.chunk = make([]byte, 0, arenaChunk)
	}
	a.chunk = append(a.chunk, v...)
	b := a.chunk[len(a.chunk)-len(v):]
	return unsafe.String(unsafe.SliceData(b), len(b))
}
