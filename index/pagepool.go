package index

import (
	"slices"
	"sync"
)

// What a page's search allocates and the server is done with once it has
// sent the page: the hits' array and the bytes of their summaries, whose
// strings the server's messages share until they are marshalled. Taking
// them from pools and handing them back (SearchResult.Release), with the
// server's messages of the page's events, took a term's page of 50 in the
// summary view over a 1M-event block store from 173 KB allocated to 59,
// and with it the collections that slow the searches they overlap.

// hitPool holds arrays of hits for pages (getHits, putHits).
var hitPool sync.Pool // of *[]Hit

// getHits returns an array of n zero hits, from hitPool when it has one
// large enough.
func getHits(n int) *[]Hit {
	if p, ok := hitPool.Get().(*[]Hit); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	hits := make([]Hit, n)
	return &hits
}

// putHits clears the hits of p (so that the pool holds none of their
// events' memory) and pools p; nil is ignored.
func putHits(p *[]Hit) {
	if p == nil {
		return
	}
	clear((*p)[:cap(*p)])
	*p = (*p)[:0]
	hitPool.Put(p)
}

// arenaChunkSize is the size of a byteArena's chunks: a page of 50
// summaries is some 32 KB.
const arenaChunkSize = 16 << 10

// chunkPool holds byteArena chunks.
var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, 0, arenaChunkSize)
	return &b
}}

// byteArena hands out copies of byte slices in pooled chunks, for the
// goroutines that read a page's blocks side by side.
type byteArena struct {
	mu     sync.Mutex
	chunks []*[]byte
	cur    []byte // the last chunk's used part
}

// alloc returns n bytes of the arena (of their own, for a large n) to
// write once, capped so that appending to them cannot reach the next.
func (a *byteArena) alloc(n int) []byte {
	if n > arenaChunkSize/4 {
		return make([]byte, n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if cap(a.cur)-len(a.cur) < n {
		c := chunkPool.Get().(*[]byte)
		a.chunks = append(a.chunks, c)
		a.cur = (*c)[:0]
	}
	at := len(a.cur)
	a.cur = a.cur[:at+n]
	return a.cur[at : at+n : at+n]
}

// release hands the chunks back: nothing handed out may be used after.
func (a *byteArena) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.chunks {
		*c = (*c)[:0]
		chunkPool.Put(c)
	}
	a.chunks, a.cur = nil, nil
}

// cloneIn copies b into the arena a, or anew when a is nil.
func cloneIn(a *byteArena, b []byte) []byte {
	if a == nil {
		return slices.Clone(b)
	}
	out := a.alloc(len(b))
	copy(out, b)
	return out
}
