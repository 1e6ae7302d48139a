package index

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDispatch measures the dispatcher alone: matching new events
// against n attached subscriptions, each with a distinct query of the
// subscriber benchmark's shape (one service, errors or writes, not one
// user), and leaving the matches in their inboxes. ns/op is per event.
func BenchmarkDispatch(b *testing.B) {
	events := generated(b, 4096)
	services := []string{"codepipeline", "codebuild", "codecommit", "codedeploy", "codeartifact", "codestar", "codestar-notifications", "codeconnections", "codecatalyst", "other"}
	for _, c := range []struct {
		n   int
		pre bool
	}{{100, false}, {1000, false}, {1000, true}} {
		n := c.n
		// prematched: the events were matched while being stored (untimed);
		// what is timed is what is left once they are.
		b.Run(fmt.Sprintf("subscribers=%d/prematched=%v", n, c.pre), func(b *testing.B) {
			h := newHub(len(events))
			h.disp.limit = 1 << 30 // the benchmark empties no inbox
			var subs []*liveSub
			for i := range n {
				ast, m := mustMatcher(b, fmt.Sprintf("service:%s AND (errorCode:* OR readOnly:false) AND NOT user:q%d", services[i%len(services)], i))
				ls := &liveSub{w: &subscriber{wake: make(chan struct{}, 1)}, match: m}
				if keys, ok := requiredTerms(ast); ok {
					ls.filtered = true
					ls.filterID, ls.filterVersion = h.filter.add(keys)
				}
				h.attach(ls)
				subs = append(subs, ls)
			}
			seq := uint64(0)
			matches := 0
			for b.Loop() {
				b.StopTimer()
				// A fresh copy of the events, as new ones: their terms and
				// candidates are worked out anew, as for each stored event.
				evs := make([]*ringEntry, 0, dispatchChunk)
				for range dispatchChunk {
					ev := events[seq%uint64(len(events))]
					seq++
					ev.Seq = seq
					evs = append(evs, newRingEntry(ev, ""))
				}
				if c.pre {
					h.prematch(evs)
				}
				for _, e := range evs {
					e.stored = time.Now()
					h.ring[e.seq()%uint64(len(h.ring))] = e
					h.last = e.seq()
					if h.first == 0 {
						h.first = e.seq()
					}
					h.first = max(h.first, h.last-min(h.last, uint64(len(h.ring))-1))
				}
				for _, ls := range subs {
					matches += len(ls.entries)
					ls.entries = ls.entries[:0]
					select {
					case <-ls.w.wake:
					default:
					}
				}
				b.StartTimer()
				for h.dispatch() > 0 {
				}
				h.disp.wakeRound()
			}
			b.StopTimer()
			for _, ls := range subs {
				matches += len(ls.entries)
			}
			events := float64(b.N * dispatchChunk)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(matches)/events, "matches/event")
		})
	}
}
