package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Facets and histograms over a query's matches on postings bitmaps
// (bitmapAggregate) read, without columns, every posting of every value of
// the field: about 3 ns an event of the index whatever the query matches,
// 27 ms for an eventName facet over the errors of 10M events and 35 ms for
// a day histogram of one service. A column is the same postings turned
// around once per segment: for each event, which value of the field it
// holds, two bytes an event. Counting the matches' values then costs a few
// nanoseconds a match and nothing per event of the index.
//
// Columns are kept only for single-valued keyword fields of at most 65,535
// values in a segment (event names, sources, accounts, regions, the hour
// terms), for segments of at least columnMinDocs events (smaller ones are
// cheap to count either way), within a byte budget (Config.ColumnBytes).
// A segment never changes, so its column stays right until a merge
// replaces the segment, when sweep drops it. A column holds deleted events
// too: they are left out of the matches it counts.

// columnMinDocs is the smallest segment columns are kept for.
const columnMinDocs = 1 << 15

// column is, for each event of a segment, which of terms it holds in a
// field.
type column struct {
	terms []string
	ords  []uint16 // by event number: 1 + index in terms, 0 for none
}

// bytes is what the column takes in memory, about.
func (c *column) bytes() int64 {
	n := int64(2 * len(c.ords))
	for _, t := range c.terms {
		n += int64(len(t)) + 16
	}
	return n
}

// count adds to counts (indexed like ords) how many events of match hold
// each term.
func (c *column) count(match *roaring.Bitmap, counts []int, buf []uint32) {
	it := match.ManyIterator()
	for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
		for _, d := range buf[:n] {
			if int(d) < len(c.ords) {
				counts[c.ords[d]]++
			}
		}
	}
}

// columnKey names a column.
type columnKey struct {
	seg   segment.Segment
	field string
}

// columnEntry is a column being built or built. col is nil once built when
// the field has no column in the segment (some event holds two values, or
// there are too many values).
type columnEntry struct {
	done  chan struct{}
	col   *column
	bytes int64 // counted in columns.bytes
}

// columns keeps the columns of segments (see above).
type columns struct {
	mu      sync.Mutex
	m       map[columnKey]*columnEntry
	bytes   int64
	max     int64
	minDocs uint64
}

func newColumns(maxBytes int64) *columns {
	return &columns{m: map[columnKey]*columnEntry{}, max: maxBytes, minDocs: columnMinDocs}
}

// errNotColumn ends the building of a column the field cannot have.
var errNotColumn = errors.New("not a single-valued field of few values")

// get returns the column of field in c's segment, building it when build
// is set and it fits the budget; nil when there is none to use.
func (cs *columns) get(ctx context.Context, c *bmSegment, field string, build bool) (*column, error) {
	if cs == nil || cs.max <= 0 || c.seg.Count() < cs.minDocs {
		return nil, nil
	}
	key := columnKey{c.seg, field}
	cs.mu.Lock()
	e, ok := cs.m[key]
	if ok {
		cs.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.col != nil {
			metricColumns.WithLabelValues("hit").Inc()
		}
		return e.col, nil
	}
	// Reserve the ordinals now, so that searches building columns together
	// stay within the budget; the terms are counted once known.
	reserve := int64(2 * c.seg.Count())
	if !build || cs.bytes+reserve > cs.max {
		cs.mu.Unlock()
		if build {
			metricColumns.WithLabelValues("over_budget").Inc()
		}
		return nil, nil
	}
	e = &columnEntry{done: make(chan struct{}), bytes: reserve}
	cs.m[key] = e
	cs.bytes += reserve
	cs.mu.Unlock()

	col, err := buildColumn(ctx, c, field)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	defer close(e.done)
	kept := cs.m[key] == e // else swept while building
	switch {
	case err != nil && !errors.Is(err, errNotColumn):
		// Failed or cancelled: let a later search try again.
		if kept {
			delete(cs.m, key)
			cs.bytes -= e.bytes
		}
		return nil, err
	case err != nil:
		// Kept as none, so that it is not tried on every search.
		col = nil
		metricColumns.WithLabelValues("none").Inc()
	default:
		metricColumns.WithLabelValues("built").Inc()
	}
	e.col = col
	if kept {
		var n int64
		if col != nil {
			n = col.bytes()
		}
		cs.bytes += n - e.bytes
		e.bytes = n
	}
	return col, nil
}

// buildColumn reads the column of field in c's segment from its postings;
// errNotColumn when the field cannot have one.
func buildColumn(ctx context.Context, c *bmSegment, field string) (*column, error) {
	d, err := c.dict(field)
	if err != nil {
		return nil, err
	}
	if d.Cardinality() > math.MaxUint16 {
		return nil, errNotColumn
	}
	col := &column{ords: make([]uint16, c.seg.Count())}
	set := func(doc uint32, ord uint16) error {
		if int(doc) >= len(col.ords) {
			return fmt.Errorf("column of %s: event %d of a segment of %d", field, doc, len(col.ords))
		}
		if col.ords[doc] != 0 {
			return errNotColumn
		}
		col.ords[doc] = ord
		return nil
	}
	buf := make([]uint32, 512)
	err = c.eachTerm(ctx, field, nil, nil, func(t string, _ uint64) error {
		if len(col.terms) == math.MaxUint16 {
			return errNotColumn
		}
		col.terms = append(col.terms, t)
		ord := uint16(len(col.terms))
		bm, one, isOne, err := c.postings(field, []byte(t), true)
		if err != nil || isOne {
			if err != nil {
				return err
			}
			return set(one, ord)
		}
		it := bm.ManyIterator()
		for n := it.NextMany(buf); n > 0; n = it.NextMany(buf) {
			for _, doc := range buf[:n] {
				if err := set(doc, ord); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return col, nil
}

// sweep drops the columns of every segment not in live, which holds every
// segment of every shard's snapshot.
func (cs *columns) sweep(live map[segment.Segment]struct{}) {
	if cs == nil {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for k, e := range cs.m {
		if _, ok := live[k.seg]; !ok {
			delete(cs.m, k)
			cs.bytes -= e.bytes
		}
	}
}

// size returns the bytes the columns take.
func (cs *columns) size() int64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.bytes
}
