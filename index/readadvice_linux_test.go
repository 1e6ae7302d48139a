//go:build linux

package index

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseMapsLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		start, end uintptr
		path       string
		ok         bool
	}{
		{"file", "7f12a000-7f12c000 r--s 00000000 fd:01 1234    /data/p-1/shard-0.bleve/000000000001.zap", 0x7f12a000, 0x7f12c000, "/data/p-1/shard-0.bleve/000000000001.zap", true},
		{"deleted file", "1000-3000 r--s 00000000 fd:01 99 /data/x.zap (deleted)", 0x1000, 0x3000, "/data/x.zap", true},
		{"path with spaces", "1000-2000 r--s 00000000 fd:01 99 /my data/a b.zap", 0x1000, 0x2000, "/my data/a b.zap", true},
		{"anonymous", "c000000000-c004000000 rw-p 00000000 00:00 0 ", 0, 0, "", false},
		{"pseudo", "7ffd1000-7ffd3000 rw-p 00000000 00:00 0      [stack]", 0, 0, "", false},
		{"bad range", "zz-3000 r--s 00000000 fd:01 99 /x", 0, 0, "", false},
		{"empty range", "3000-3000 r--s 00000000 fd:01 99 /x", 0, 0, "", false},
		{"empty", "", 0, 0, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end, path, ok := parseMapsLine(tc.line)
			if ok != tc.ok || start != tc.start || end != tc.end || path != tc.path {
				t.Fatalf("parseMapsLine(%q) = %#x, %#x, %q, %v; want %#x, %#x, %q, %v", tc.line, start, end, path, ok, tc.start, tc.end, tc.path, tc.ok)
			}
		})
	}
}

// randomReadMaps counts the maps of segment files (.zap; bbolt advises its
// own) under dir in /proc/self/smaps,
// and those of them the kernel holds random-read advice for ("rr" in
// VmFlags).
func randomReadMaps(t *testing.T, dir string) (maps, advised int) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if key, _, _ := strings.Cut(line, " "); !strings.HasSuffix(key, ":") {
			// A map's first line; the lines about it follow, "Key: value".
			_, _, path, ok := parseMapsLine(line)
			in = ok && strings.HasPrefix(path, prefix) && strings.HasSuffix(path, ".zap")
			if in {
				maps++
			}
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && in && strings.Contains(" "+flags+" ", " rr ") {
			advised++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return maps, advised
}

func mapTestFile(t *testing.T, path string) []byte {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, 64<<10, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReadAdviserAdvisesOnlyItsDirectory(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	mine := mapTestFile(t, filepath.Join(dir, "a.zap"))
	theirs := mapTestFile(t, filepath.Join(other, "b.zap"))
	defer unix.Munmap(theirs)

	if _, advised := randomReadMaps(t, dir); advised != 0 {
		t.Fatalf("%d maps advised before any pass", advised)
	}
	a := newReadAdviser(dir)
	for pass := range 2 { // the second finds it advised already
		n, err := a.pass()
		if err != nil || n != 1 {
			t.Fatalf("pass %d: %d maps, %v; want 1", pass, n, err)
		}
	}
	if maps, advised := randomReadMaps(t, dir); maps != 1 || advised != 1 {
		t.Fatalf("under the directory: %d maps, %d advised; want 1, 1", maps, advised)
	}
	if maps, advised := randomReadMaps(t, other); maps != 1 || advised != 0 {
		t.Fatalf("outside the directory: %d maps, %d advised; want 1, 0", maps, advised)
	}

	if err := unix.Munmap(mine); err != nil {
		t.Fatal(err)
	}
	if n, err := a.pass(); err != nil || n != 0 {
		t.Fatalf("after unmapping: %d maps, %v; want 0", n, err)
	}
}

// TestStoreAdvisesSegments checks that the segments Bleve maps get advised,
// and that without RandomReads they do not.
func TestStoreAdvisesSegments(t *testing.T) {
	for _, random := range []bool{false, true} {
		dir := t.TempDir()
		cfg := DefaultConfig(dir)
		cfg.RandomReads = random
		s, err := Open(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(context.Background(), synthetic(t, 500, 0), nil); err != nil {
			t.Fatal(err)
		}
		// Bleve persists and maps segments in the background; the adviser
		// looks every second.
		var maps, advised int
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			maps, advised = randomReadMaps(t, dir)
			if maps > 0 && (!random || advised == maps) {
				break
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if maps == 0 {
			t.Fatalf("random %v: no index file mapped", random)
		}
		if want := map[bool]int{true: maps, false: 0}[random]; advised != want {
			t.Fatalf("random %v: %d of %d maps advised; want %d", random, advised, maps, want)
		}
	}
}
