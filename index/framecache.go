package index

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sync"
)

// frameCache keeps decoded frames of blocks' summaries and records
// (encodeFrames), found by their compressed bytes: a page reads its
// events' frames (50 events, up to 50 frames), and the same pages are
// asked again (a dashboard's, a tail's newest events): decoding a frame
// again cost 2 to 4 µs for summaries (s2) and some 25 µs for records
// (zstd), a seventh of a search's CPU through the server at 1M events.
// Keyed by content, an entry cannot outlive what it was decoded from in
// meaning: a merged or rewritten block holds the same compressed bytes
// for the same records, and a different frame compares unequal. Least
// recently used entries go first once max bytes are held.
type frameCache struct {
	mu    sync.Mutex
	max   int
	size  int
	seed  maphash.Seed
	m     map[uint64]*frameEntry
	order frameEntry // sentinel, most recently used after it
}

type frameEntry struct {
	key        uint64
	comp, dec  []byte        // dec is shared by readers: never written after put
	recs       []blockRecord // dec split, also shared
	prev, next *frameEntry
}

func (e *frameEntry) bytes() int { return len(e.comp) + len(e.dec) + 40*len(e.recs) + 120 }

// frameKey hashes the length and the ends of a compressed frame: hashing
// all of it was 2% of a search through the server, and frames whose ends
// agree only share a slot (get compares all of it).
func (c *frameCache) frameKey(comp []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(comp)))
	h.Write(n[:])
	if len(comp) <= 64 {
		h.Write(comp)
	} else {
		h.Write(comp[:32])
		h.Write(comp[len(comp)-32:])
	}
	return h.Sum64()
}

// frameCacheBytes bounds the process's frame cache: some 5,000 summary
// frames (100 pages of 50 events) or 600 of records.
const frameCacheBytes = 16 << 20

var decodedFrames = newFrameCache(frameCacheBytes)

func newFrameCache(max int) *frameCache {
	c := &frameCache{max: max, seed: maphash.MakeSeed(), m: map[uint64]*frameEntry{}}
	c.order.next, c.order.prev = &c.order, &c.order
	return c
}

// get returns the records of the decoded frame comp, or nil. They are
// shared: callers copy what they change.
func (c *frameCache) get(comp []byte) []blockRecord {
	k := c.frameKey(comp)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil || !bytes.Equal(e.comp, comp) {
		metricFrameMisses.Inc()
		return nil
	}
	c.unlink(e)
	c.pushFront(e)
	metricFrameHits.Inc()
	return e.recs
}

// put keeps dec as the decoded frame of comp (copied) and recs as its
// records (dec split); dec is the cache's from now on and must not be
// written.
func (c *frameCache) put(comp, dec []byte, recs []blockRecord) {
	e := &frameEntry{key: c.frameKey(comp), dec: dec, recs: slices.Clone(recs)}
	if e.bytes()+len(comp) > c.max/64 {
		return
	}
	e.comp = bytes.Clone(comp)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[e.key]; old != nil {
		c.unlink(old)
		c.size -= old.bytes()
	}
	c.m[e.key] = e
	c.pushFront(e)
	c.size += e.bytes()
	for c.size > c.max {
		last := c.order.prev
		c.unlink(last)
		delete(c.m, last.key)
		c.size -= last.bytes()
	}
	metricFrameCacheBytes.Set(float64(c.size))
}

func (c *frameCache) unlink(e *frameEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *frameCache) pushFront(e *frameEntry) {
	e.prev, e.next = &c.order, c.order.next
	c.order.next.prev = e
	c.order.next = e
}
