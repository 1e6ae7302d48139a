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
	mu      sync.Mutex
	seed    maphash.Seed
	entries *lru[uint64, *frameEntry] // by frameKey, at most max bytes
}

type frameEntry struct {
	comp, dec []byte        // dec is shared by readers: never written after put
	recs      []blockRecord // dec split, also shared
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
	return &frameCache{seed: maphash.MakeSeed(), entries: newLRU[uint64](max, (*frameEntry).bytes)}
}

// get returns the records of the decoded frame comp, or nil. They are
// shared: callers copy what they change.
func (c *frameCache) get(comp []byte) []blockRecord {
	k := c.frameKey(comp)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries.get(k)
	if !ok || !bytes.Equal(e.comp, comp) {
		metricFrameMisses.Inc()
		return nil
	}
	metricFrameHits.Inc()
	return e.recs
}

// put keeps dec as the decoded frame of comp (copied) and recs as its
// records (dec split); dec is the cache's from now on and must not be
// written.
func (c *frameCache) put(comp, dec []byte, recs []blockRecord) {
	e := &frameEntry{comp: bytes.Clone(comp), dec: dec, recs: slices.Clone(recs)}
	k := c.frameKey(comp)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries.put(k, e)
	metricFrameCacheBytes.Set(float64(c.entries.size))
}
