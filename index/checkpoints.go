package index

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// checkpointFile holds the checkpoints, beside the partitions.
//
// They used to be internal keys of the newest partition's shard 0, but
// Bleve writes every internal key again with each snapshot it persists (a
// new bolt bucket each time, keys in map order): with one checkpoint per
// trail file, that is tens of thousands of keys, re-sorted and rewritten
// several times a second, and it came to dominate ingest at a few million
// events. A bolt file of their own writes only the pages a Put changes.
const checkpointFile = "checkpoints.db"

var (
	bucketCheckpoints = []byte("checkpoints")
	bucketMeta        = []byte("meta")
	// metaLegacyCopied is set once the checkpoints of a data directory
	// from before checkpointFile were copied into it.
	metaLegacyCopied = []byte("legacy-copied")
)

// cpStore keeps the checkpoints Put is given: name -> opaque value.
type cpStore struct {
	db *bolt.DB
}

func openCheckpoints(dir string) (*cpStore, error) {
	path := filepath.Join(dir, checkpointFile)
	// Without a timeout, a second process on the same data directory would
	// wait for the file lock forever.
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: the data directory is in use by another process", path)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCheckpoints, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &cpStore{db: db}, nil
}

// get returns the checkpoint stored under name, or nil.
func (c *cpStore) get(name string) ([]byte, error) {
	var v []byte
	err := c.db.View(func(tx *bolt.Tx) error {
		// Values are only valid inside the transaction.
		if b := tx.Bucket(bucketCheckpoints).Get([]byte(name)); b != nil {
			v = append([]byte{}, b...)
		}
		return nil
	})
	return v, closedErr(err)
}

// closedErr reports a store closed under a reader as ErrClosed, not as
// bolt's own "database not open".
func closedErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// put stores the checkpoints durably (bolt syncs each transaction).
func (c *cpStore) put(cps map[string][]byte) error {
	if len(cps) == 0 {
		return nil
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCheckpoints)
		for name, v := range cps {
			if err := b.Put([]byte(name), v); err != nil {
				return fmt.Errorf("checkpoint %s: %w", name, err)
			}
		}
		return nil
	})
}

// copyLegacy copies, once, the checkpoints a data directory from before
// checkpointFile kept as internal keys; read returns one of them.
func (c *cpStore) copyLegacy(names []string, read func(name string) ([]byte, error)) error {
	return c.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(metaLegacyCopied) != nil {
			return nil
		}
		b := tx.Bucket(bucketCheckpoints)
		for _, n := range names {
			v, err := read(n)
			if err != nil {
				return fmt.Errorf("copy checkpoint %s: %w", n, err)
			}
			// A checkpoint already here is newer than the legacy one.
			if v != nil && b.Get([]byte(n)) == nil {
				if err := b.Put([]byte(n), v); err != nil {
					return fmt.Errorf("copy checkpoint %s: %w", n, err)
				}
			}
		}
		return meta.Put(metaLegacyCopied, []byte{1})
	})
}

func (c *cpStore) close() error { return c.db.Close() }
