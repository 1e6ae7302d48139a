package index

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenCorrupt: a damaged index is reported with the file at fault, not
// opened half-way and not a panic.
func TestOpenCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, shard string)
	}{
		{"index_meta.json", func(t *testing.T, shard string) {
			if err := os.WriteFile(filepath.Join(shard, "index_meta.json"), []byte("{not json"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated segment", func(t *testing.T, shard string) {
			segs, _ := filepath.Glob(filepath.Join(shard, "store", "*.zap"))
			if len(segs) == 0 {
				t.Fatal("no segment to damage")
			}
			for _, seg := range segs {
				if err := os.Truncate(seg, 100); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"root.bolt", func(t *testing.T, shard string) {
			if err := os.WriteFile(filepath.Join(shard, "store", "root.bolt"), []byte("garbage that is no bolt database"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.Shards = 1
			s, err := Open(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(context.Background(), synthetic(t, 50, 0), nil); err != nil {
				t.Fatal(err)
			}
			shard := s.cur().shardPath(dir, 0)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, shard)
			s, err = Open(cfg, nil)
			if err == nil {
				_ = s.Close()
				t.Fatal("a damaged index opened")
			}
			t.Logf("%s: %v", tc.name, err)
			if !strings.Contains(err.Error(), shard) {
				t.Fatalf("error does not name the damaged index %s: %v", shard, err)
			}
		})
	}
}
