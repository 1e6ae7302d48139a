package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proc  string
		files map[string]string // under the cgroup root
		want  int64
	}{
		{"v2 own limit", "0::/app/web\n", map[string]string{"app/web/memory.max": "1073741824\n", "app/memory.max": "max\n", "memory.max": "max\n"}, 1 << 30},
		{"v2 ancestor's is smaller", "0::/app/web\n", map[string]string{"app/web/memory.max": "max\n", "app/memory.max": "536870912\n"}, 512 << 20},
		{"v2 no limit", "0::/app\n", map[string]string{"app/memory.max": "max\n"}, 0},
		{"v2 namespaced: the path is not under the mount", "0::/kubepods/pod1/c1\n", map[string]string{"memory.max": "268435456\n"}, 256 << 20},
		{"v1 memory controller", "4:memory:/process_api/x\n3:cpu:/\n0::/\n", map[string]string{"memory/process_api/x/memory.limit_in_bytes": "1073741824\n", "memory/memory.limit_in_bytes": "9223372036854771712\n"}, 1 << 30},
		{"v1 unlimited (page-rounded MaxInt64)", "4:memory:/a\n", map[string]string{"memory/a/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"v1 with other controllers listed", "5:cpu,memory:/a\n", map[string]string{"memory/a/memory.limit_in_bytes": "2147483648\n"}, 2 << 30},
		{"hybrid: v2 under unified", "0::/s\n", map[string]string{"unified/s/memory.max": "3221225472\n"}, 3 << 30},
		{"nothing mounted", "0::/\n", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := writeTree(t, tc.files)
			got, err := cgroupMemoryLimit(tc.proc, root)
			if err != nil || got != tc.want {
				t.Errorf("limit %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	t.Run("garbage in a limit file", func(t *testing.T) {
		root := writeTree(t, map[string]string{"memory.max": "lots\n"})
		if _, err := cgroupMemoryLimit("0::/\n", root); err == nil {
			t.Error("no error for a limit that is no number")
		}
	})
}

// writeTree writes files (slash paths to contents) under a new temporary
// directory, and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, v := range files {
		f := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
