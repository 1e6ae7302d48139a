package index

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckpointsOutsideBleve: checkpoints survive reopen and rotation, and
// none is an internal key of a shard, which Bleve would write again with
// every snapshot it persists (the cost grew with the number of files).
func TestCheckpointsOutsideBleve(t *testing.T) {
	ctx := context.Background()
	cfg, s := openSmallPartitions(t)
	want := map[string]string{}
	for i := range 5 {
		cps := map[string][]byte{}
		for j := range 20 {
			name := fmt.Sprintf("file:%d/%d", i, j)
			cps[name] = []byte(name + "@" + fmt.Sprint(i))
			want[name] = string(cps[name])
		}
		if _, err := s.Put(ctx, synthetic(t, 100, i*100), cps); err != nil {
			t.Fatal(err)
		}
	}
	// Only checkpoints: no events to store.
	if _, err := s.Put(ctx, nil, map[string][]byte{"file:0/0": []byte("newer")}); err != nil {
		t.Fatal(err)
	}
	want["file:0/0"] = "newer"
	if len(s.parts) != 5 {
		t.Fatalf("%d partitions, want 5", len(s.parts))
	}
	for _, p := range s.parts {
		for _, sh := range p.shards {
			for name := range want {
				if v, err := sh.GetInternal([]byte(keyCheckpoint + name)); err != nil || v != nil {
					t.Fatalf("checkpoint %s is an internal key of a shard (%q, %v)", name, v, err)
				}
			}
			if v, _ := sh.GetInternal(keyCpNames); v != nil {
				t.Fatalf("checkpoint names are an internal key: %q", v)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, w := range want {
		if v, err := s.Checkpoint(name); err != nil || string(v) != w {
			t.Fatalf("checkpoint %s = %q (%v), want %q", name, v, err, w)
		}
	}
	if v, err := s.Checkpoint("never"); err != nil || v != nil {
		t.Fatalf("missing checkpoint = %q (%v)", v, err)
	}
}

// TestCheckpointsLegacy: a data directory whose checkpoints are internal
// keys (before checkpoints.db) keeps them, copied once; a newer value is
// not overwritten by the copy on a later open.
func TestCheckpointsLegacy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openStore(t, dir)
	if _, err := s.Put(ctx, synthetic(t, 10, 0), nil); err != nil {
		t.Fatal(err)
	}
	names, _ := json.Marshal([]string{"a", "b"})
	b := s.cur().shards[0].NewBatch()
	b.SetInternal(keyCpNames, names)
	b.SetInternal([]byte(keyCheckpoint+"a"), []byte("old-a"))
	b.SetInternal([]byte(keyCheckpoint+"b"), []byte("old-b"))
	if err := s.cur().shards[0].Batch(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, checkpointFile)); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	for n, w := range map[string]string{"a": "old-a", "b": "old-b"} {
		if v, err := s.Checkpoint(n); err != nil || string(v) != w {
			t.Fatalf("legacy checkpoint %s = %q (%v), want %q", n, v, err, w)
		}
	}
	if _, err := s.Put(ctx, nil, map[string][]byte{"a": []byte("new-a")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close()
	if v, _ := s.Checkpoint("a"); string(v) != "new-a" {
		t.Fatalf("after a second open: %q, want new-a", v)
	}
}

// TestDataDirInUse: a second Store on the same data directory fails
// promptly, saying why, instead of waiting for Bleve's locks.
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	defer s.Close()
	_, err := Open(testConfig(dir), nil)
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}

// openSmallPartitions opens a store in a new directory whose partitions
// take 100 events each, and returns its config for reopening.
func openSmallPartitions(t *testing.T) (Config, *Store) {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.PartitionMaxEvents = 100
	s, err := Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, s
}

// TestCheckpointAfterClose: a checkpoint read after Close says the store
// is closed, as every other call does, not that some database is not open.
func TestCheckpointAfterClose(t *testing.T) {
	s := openStore(t, t.TempDir())
	if _, err := s.Put(context.Background(), synthetic(t, 3, 0), map[string][]byte{"src": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Checkpoint("src"); err != nil || string(v) != "x" {
		t.Fatalf("open store: %q, %v", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkpoint("src"); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}
