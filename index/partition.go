package index

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// partition is a run of consecutive sequence numbers stored in its own
// shards, so that retention can drop it whole: closing its indexes and
// removing its directory, instead of deleting documents one by one. A new
// partition starts when the current one is older than Config.PartitionSpan
// or holds Config.PartitionMaxEvents events.
//
// The newest partition's shard 0 holds the internal keys (token key,
// checkpoints, their names); a new partition gets a copy of them in its
// first batch, so dropping old partitions loses none. Reads look newest
// first.
type partition struct {
	dir string // "" for the legacy layout (shards directly in the data dir)
	// layout is how the partition stores its events: layoutEvents, a Bleve
	// document an event, or LayoutBlocks (docs/blocks.md).
	layout   string
	firstSeq uint64
	created  time.Time
	shards   []bleve.Index
	// blocks[i] writes and counts the blocks of shard i of a block
	// partition; nil for the per-event layout.
	blocks []*blockWriter
	// exact[i] says that shard i's term dictionaries count its events
	// exactly (see dictExact); searches read it without mu.
	exact []*atomic.Bool
	// hourly[i] says that every event of shard i with an eventTime has
	// fieldHour, with doc values (see dictExact).
	hourly  []bool
	count   uint64
	maxTime time.Time // newest eventTime stored in it
	// ids may hold every event id stored in the partition (see idFilter);
	// nil until built. pendingIDs are the ids stored while it is built;
	// idsFailed is set when it could not be. Guarded by Store.mu.
	ids        *idFilter
	pendingIDs []string
	idsFailed  bool
}

// partitionMeta is partition.json.
type partitionMeta struct {
	FirstSeq uint64    `json:"first_seq"`
	Created  time.Time `json:"created"`
	Layout   string    `json:"layout,omitempty"` // "" for the per-event layout
}

// isBlocks says whether p stores its events as blocks.
func (p *partition) isBlocks() bool { return p.layout == LayoutBlocks }

const partitionPrefix = "p-"

// shardPath is where shard i of a partition lives: the legacy layout keeps
// them in the data directory (events.bleve, events-1.bleve, ...).
func (p *partition) shardPath(dataDir string, i int) string {
	if p.dir == "" {
		if i == 0 {
			return filepath.Join(dataDir, "events.bleve")
		}
		return filepath.Join(dataDir, fmt.Sprintf("events-%d.bleve", i))
	}
	if p.isBlocks() {
		// A name of its own: a version without blocks finds no shard of
		// its kind there, instead of reading blocks as events.
		return filepath.Join(dataDir, p.dir, fmt.Sprintf("block-%d.bleve", i))
	}
	return filepath.Join(dataDir, p.dir, fmt.Sprintf("shard-%d.bleve", i))
}

// sidecarPath is where the sidecar of block shard i is frozen to once
// the partition takes no more events (sidecarfreeze.go).
func (p *partition) sidecarPath(dataDir string, i int) string {
	return filepath.Join(dataDir, p.dir, fmt.Sprintf("block-%d.sidecar", i))
}

// openShard opens (or creates) the shard of p at path, a block shard
// with blockShardConfig.
func (p *partition) openShard(path string) (bleve.Index, error) {
	if p.isBlocks() {
		return openShardWith(path, blockShardConfig)
	}
	return openShard(path)
}

// openShards opens the partition's shards on disk, and creates the
// missing ones up to want.
func (p *partition) openShards(dataDir string, want int) error {
	for i := 0; ; i++ {
		path := p.shardPath(dataDir, i)
		_, statErr := os.Stat(filepath.Join(path, "index_meta.json"))
		if i >= want && statErr != nil {
			break
		}
		idx, err := p.openShard(path)
		if err == nil && statErr != nil && !p.isBlocks() {
			// New: every event it will hold is indexed with fieldHour.
			err = idx.SetInternal(keyDictExact, []byte{1})
			if err != nil {
				_ = idx.Close()
			}
		}
		if err == nil {
			if err = checkShard(path, idx); err != nil {
				_ = idx.Close()
			}
		}
		if err != nil {
			_ = p.close()
			return err
		}
		if p.isBlocks() {
			w, err := newBlockWriter(context.Background(), idx)
			if err != nil {
				_ = idx.Close()
				_ = p.close()
				return fmt.Errorf("open %s: %w", path, err)
			}
			p.blocks = append(p.blocks, w)
		}
		hourly, ex := dictExact(idx)
		exact := new(atomic.Bool)
		exact.Store(ex && !p.isBlocks())
		p.shards = append(p.shards, idx)
		p.exact = append(p.exact, exact)
		p.hourly = append(p.hourly, hourly)
	}
	return nil
}

func (p *partition) close() error {
	var errs []error
	for _, sh := range p.shards {
		if err := sh.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	p.shards, p.exact, p.hourly, p.blocks = nil, nil, nil, nil
	return errors.Join(errs...)
}

// openPartitions opens every partition in dataDir, oldest first; with none
// on disk it creates the first. Each one followed by a newer one is
// handed to closed as soon as that one is open (its sidecars frozen before
// the next are built, instead of all of them on the heap at once).
func openPartitions(dataDir string, shards int, layout string, now time.Time, closed func(*partition)) ([]*partition, error) {
	var parts []*partition
	closeAll := func() {
		for _, p := range parts {
			_ = p.close()
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "events.bleve")); err == nil {
		legacy := &partition{firstSeq: 1, created: now}
		if err := legacy.openShards(dataDir, 0); err != nil {
			return nil, err
		}
		parts = append(parts, legacy)
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, fmt.Errorf("read data directory: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), partitionPrefix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dataDir, e.Name(), "partition.json"))
		if errors.Is(err, os.ErrNotExist) {
			// Created but never written to (a crash right after mkdir).
			if err := os.RemoveAll(filepath.Join(dataDir, e.Name())); err != nil {
				closeAll()
				return nil, fmt.Errorf("remove unfinished partition %s: %w", e.Name(), err)
			}
			continue
		}
		var m partitionMeta
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("partition %s: %w", e.Name(), err)
		}
		if m.Layout != "" && m.Layout != LayoutBlocks {
			closeAll()
			return nil, fmt.Errorf("partition %s: unknown layout %q (written by a newer version?)", e.Name(), m.Layout)
		}
		p := &partition{dir: e.Name(), firstSeq: m.FirstSeq, created: m.Created, layout: m.Layout}
		if err := p.openShards(dataDir, 0); err != nil {
			closeAll()
			return nil, err
		}
		if n := len(parts); n > 0 && parts[n-1].firstSeq < p.firstSeq {
			closed(parts[n-1]) // entries come sorted by name: by first sequence number
		}
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(a, b *partition) int {
		switch {
		case a.firstSeq < b.firstSeq:
			return -1
		case a.firstSeq > b.firstSeq:
			return 1
		}
		return 0
	})
	if len(parts) == 0 {
		p, err := createPartition(dataDir, 1, shards, layout, now)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// createPartition makes a new partition starting at firstSeq. Its
// partition.json is written last, so a crash leaves a directory that the
// next open removes.
func createPartition(dataDir string, firstSeq uint64, shards int, layout string, now time.Time) (*partition, error) {
	if layout == LayoutEvents {
		layout = ""
	}
	p := &partition{dir: partitionPrefix + fmt.Sprintf("%016x", firstSeq), firstSeq: firstSeq, created: now.UTC(), layout: layout}
	if err := os.MkdirAll(filepath.Join(dataDir, p.dir), 0o755); err != nil {
		return nil, fmt.Errorf("create partition: %w", err)
	}
	if err := p.openShards(dataDir, shards); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(partitionMeta{FirstSeq: firstSeq, Created: p.created, Layout: p.layout})
	tmp := filepath.Join(dataDir, p.dir, "partition.json.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		_ = p.close()
		return nil, fmt.Errorf("create partition: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dataDir, p.dir, "partition.json")); err != nil {
		_ = p.close()
		return nil, fmt.Errorf("create partition: %w", err)
	}
	return p, nil
}

// Internal keys of a shard about its term dictionaries.
var (
	// keyDictExact is set in a shard made by a version that indexes
	// fieldHour, with doc values, for every event with an eventTime.
	keyDictExact = []byte("ct:dictexact")
	// keyUndone is set, with the deletes, when events are taken back from
	// a shard: Bleve's dictionaries go on counting deleted documents.
	keyUndone = []byte("ct:undone")
)

// dictExact reports whether every event of sh with an eventTime has
// fieldHour (hourly), and whether, in addition, its term dictionaries
// count its events exactly (exact: no deletes), so that facets and
// histograms over all events can be read from them (see dictfacets.go).
func dictExact(sh bleve.Index) (hourly, exact bool) {
	if !hourlyMarked(sh) {
		return false, false
	}
	u, err := sh.GetInternal(keyUndone)
	return true, err == nil && len(u) == 0
}

// hourlyMarked says whether r, a shard or a snapshot of one, holds the
// keyDictExact mark: whether every event of it with an eventTime has
// fieldHour.
func hourlyMarked(r interface {
	GetInternal(key []byte) ([]byte, error)
}) bool {
	v, err := r.GetInternal(keyDictExact)
	return err == nil && len(v) > 0
}

// seqMarkFile is written beside a shard's Bleve files after each batch
// with the batch's newest sequence number. Bleve, when a segment cannot be
// read at open, logs it and falls back to an older snapshot: the events
// since would vanish without an error. The mark lets Open see that.
const seqMarkFile = "codetrail.seq"

func writeSeqMark(shardPath string, seq uint64) error {
	tmp := filepath.Join(shardPath, seqMarkFile+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(seq, 10)), 0o644); err != nil {
		return fmt.Errorf("note sequence of %s: %w", shardPath, err)
	}
	if err := os.Rename(tmp, filepath.Join(shardPath, seqMarkFile)); err != nil {
		return fmt.Errorf("note sequence of %s: %w", shardPath, err)
	}
	return nil
}

// checkShard reports a shard that opened on an older state than its last
// batch left: a damaged segment Bleve skipped.
func checkShard(shardPath string, sh bleve.Index) error {
	b, err := os.ReadFile(filepath.Join(shardPath, seqMarkFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(shardPath, seqMarkFile), err)
	}
	want, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Join(shardPath, seqMarkFile), err)
	}
	v, err := sh.GetInternal(keySeq)
	if err != nil {
		return fmt.Errorf("read sequence of %s: %w", shardPath, err)
	}
	var got uint64
	if len(v) == 8 {
		got = binary.BigEndian.Uint64(v)
	}
	if got < want {
		return fmt.Errorf("index %s is damaged: it holds events up to sequence %d, but %d were stored (a segment file could not be read; Bleve logged which). Restore it from a backup, or move the data directory aside and ingest again", shardPath, got, want)
	}
	return nil
}
