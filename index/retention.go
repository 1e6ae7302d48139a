package index

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/blevesearch/bleve/v2"
	bquery "github.com/blevesearch/bleve/v2/search/query"
)

// newest returns the newest eventTime stored in p (zero when none).
func (p *partition) newest(ctx context.Context) (time.Time, error) {
	if len(p.shards) == 0 {
		return time.Time{}, nil
	}
	if p.isBlocks() {
		return newestBlock(ctx, p.shards)
	}
	t, _, err := edgeTime(ctx, bleve.NewIndexAlias(p.shards...).SearchInContext, bquery.NewMatchAllQuery(), true)
	if err != nil {
		return time.Time{}, fmt.Errorf("newest event of partition %s: %w", p.dir, err)
	}
	return t, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// oldestSeq is the oldest sequence number still stored: the first of the
// oldest partition retention has left.
func (s *Store) oldestSeq() uint64 { return s.oldest.Load() }

// ApplyRetention drops every partition but the newest whose events are all
// older than now minus Config.Retention (a partition with no eventTime at
// all counts by when it was created), and returns how many it dropped.
// Searches in flight on a dropped partition may fail; new ones no longer
// see it. Subscribers resuming before what is left get OutOfRange.
func (s *Store) ApplyRetention(now time.Time) (int, error) {
	if s.cfg.Retention <= 0 {
		return 0, nil
	}
	bound := now.Add(-s.cfg.Retention)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	var drop []*partition
	for len(s.parts) > 1 {
		p := s.parts[0]
		newest := p.maxTime
		if newest.IsZero() {
			newest = p.created
		}
		if !newest.Before(bound) {
			// Partitions are dropped oldest first, so that what is left
			// is one run of sequence numbers from oldestSeq on.
			break
		}
		if !p.isBlocks() {
			s.idx.Remove(p.shards...)
		}
		s.parts = s.parts[1:]
		s.count -= p.count
		drop = append(drop, p)
	}
	if len(drop) > 0 {
		s.publishShards()
		s.oldest.Store(s.parts[0].firstSeq)
		lo, hi, err := s.timeBounds(context.Background())
		if err == nil {
			s.minTime, s.maxTime = lo, hi
		}
		s.publishStats()
	}
	s.mu.Unlock()

	var errs []error
	for _, p := range drop {
		s.log.Info("partition dropped by retention", "dir", p.dir, "events", p.count, "newest", p.maxTime)
		metricDroppedEvents.Add(float64(p.count))
		if err := p.close(); err != nil {
			errs = append(errs, err)
		}
		if err := removePartition(s.cfg.Dir, p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return len(drop), fmt.Errorf("retention: %v", errs)
	}
	return len(drop), nil
}

// removePartition deletes a closed partition's files.
func removePartition(dataDir string, p *partition) error {
	if p.dir != "" {
		return os.RemoveAll(filepath.Join(dataDir, p.dir))
	}
	// The legacy layout: its shards sit in the data directory.
	for i := 0; ; i++ {
		path := p.shardPath(dataDir, i)
		if _, err := os.Stat(path); err != nil {
			return nil
		}
		if err := os.RemoveAll(path); err != nil {
			return err
		}
	}
}

// retentionLoop applies retention every tenth of the retention bound (at
// most every minute, at least every second), from one period after Open,
// until ctx ends.
func (s *Store) retentionLoop(ctx context.Context) {
	defer close(s.retentionDone)
	every := min(time.Minute, max(s.cfg.Retention/10, time.Second))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.ApplyRetention(time.Now()); err != nil {
			s.log.Warn("retention", "err", err)
		}
	}
}

// newestBlock returns the newest eventTime of the blocks of shards.
func newestBlock(ctx context.Context, shards []bleve.Index) (time.Time, error) {
	var newest time.Time
	for _, sh := range shards {
		req := bleve.NewSearchRequestOptions(termOn(fieldDoc, blockDoc), 1, 0, false)
		req.Score = "none"
		req.SortBy([]string{"-" + fieldOrder})
		res, err := sh.SearchInContext(ctx, req)
		if err != nil {
			return time.Time{}, fmt.Errorf("newest block: %w", err)
		}
		if len(res.Hits) == 0 || len(res.Hits[0].Sort) != 1 {
			continue
		}
		k, err := parseOrderKey(res.Hits[0].Sort[0])
		if err != nil {
			return time.Time{}, fmt.Errorf("newest block %s: %w", res.Hits[0].ID, err)
		}
		if k.nanos != noTime {
			newest = maxTime(newest, time.Unix(0, k.nanos).UTC())
		}
	}
	return newest, nil
}
