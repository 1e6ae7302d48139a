package index

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/klauspost/compress/s2"

	"github.com/codetrail/codetrail/index/record"
)

// A block's columns hold each event's value of every facetable field, so
// that facets over a query's matches count the matching events of each
// candidate block from its columns instead of their records (docs/blocks.md:
// the sidecar over a whole partition is what makes facets over all events
// fast; these are what a block search reads).
//
// Layout, s2 compressed: a version byte, then for each field of
// blockColumnFields in order: uvarint number of distinct values, each value
// (uvarint length, bytes), then for each event its value: the value's
// ordinal + 1 (0 for none), a byte while there are fewer than 255 values,
// else two (little-endian). Resources, several an event: for each event a
// uvarint count and as many uvarint ordinals.
const blockColumnsV1 = 1

// fieldColumns is the stored field of a block's columns.
const fieldColumns = "_cols"

// blockColumnFields are the facetable fields in stored order: the
// facetable typed fields in keywordFields' order, then resource. Appending
// is the only compatible change.
var blockColumnFields = func() []string {
	var out []string
	for _, f := range keywordFields {
		if f.facetable {
			out = append(out, f.name)
		}
	}
	return append(out, multiResource)
}()

// blockColumn returns the number of field in blockColumnFields, or -1.
func blockColumn(field string) int { return slices.Index(blockColumnFields, field) }

// columnsBuilder builds a block's columns, keeping its buffers.
type columnsBuilder struct {
	ords   map[string]int
	values []string
	out    []byte
	cells  []int
	counts *allCounts // when set, each field's values are counted in it
	tally  []uint64
	// distinct is each field's distinct values in the block last
	// encoded, by blockColumnFields (the block document's lists of them).
	distinct [][]string
}

// encode returns the columns of evs (stored compressed).
func (c *columnsBuilder) encode(evs []record.Event) []byte {
	if c.ords == nil {
		c.ords = map[string]int{}
	}
	out := append(c.out[:0], blockColumnsV1)
	for f, name := range blockColumnFields {
		clear(c.ords)
		c.values, c.cells = c.values[:0], c.cells[:0]
		ord := func(v string) int {
			o, ok := c.ords[v]
			if !ok {
				o = len(c.values)
				c.ords[v] = o
				c.values = append(c.values, v)
			}
			return o
		}
		if name == multiResource {
			for i := range evs {
				c.cells = append(c.cells, -1-len(evs[i].Resources)) // a count, then its ordinals
				for _, r := range evs[i].Resources {
					c.cells = append(c.cells, ord(r))
				}
			}
		} else {
			f := fieldByName[name]
			for i := range evs {
				o := -1
				if v := f.value(&evs[i]); v != "" {
					o = ord(v)
				}
				c.cells = append(c.cells, o)
			}
		}
		if c.counts != nil {
			c.count(f)
		}
		if c.distinct == nil {
			c.distinct = make([][]string, len(blockColumnFields))
		}
		c.distinct[f] = append(c.distinct[f][:0], c.values...)
		out = binary.AppendUvarint(out, uint64(len(c.values)))
		for _, v := range c.values {
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
		}
		wide := len(c.values) >= 255
		for _, o := range c.cells {
			switch {
			case o < -1 || name == multiResource:
				out = binary.AppendUvarint(out, uint64(max(o, -1-o)))
			case wide:
				out = binary.LittleEndian.AppendUint16(out, uint16(o+1))
			default:
				out = append(out, byte(o+1))
			}
		}
	}
	c.out = out
	return s2.Encode(nil, out)
}

// count adds the field numbered f of the block just encoded to c.counts:
// each value's events (a resource once for each time an event names it)
// and the events without the field.
func (c *columnsBuilder) count(f int) {
	c.tally = append(c.tally[:0], make([]uint64, len(c.values))...)
	var missing uint64
	for _, o := range c.cells {
		switch {
		case o >= 0:
			c.tally[o]++
		case o == -1: // none, or a resource count of none
			missing++
		}
	}
	c.counts.addColumn(f, c.values, c.tally, missing)
}

// blockColumns is a decoded view of a block's columns.
type blockColumns struct {
	events int
	fields [][]string // each field's distinct values
	cells  [][]int32  // single-valued fields: each event's ordinal, -1 for none
	res    [][]int32  // resource: each event's ordinals
}

// decodeBlockColumns decodes the stored columns of a block of events: the
// fields numbered in want (nil: all), the others checked and skipped.
func decodeBlockColumns(stored []byte, events int, want []int) (*blockColumns, error) {
	b, err := s2Decode(nil, stored)
	if err != nil {
		return nil, fmt.Errorf("columns: %w", err)
	}
	bad := func(what string) error { return fmt.Errorf("%w: columns: %s", errEventIndex, what) }
	if len(b) == 0 || b[0] != blockColumnsV1 {
		return nil, bad("version")
	}
	b = b[1:]
	uv := uvarints(&b)
	c := &blockColumns{events: events, fields: make([][]string, len(blockColumnFields)), cells: make([][]int32, len(blockColumnFields))}
	for f, name := range blockColumnFields {
		keep := want == nil || slices.Contains(want, f)
		n, ok := uv()
		if !ok || n > uint64(len(b)) {
			return nil, bad(name + " values")
		}
		var vals []string
		if keep {
			vals = make([]string, n)
		}
		for i := range n {
			l, ok := uv()
			if !ok || l > uint64(len(b)) {
				return nil, bad(name + " value")
			}
			if keep {
				vals[i] = string(b[:l])
			}
			b = b[l:]
		}
		c.fields[f] = vals
		if name == multiResource {
			for range events {
				k, ok := uv()
				if !ok || k > uint64(len(b)) {
					return nil, bad(name + " count")
				}
				var ords []int32
				for range k {
					o, ok := uv()
					if !ok || o >= n {
						return nil, bad(name + " ordinal")
					}
					ords = append(ords, int32(o))
				}
				if keep {
					c.res = append(c.res, ords)
				}
			}
			continue
		}
		width := 1
		if n >= 255 {
			width = 2
		}
		if !keep {
			if len(b) < width*events {
				return nil, bad(name + " cells")
			}
			b = b[width*events:]
			continue
		}
		cells := make([]int32, events)
		for i := range cells {
			var o uint64
			if n >= 255 {
				if len(b) < 2 {
					return nil, bad(name + " cells")
				}
				o, b = uint64(binary.LittleEndian.Uint16(b)), b[2:]
			} else {
				if len(b) < 1 {
					return nil, bad(name + " cells")
				}
				o, b = uint64(b[0]), b[1:]
			}
			if o > n {
				return nil, bad(name + " ordinal")
			}
			cells[i] = int32(o) - 1
		}
		c.cells[f] = cells
	}
	if len(b) != 0 {
		return nil, bad("trailing bytes")
	}
	return c, nil
}

// facetCount is what a facet counts over a query's matches: events by
// value, and those without the field.
type facetCount struct {
	values  map[string]int
	missing int
}

// count adds the values of the field number f (blockColumnFields, one
// decoded) of the events of set to fc.
func (c *blockColumns) count(f int, set eventSet, fc *facetCount) {
	if fc.values == nil {
		fc.values = map[string]int{}
	}
	vals := c.fields[f]
	if blockColumnFields[f] == multiResource {
		set.each(func(o int) {
			if len(c.res[o]) == 0 {
				fc.missing++
			}
			for _, v := range c.res[o] {
				fc.values[vals[v]]++
			}
		})
		return
	}
	var n [blockSize]int32 // by ordinal, while few
	counts := n[:0]
	if len(vals) <= blockSize {
		counts = n[:len(vals)]
	} else {
		counts = make([]int32, len(vals))
	}
	cells := c.cells[f]
	set.each(func(o int) {
		if v := cells[o]; v < 0 {
			fc.missing++
		} else {
			counts[v]++
		}
	})
	for v, k := range counts {
		if k > 0 {
			fc.values[vals[v]] += int(k)
		}
	}
}

// uvarints returns a reader of the uvarints at the start of *b, which it
// advances; ok is false at a damaged one.
func uvarints(b *[]byte) func() (v uint64, ok bool) {
	return func() (uint64, bool) {
		v, n := binary.Uvarint(*b)
		if n <= 0 {
			return 0, false
		}
		*b = (*b)[n:]
		return v, true
	}
}
