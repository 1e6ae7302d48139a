package index

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// segDocs caches, for each segment of a block shard (segments never
// change once written), the local numbers of its block documents and of
// the documents written beside them (records, summaries, rare terms'
// index), by id. A page or a count that names its blocks by id (the
// sidecar's) found each in the snapshot with Bleve's InternalID, which
// looks the id up in every segment's dictionary: some 25 µs a block, and
// as much again for its sibling, a third of a page of one word at 1M.
// Reading a segment's ids costs about 2 µs an id, once.
type segDocs struct {
	mu   sync.Mutex
	tick uint64
	segs map[segment.Segment]*segIDs
}

type segIDs struct {
	used uint64 // segDocs.tick when last asked for
	ids  map[string]uint32
}

// blockDocs is the cache of every block shard: entries of segments merged
// away are dropped as it fills (maxSegDocs), least recently used first.
var blockDocs = segDocs{segs: map[segment.Segment]*segIDs{}}

const maxSegDocs = 1024

// blockDocMarks are the first bytes of the ids segDocs keeps.
var blockDocMarks = [...]string{blockIDMark, recordsMark, sumsMark, rareMark}

// number returns the number in snap of the live document with the id, if
// a segment of snap holds one; ok is false otherwise, or when a segment's
// ids cannot be read (the caller then looks the id up as Bleve does).
func (c *segDocs) number(snap *scorch.IndexSnapshot, id string) (n uint64, ok bool) {
	if id == "" || !slices.Contains(blockDocMarks[:], id[:1]) {
		return 0, false
	}
	var off uint64
	for _, ss := range snap.Segments() {
		ids, err := c.of(ss.Segment())
		if err != nil {
			return 0, false
		}
		if local, found := ids[id]; found {
			if d := ss.Deleted(); d == nil || !d.Contains(local) {
				return off + uint64(local), true
			}
		}
		off += ss.Count()
	}
	return 0, false
}

// of returns the ids of seg's block documents and their siblings, read
// once.
func (c *segDocs) of(seg segment.Segment) (map[string]uint32, error) {
	c.mu.Lock()
	c.tick++
	e, ok := c.segs[seg]
	if ok {
		e.used = c.tick
	}
	c.mu.Unlock()
	if ok {
		return e.ids, nil
	}
	ids, err := segmentBlockIDs(seg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.segs) >= maxSegDocs {
		c.dropOldest()
	}
	c.segs[seg] = &segIDs{used: c.tick, ids: ids}
	return ids, nil
}

// dropOldest drops the half of the entries least recently asked for; mu
// held.
func (c *segDocs) dropOldest() {
	var cut uint64
	for _, e := range c.segs {
		cut += e.used / uint64(len(c.segs))
	}
	for s, e := range c.segs {
		if e.used <= cut {
			delete(c.segs, s)
		}
	}
}

// warmEvery is how often warmLoop looks for new segments.
const warmEvery = time.Second

// warmLoop reads the block ids of the block shards' new segments ahead of
// the first search that needs them (Bleve merges segments in the
// background, and a search that names blocks reads the ids of every
// segment): the first search after a merge of 16,000 blocks took 30 ms
// longer, the first run of several queries after ingest in the benchmark.
// It costs about 2 µs an id once, and keeps the segments in use at the
// head of the cache. It also freezes the sidecars of a partition that
// took its last batch (freezeClosed).
func (s *Store) warmLoop(ctx context.Context) {
	defer close(s.warmDone)
	t := time.NewTicker(warmEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, sh := range s.blockShards() {
			if ctx.Err() != nil {
				return
			}
			warmShard(sh.idx)
		}
		s.freezeClosed()
	}
}

// warmShard reads the block ids of the segments of sh's current snapshot
// that blockDocs does not hold yet. A shard closed meanwhile is skipped.
func warmShard(sh bleve.Index) {
	adv, err := sh.Advanced()
	if err != nil {
		return
	}
	r, err := adv.Reader()
	if err != nil {
		return
	}
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok || snap == nil { // a closed scorch has no snapshot
		return
	}
	defer func() { _ = snap.Close() }()
	for _, ss := range snap.Segments() {
		// An unreadable segment is left to the search, which reports it.
		_, _ = blockDocs.of(ss.Segment())
	}
}

// segmentBlockIDs reads the ids of seg's block documents and their
// siblings from its _id dictionary, with their local numbers.
func segmentBlockIDs(seg segment.Segment) (map[string]uint32, error) {
	d, err := seg.Dictionary("_id")
	if err != nil {
		return nil, fmt.Errorf("read ids: %w", err)
	}
	ids := map[string]uint32{}
	var pl segment.PostingsList
	var pi segment.PostingsIterator
	for _, mark := range blockDocMarks {
		end := []byte{mark[0] + 1}
		it := d.AutomatonIterator(everyTerm{}, []byte(mark), end)
		for {
			e, err := it.Next()
			if err != nil {
				return nil, fmt.Errorf("read ids: %w", err)
			}
			if e == nil {
				break
			}
			if pl, err = d.PostingsList([]byte(e.Term), nil, pl); err != nil {
				return nil, fmt.Errorf("read ids: %w", err)
			}
			pi = pl.Iterator(false, false, false, pi)
			p, err := pi.Next()
			if err != nil {
				return nil, fmt.Errorf("read ids: %w", err)
			}
			if p != nil {
				ids[e.Term] = uint32(p.Number())
			}
		}
	}
	return ids, nil
}
