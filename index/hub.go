package index

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/codetrail/codetrail/index/record"
)

// ringEntry is one stored event kept in memory for live delivery. The event
// is never modified after it enters the ring; its terms are computed once,
// by the first subscriber that needs them.
type ringEntry struct {
	// hit is what every subscriber sends: its cursor is made once, by the
	// first that sends it (sent), and its Memo points at memo. Senders
	// must not modify it.
	hit       Hit
	cursor    sync.Once
	stored    time.Time // when it was appended, for the delivery delay
	termsOnce sync.Once
	terms     *eventTerms
	memo      Memo // see Hit.Memo
	candOnce  sync.Once
	cand      *candidates
	// pre holds the streams the event matched before it was stored, as of
	// the dispatcher's gen preGen (0: not prematched); see prematch.
	pre    []*liveSub
	preGen uint64
}

func newRingEntry(ev record.Event, cursor string) *ringEntry {
	e := &ringEntry{hit: Hit{Event: ev, Cursor: cursor}}
	e.hit.Memo = &e.memo
	return e
}

func (e *ringEntry) seq() uint64 { return e.hit.Event.Seq }

// sent returns the hit to send, with its cursor. Put leaves the cursor to
// here: an HMAC and a seal an event, 2% of the time Put held the store
// while ingesting, for events most of which no subscriber is sent.
func (e *ringEntry) sent(s *Store) *Hit {
	e.cursor.Do(func() {
		if e.hit.Cursor == "" {
			e.hit.Cursor = s.Cursor(e.hit.Event.Seq)
		}
	})
	return &e.hit
}

func (e *ringEntry) eventTerms() *eventTerms {
	e.termsOnce.Do(func() { e.terms = newEventTerms(&e.hit.Event) })
	return e.terms
}

// candidates returns the subscribers the event may match (prefilter.go),
// computed by the first subscriber that asks.
func (e *ringEntry) candidates(p *prefilter) *candidates {
	e.candOnce.Do(func() { e.cand = p.of(e.eventTerms()) })
	return e.cand
}

// hub keeps the most recent stored events in a ring, in sequence order, and
// wakes the dispatcher (dispatch.go) when events are added. Subscribers
// catching up read the ring at their own pace; one that falls out of it
// reads from the index instead. Ingest never waits for a subscriber: append
// only copies pointers and does a non-blocking wake-up.
//
// Lock order: Store.mu, then dispatcher.mu, then hub.mu.
type hub struct {
	mu     sync.RWMutex
	ring   []*ringEntry // capacity-sized circular buffer
	first  uint64       // seq of the oldest entry held; 0 when empty
	last   uint64       // seq of the newest entry held
	filter *prefilter
	disp   dispatcher

	active, caughtUp, lagging, endedForLag gauge
}

// gauge is a count kept both for Stats and for Prometheus.
type gauge struct {
	n     atomic.Int64
	label string // state label of metricSubscribers; "" for the lag counter
}

func (g *gauge) Add(d int64) {
	g.n.Add(d)
	if g.label != "" {
		metricSubscribers.WithLabelValues(g.label).Add(float64(d))
	} else if d > 0 {
		metricEndedForLag.Add(float64(d))
	}
}

func (g *gauge) Load() int64 { return g.n.Load() }

// newHub returns a hub holding size events, whose dispatcher leaves up to
// size matches in an inbox.
func newHub(size int) *hub {
	h := &hub{ring: make([]*ringEntry, size), filter: newPrefilter()}
	h.disp.wake = make(chan struct{}, 1)
	h.disp.limit = size
	h.disp.round = 1
	h.active.label, h.caughtUp.label, h.lagging.label = "active", "caught_up", "lagging"
	for _, g := range []string{"active", "caught_up", "lagging"} {
		metricSubscribers.WithLabelValues(g).Add(0) // present from the start
	}
	return h
}

// append adds the entries of newly stored events, which must carry
// consecutive sequence numbers following the last appended; wake tells the
// subscribers.
func (h *hub) append(entries []*ringEntry) {
	if len(entries) == 0 {
		return
	}
	now := time.Now()
	h.mu.Lock()
	for _, e := range entries {
		e.stored = now
		seq := e.seq()
		h.ring[seq%uint64(len(h.ring))] = e
		h.last = seq
		if h.first == 0 {
			h.first = seq
		}
		if h.last-h.first >= uint64(len(h.ring)) {
			h.first = h.last - uint64(len(h.ring)) + 1
		}
	}
	h.mu.Unlock()
}

// wake tells the dispatcher about new events.
func (h *hub) wake() {
	select {
	case h.disp.wake <- struct{}{}:
	default: // already has a wake-up pending
	}
}

// newest returns the seq of the newest entry held.
func (h *hub) newest() uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.last
}

// since returns up to max entries with seq in (after, upto], in order, and
// whether the ring still held everything after `after` (false means the
// caller fell out of the ring and must read the index).
func (h *hub) since(after, upto uint64, max int) ([]*ringEntry, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.first == 0 || after+1 < h.first {
		return nil, false
	}
	if upto > h.last {
		upto = h.last
	}
	var out []*ringEntry
	for seq := after + 1; seq <= upto && len(out) < max; seq++ {
		out = append(out, h.ring[seq%uint64(len(h.ring))])
	}
	return out, true
}

// attached reports whether any stream is attached to the dispatcher.
func (h *hub) attached() bool {
	d := &h.disp
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nFiltered > 0 || len(d.unfiltered) > 0
}

func (h *hub) register()   { h.active.Add(1) }
func (h *hub) unregister() { h.active.Add(-1) }
