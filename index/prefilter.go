package index

import (
	"slices"
	"strings"
	"sync"

	"github.com/codetrail/codetrail/index/query"
)

// The prefilter spares live subscribers most of their matching. Each
// subscription whose query needs one of a few terms (an event name, a
// service, an account, a word) registers them; the first subscriber to
// reach a new event looks its terms up once and marks every subscriber
// registered under one of them. The others skip the event without running
// their matcher: with a thousand subscribers, each event costs one pass
// over its terms instead of a thousand matchers.
//
// It is a necessary condition only: a marked subscriber still runs its
// matcher. Queries with no required term (NOT alone, patterns, ranges,
// everything) register nothing and run their matcher on every event.

// termKey is one indexed term of one field (by termSlots).
type termKey struct {
	slot int
	term string
}

// requiredTerms returns terms of which every event matching n holds at
// least one, as the matcher tests them; false when there is no such set.
func requiredTerms(n query.Node) ([]termKey, bool) {
	switch n := n.(type) {
	case query.And:
		var best []termKey
		found := false
		for _, cl := range n.Clauses {
			if _, ok := cl.(query.Not); ok {
				continue
			}
			// Any required clause will do; fewer terms mark fewer
			// subscribers.
			if ks, ok := requiredTerms(cl); ok && (!found || len(ks) < len(best)) {
				best, found = ks, true
			}
		}
		return best, found
	case query.Or:
		var all []termKey
		for _, cl := range n.Clauses {
			ks, ok := requiredTerms(cl)
			if !ok {
				return nil, false
			}
			all = append(all, ks...)
		}
		return all, len(all) > 0
	case query.Term:
		return termRequired(n)
	}
	return nil, false
}

// termRequired mirrors termMatcher.
func termRequired(n query.Term) ([]termKey, bool) {
	spec := resolveField(n.Field)
	switch spec.kind {
	case kindText:
		// One token, a phrase or a conjunction of tokens: each token is
		// required; the longest is likely the rarest.
		best := ""
		for _, t := range analyzeText(n.Value) {
			if len(t) > len(best) {
				best = t
			}
		}
		if best == "" {
			return nil, false
		}
		return []termKey{{slot: slotOf(fieldText), term: best}}, true
	case kindKV:
		return []termKey{{slot: slotOf(fieldKV), term: spec.name + kvSep + n.Value}}, true
	case kindKeyword:
		slot := slotOf(spec.name)
		if slot < 0 {
			return nil, false
		}
		v := n.Value
		if spec.name == "readOnly" {
			v = strings.ToLower(v)
		}
		return []termKey{{slot: slot, term: v}}, true
	}
	return nil, false
}

// prefilter is the registry of subscriptions' required terms. Subscribers
// hold a small id (reused after they leave); version changes with every
// registration, so that candidates computed before a subscriber joined are
// not trusted for it.
type prefilter struct {
	mu      sync.RWMutex
	version uint64
	byTerm  map[termKey][]int // subscriber ids
	slots   []int             // fields with registered terms, for the pass over an event
	slotUse map[int]int       // registered terms per field
	free    []int             // ids to reuse
	next    int               // ids handed out so far
}

func newPrefilter() *prefilter {
	return &prefilter{byTerm: map[termKey][]int{}, slotUse: map[int]int{}}
}

// add registers keys and returns the subscriber's id and the version from
// which candidate sets include it.
func (p *prefilter) add(keys []termKey) (id int, version uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		id, p.free = p.free[n-1], p.free[:n-1]
	} else {
		id = p.next
		p.next++
	}
	for _, k := range keys {
		if ids := p.byTerm[k]; len(ids) == 0 || ids[len(ids)-1] != id { // keys may repeat
			p.byTerm[k] = append(ids, id)
			if p.slotUse[k.slot]++; p.slotUse[k.slot] == 1 {
				p.slots = append(p.slots, k.slot)
			}
		}
	}
	p.version++
	return id, p.version
}

// remove unregisters a subscriber added with keys.
func (p *prefilter) remove(id int, keys []termKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range keys {
		ids := p.byTerm[k]
		i := slices.Index(ids, id)
		if i < 0 {
			continue // a repeated key, already removed
		}
		ids = slices.Delete(ids, i, i+1)
		if len(ids) == 0 {
			delete(p.byTerm, k)
		} else {
			p.byTerm[k] = ids
		}
		if p.slotUse[k.slot]--; p.slotUse[k.slot] == 0 {
			delete(p.slotUse, k.slot)
			if j := slices.Index(p.slots, k.slot); j >= 0 {
				p.slots = slices.Delete(p.slots, j, j+1)
			}
		}
	}
	p.free = append(p.free, id)
	p.version++
}

// candidates is which subscribers (by id) an event may match, as of version.
type candidates struct {
	version uint64
	bits    []uint64
}

// has reports whether subscriber id, registered at version v, may match;
// a subscriber that joined after the set was made always may.
func (c *candidates) has(id int, v uint64) bool {
	if v > c.version {
		return true
	}
	w := id / 64
	return w < len(c.bits) && c.bits[w]&(1<<(id%64)) != 0
}

// of computes the candidates of an event.
func (p *prefilter) of(e *eventTerms) *candidates {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c := &candidates{version: p.version}
	if p.next == 0 {
		return c
	}
	c.bits = make([]uint64, (p.next+63)/64)
	for _, slot := range p.slots {
		for _, t := range e.field(slot, "").sorted {
			for _, id := range p.byTerm[termKey{slot: slot, term: t}] {
				c.bits[id/64] |= 1 << (id % 64)
			}
		}
	}
	return c
}
