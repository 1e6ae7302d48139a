package index

import (
	"strconv"
	"sync"

	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/search"
)

// storedCache keeps the stored fields of a store's newest blocks'
// documents as they are written and as searches read them: a block's own, its summaries' and its
// rare terms' index's (not its records'), decompressed. zapx decompresses a
// document's stored fields whole (snappy) on every read, a third of the
// server's CPU on the page of one word at 1M events, and a newest-first
// page, whatever its query, reads the newest blocks. Only blocks among the
// newest keepEvents events are kept, so that a query reading every block
// (a word found nowhere) neither churns the cache nor allocates a copy of
// each.
//
// Entries are by document id, which merges keep: a block's documents never
// change once written. But undoChunk deletes a failed chunk's blocks,
// whose sequence numbers the next chunk takes again: it then starts a new
// generation (forget), and each search keeps and finds entries of the
// generation it started in, before taking its snapshots, so that a search
// still reading the deleted blocks keeps them where no later one looks.
// Least recently used entries go first.
type storedCache struct {
	mu   sync.Mutex
	gen  uint64
	docs *lru[storedKey, *storedDoc] // at most max bytes
}

type storedKey struct {
	id  string
	gen uint64
}

type storedDoc struct {
	key   storedKey
	names []string // field names (zapx's, not copied)
	ends  []int    // of each field's value in buf
	buf   []byte
}

func (d *storedDoc) bytes() int { return len(d.buf) + len(d.key.id) + 40*len(d.names) + 112 }

// add appends a field, its value copied.
func (d *storedDoc) add(field string, value []byte) {
	d.names = append(d.names, field)
	d.buf = append(d.buf, value...)
	d.ends = append(d.ends, len(d.buf))
}

// visit calls fn with each field until it returns false.
func (d *storedDoc) visit(fn storedVisit) {
	start := 0
	for i, name := range d.names {
		// Kept: an entry's bytes are never changed, and capped, so that
		// appending to them cannot either.
		if !fn(name, d.buf[start:d.ends[i]:d.ends[i]], true) {
			return
		}
		start = d.ends[i]
	}
}

const (
	// storedCacheBytes bounds the cache: about 500 blocks of the
	// generated events (some 60 KB a block's documents hold, but the
	// records).
	storedCacheBytes = 32 << 20
	// keepEvents is how far behind the newest event a block may start
	// and be kept.
	keepEvents = 1 << 17
)

func newStoredCache(max int) *storedCache {
	return &storedCache{docs: newLRU[storedKey](max, (*storedDoc).bytes)}
}

func (c *storedCache) get(k storedKey) *storedDoc {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, _ := c.docs.get(k)
	return d
}

func (c *storedCache) put(d *storedDoc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.docs.put(d.key, d)
	metricStoredCacheBytes.Set(float64(c.docs.size))
}

// keeps reports whether the document with the id is one the cache keeps
// when keepFrom is the first sequence number it keeps: a block's, its
// summaries' or its rare terms' index's, of a block starting there or
// later. keepFrom 0 keeps none.
func keeps(id string, keepFrom uint64) bool {
	if keepFrom == 0 || len(id) != 17 {
		return false
	}
	switch id[:1] {
	case blockIDMark, sumsMark, rareMark:
	default:
		return false
	}
	seq, err := strconv.ParseUint(id[1:], 16, 64)
	return err == nil && seq >= keepFrom
}

// keepFromSeq is the first sequence number of the blocks the cache keeps
// when head is the newest event's.
func keepFromSeq(head uint64) uint64 { return max(head, keepEvents) - keepEvents + 1 }

// generation is the generation a search starting now keeps and finds
// entries of; nil has none.
func (c *storedCache) generation() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// forget starts a new generation, dropping every entry.
func (c *storedCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.docs.reset()
	metricStoredCacheBytes.Set(0)
}

// keep keeps the stored fields of docs (nil ones skipped), as written: a
// block's documents, once its batch is stored. A nil c keeps none.
func (c *storedCache) keep(docs []*document.Document) {
	if c == nil {
		return
	}
	gen := c.generation()
	for _, doc := range docs {
		if doc == nil {
			continue
		}
		// Copied: the entry must not share what the writer may reuse.
		d := &storedDoc{key: storedKey{id: doc.ID(), gen: gen}}
		// Bleve added the id as a stored field, which reads skip.
		stored := func(f document.Field) bool { return f.Options().IsStored() && f.Name() != "_id" }
		size := 0
		for _, f := range doc.Fields {
			if stored(f) {
				size += len(f.Value())
			}
		}
		d.buf = make([]byte, 0, size)
		for _, f := range doc.Fields {
			if stored(f) {
				d.add(f.Name(), f.Value())
			}
		}
		c.put(d)
	}
}

// cached reads the document m through c when c keeps it (keeps): from its
// entry of generation gen, or by read, all its fields, which it then keeps.
// The others (and all with c nil) are read by read as they are.
func (c *storedCache) cached(m *search.DocumentMatch, gen, keepFrom uint64, read blockStored, fn storedVisit) error {
	if c == nil || !keeps(m.ID, keepFrom) {
		return read(m, fn)
	}
	key := storedKey{id: m.ID, gen: gen}
	if d := c.get(key); d != nil {
		metricStoredCache.WithLabelValues("hit").Inc()
		d.visit(fn)
		return nil
	}
	metricStoredCache.WithLabelValues("miss").Inc()
	d := &storedDoc{key: key}
	// Read whole: the entry must hold every field.
	if err := read(m, func(field string, value []byte, _ bool) bool {
		d.add(field, value)
		return true
	}); err != nil {
		return err
	}
	c.put(d)
	d.visit(fn)
	return nil
}
