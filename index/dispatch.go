package index

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The dispatcher matches each new event against every caught-up
// subscription, once, in one goroutine, and leaves the matches in the
// subscriptions' inboxes. Going event by event keeps an event's terms in
// the cache while all its candidate matchers run; subscribers only wake for
// their own matches, and their goroutines only send. Matching is bounded to
// one core whatever the number of subscribers, and ingest never waits for
// it: the dispatcher reads the ring behind the writer.
//
// A subscription is attached to the dispatcher once it has caught up by
// reading the ring or the index itself, and detached when its inbox
// overflows (its client reads too slowly) or the dispatcher falls out of
// the ring; it then catches up by reading again, and attaches anew.
//
// Positions: the dispatcher publishes pos after leaving every match up to
// pos in the inboxes, so a subscriber that reads pos and then takes its
// inbox has been given every match up to pos. Events up to attachAt were
// dispatched before the subscription was attached: it reads those itself.

// dispatchChunk is the most events dispatched under one hold of the lock.
const dispatchChunk = 1024

// wakeEvents is how many events the dispatcher goes through before it wakes
// the subscriptions it gave something, when more are waiting: a commit of
// thousands of events then costs each subscription one wake-up and one
// message, not one per chunk.
const wakeEvents = 4 * dispatchChunk

// liveSub is an attached subscription as the dispatcher sees it.
type liveSub struct {
	w             *subscriber
	match         matcher
	filtered      bool
	filterID      int
	filterVersion uint64
	attachAt      uint64 // the dispatcher's pos when attached

	// Dispatcher only, under dispatcher.mu.
	gone bool   // detached: no longer matched
	mark uint64 // the round that last gave it an entry (see woke)

	mu         sync.Mutex
	entries    []*ringEntry // matches not yet taken, in order
	detached   bool         // the inbox overflowed at detachedAt
	detachedAt uint64       // every match up to it is in entries
}

// take returns the inbox and empties it, reusing spare as the new inbox.
// With detached, the inbox holds every match up to at and nothing after;
// else every match up to the dispatcher's pos read before the call.
func (ls *liveSub) take(spare []*ringEntry) (entries []*ringEntry, detached bool, at uint64) {
	ls.mu.Lock()
	entries, ls.entries = ls.entries, spare[:0]
	detached, at = ls.detached, ls.detachedAt
	ls.mu.Unlock()
	return entries, detached, at
}

type dispatcher struct {
	wake chan struct{} // capacity 1: new events in the ring
	pos  atomic.Uint64 // every event up to pos is dispatched

	mu         sync.Mutex // held while dispatching a chunk, and to attach or detach
	limit      int        // inbox bound
	byID       []*liveSub // attached prefiltered subscriptions, by prefilter id
	nFiltered  int
	maxVersion uint64     // newest filterVersion attached
	unfiltered []*liveSub // attached subscriptions with no required term
	round      uint64     // the wake-ups sent so far, plus one
	gen        uint64     // attachments so far, plus one: prematches made at an older gen are redone
	woken      []*liveSub // given entries since the last wake-ups
}

// attach hands ls to the dispatcher from its current position on.
func (h *hub) attach(ls *liveSub) {
	d := &h.disp
	d.mu.Lock()
	defer d.mu.Unlock()
	ls.attachAt = d.pos.Load()
	d.gen++
	if !ls.filtered {
		d.unfiltered = append(d.unfiltered, ls)
		return
	}
	if ls.filterID >= len(d.byID) {
		d.byID = append(d.byID, make([]*liveSub, ls.filterID+1-len(d.byID))...)
	}
	d.byID[ls.filterID] = ls
	d.nFiltered++
	d.maxVersion = max(d.maxVersion, ls.filterVersion)
}

// detach takes ls from the dispatcher, if it is still attached.
func (h *hub) detach(ls *liveSub) {
	d := &h.disp
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drop(ls)
}

// drop takes ls out of the dispatcher's sets; d.mu is held.
func (d *dispatcher) drop(ls *liveSub) {
	if ls.gone {
		return
	}
	ls.gone = true
	if !ls.filtered {
		if i := slices.Index(d.unfiltered, ls); i >= 0 {
			d.unfiltered = slices.Delete(d.unfiltered, i, i+1)
		}
		return
	}
	d.byID[ls.filterID] = nil
	d.nFiltered--
}

// dispatchLoop runs the dispatcher until stop is closed.
func (h *hub) dispatchLoop(stop <-chan struct{}) {
	d := &h.disp
	for {
		select {
		case <-stop:
			return
		case <-d.wake:
		}
		for n := 0; ; {
			k := h.dispatch()
			n += k
			if k == 0 || n >= wakeEvents {
				d.wakeRound()
				n = 0
			}
			if k == 0 {
				break
			}
		}
	}
}

// dispatch hands out the next chunk of events and returns how many there
// were. The subscriptions it gives something are woken by wakeRound.
func (h *hub) dispatch() int {
	d := &h.disp
	from := d.pos.Load()
	entries, ok := h.since(from, ^uint64(0), dispatchChunk)
	if !ok {
		// Behind the ring: what the subscriptions were given up to from is
		// theirs; they read the rest themselves.
		d.mu.Lock()
		for _, ls := range slices.Concat(d.unfiltered, d.byID) {
			if ls != nil {
				d.detachAt(ls, from)
			}
		}
		d.pos.Store(h.newest())
		d.mu.Unlock()
		return 0
	}
	if len(entries) == 0 {
		return 0
	}
	d.mu.Lock()
	for _, e := range entries {
		if e.preGen == d.gen {
			// Matched while it was being stored, against the streams
			// attached now: hand out the matches of those still there.
			for _, ls := range e.pre {
				if !ls.gone {
					d.put(ls, e)
				}
			}
		} else {
			d.match(h.filter, e, d.offer)
		}
		e.pre = nil
	}
	d.pos.Store(entries[len(entries)-1].seq())
	d.mu.Unlock()
	now := time.Now()
	for _, e := range entries {
		metricDispatchSeconds.Observe(now.Sub(e.stored).Seconds())
	}
	return len(entries)
}

// match calls f with every attached stream whose query e may match (its
// prefilter candidates and the unfiltered streams); d.mu is held.
func (d *dispatcher) match(filter *prefilter, e *ringEntry, f func(*liveSub, *ringEntry)) {
	if d.nFiltered > 0 {
		c := e.candidates(filter)
		if c.version < d.maxVersion {
			// Made before some attached subscription registered its
			// terms: ask each one.
			for _, ls := range d.byID {
				if ls != nil && c.has(ls.filterID, ls.filterVersion) {
					f(ls, e)
				}
			}
		} else {
			for w, word := range c.bits {
				for ; word != 0; word &= word - 1 {
					id := w*64 + bits.TrailingZeros64(word)
					if id < len(d.byID) && d.byID[id] != nil {
						f(d.byID[id], e)
					}
				}
			}
		}
	}
	for _, ls := range d.unfiltered {
		f(ls, e)
	}
}

// prematch matches events that are being stored (Put writes them to the
// index meanwhile) against the attached streams, so that once they are
// stored the dispatcher only hands the matches out: matching is most of the
// dispatcher's work, and doing it after the write made every delivery
// wait for it behind ingest's own work for the CPU. A stream attached after
// an event was prematched has it matched again at dispatch (gen).
func (h *hub) prematch(entries []*ringEntry) {
	d := &h.disp
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), dispatchChunk)]
		entries = entries[len(chunk):]
		d.mu.Lock()
		for _, e := range chunk {
			e.preGen = d.gen
			d.match(h.filter, e, func(ls *liveSub, e *ringEntry) {
				if ls.wants(e) {
					e.pre = append(e.pre, ls)
				}
			})
		}
		d.mu.Unlock()
	}
}

// wants reports whether ls is attached and its query matches e; the
// dispatcher's mu is held.
func (ls *liveSub) wants(e *ringEntry) bool { return !ls.gone && ls.match(e.eventTerms()) }

// offer leaves e in ls's inbox if it matches; d.mu is held.
func (d *dispatcher) offer(ls *liveSub, e *ringEntry) {
	if ls.wants(e) {
		d.put(ls, e)
	}
}

// put leaves e, which ls matches, in ls's inbox; d.mu is held.
func (d *dispatcher) put(ls *liveSub, e *ringEntry) {
	ls.mu.Lock()
	full := len(ls.entries) >= d.limit
	if !full {
		ls.entries = append(ls.entries, e)
	}
	ls.mu.Unlock()
	if full {
		d.detachAt(ls, e.seq()-1)
	}
	d.woke(ls)
}

// detachAt detaches ls with every match up to at in its inbox; d.mu is held.
func (d *dispatcher) detachAt(ls *liveSub, at uint64) {
	ls.mu.Lock()
	ls.detached, ls.detachedAt = true, at
	ls.mu.Unlock()
	d.drop(ls)
	d.woke(ls)
}

func (d *dispatcher) woke(ls *liveSub) {
	if ls.mark != d.round {
		ls.mark = d.round
		d.woken = append(d.woken, ls)
	}
}

// wakeRound wakes the subscriptions given something since the last call.
func (d *dispatcher) wakeRound() {
	d.mu.Lock()
	woken := d.woken
	d.woken = nil
	d.round++
	d.mu.Unlock()
	for _, ls := range woken {
		select {
		case ls.w.wake <- struct{}{}:
		default: // already has a wake-up pending
		}
	}
}
