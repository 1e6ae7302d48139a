package index

import (
	"context"
	"time"
)

// Bleve reads its segment files through memory maps. A page fault on a
// map reads around the page as much as the device's read-ahead setting
// says (read_ahead_kb: 128 KB by default, 8 MB on some virtual disks),
// while searches and duplicate checks read a few pages of term
// dictionaries and postings here and there. With the page cache short
// (the index larger than memory), every such read then evicted megabytes
// of what other reads needed: in a 1 GiB cgroup, partitions of 500k
// events, an index of 1.1M to 1.7M events read 1.0 to 1.3 GB/s from disk,
// 2.6 MB a fault, and took events at half the speed. Advised random, a
// fault reads only its page. readAdviceLoop advises every map of a segment
// file under the data directory, new segments within a second of being
// opened.

// readAdviceEvery is how often the maps are looked over for new segments.
const readAdviceEvery = time.Second

func (s *Store) readAdviceLoop(ctx context.Context) {
	defer close(s.adviceDone)
	a := newReadAdviser(s.cfg.Dir)
	warned := false
	t := time.NewTicker(readAdviceEvery)
	defer t.Stop()
	for {
		n, err := a.pass()
		metricRandomReadMaps.Set(float64(n))
		if err != nil && !warned {
			// Once: the same failure would repeat every second.
			warned = true
			s.log.Warn("index files cannot be advised for random reads; page faults will read ahead", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
