package index

import (
	"fmt"
	"math"

	"github.com/RoaringBitmap/roaring/v2"
)

// A block shard's sidecar (docs/blocks.md, step 3): its stored events as
// bitmaps by each value of every facetable field (blockColumnFields) and
// by their _exists terms, with each event's time, in memory beside the
// blocks. A query made only of those terms, time ranges, AND, OR and NOT
// is counted, faceted and bucketed on them in a few roaring operations
// instead of by reading every candidate block: a facet over the errors of
// 1M events read the columns of about 3,900 blocks (120 ms). Anything
// else (words, ids, paths, patterns left undecided) is counted from the
// blocks as before.
//
// It is built from what the blocks store (their columns and typed event
// index), when the writer opens and as each batch is stored, so it counts
// what a read of the blocks would. Its cost is memory: about 2 bytes an
// event for each field of many values, a fraction of a byte for the
// others, and 8 for the time.

// sidecar is a block shard's events by value. An event's number is its
// block's base plus its ordinal in the block: blocks are numbered in the
// order they were stored, so numbers follow sequence numbers.
type sidecar struct {
	// broken is set when a block could not be added (a damaged or
	// older block): nothing is counted on it then.
	broken bool
	next   uint32 // events so far
	blocks []sidecarBlock
	times  []int64 // by event number: eventTime in Unix nanoseconds, noTime without
	fields []sidecarField
}

// sidecarBlock is where a block's events are in a sidecar.
type sidecarBlock struct {
	base, n        uint32
	oldest, newest int64 // of its events with a time
	untimed        bool  // some event has no time
}

// sidecarField is a field's events by value.
type sidecarField struct {
	values map[string]*roaring.Bitmap
	has    *roaring.Bitmap // the events with a value
	exists *roaring.Bitmap // the events holding the field's _exists term; nil once a block's hash of it was shared
}

func newSidecar() *sidecar {
	s := &sidecar{fields: make([]sidecarField, len(blockColumnFields))}
	for i := range s.fields {
		s.fields[i] = sidecarField{values: map[string]*roaring.Bitmap{}, has: roaring.New(), exists: roaring.New()}
	}
	return s
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
	if uint64(s.next)+uint64(x.events) > math.MaxUint32 {
		return fmt.Errorf("index: a sidecar of more than %d events", uint32(math.MaxUint32))
	}
	cols, err := decodeBlockColumns(columns, x.events, nil)
	if err != nil {
		return err
	}
	base := s.next
	b := sidecarBlock{base: base, n: uint32(x.events), oldest: math.MaxInt64, newest: math.MinInt64}
	for o := range x.events {
		t := x.key(o).nanos
		s.times = append(s.times, t)
		if t == noTime {
			b.untimed = true
			continue
		}
		b.oldest, b.newest = min(b.oldest, t), max(b.newest, t)
	}
	var bms []*roaring.Bitmap
	for f, name := range blockColumnFields {
		sf := &s.fields[f]
		bms = bms[:0]
		for _, v := range cols.fields[f] {
			bm := sf.values[v]
			if bm == nil {
				bm = roaring.New()
				sf.values[v] = bm
			}
			bms = append(bms, bm)
		}
		if name == multiResource {
			for o, ords := range cols.res {
				if len(ords) > 0 {
					sf.has.Add(base + uint32(o))
				}
				for _, v := range ords {
					bms[v].Add(base + uint32(o))
				}
			}
		} else {
			for o, v := range cols.cells[f] {
				if v >= 0 {
					bms[v].Add(base + uint32(o))
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
	return nil
}

// eval returns the events matching n, or ok false when n holds a test the
// sidecar cannot make. The bitmap may be one the sidecar keeps: callers
// never modify it.
func (s *sidecar) eval(n *blockNode) (bm *roaring.Bitmap, ok bool) {
	switch n.op {
	case bnAll:
		return s.all(), true
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
		if bm := s.fields[f].values[n.term]; bm != nil {
			return bm, true
		}
		return roaring.New(), true
	case bnTime:
		return s.between(n.lo, n.hi), true
	case bnAnd:
		// NOT clauses are taken away from the others' intersection
		// instead of each being made from all events.
		var pos, neg []*roaring.Bitmap
		for i := range n.kids {
			k := &n.kids[i]
			if k.op == bnNot {
				k = &k.kids[0]
			}
			bm, ok := s.eval(k)
			if !ok {
				return nil, false
			}
			if k != &n.kids[i] {
				neg = append(neg, bm)
			} else {
				pos = append(pos, bm)
			}
		}
		out := s.all()
		switch len(pos) {
		case 0:
		case 1:
			out = pos[0]
		default:
			out = roaring.FastAnd(pos...)
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
	for _, b := range s.blocks {
		switch {
		case b.oldest > b.newest || b.newest < lo || b.oldest > hi: // no event with a time, or none in range
		case !b.untimed && b.oldest >= lo && b.newest <= hi:
			bm.AddRange(uint64(b.base), uint64(b.base+b.n))
		default:
			for o := b.base; o < b.base+b.n; o++ {
				if t := s.times[o]; t != noTime && t >= lo && t <= hi {
					bm.Add(o)
				}
			}
		}
	}
	return bm
}

// counts counts the events of match and what r asks for over them, as
// blockPlan.counts does over the blocks.
func (s *sidecar) counts(match *roaring.Bitmap, r blockCountRequest) blockCounts {
	out := blockCounts{total: match.GetCardinality(), facets: make([]facetCount, len(r.fields)), buckets: make([]int, r.buckets)}
	if out.total == 0 {
		return out
	}
	for i, f := range r.fields {
		sf := &s.fields[f]
		fc := facetCount{values: map[string]int{}, missing: int(out.total - match.AndCardinality(sf.has))}
		k := newCounter(match, uint64(s.next), len(sf.values))
		for v, bm := range sf.values {
			if n := k.count(bm, 0, false); n > 0 {
				fc.values[v] = int(n)
			}
		}
		out.facets[i] = fc
	}
	if r.buckets > 0 {
		start := r.start.UnixNano()
		var buf [256]uint32
		it := match.ManyIterator()
		for n := it.NextMany(buf[:]); n > 0; n = it.NextMany(buf[:]) {
			for _, o := range buf[:n] {
				if t := s.times[o]; t != noTime && t >= start {
					if b := (t - start) / int64(r.iv); b < int64(r.buckets) {
						out.buckets[b]++
					}
				}
			}
		}
	}
	return out
}
