package index

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codetrail/codetrail/index/record"
)

func openStoreCfg(t testing.TB, mod func(*Config)) *Store {
	t.Helper()
	cfg := testConfig(t.TempDir())
	mod(&cfg)
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// collector gathers what a subscription sends.
type collector struct {
	mu       sync.Mutex
	ids      []string
	seqs     []uint64
	last     string // newest cursor seen
	caught   int
	progress int
	batches  int // Hits messages
	maxBatch int // the most hits in one
	changed  chan struct{}
}

func newCollector() *collector { return &collector{changed: make(chan struct{}, 1)} }

func (c *collector) send(m Message) error {
	c.mu.Lock()
	switch {
	case m.Hit != nil:
		c.ids = append(c.ids, m.Hit.Event.ID)
		c.seqs = append(c.seqs, m.Hit.Event.Seq)
		c.last = m.Hit.Cursor
	case m.Hits != nil:
		c.batches++
		c.maxBatch = max(c.maxBatch, len(m.Hits))
		for _, h := range m.Hits {
			c.ids = append(c.ids, h.Event.ID)
			c.seqs = append(c.seqs, h.Event.Seq)
			c.last = h.Cursor
		}
	case m.CaughtUp != "":
		c.caught++
		c.last = m.CaughtUp
	default:
		c.progress++
		c.last = m.Progress
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) snapshot() ([]string, []uint64, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids), slices.Clone(c.seqs), c.caught, c.progress
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// searchIDs returns every event matching q in store (cursor) order.
func searchIDs(t *testing.T, s *Store, q string) []string {
	t.Helper()
	var ids []string
	var seqs []uint64
	tok := ""
	for {
		res, err := s.Search(context.Background(), SearchRequest{Query: q, PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			ids = append(ids, h.Event.ID)
			seqs = append(seqs, h.Event.Seq)
		}
		if res.NextPageToken == "" {
			break
		}
		tok = res.NextPageToken
	}
	idx := make([]int, len(ids))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(seqs[a]) - int(seqs[b]) })
	out := make([]string, len(ids))
	for i, j := range idx {
		out[i] = ids[j]
	}
	return out
}

func TestSubscribeReplayThenLive(t *testing.T) {
	s := openStoreCfg(t, func(*Config) {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Put(ctx, synthetic(t, 100, 0), nil); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	done := make(chan error, 1)
	go func() { done <- s.Subscribe(ctx, SubscribeRequest{Query: "name:StartBuild", FromStart: true}, c.send) }()
	waitFor(t, "caught up", func() bool { _, _, caught, _ := c.snapshot(); return caught == 1 })
	ids, _, _, _ := c.snapshot()
	if len(ids) != 25 {
		t.Fatalf("replayed %d, want 25", len(ids))
	}
	if _, err := s.Put(ctx, synthetic(t, 100, 100), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "live events", func() bool { ids, _, _, _ := c.snapshot(); return len(ids) == 50 })
	ids, seqs, caught, _ := c.snapshot()
	if caught != 1 || !slices.IsSorted(seqs) || !slices.Equal(ids, searchIDs(t, s, "name:StartBuild")) {
		t.Fatalf("caught %d, seqs sorted %v, ids %v", caught, slices.IsSorted(seqs), ids)
	}
	st := s.SubscriberStats()
	if st.Active != 1 || st.CaughtUp != 1 {
		t.Fatalf("stats %+v", st)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("end: %v", err)
	}
	if st := s.SubscriberStats(); st.Active != 0 || st.CaughtUp != 0 {
		t.Fatalf("stats after cancel %+v", st)
	}
}

func TestSubscribeStarts(t *testing.T) {
	s := openStoreCfg(t, func(*Config) {})
	ctx := context.Background()
	evs := synthetic(t, 40, 0)
	if _, err := s.Put(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	first := func(r SubscribeRequest) ([]string, error) {
		c := newCollector()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- s.Subscribe(ctx, r, c.send) }()
		for {
			select {
			case err := <-done:
				return nil, err
			case <-c.changed:
				if ids, _, caught, _ := c.snapshot(); caught > 0 {
					cancel()
					<-done
					return ids, nil
				}
			}
		}
	}
	for _, tc := range []struct {
		name string
		req  SubscribeRequest
		want int
		err  error
	}{
		{"from now replays nothing", SubscribeRequest{}, 0, nil},
		{"from start", SubscribeRequest{FromStart: true}, 40, nil},
		{"after a cursor", SubscribeRequest{AfterCursor: s.Cursor(evs[29].Seq)}, 10, nil},
		{"start time", SubscribeRequest{StartTime: evs[35].Time}, 5, nil},
		{"bad query", SubscribeRequest{Query: "name:("}, 0, errors.New("query")},
		{"altered cursor", SubscribeRequest{AfterCursor: "abc"}, 0, ErrBadToken},
		{"future cursor", SubscribeRequest{AfterCursor: s.Cursor(1000)}, 0, ErrBadToken},
		{"two starts", SubscribeRequest{FromStart: true, AfterCursor: s.Cursor(1)}, 0, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := first(tc.req)
			if tc.err != nil {
				if err == nil || (!errors.Is(err, tc.err) && tc.err.Error() != "query") {
					t.Fatalf("got %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || len(ids) != tc.want {
				t.Fatalf("got %d events (%v), want %d", len(ids), err, tc.want)
			}
		})
	}
}

// A start_time stream that breaks during its replay and is resumed from the
// last cursor it delivered goes on skipping stored events older than the
// start time, as the stream it resumes did.
func TestSubscribeResumeKeepsStartTime(t *testing.T) {
	s := openStoreCfg(t, func(*Config) {})
	ctx := context.Background()
	newer, older := synthetic(t, 30, 100), synthetic(t, 30, 0)
	// Store order: newer events, then older ones, then newer again, so
	// events before the start time follow the resume point in the replay.
	for _, b := range [][]record.Event{newer[:10], older, newer[10:]} {
		if _, err := s.Put(ctx, b, nil); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for _, e := range append(slices.Clone(newer[:10]), newer[10:]...) {
		want = append(want, e.ID)
	}
	stopAfter := errors.New("stop")
	for _, cut := range []int{1, 5, 10, 11, 29} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			var got []string
			last := ""
			err := s.Subscribe(ctx, SubscribeRequest{StartTime: newer[0].Time}, func(m Message) error {
				if m.Hit == nil {
					return fmt.Errorf("caught up after %d events, want a break after %d", len(got), cut)
				}
				got, last = append(got, m.Hit.Event.ID), m.Hit.Cursor
				if len(got) == cut {
					return stopAfter
				}
				return nil
			})
			if !errors.Is(err, stopAfter) {
				t.Fatal(err)
			}
			c := newCollector()
			sctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- s.Subscribe(sctx, SubscribeRequest{AfterCursor: last}, c.send) }()
			waitFor(t, "catch-up", func() bool { _, _, caught, _ := c.snapshot(); return caught > 0 })
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			ids, _, _, _ := c.snapshot()
			if got = append(got, ids...); !slices.Equal(got, want) {
				t.Fatalf("got %d events %v\nwant %d %v", len(got), got, len(want), want)
			}
			// The caught-up cursor is plain: what follows it is live.
			c.mu.Lock()
			caughtCursor := c.last
			c.mu.Unlock()
			if _, at, err := s.parseCursor(caughtCursor); err != nil || !at.IsZero() {
				t.Fatalf("caught-up cursor carries %v, %v", at, err)
			}
		})
	}
}

func TestSubscribeProgressOnQuietStream(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.ProgressInterval = 30 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	c := newCollector()
	done := make(chan error, 1)
	go func() { done <- s.Subscribe(ctx, SubscribeRequest{Query: "name:NoSuchCall"}, c.send) }()
	if _, err := s.Put(ctx, synthetic(t, 50, 0), nil); err != nil {
		t.Fatal(err)
	}
	_, _, _, before := c.snapshot()
	waitFor(t, "progress", func() bool { _, _, _, p := c.snapshot(); return p >= before+2 })
	cancel()
	<-done
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	seq, err := s.ParseCursor(last)
	if err != nil || seq != 50 {
		t.Fatalf("progress cursor at %d (%v), want 50: resuming must skip what did not match", seq, err)
	}
}

// A subscriber slower than the ring reads from the index and still gets
// everything once, in order.
func TestSubscribeSlowSubscriber(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) {
		c.RingSize = 8
		c.ReplayPageSize = 4
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := newCollector()
	var sawLag atomic.Bool
	slowSend := func(m Message) error {
		time.Sleep(time.Millisecond)
		if s.SubscriberStats().Lagging > 0 {
			sawLag.Store(true)
		}
		return slow.send(m)
	}
	done := make(chan error, 1)
	go func() { done <- s.Subscribe(ctx, SubscribeRequest{}, slowSend) }()
	waitFor(t, "live", func() bool { return s.SubscriberStats().CaughtUp == 1 })
	for i := range 20 {
		if _, err := s.Put(ctx, synthetic(t, 10, i*10), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "slow subscriber complete", func() bool { ids, _, _, _ := slow.snapshot(); return len(ids) == 200 })
	_, seqs, _, _ := slow.snapshot()
	for i, q := range seqs {
		if q != uint64(i+1) {
			t.Fatalf("slow subscriber got seq %d at %d", q, i)
		}
	}
	if !sawLag.Load() {
		t.Fatal("the subscriber never fell out of the ring: the test proves nothing")
	}
	cancel()
	<-done
}

// A subscriber that stays behind past the bound is ended with a cursor from
// which a resume completes the set.
func TestSubscribeLagBound(t *testing.T) {
	s := lagStore(t)
	lag, _ := lagAndResume(t, s, 0, func(m Message) bool { return m.Hit != nil && m.Hit.Event.Seq == 3 })
	if !errors.Is(lag, ErrLagging) {
		t.Fatalf("%v does not say it is lag", lag)
	}
	if s.SubscriberStats().EndedForLag != 1 {
		t.Fatalf("stats %+v", s.SubscriberStats())
	}
}

// lagStore opens a store whose subscribers fall out of the ring at once and
// are ended for lag soon after.
func lagStore(t *testing.T) *Store {
	return openStoreCfg(t, func(c *Config) {
		c.RingSize = 8
		c.ReplayPageSize = 4
		c.MaxLagEvents = 20
		c.MaxLagTime = 300 * time.Millisecond
	})
}

// lagAndResume opens a live subscription (with maxBatch) whose client stops
// reading at the first message stall picks, stores 200 events, and checks
// that it is ended with a LagError and that resuming after its cursor
// completes exactly the stored set. It returns the error and the sequence
// numbers the first stream delivered.
func lagAndResume(t *testing.T, s *Store, maxBatch int, stall func(Message) bool) (*LagError, []uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stuck := newCollector()
	release := make(chan struct{})
	stalled := false
	stuckSend := func(m Message) error {
		if !stalled && stall(m) {
			stalled = true
			<-release // a client that stops reading
		}
		return stuck.send(m)
	}
	stuckDone := make(chan error, 1)
	go func() { stuckDone <- s.Subscribe(ctx, SubscribeRequest{MaxBatch: maxBatch}, stuckSend) }()
	waitFor(t, "live", func() bool { return s.SubscriberStats().CaughtUp == 1 })
	next := int(s.head.Load())
	for i := range 20 {
		if _, err := s.Put(ctx, synthetic(t, 10, next+i*10), nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // past MaxLagTime
	close(release)
	var lag *LagError
	if err := <-stuckDone; !errors.As(err, &lag) {
		t.Fatalf("stuck subscriber ended with %v, want a LagError", err)
	}
	got, seqs, _, _ := stuck.snapshot()
	resumed := newCollector()
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan error, 1)
	go func() {
		rdone <- s.Subscribe(rctx, SubscribeRequest{AfterCursor: lag.Cursor, MaxBatch: maxBatch}, resumed.send)
	}()
	waitFor(t, "resume caught up", func() bool { _, _, c, _ := resumed.snapshot(); return c == 1 })
	rcancel()
	<-rdone
	more, _, _, _ := resumed.snapshot()
	all := append(got, more...)
	if want := searchIDs(t, s, ""); !slices.Equal(all, want) {
		t.Fatalf("before lag + after resume: %d events, want %d in order", len(all), len(want))
	}
	return lag, seqs
}

// The union of what a subscriber receives across many random disconnects,
// each resumed from the last cursor it received, during continuous ingest,
// is exactly the matching set in store order.
func TestSubscribeResumeDuringIngest(t *testing.T) {
	for _, q := range []string{"", "name:StartBuild OR p3", "NOT name:GitPush AND eventTime:>=2024-03-01T02:00:00Z"} {
		t.Run(q, func(t *testing.T) {
			s := openStoreCfg(t, func(c *Config) { c.RingSize = 64; c.ProgressInterval = 20 * time.Millisecond })
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(7, uint64(len(q))))
			ingestDone := make(chan struct{})
			go func() {
				defer close(ingestDone)
				for i := range 60 {
					if _, err := s.Put(ctx, synthetic(t, 1+i%40, i*50), nil); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			var got []string
			cursor := ""
			for round := 0; ; round++ {
				c := newCollector()
				sctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				req := SubscribeRequest{Query: q, AfterCursor: cursor, FromStart: cursor == "", MaxBatch: rng.IntN(8)}
				go func() { done <- s.Subscribe(sctx, req, c.send) }()
				select {
				case <-ingestDone:
					waitFor(t, "final catch-up", func() bool { _, _, caught, _ := c.snapshot(); return caught > 0 && s.head.Load() == s.Stats().LastSeq })
					time.Sleep(50 * time.Millisecond)
				case <-time.After(time.Duration(rng.IntN(20)) * time.Millisecond):
				}
				cancel()
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
				ids, _, _, _ := c.snapshot()
				got = append(got, ids...)
				c.mu.Lock()
				if c.last != "" {
					cursor = c.last
				}
				c.mu.Unlock()
				select {
				case <-ingestDone:
					if round > 0 && ingestFinished(s, cursor) {
						want := searchIDs(t, s, q)
						if !slices.Equal(got, want) {
							t.Fatalf("after %d resumes: got %d events, want %d (dups or gaps)", round, len(got), len(want))
						}
						return
					}
				default:
				}
			}
		})
	}
}

// ingestFinished reports whether cursor is at the newest stored event.
func ingestFinished(s *Store, cursor string) bool {
	seq, err := s.ParseCursor(cursor)
	return err == nil && seq == s.Stats().LastSeq
}

// Cancelling many subscriptions while they start, replay and go live never
// leaks a goroutine (goleak checks in TestMain) or a count.
func TestStressSubscribeCancel(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.RingSize = 16 })
	ctx := context.Background()
	if _, err := s.Put(ctx, synthetic(t, 200, 0), nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, time.Duration(i%10)*time.Millisecond)
			defer cancel()
			_ = s.Subscribe(sctx, SubscribeRequest{FromStart: i%2 == 0, Query: fmt.Sprintf("p%d", i%7)}, func(Message) error { return nil })
		}()
	}
	for i := range 10 {
		if _, err := s.Put(ctx, synthetic(t, 20, 1000+i*20), nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if st := s.SubscriberStats(); st.Active != 0 || st.CaughtUp != 0 || st.Lagging != 0 {
		t.Fatalf("counts left behind: %+v", st)
	}
}

func TestMaxSubscribers(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.MaxSubscribers = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := newCollector()
	go func() { done <- s.Subscribe(ctx, SubscribeRequest{}, c.send) }()
	waitFor(t, "first subscriber", func() bool { return s.SubscriberStats().Active == 1 })
	if err := s.Subscribe(ctx, SubscribeRequest{}, c.send); !errors.Is(err, ErrTooManySubscribers) {
		t.Fatalf("second subscriber: %v", err)
	}
	cancel()
	<-done
}

// For random queries drawn from the whole language and a random ingest
// interleaving, what each subscriber receives (replay, then live) equals
// what Search returns for the same query over the same events, in store
// order, without duplicates. Subscribers start at random points of the
// ingest and the ring is small, so replay, ring and index catch-up all mix.
func TestSubscribePropertyAgainstSearch(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	events, _ := loadTestEvents(t)
	events = append(events, genEvents(t, rand.New(rand.NewPCG(seed+1, 7)), 300)...)
	s := openStoreCfg(t, func(c *Config) {
		c.RingSize = 8 + rng.IntN(56)
		c.ReplayPageSize = 1 + rng.IntN(40)
		c.ProgressInterval = 20 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	g := newQueryGen(rng, events)
	var queries []string
	for len(queries) < 40 {
		q := g.query(3)
		if strings.Contains(q, "now") { // date math moves between the two runs
			continue
		}
		if err := s.Validate(q); err == nil {
			queries = append(queries, q)
		}
	}
	type sub struct {
		q     string
		batch int
		c     *collector
		done  chan error
	}
	var subs []sub
	startSub := func(q string) {
		// Half the subscribers take batches (up to a random size).
		x := sub{q: q, c: newCollector(), done: make(chan error, 1), batch: rng.IntN(2) * rng.IntN(20)}
		go func() {
			x.done <- s.Subscribe(ctx, SubscribeRequest{Query: q, FromStart: true, MaxBatch: x.batch}, x.c.send)
		}()
		subs = append(subs, x)
	}
	pending := slices.Clone(queries)
	for off := 0; off < len(events); {
		n := min(1+rng.IntN(30), len(events)-off)
		if _, err := s.Put(ctx, events[off:off+n], nil); err != nil {
			t.Fatal(err)
		}
		off += n
		for len(pending) > 0 && rng.IntN(3) == 0 {
			startSub(pending[0])
			pending = pending[1:]
		}
	}
	for _, q := range pending {
		startSub(q)
	}
	head := s.Cursor(s.head.Load())
	for _, x := range subs {
		waitFor(t, "subscriber at head: "+x.q, func() bool {
			x.c.mu.Lock()
			defer x.c.mu.Unlock()
			return x.c.last == head
		})
		got, seqs, caught, _ := x.c.snapshot()
		if caught != 1 || !slices.IsSorted(seqs) || len(slices.Compact(slices.Clone(seqs))) != len(seqs) {
			t.Fatalf("seed %d, query %q: caught-up %d, seqs sorted %v, duplicates", seed, x.q, caught, slices.IsSorted(seqs))
		}
		if want := searchIDs(t, s, x.q); !slices.Equal(got, want) {
			t.Fatalf("seed %d, query %q, max batch %d:\n subscriber %v\n search     %v", seed, x.q, x.batch, got, want)
		}
		if x.c.maxBatch > max(x.batch, 1) || (x.batch <= 1 && x.c.batches > 0) {
			t.Fatalf("seed %d, query %q: max batch %d, got %d batches of up to %d", seed, x.q, x.batch, x.c.batches, x.c.maxBatch)
		}
	}
	cancel()
	for _, x := range subs {
		<-x.done
	}
}

// Many live subscribers held up together fall pages behind; they catch up
// from shared pages (pages.go), each page read once, and each still gets
// exactly what Search returns for its query, once, in store order.
func TestSubscribeLaggersSharePages(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.RingSize = 8 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queries := []string{"", "eventName:GitPush", "eventName:StartBuild OR projectName:p3", "NOT eventName:GetPipeline",
		"p1", "eventName:CreateDeployment AND NOT p2", "projectName:p*", "eventName:GitPush"}
	release := make(chan struct{})
	cols := make([]*collector, len(queries))
	done := make(chan error, len(queries))
	for i, q := range queries {
		cols[i] = newCollector()
		held := false
		send := func(m Message) error {
			if m.Hit != nil && !held {
				held = true
				<-release // all hold their first event until the burst is stored
			}
			return cols[i].send(m)
		}
		go func() { done <- s.Subscribe(ctx, SubscribeRequest{Query: q}, send) }()
	}
	waitFor(t, "all live", func() bool { return s.SubscriberStats().CaughtUp == int64(len(queries)) })
	const n = 3000
	for i := 0; i < n; i += 500 {
		if _, err := s.Put(ctx, synthetic(t, 500, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	for i, q := range queries {
		want, err := searchAll(ctx, s, q)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "subscriber "+q, func() bool { ids, _, _, _ := cols[i].snapshot(); return len(ids) >= len(want) })
		ids, seqs, _, _ := cols[i].snapshot()
		for j := 1; j < len(seqs); j++ {
			if seqs[j] <= seqs[j-1] {
				t.Fatalf("query %q: seq %d after %d", q, seqs[j], seqs[j-1])
			}
		}
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("query %q: got %d events, want %d", q, len(ids), len(want))
		}
	}
	// A page serves every subscriber: far fewer reads than subscribers times pages.
	if r := s.pages.reads.Load(); r == 0 || r > 2*(n/pageEvents+1) {
		t.Fatalf("%d page reads for %d subscribers %d events behind", r, len(queries), n)
	}
	cancel()
	for range queries {
		<-done
	}
}

// Every live subscriber is woken for every batch, with no progress timer to
// rescue it: a wake-up sent before the new head was published used to be
// lost by subscribers that woke at once, read the old head and slept until
// the next batch.
func TestSubscribeWakeSeesNewHead(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.ProgressInterval = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const subs, rounds, per = 200, 30, 5
	cs := make([]*collector, subs)
	var wg sync.WaitGroup
	for i := range cs {
		cs[i] = newCollector()
		wg.Go(func() { _ = s.Subscribe(ctx, SubscribeRequest{}, cs[i].send) })
	}
	for _, c := range cs {
		waitFor(t, "caught up", func() bool { _, _, caught, _ := c.snapshot(); return caught == 1 })
	}
	for r := range rounds {
		if _, err := s.Put(ctx, synthetic(t, per, r*per), nil); err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			waitFor(t, fmt.Sprintf("subscriber %d to get round %d", i, r), func() bool {
				ids, _, _, _ := c.snapshot()
				return len(ids) == (r+1)*per
			})
		}
	}
	cancel()
	wg.Wait()
}

// With MaxBatch, hits come in batches of at most that many, in order, as
// soon as they are found: a lone live event is not held back to fill one.
// A subscriber ended for lag was sent everything up to its cursor, batches
// included.
func TestSubscribeBatches(t *testing.T) {
	s := openStoreCfg(t, func(*Config) {})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Put(ctx, synthetic(t, 23, 0), nil); err != nil {
		t.Fatal(err)
	}
	c := newCollector()
	done := make(chan error, 1)
	go func() { done <- s.Subscribe(ctx, SubscribeRequest{FromStart: true, MaxBatch: 5}, c.send) }()
	waitFor(t, "replay", func() bool { _, _, caught, _ := c.snapshot(); return caught == 1 })
	if _, err := s.Put(ctx, synthetic(t, 1, 23), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a lone live event", func() bool { ids, _, _, _ := c.snapshot(); return len(ids) == 24 })
	if _, err := s.Put(ctx, synthetic(t, 12, 24), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a live burst", func() bool { ids, _, _, _ := c.snapshot(); return len(ids) == 36 })
	got, _, _, _ := c.snapshot()
	if want := searchIDs(t, s, ""); !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	c.mu.Lock()
	if c.maxBatch != 5 || c.batches < 36/5 {
		t.Errorf("%d batches of up to %d hits, want batches of up to 5", c.batches, c.maxBatch)
	}
	c.mu.Unlock()
	cancel()
	<-done

	// A client that stops reading while a batch is being sent.
	ls := lagStore(t)
	lag, seqs := lagAndResume(t, ls, 3, func(m Message) bool { return m.Hits != nil })
	if at, err := ls.ParseCursor(lag.Cursor); err != nil || len(seqs) == 0 || seqs[len(seqs)-1] != at {
		t.Fatalf("lag cursor at %d (%v), last sent %v", at, err, seqs)
	}
}
