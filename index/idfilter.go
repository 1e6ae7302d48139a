package index

import (
	"context"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// idFilter is a Bloom filter of the event ids one partition holds: Put
// looks an id up in the index (unseen) only when a partition's filter may
// hold it. Without it every batch's ids were looked up in every segment of
// every shard of every partition, a cost that grew with the partitions
// kept. A false "may hold" costs one lookup; a false "does not" cannot
// happen, so duplicates are found exactly as before. It lives in memory
// only (10 bits an id) and is rebuilt from the _id dictionaries at open.
type idFilter struct {
	seed   maphash.Seed
	layers []bloomLayer
}

// A bloomLayer takes up to cap ids; when it is full a layer twice its
// size is added, so a filter needs no size up front and keeps its false
// positive rate as it grows.
type bloomLayer struct {
	bits []uint64
	n    int
	cap  int
}

const (
	idFilterBitsPerID = 10
	idFilterHashes    = 7 // about 1% false positives at 10 bits an id
	idFilterMinCap    = 1 << 14
)

func newIDFilter(capacity int) *idFilter {
	f := &idFilter{seed: maphash.MakeSeed()}
	f.grow(max(capacity, idFilterMinCap))
	return f
}

func (f *idFilter) grow(capacity int) {
	words := (capacity*idFilterBitsPerID + 63) / 64
	f.layers = append(f.layers, bloomLayer{bits: make([]uint64, words), cap: capacity})
}

// probes returns the two hashes the bit positions derive from (double
// hashing: h1 + i*h2).
func (f *idFilter) probes(id string) (h1, h2 uint64) {
	h := maphash.String(f.seed, id)
	return h, (h>>32 | h<<32) | 1
}

func (f *idFilter) add(id string) {
	l := &f.layers[len(f.layers)-1]
	if l.n >= l.cap {
		f.grow(2 * l.cap)
		l = &f.layers[len(f.layers)-1]
	}
	h1, h2 := f.probes(id)
	m := uint64(len(l.bits)) * 64
	for i := range uint64(idFilterHashes) {
		b := (h1 + i*h2) % m
		l.bits[b/64] |= 1 << (b % 64)
	}
	l.n++
}

// has reports whether id may have been added.
func (f *idFilter) has(id string) bool {
	h1, h2 := f.probes(id)
	for _, l := range f.layers {
		m := uint64(len(l.bits)) * 64
		in := true
		for i := range uint64(idFilterHashes) {
			b := (h1 + i*h2) % m
			if l.bits[b/64]&(1<<(b%64)) == 0 {
				in = false
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}

// buildIDFilter reads every document id of the shards.
func buildIDFilter(ctx context.Context, shards []bleve.Index, expect uint64) (*idFilter, error) {
	f := newIDFilter(int(expect))
	for _, sh := range shards {
		d, err := sh.FieldDict("_id")
		if err != nil {
			return nil, fmt.Errorf("read ids: %w", err)
		}
		for n := 0; ; n++ {
			if n%4096 == 0 && ctx.Err() != nil {
				_ = d.Close()
				return nil, ctx.Err()
			}
			e, err := d.Next()
			if err != nil {
				_ = d.Close()
				return nil, fmt.Errorf("read ids: %w", err)
			}
			if e == nil {
				break
			}
			f.add(e.Term)
		}
		if err := d.Close(); err != nil {
			return nil, fmt.Errorf("read ids: %w", err)
		}
	}
	return f, nil
}

// buildIDFilters gives every partition without a filter its filter, newest
// first (where duplicates are likeliest), in the background: until then
// unseen looks the ids up in that partition as before. Ids stored meanwhile
// wait in the partition's pendingIDs.
func (s *Store) buildIDFilters(ctx context.Context) {
	defer close(s.idFiltersDone)
	for {
		s.mu.Lock()
		var p *partition
		for i := len(s.parts) - 1; i >= 0; i-- {
			if s.parts[i].ids == nil && !s.parts[i].idsFailed && !s.parts[i].isBlocks() {
				p = s.parts[i]
				break
			}
		}
		var shards []bleve.Index
		var count uint64
		if p != nil {
			shards, count = append(shards, p.shards...), p.count
		}
		s.mu.Unlock()
		if p == nil || ctx.Err() != nil {
			return
		}
		beforeIDFilterBuild(p)
		start := time.Now()
		f, err := buildIDFilter(ctx, shards, count)
		s.mu.Lock()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			// Dropped by retention meanwhile, or unreadable: that partition
			// keeps being looked up.
			p.idsFailed = true
			s.log.Warn("id filter not built; duplicates are looked up in the index", "partition", p.dir, "err", err)
		default:
			for _, id := range p.pendingIDs {
				f.add(id)
			}
			p.ids, p.pendingIDs = f, nil
			s.log.Debug("id filter built", "partition", p.dir, "events", count, "took", time.Since(start).Round(time.Millisecond))
		}
		s.mu.Unlock()
	}
}

// beforeIDFilterBuild lets tests hold the building of a partition's filter.
var beforeIDFilterBuild = func(*partition) {}

// idLookup is the ids one partition's filter may hold.
type idLookup struct {
	p   *partition
	ids []string
}

// idLookups returns, partition by partition, the ids that partition may
// hold: its filter may hold them, or it has none yet. Each id is looked up
// only where it may be: looked up in every partition, an id that one
// filter let through (about 1% of ids per partition kept, and every
// duplicate) read every segment of every partition, which took 6% of
// ingest's CPU at 5M events in 10 partitions. n is the number of ids
// looked up at least once. mu held.
func (s *Store) idLookups(ids []string) (out []idLookup, n int) {
	for _, p := range s.parts {
		if p.isBlocks() {
			continue // their id index (blockStoredIDs)
		}
		var l idLookup
		for _, id := range ids {
			if p.ids == nil || p.ids.has(id) {
				l.ids = append(l.ids, id)
			}
		}
		if len(l.ids) > 0 {
			l.p = p
			out = append(out, l)
		}
	}
	if len(out) == 1 {
		return out, len(out[0].ids)
	}
	seen := make(map[string]struct{})
	for _, l := range out {
		for _, id := range l.ids {
			seen[id] = struct{}{}
		}
	}
	return out, len(seen)
}

// noteID adds the id of a newly stored event to the partition's filter,
// or keeps it for the filter being built; mu held.
func (p *partition) noteID(id string) {
	switch {
	case p.isBlocks():
		// Their writers index the ids.
	case p.ids != nil:
		p.ids.add(id)
	case !p.idsFailed:
		p.pendingIDs = append(p.pendingIDs, id)
	}
}

// newPartitionFilter is the filter of a partition that starts empty.
func (s *Store) newPartitionFilter() *idFilter {
	if n := s.cfg.PartitionMaxEvents; n > 0 {
		return newIDFilter(int(min(n, 1<<24)))
	}
	return newIDFilter(1 << 20)
}
