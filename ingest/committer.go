package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/index/record"
)

// errStopped is returned to submissions made after the committer stopped.
var errStopped = errors.New("ingest: committer stopped")

// submission is one caller's share of a group commit.
type submission struct {
	events      []record.Event
	checkpoints map[string][]byte
	done        chan commitResult // buffered, one result
}

type commitResult struct {
	stored, duplicates int
	lastSeq            uint64
	err                error
}

// committer merges concurrent submissions into large index batches (group
// commit): Bleve's cost per batch is high and mostly fixed (a segment and an
// fsync), so many small files committed one by one would crawl. Each caller
// still waits until its own events are durable.
type committer struct {
	store    *index.Store
	maxBatch int
	linger   time.Duration
	in       chan *submission
	wg       sync.WaitGroup
	stop     chan struct{}
	mu       sync.RWMutex // held shared while queueing; exclusively to close
	closed   bool
	onCommit func(n int, took time.Duration)
}

func newCommitter(store *index.Store, maxBatch int, linger time.Duration) *committer {
	c := &committer{
		store:    store,
		maxBatch: maxBatch,
		linger:   linger,
		in:       make(chan *submission, submitQueue),
		stop:     make(chan struct{}),
	}
	c.wg.Add(1)
	go c.run()
	return c
}

// submitQueue bounds submissions waiting for the writer; producers block
// beyond it, which is the back-pressure that keeps memory flat. It is large
// enough to hold one batch made of small trail files.
const submitQueue = 1024

// submit stores events (and checkpoints) and waits until they are durable.
func (c *committer) submit(ctx context.Context, events []record.Event, checkpoints map[string][]byte) (commitResult, error) {
	s := &submission{events: events, checkpoints: checkpoints, done: make(chan commitResult, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return commitResult{}, errStopped
	}
	select {
	case c.in <- s:
		c.mu.RUnlock()
	case <-ctx.Done():
		c.mu.RUnlock()
		return commitResult{}, ctx.Err()
	}
	// Once queued, the batch is committed whatever the caller does; waiting
	// for it keeps the caller's acknowledgement honest.
	r := <-s.done
	return r, r.err
}

func (c *committer) run() {
	defer c.wg.Done()
	for {
		var group []*submission
		select {
		case s := <-c.in:
			group = append(group, s)
		case <-c.stop:
			c.drain()
			return
		}
		n := len(group[0].events)
		timer := time.NewTimer(c.linger)
	gather:
		for n < c.maxBatch {
			select {
			case s := <-c.in:
				group = append(group, s)
				n += len(s.events)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		c.commit(group, n)
	}
}

// drain commits what is queued when stopping, so nothing accepted is lost.
func (c *committer) drain() {
	for {
		select {
		case s := <-c.in:
			c.commit([]*submission{s}, len(s.events))
		default:
			return
		}
	}
}

func (c *committer) commit(group []*submission, n int) {
	start := time.Now()
	all := make([]record.Event, 0, n)
	var cps map[string][]byte
	for _, s := range group {
		all = append(all, s.events...)
		for k, v := range s.checkpoints {
			if cps == nil {
				cps = map[string][]byte{}
			}
			cps[k] = v
		}
	}
	res, err := c.store.Put(context.Background(), all, cps)
	if err != nil {
		err = fmt.Errorf("commit %d events: %w", len(all), err)
	}
	off := 0
	for _, s := range group {
		r := commitResult{lastSeq: res.LastSeq, err: err}
		for i := range s.events {
			s.events[i].Seq = all[off+i].Seq
			if all[off+i].Seq != 0 {
				r.stored++
			} else {
				r.duplicates++
			}
		}
		off += len(s.events)
		s.done <- r
	}
	if c.onCommit != nil && err == nil {
		c.onCommit(len(all), time.Since(start))
	}
}

// close stops the committer after committing what was queued.
func (c *committer) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
}
