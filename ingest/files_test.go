package ingest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDirFiles(t *testing.T) {
	base := t.TempDir()
	trail := filepath.Join(base, "trail")
	for _, f := range []string{"b/2.json.gz", "a/1.json.gz", "a/.hidden", ".tmp/x.json.gz", "c.json"} {
		p := filepath.Join(trail, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	linked := filepath.Join(base, "linked")
	if err := os.Symlink(trail, linked); err != nil {
		t.Fatal(err)
	}
	// A link below the root is not followed: a loop must not hang the walk.
	if err := os.Symlink(trail, filepath.Join(trail, "b", "loop")); err != nil {
		t.Fatal(err)
	}
	want := func(root string) []string {
		return []string{filepath.Join(root, "a/1.json.gz"), filepath.Join(root, "b/2.json.gz"), filepath.Join(root, "c.json")}
	}
	for _, tc := range []struct{ name, dir string }{
		{"directory", trail},
		{"root is a symbolic link", linked},
		{"trailing separator", trail + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DirFiles(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			if w := want(filepath.Clean(tc.dir)); !slices.Equal(got, w) {
				t.Fatalf("DirFiles(%s) = %q, want %q", tc.dir, got, w)
			}
		})
	}
	if _, err := DirFiles(filepath.Join(base, "missing")); err == nil {
		t.Fatal("a missing directory gave no error")
	}
}
