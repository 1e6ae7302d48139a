package index

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	bquery "github.com/blevesearch/bleve/v2/search/query"
)

// Live subscribers that fall out of the ring catch up from shared pages of
// stored events, read from the index once and matched in memory like ring
// entries. Reading the index with each one's own query would cost every
// lagging subscriber a search over the sequence range, which Bleve runs as
// one term searcher per sequence number per segment: under a burst, with
// hundreds of subscribers behind together, those searches pile up faster
// than they finish. A page is one such read for all of them.
//
// The initial replay of a new subscription still searches with its query:
// history can be deep and a selective query reads a small part of it.

// pageEvents is the sequence numbers one page covers; page n holds the
// stored events with seq in (n*pageEvents, (n+1)*pageEvents].
const pageEvents = 256

// maxPages bounds the pages kept (about as many events as the ring).
const maxPages = 32

type page struct {
	ready   chan struct{} // closed once entries or err is set
	entries []*ringEntry
	err     error
}

// pageCache keeps the most recently used pages.
type pageCache struct {
	reads atomic.Int64 // pages read from the index

	mu    sync.Mutex
	pages map[uint64]*page
	order []uint64 // least recently used first
}

func newPageCache() *pageCache { return &pageCache{pages: map[uint64]*page{}} }

// touch moves n to the most recently used end.
func (c *pageCache) touch(n uint64) {
	for i, m := range c.order {
		if m == n {
			copy(c.order[i:], c.order[i+1:])
			c.order[len(c.order)-1] = n
			return
		}
	}
}

// page returns the stored events of page n, which must lie wholly at or
// below the head, reading it once for all callers.
func (s *Store) page(ctx context.Context, n uint64) ([]*ringEntry, error) {
	c := s.pages
	c.mu.Lock()
	p, ok := c.pages[n]
	if ok {
		c.touch(n)
		c.mu.Unlock()
		select {
		case <-p.ready:
			return p.entries, p.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	p = &page{ready: make(chan struct{})}
	c.pages[n] = p
	c.order = append(c.order, n)
	if len(c.order) > maxPages {
		delete(c.pages, c.order[0]) // its readers keep their pointer
		c.order = c.order[1:]
	}
	c.mu.Unlock()

	// Read without the caller's cancellation: others may be waiting.
	p.entries, p.err = s.readPage(context.WithoutCancel(ctx), n)
	if p.err != nil {
		c.mu.Lock()
		if c.pages[n] == p {
			delete(c.pages, n)
			for i, m := range c.order {
				if m == n {
					c.order = append(c.order[:i], c.order[i+1:]...)
					break
				}
			}
		}
		c.mu.Unlock()
	}
	close(p.ready)
	return p.entries, p.err
}

func (s *Store) readPage(ctx context.Context, n uint64) ([]*ringEntry, error) {
	s.replays <- struct{}{}
	blobs, err := s.replay(ctx, bquery.NewMatchAllQuery(), nil, nil, n*pageEvents, (n+1)*pageEvents, pageEvents)
	<-s.replays
	s.pages.reads.Add(1)
	metricLagPages.Inc()
	if err != nil {
		return nil, err
	}
	out := make([]*ringEntry, 0, len(blobs))
	for _, b := range blobs {
		hit, err := s.hit(b, 0)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		out = append(out, newRingEntry(hit.Event, hit.Cursor))
	}
	return out, nil
}
