package index

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	bquery "github.com/blevesearch/bleve/v2/search/query"

	"github.com/codetrail/codetrail/index/query"
)

// ErrLagging is wrapped by the *LagError that ends a subscription which stayed
// too far behind for too long.
var ErrLagging = errors.New("index: subscriber fell too far behind")

// ErrTooManySubscribers is returned when MaxSubscribers are already open.
var ErrTooManySubscribers = errors.New("index: too many subscribers")

// LagError ends a subscription that stayed behind past the configured bound.
// Cursor is where the client resumes: everything up to it was delivered.
type LagError struct {
	Cursor string
	Behind uint64        // events stored after Cursor when it was ended
	For    time.Duration // how long it had been behind
}

func (e *LagError) Error() string {
	return fmt.Sprintf("subscriber was %d events behind for %s; resume after cursor %s", e.Behind, e.For.Round(time.Second), e.Cursor)
}

// Unwrap makes errors.Is(err, ErrLagging) hold.
func (e *LagError) Unwrap() error { return ErrLagging }

// SubscribeRequest says what a subscription streams and where it starts. At
// most one of AfterCursor, StartTime and FromStart is set; with none, it
// starts at the newest stored event (only new events are delivered).
type SubscribeRequest struct {
	Query string
	// AfterCursor resumes after an event (or progress) cursor received earlier.
	AfterCursor string
	// StartTime replays stored events with eventTime at or after it first.
	StartTime time.Time
	// FromStart replays everything retained first.
	FromStart bool
	// Scope limits the stream to what the caller may see.
	Scope Scope
	// MaxBatch, over 1, delivers hits in Message.Hits, up to this many at
	// a time, when several are ready at once; else one per Message.Hit.
	MaxBatch int
}

// Message is one message of a subscription; exactly one field is set.
type Message struct {
	Hit      *Hit
	Hits     []*Hit // with MaxBatch over 1; only valid during the send call
	Progress string // cursor: nothing matched up to here
	CaughtUp string // cursor: replay is done, live events follow
}

// SubscriberStats counts subscriptions.
type SubscriberStats struct {
	Active, CaughtUp, Lagging, EndedForLag int64
}

// SubscriberStats returns current subscription counts.
func (s *Store) SubscriberStats() SubscriberStats {
	h := s.hub
	return SubscriberStats{Active: h.active.Load(), CaughtUp: h.caughtUp.Load(), Lagging: h.lagging.Load(), EndedForLag: h.endedForLag.Load()}
}

// subscriber is what the dispatcher wakes.
type subscriber struct {
	wake chan struct{} // capacity 1: a pending wake-up
}

// Subscribe streams the events that match r.Query in store order, calling
// send (from this goroutine only) for each message: first every stored
// match after the start, then one CaughtUp, then new matches as they are
// stored, with Progress messages on quiet streams. It returns when ctx ends
// (ctx.Err()), when send fails (that error), or with a *LagError when the
// subscriber stays behind past the configured bound. Bad queries and cursors
// are reported before anything is sent.
func (s *Store) Subscribe(ctx context.Context, r SubscribeRequest, send func(Message) error) error {
	starts := 0
	for _, set := range []bool{r.AfterCursor != "", !r.StartTime.IsZero(), r.FromStart} {
		if set {
			starts++
		}
	}
	if starts > 1 {
		return fmt.Errorf("%w: give at most one of after_cursor, start_time and from_start", ErrInvalid)
	}
	now := time.Now()
	ast, err := query.ParseWithLimits(r.Query, s.cfg.Query)
	if err != nil {
		return err
	}
	ast = r.Scope.apply(ast)
	c := compiler{now: now, allowLeadingWildcard: s.cfg.AllowLeadingWildcard}
	q, err := c.compile(ast)
	if err != nil {
		return err
	}
	match, err := c.matcher(ast)
	if err != nil {
		return err
	}

	if s.hub.active.Load() >= int64(s.cfg.MaxSubscribers) {
		return fmt.Errorf("%w: %d open, the limit is %d", ErrTooManySubscribers, s.hub.active.Load(), s.cfg.MaxSubscribers)
	}
	w := &subscriber{wake: make(chan struct{}, 1)}
	s.hub.register()
	defer s.hub.unregister()

	head := s.head.Load()
	var pos uint64
	replayFrom := r.StartTime // the replay's eventTime bound, if any
	switch {
	case r.AfterCursor != "":
		if pos, replayFrom, err = s.parseCursor(r.AfterCursor); err != nil {
			return err
		}
		if pos > head {
			return fmt.Errorf("cursor %s is newer than the newest stored event: %w", r.AfterCursor, ErrBadToken)
		}
		if oldest := s.oldestSeq(); pos+1 < oldest {
			return &CompactedError{Oldest: s.Cursor(oldest - 1)}
		}
	case r.FromStart, !r.StartTime.IsZero():
		pos = 0
	default:
		pos = head
	}

	sub := subscription{s: s, w: w, send: send, query: q, ast: ast, match: match, pos: pos, maxBatch: r.MaxBatch}
	if keys, ok := requiredTerms(ast); ok {
		sub.filtered = true
		sub.filterID, sub.filterVersion = s.hub.filter.add(keys)
		defer s.hub.filter.remove(sub.filterID, keys)
	}
	if !replayFrom.IsZero() {
		// The time bound applies to the replay; once live, every new match
		// is delivered, as it would be to a subscriber started from now. A
		// cursor received during such a replay carries the bound, so a
		// stream resumed from it goes on skipping what the first one did.
		sub.replayQuery = bquery.NewConjunctionQuery([]bquery.Query{q, dateRange(replayFrom, time.Time{}, true, false)})
		sub.startTime = replayFrom
	}
	err = sub.run(ctx)
	sub.leave()
	return err
}

// CompactedError is returned for a cursor older than retained history.
type CompactedError struct {
	Oldest string // the oldest cursor still available
}

func (e *CompactedError) Error() string {
	return "cursor is older than retained history; the oldest available is " + e.Oldest
}

// Unwrap makes errors.Is(err, ErrCompacted) hold.
func (e *CompactedError) Unwrap() error { return ErrCompacted }

type subscription struct {
	s           *Store
	w           *subscriber
	send        func(Message) error
	query       bquery.Query
	ast         query.Node // the query within its scope, for block partitions
	match       matcher
	replayQuery bquery.Query // replay variant (start_time); nil: same as query
	startTime   time.Time    // replay bound on eventTime, with replayQuery
	pos         uint64       // every event up to pos was delivered or did not match

	// With maxBatch over 1, hits wait in batch (their store times in
	// batchStored, for the delay metric) until it is full or the step that
	// found them ends: so pos never covers a hit that was not sent.
	maxBatch    int
	batch       []*Hit
	batchStored []time.Time

	caught       bool      // sent CaughtUp
	lagging      bool      // caught up once, now reading the index again
	lastWithin   time.Time // last time it was at most MaxLagEvents behind
	lastSent     time.Time
	progressTick *time.Timer
	window       uint64 // sequence numbers one index read covers; see step

	// filtered: the query has required terms, registered in the hub's
	// prefilter under filterID from filterVersion on.
	filtered      bool
	filterID      int
	filterVersion uint64

	// live is set while the dispatcher matches new events for it
	// (dispatch.go); spare is the inbox slice it hands back.
	live  *liveSub
	spare []*ringEntry
}

// maxReplayWindow bounds the sequence numbers one replay read covers (and so
// the term searchers Bleve builds for it).
const maxReplayWindow = 1 << 16

// currentQuery returns the index query and the in-memory test for what
// follows pos: during the initial replay of a start_time subscription both
// also require eventTime >= startTime.
func (sub *subscription) currentQuery() (bquery.Query, func(*ringEntry) bool) {
	if !sub.caught && sub.replayQuery != nil {
		return sub.replayQuery, func(e *ringEntry) bool {
			t, ok := indexedTime(&e.hit.Event)
			return ok && !t.Before(sub.startTime) && sub.match(e.eventTerms())
		}
	}
	return sub.query, func(e *ringEntry) bool { return sub.match(e.eventTerms()) }
}

func (sub *subscription) deliver(m Message) error {
	sub.lastSent = time.Now()
	return sub.send(m)
}

// deliverHit sends a hit, or adds it to the batch. stored is when a live
// event was stored (zero otherwise), for the delay metric.
func (sub *subscription) deliverHit(hit *Hit, stored time.Time) error {
	if !sub.caught && sub.replayQuery != nil {
		h := *hit // ring entries' hits are shared
		h.Cursor = sub.s.replayCursor(h.Event.Seq, sub.startTime)
		h.Memo = nil // what the memo holds carries the plain cursor
		hit = &h
	}
	if sub.maxBatch <= 1 {
		if err := sub.deliver(Message{Hit: hit}); err != nil {
			return err
		}
		observeDelivery(stored)
		return nil
	}
	sub.batch = append(sub.batch, hit)
	sub.batchStored = append(sub.batchStored, stored)
	if len(sub.batch) >= sub.maxBatch {
		return sub.flush()
	}
	return nil
}

// flush sends the batched hits, if any.
func (sub *subscription) flush() error {
	if len(sub.batch) == 0 {
		return nil
	}
	err := sub.deliver(Message{Hits: sub.batch})
	if err == nil {
		for _, t := range sub.batchStored {
			observeDelivery(t)
		}
	}
	clear(sub.batch) // drop the events for the collector
	sub.batch, sub.batchStored = sub.batch[:0], sub.batchStored[:0]
	return err
}

// observeDelivery records the delay from storing a live event to sending it.
func observeDelivery(stored time.Time) {
	if !stored.IsZero() {
		metricDeliverySeconds.Observe(time.Since(stored).Seconds())
	}
}

func (sub *subscription) progressDelay() time.Duration {
	p := sub.s.cfg.ProgressInterval
	// +-20% jitter so that quiet streams do not all speak at once.
	return p - p/5 + time.Duration(rand.Int64N(int64(p/5)*2+1))
}

func (sub *subscription) run(ctx context.Context) error {
	s, h := sub.s, sub.s.hub
	sub.lastSent = time.Now()
	sub.lastWithin = sub.lastSent
	sub.progressTick = time.NewTimer(sub.progressDelay())
	defer sub.progressTick.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if sub.live != nil {
			if err := sub.takeLive(ctx); err != nil {
				return err
			}
			if sub.live == nil {
				continue // detached: it reads what follows itself
			}
			if err := sub.checkLag(s.head.Load()); err != nil {
				h.endedForLag.Add(1)
				return err
			}
			sub.setLagging(false)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-sub.w.wake:
			case <-sub.progressTick.C:
				if err := sub.takeLive(ctx); err != nil {
					return err
				}
				if time.Since(sub.lastSent) >= s.cfg.ProgressInterval-s.cfg.ProgressInterval/5 {
					if err := sub.deliver(Message{Progress: s.Cursor(sub.pos)}); err != nil {
						return err
					}
				}
				sub.progressTick.Reset(sub.progressDelay())
			}
			continue
		}
		head := s.head.Load()
		if sub.pos < head {
			if err := sub.checkLag(head); err != nil {
				h.endedForLag.Add(1)
				return err
			}
			if err := sub.step(ctx, head); err != nil {
				return err
			}
			if err := sub.checkLag(s.head.Load()); err != nil {
				h.endedForLag.Add(1)
				return err
			}
			continue
		}
		if !sub.caught {
			sub.caught = true
			h.caughtUp.Add(1)
			if err := sub.deliver(Message{CaughtUp: s.Cursor(sub.pos)}); err != nil {
				return err
			}
		}
		sub.setLagging(false)
		// It is caught up: lag, if any, starts here.
		sub.lastWithin = time.Now()
		sub.live = &liveSub{w: sub.w, match: sub.match, filtered: sub.filtered, filterID: sub.filterID, filterVersion: sub.filterVersion}
		h.attach(sub.live)
	}
}

// takeLive delivers what the dispatcher left in the inbox, after reading
// itself what was dispatched before it was attached, and moves pos to
// where the dispatcher is. When the inbox overflowed, it is detached.
func (sub *subscription) takeLive(ctx context.Context) error {
	ls := sub.live
	for sub.pos < ls.attachAt {
		if err := sub.step(ctx, ls.attachAt); err != nil {
			return err
		}
	}
	through := sub.s.hub.disp.pos.Load() // before the take: see dispatch.go
	entries, detached, at := ls.take(sub.spare)
	if detached {
		through = at
	}
	err := sub.deliverMatched(entries)
	clear(entries)
	sub.spare = entries
	if cap(entries) > 4*dispatchChunk {
		sub.spare = nil // a burst is over; do not keep its memory
	}
	if err == nil {
		err = sub.flush()
	}
	if err != nil {
		return err
	}
	sub.pos = max(sub.pos, through)
	if detached {
		sub.s.hub.detach(ls)
		sub.live = nil
	}
	return nil
}

// deliverMatched delivers the entries after pos, which match.
func (sub *subscription) deliverMatched(entries []*ringEntry) error {
	for _, e := range entries {
		if e.seq() <= sub.pos {
			continue
		}
		if err := sub.deliverHit(e.sent(sub.s), e.stored); err != nil {
			return err
		}
		sub.pos = e.seq()
	}
	return nil
}

// step delivers what follows pos up to head: from the ring when it still
// holds it, else from the index. A batch is sent before it returns, so that
// pos (which a lag error or the next progress message hands out) covers
// only what was sent.
func (sub *subscription) step(ctx context.Context, head uint64) error {
	if err := sub.readStep(ctx, head); err != nil {
		return err
	}
	return sub.flush()
}

func (sub *subscription) readStep(ctx context.Context, head uint64) error {
	s := sub.s
	q, match := sub.currentQuery()
	if entries, ok := s.hub.since(sub.pos, head, s.cfg.ReplayPageSize); ok {
		return sub.deliverEntries(entries, match)
	}
	if sub.caught {
		sub.setLagging(true)
		if end := (sub.pos/pageEvents + 1) * pageEvents; end <= head {
			return sub.stepPage(ctx, end, match)
		}
	}
	select {
	case s.replays <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The sequence range is a term range, which Bleve runs as one term
	// searcher per sequence number in it: reading (pos, head] a page at a
	// time would cost the whole history per page. A window that starts at a
	// few pages and doubles while it finds less than a page keeps each read
	// near a page's worth for dense matches, and sparse ones few reads.
	if sub.window == 0 {
		sub.window = uint64(4 * s.cfg.ReplayPageSize)
	}
	upto := head
	if head-sub.pos > sub.window {
		upto = sub.pos + sub.window
	}
	blobs, err := s.replay(ctx, q, sub.ast, match, sub.pos, upto, s.cfg.ReplayPageSize)
	<-s.replays
	if err != nil {
		return err
	}
	// Decode one at a time: a subscriber waiting on a slow client holds only
	// the stored bytes of its page, not decoded events.
	for i, b := range blobs {
		hit, err := s.hit(b, 0)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		blobs[i] = nil
		if err := sub.deliverHit(&hit, time.Time{}); err != nil {
			return err
		}
		sub.pos = hit.Event.Seq
	}
	if len(blobs) < s.cfg.ReplayPageSize {
		sub.pos = upto // nothing else up to upto matched
		sub.window = min(2*sub.window, maxReplayWindow)
	}
	return nil
}

// stepPage delivers what follows pos up to end, the end of its page, from
// the shared pages (pages.go).
func (sub *subscription) stepPage(ctx context.Context, end uint64, match func(*ringEntry) bool) error {
	s := sub.s
	entries, err := s.page(ctx, sub.pos/pageEvents)
	if err != nil {
		return err
	}
	if err := sub.deliverEntries(entries, match); err != nil {
		return err
	}
	sub.pos = end
	return nil
}

// deliverEntries delivers the entries after pos that pass the prefilter and
// match, moving pos over all of them.
func (sub *subscription) deliverEntries(entries []*ringEntry, match func(*ringEntry) bool) error {
	h := sub.s.hub
	for _, e := range entries {
		if e.seq() <= sub.pos {
			continue
		}
		if (!sub.filtered || e.candidates(h.filter).has(sub.filterID, sub.filterVersion)) && match(e) {
			var stored time.Time // page entries have none; replay is not live delay
			if sub.caught {
				stored = e.stored
			}
			if err := sub.deliverHit(e.sent(sub.s), stored); err != nil {
				return err
			}
		}
		sub.pos = e.seq()
	}
	return nil
}

func (sub *subscription) setLagging(on bool) {
	if on == sub.lagging || !sub.caught {
		return
	}
	sub.lagging = on
	if on {
		sub.s.hub.lagging.Add(1)
		sub.s.hub.caughtUp.Add(-1)
	} else {
		sub.s.hub.lagging.Add(-1)
		sub.s.hub.caughtUp.Add(1)
	}
}

// checkLag ends a live subscriber that has been more than MaxLagEvents
// behind for longer than MaxLagTime. The time counts from when it was last
// within the bound, so a client that stops reading (its send blocks) is
// caught as soon as it moves again. The initial replay is not lag: it may
// take as long as history is deep.
func (sub *subscription) checkLag(head uint64) error {
	cfg := sub.s.cfg
	now := time.Now()
	if !sub.caught || head-sub.pos <= uint64(cfg.MaxLagEvents) {
		sub.lastWithin = now
		return nil
	}
	if d := now.Sub(sub.lastWithin); d > cfg.MaxLagTime {
		return &LagError{Cursor: sub.s.Cursor(sub.pos), Behind: head - sub.pos, For: d}
	}
	return nil
}

// leave takes the subscription out of the dispatcher (before its
// prefilter id can be reused) and the counts.
func (sub *subscription) leave() {
	h := sub.s.hub
	if sub.live != nil {
		h.detach(sub.live)
	}
	switch {
	case sub.lagging:
		h.lagging.Add(-1)
	case sub.caught:
		h.caughtUp.Add(-1)
	}
}

// replay returns the stored blobs of up to size events matching q with
// sequence numbers in (after, upto], in sequence order; the block
// partitions' events, those of ast (nil: all) that match (nil: all), come
// as Hits.
func (s *Store) replay(ctx context.Context, q bquery.Query, ast query.Node, match func(*ringEntry) bool, after, upto uint64, size int) ([]any, error) {
	seqRange := termRange(fieldSeq, seqKey(after), seqKey(upto), false, true)
	req := bleve.NewSearchRequestOptions(bquery.NewConjunctionQuery([]bquery.Query{seqRange, q}), size, 0, false)
	req.Score = "none"
	req.Fields = []string{fieldBlob}
	req.SortByCustom(search.SortOrder{&search.SortField{Field: fieldSeq, Type: search.SortFieldAsString}})
	res, err := s.search(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("replay after %d: %w", after, err)
	}
	out := make([]any, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, h.Fields[fieldBlob])
	}
	if len(s.blockShards()) == 0 {
		return out, nil
	}
	hits, err := s.blockReplay(ctx, ast, match, after, upto, size)
	if err != nil || len(hits) == 0 {
		return out, err
	}
	// Both in sequence order: merged, the first size.
	type item struct {
		seq uint64
		v   any
	}
	items := make([]item, 0, len(out)+len(hits))
	for i, h := range res.Hits {
		if len(h.DecodedSort) != 1 {
			return nil, fmt.Errorf("replay after %d: event %s has no sequence number", after, h.ID)
		}
		seq, err := strconv.ParseUint(h.DecodedSort[0], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("replay after %d: sequence number %q: %w", after, h.DecodedSort[0], err)
		}
		items = append(items, item{seq, out[i]})
	}
	for _, h := range hits {
		items = append(items, item{h.Event.Seq, h})
	}
	slices.SortFunc(items, func(a, b item) int { return cmp.Compare(a.seq, b.seq) })
	out = out[:0]
	for _, it := range items[:min(len(items), size)] {
		out = append(out, it.v)
	}
	return out, nil
}
