package index

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/codetrail/codetrail/index/record"
)

// allCounts is what facets and histograms over all of a block partition's
// events read instead of its blocks (docs/blocks.md, "Totals, facets,
// histograms"): the events of each value of every facetable field, the
// events without it, and the events of each hour. Reading every block's
// columns for those took 84 to 374 ms at 1M events; these are a map
// lookup. Like the word counts, each batch stores what it added (delta),
// in the Bleve batch of its blocks, and a partition sums the stored deltas
// at open (apply). Not safe for concurrent use.
type allCounts struct {
	events  uint64
	values  []map[string]uint64 // by blockColumnFields
	missing []uint64            // by blockColumnFields
	hours   map[int64]uint64    // hourOf(eventTime)
	d       *allCounts          // added since the last delta
	strs    stringArena         // values' keys kept by apply (see sidecarField)
	// frozen, by blockColumnFields, instead of values once the partition
	// takes no more events (sidecarfreeze.go).
	frozen []frozenCounts
}

// count returns the events holding value v of the field number f.
func (c *allCounts) count(f int, v string) uint64 {
	if c.frozen != nil {
		if i, ok := c.frozen[f].find(v); ok {
			return c.frozen[f].counts[i]
		}
		return 0
	}
	return c.values[f][v]
}

func newAllCounts() *allCounts {
	c := &allCounts{d: &allCounts{}}
	c.init()
	c.d.init()
	return c
}

func (c *allCounts) init() {
	c.values = make([]map[string]uint64, len(blockColumnFields))
	for i := range c.values {
		c.values[i] = map[string]uint64{}
	}
	c.missing = make([]uint64, len(blockColumnFields))
	c.hours = map[int64]uint64{}
}

// addColumn counts one block's values of the field number f: n events each
// of values[i], missing events without the field. The block builder calls
// it with the dictionary its columns made (columnsBuilder.encode): a map
// update for each distinct value of a block instead of one for each event
// (the per-event updates were 3% of block ingest's CPU).
func (c *allCounts) addColumn(f int, values []string, n []uint64, missing uint64) {
	for _, t := range []*allCounts{c, c.d} {
		t.missing[f] += missing
		for i, v := range values {
			if n[i] != 0 {
				t.values[f][v] += n[i]
			}
		}
	}
}

// addTimes counts evs and their hours (the values come from addColumn).
func (c *allCounts) addTimes(evs []record.Event) {
	for _, t := range []*allCounts{c, c.d} {
		t.events += uint64(len(evs))
	}
	var last, run int64 // runs of one hour: the events of a file are near in time
	flush := func() {
		if run > 0 {
			c.hours[last] += uint64(run)
			c.d.hours[last] += uint64(run)
		}
	}
	for i := range evs {
		tm, ok := indexedTime(&evs[i])
		if !ok {
			continue
		}
		if h := hourOf(tm); h != last || run == 0 {
			flush()
			last, run = h, 0
		}
		run++
	}
	flush()
}

// delta appends what was counted since the last delta to buf, and starts
// the next: uvarint events; for each field, uvarint missing, uvarint
// number of values and each value (uvarint length, bytes, uvarint count);
// uvarint number of hours and each (varint hour, uvarint count).
func (c *allCounts) delta(buf []byte) []byte {
	d := c.d
	buf = binary.AppendUvarint(buf, d.events)
	for f := range blockColumnFields {
		buf = binary.AppendUvarint(buf, d.missing[f])
		buf = binary.AppendUvarint(buf, uint64(len(d.values[f])))
		for _, v := range slices.Sorted(maps.Keys(d.values[f])) {
			buf = binary.AppendUvarint(buf, uint64(len(v)))
			buf = append(buf, v...)
			buf = binary.AppendUvarint(buf, d.values[f][v])
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(d.hours)))
	for _, h := range slices.Sorted(maps.Keys(d.hours)) {
		buf = binary.AppendVarint(buf, h)
		buf = binary.AppendUvarint(buf, d.hours[h])
	}
	c.d = &allCounts{}
	c.d.init()
	return buf
}

// apply adds a stored delta; the counts are left as they were if it is
// damaged.
func (c *allCounts) apply(delta []byte) error {
	t := &allCounts{}
	t.init()
	b := delta
	bad := func() error { return fmt.Errorf("index: damaged value counts at byte %d", len(delta)-len(b)) }
	uv := uvarints(&b)
	var ok bool
	if t.events, ok = uv(); !ok {
		return bad()
	}
	for f := range blockColumnFields {
		if t.missing[f], ok = uv(); !ok {
			return bad()
		}
		n, ok := uv()
		if !ok || n > uint64(len(b)) {
			return bad()
		}
		for range n {
			l, ok := uv()
			if !ok || l > uint64(len(b)) {
				return bad()
			}
			v := string(b[:l])
			b = b[l:]
			k, ok := uv()
			if !ok {
				return bad()
			}
			t.values[f][v] += k
		}
	}
	n, ok := uv()
	if !ok || n > uint64(len(b)) {
		return bad()
	}
	for range n {
		h, k := binary.Varint(b)
		if k <= 0 {
			return bad()
		}
		b = b[k:]
		v, ok := uv()
		if !ok {
			return bad()
		}
		t.hours[h] += v
	}
	if len(b) != 0 {
		return bad()
	}
	c.events += t.events
	for f := range blockColumnFields {
		c.missing[f] += t.missing[f]
		for v, k := range t.values[f] {
			if _, ok := c.values[f][v]; !ok {
				v = c.strs.intern(v)
			}
			c.values[f][v] += k
		}
	}
	for h, k := range t.hours {
		c.hours[h] += k
	}
	return nil
}

// facet returns the counts of the field number f over all events.
// A frozen field's values are copied out of their mapping.
func (c *allCounts) facet(f int) facetCount {
	if c.frozen != nil {
		fz := &c.frozen[f]
		fc := facetCount{values: make(map[string]int, fz.len()), missing: int(c.missing[f])}
		for i, v := range fz.copied() {
			fc.values[v] = int(fz.counts[i])
		}
		return fc
	}
	fc := facetCount{values: make(map[string]int, len(c.values[f])), missing: int(c.missing[f])}
	for v, k := range c.values[f] {
		fc.values[v] = int(k)
	}
	return fc
}

// histogram returns the events in each of n buckets of iv from start, from
// the hours; ok is false unless start is on the hour and iv whole hours.
func (c *allCounts) histogram(start time.Time, iv time.Duration, n int) (buckets []int, ok bool) {
	if iv <= 0 || iv%time.Hour != 0 || !start.Truncate(time.Hour).Equal(start) {
		return nil, false
	}
	buckets = make([]int, n)
	first, per := hourOf(start), int64(iv/time.Hour)
	for h, k := range c.hours {
		if h >= first {
			if i := (h - first) / per; i < int64(n) {
				buckets[i] += int(k)
			}
		}
	}
	return buckets, true
}
