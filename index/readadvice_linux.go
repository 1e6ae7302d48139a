//go:build linux

package index

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// readAdviser advises the memory maps of Bleve's segment files (.zap)
// under one directory for random reads, each map once. (bbolt, Bleve's
// root.bolt and the checkpoints, advises its own maps.)
type readAdviser struct {
	prefix  string              // the directory, cleaned, with a trailing separator
	advised map[uintptr]uintptr // start -> end of the maps advised, as of the last pass
}

func newReadAdviser(dir string) *readAdviser {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return &readAdviser{prefix: filepath.Clean(dir) + string(filepath.Separator), advised: map[uintptr]uintptr{}}
}

// pass advises the maps of files under the directory not advised yet, and
// returns how many such maps there are. A map unmapped since /proc listed
// it is skipped. Advice is only a hint about reads ahead, so advising an
// address that meanwhile maps something else changes no data.
func (a *readAdviser) pass() (int, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("read advice: %w", err)
	}
	defer f.Close()
	now := make(map[uintptr]uintptr, len(a.advised))
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		start, end, path, ok := parseMapsLine(sc.Text())
		if !ok || !strings.HasPrefix(path, a.prefix) || !strings.HasSuffix(path, ".zap") {
			continue
		}
		if a.advised[start] == end {
			now[start] = end
			continue
		}
		_, _, e := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_RANDOM)
		switch {
		case e == 0:
			now[start] = end
		case errors.Is(e, unix.ENOMEM): // unmapped since
		default:
			errs = append(errs, fmt.Errorf("read advice: madvise %s: %w", path, e))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read advice: /proc/self/maps: %w", err))
	}
	a.advised = now
	return len(now), errors.Join(errs...)
}

// parseMapsLine reads a line of /proc/self/maps:
// "start-end perms offset dev inode   path"; ok is false for anonymous
// maps and lines it cannot read.
func parseMapsLine(line string) (start, end uintptr, path string, ok bool) {
	rng, rest, _ := strings.Cut(line, " ")
	lo, hi, found := strings.Cut(rng, "-")
	// Fields before the path hold no '/', and a file's path starts with one.
	i := strings.IndexByte(rest, '/')
	if !found || i < 0 {
		return 0, 0, "", false
	}
	s, err1 := strconv.ParseUint(lo, 16, 64)
	e, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, "", false
	}
	return uintptr(s), uintptr(e), strings.TrimSuffix(rest[i:], " (deleted)"), true
}
