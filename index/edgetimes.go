package index

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// A time range is searched on the hour terms, and the events of its first
// and last hour are tested against their exact time, read from each one's
// sort key in the doc values (timerange.go). That read was most of a page
// of all events: a window ends inside an hour, and every event of that
// hour is tested. On 10M events (about 74,000 an hour on the trail's
// busiest days) it was 40 to 50% of the CPU of page 1 and page 100 of all
// events, and page 100, with an edge at each end of its window, paid it
// twice.
//
// A segment never changes, so the times of an hour's events in it are the
// same for every search. The first search that tests all of them keeps
// them, in event order. Later searches look a time up by moving along them
// instead of reading doc values or, when every edge of the range has its
// times kept, take the events within the bounds by binary search over them
// sorted by time (exactEdges): a page's window, a few minutes of a busy
// hour, is then a few hundred events instead of every event of the hour
// tested. They are kept least recently used first within a budget (a
// quarter of Config.ColumnBytes; 16 bytes an event), and dropped with
// their segment (Store.sweepSegmentCaches).

// hourTimes is the events of one hour in one segment and their eventTime
// (the time part of the sort key, nanosKey's number), by event number.
type hourTimes struct {
	docs  []uint32
	times []uint64

	sortOnce sync.Once
	byTime   []int32 // indexes of docs, in time order
}

func (h *hourTimes) bytes() int64 { return int64(16*len(h.docs)) + 96 }

// between returns the events whose time is in [lo, hi).
func (h *hourTimes) between(lo, hi uint64) *roaring.Bitmap {
	h.sortOnce.Do(func() {
		h.byTime = make([]int32, len(h.docs))
		for i := range h.byTime {
			h.byTime[i] = int32(i)
		}
		sort.SliceStable(h.byTime, func(a, b int) bool { return h.times[h.byTime[a]] < h.times[h.byTime[b]] })
	})
	i := sort.Search(len(h.byTime), func(k int) bool { return h.times[h.byTime[k]] >= lo })
	j := max(i, sort.Search(len(h.byTime), func(k int) bool { return h.times[h.byTime[k]] >= hi }))
	docs := make([]uint32, 0, j-i)
	if n := j - i; n > len(h.docs)/16 {
		// Many: a pass in event order, which needs no sort after.
		for k, t := range h.times {
			if t >= lo && t < hi {
				docs = append(docs, h.docs[k])
			}
		}
	} else {
		for _, k := range h.byTime[i:j] {
			docs = append(docs, h.docs[k])
		}
		slices.Sort(docs)
	}
	return roaring.BitmapOf(docs...)
}

type edgeKey struct {
	seg  segment.Segment
	hour string
}

type edgeEntry struct {
	key   edgeKey
	times *hourTimes
}

// edgeTimes keeps hourTimes (see above).
type edgeTimes struct {
	mu    sync.Mutex
	m     map[edgeKey]*list.Element
	lru   list.List // of *edgeEntry, most recently used first
	bytes int64
	max   int64
	// minDocs is the smallest segment times are kept for. An entry holds
	// its segment, and a small one is most likely a batch's, held in
	// memory until Bleve merges it away: thousands of small entries would
	// keep hundreds of MB of such segments alive (measured: 1.8 GB of
	// anonymous memory at the peak of a 1M ingest, against 0.96). A small
	// segment's hour is cheap to read anyway.
	minDocs uint64
}

func newEdgeTimes(maxBytes int64) *edgeTimes {
	return &edgeTimes{m: map[edgeKey]*list.Element{}, max: maxBytes, minDocs: columnMinDocs}
}

func (e *edgeTimes) get(k edgeKey) *hourTimes {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	el, ok := e.m[k]
	if !ok {
		return nil
	}
	e.lru.MoveToFront(el)
	metricEdgeTimes.WithLabelValues("hit").Inc()
	return el.Value.(*edgeEntry).times
}

func (e *edgeTimes) put(k edgeKey, h *hourTimes) {
	if e == nil || h.bytes() > e.max {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.m[k]; ok {
		return // kept by a search beside this one
	}
	e.m[k] = e.lru.PushFront(&edgeEntry{key: k, times: h})
	e.bytes += h.bytes()
	for e.bytes > e.max {
		old := e.lru.Back().Value.(*edgeEntry)
		e.drop(old.key)
	}
	metricEdgeTimes.WithLabelValues("kept").Inc()
}

// drop forgets k; e.mu is held.
func (e *edgeTimes) drop(k edgeKey) {
	el := e.m[k]
	e.lru.Remove(el)
	delete(e.m, k)
	e.bytes -= el.Value.(*edgeEntry).times.bytes()
}

// sweep drops the times of every segment not in live.
func (e *edgeTimes) sweep(live map[segment.Segment]struct{}) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.m {
		if _, ok := live[k.seg]; !ok {
			e.drop(k)
		}
	}
}

func (e *edgeTimes) size() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bytes
}

// keyTime is the time part of a sort key (fieldOrder) or of nanosKey as a
// number in the same order; ok is false for a key that has none.
func keyTime(k []byte) (uint64, bool) {
	if len(k) < 16 {
		return 0, false
	}
	var u uint64
	for _, ch := range k[:16] {
		switch {
		case ch >= '0' && ch <= '9':
			u = u<<4 | uint64(ch-'0')
		case ch >= 'a' && ch <= 'f':
			u = u<<4 | uint64(ch-'a'+10)
		default:
			return 0, false
		}
	}
	return u, true
}

// edgeHour answers, for the events of one hour of one segment that a
// search asks about in increasing order, whether an event is of the hour
// and its time. Without kept times it reads them from the doc values, and
// keeps them when it has read every event of the hour left in within.
type edgeHour struct {
	c     *bmSegment
	kept  *hourTimes      // nil: read from doc values
	pos   int             // in kept: the first event not before the last asked
	hour  *roaring.Bitmap // the hour's events, when not kept
	in    func(doc uint32) bool
	key   edgeKey
	cache *edgeTimes
	want  uint64    // events of the hour in within: all read, keep them
	read  hourTimes // read so far, in increasing event order
}

// edge returns the edgeHour of hour in c, for a search over within (the
// events it may ask about; deleted ones left out).
func (c *bmSegment) edge(ctx context.Context, hour []byte, within *roaring.Bitmap) (*edgeHour, error) {
	cache := searchValue[edgeTimes](ctx)
	if cache != nil && c.seg.Count() < cache.minDocs {
		cache = nil
	}
	e := &edgeHour{c: c, key: edgeKey{c.seg, string(hour)}, cache: cache}
	if e.kept = cache.get(e.key); e.kept != nil {
		return e, nil
	}
	bm, err := c.bitmap(fieldHour, hour)
	if err != nil {
		return nil, err
	}
	if bm.IsEmpty() {
		e.kept = &hourTimes{} // nothing to read or keep
		return e, nil
	}
	e.hour, e.in = bm, memberOf(bm)
	if cache != nil {
		// Deleted events are left out of what is kept; the times kept
		// stay right, as a segment's deletions only grow.
		live := bm
		if c.deleted != nil && !c.deleted.IsEmpty() {
			live = roaring.AndNot(bm, c.deleted)
		}
		if e.want = live.AndCardinality(within); e.want == live.GetCardinality() {
			e.read.docs = make([]uint32, 0, e.want)
			e.read.times = make([]uint64, 0, e.want)
		} else {
			e.want = 0 // within holds less than the hour: nothing to keep
		}
	}
	return e, nil
}

// each calls fn with every event of the hour in within and its time.
func (e *edgeHour) each(within *roaring.Bitmap, fn func(doc uint32, t uint64)) error {
	if e.kept != nil {
		in := memberOf(within)
		for i, doc := range e.kept.docs {
			if in(doc) {
				fn(doc, e.kept.times[i])
			}
		}
		return nil
	}
	it := roaring.And(e.hour, within).Iterator()
	for it.HasNext() {
		doc := it.Next()
		t, _, err := e.time(doc)
		if err != nil {
			return err
		}
		fn(doc, t)
	}
	return nil
}

// time says whether doc is of the hour and, if so, its time.
func (e *edgeHour) time(doc uint32) (t uint64, in bool, err error) {
	if e.kept != nil {
		d := e.kept.docs
		if e.pos > 0 && e.pos <= len(d) && d[e.pos-1] >= doc {
			e.pos = sort.Search(len(d), func(i int) bool { return d[i] >= doc }) // backwards
		}
		for e.pos < len(d) && d[e.pos] < doc {
			e.pos++
		}
		if e.pos < len(d) && d[e.pos] == doc {
			e.pos++
			return e.kept.times[e.pos-1], true, nil
		}
		return 0, false, nil
	}
	if !e.in(doc) {
		return 0, false, nil
	}
	if t, err = e.readTime(doc); err != nil {
		return 0, false, err
	}
	if e.want > 0 && (e.c.deleted == nil || !e.c.deleted.Contains(doc)) {
		if n := len(e.read.docs); n == 0 || e.read.docs[n-1] < doc {
			e.read.docs = append(e.read.docs, doc)
			e.read.times = append(e.read.times, t)
			if uint64(len(e.read.docs)) == e.want {
				e.cache.put(e.key, &hourTimes{docs: e.read.docs, times: e.read.times})
				e.want = 0
			}
		}
	}
	return t, true, nil
}

// readTime reads the time of event doc from its sort key.
func (e *edgeHour) readTime(doc uint32) (uint64, error) {
	key, err := e.c.sortKey(doc)
	if err != nil {
		return 0, err
	}
	t, ok := keyTime(key)
	if !ok {
		return 0, fmt.Errorf("read sort key: event %d has %q, no time", doc, key)
	}
	return t, nil
}
