package main

import (
	"bufio"
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// autoLimitShare is the share of a container's memory limit the Go heap is
// held to when --memory-limit is not given: measured on the 10M trail, a
// 700 MiB heap limit kept the server, mapped index files included, within a
// 1 GiB memory cgroup (docs/operations.md, sizing). Without a heap limit
// the heap grows to twice what is live and the container's limit kills the
// server instead.
const autoLimitShare = 0.7

// cgroupMemoryLimit returns the smallest memory limit set on the cgroup
// the process runs in or on any of its ancestors, cgroup v2 or v1's memory
// controller, read from procCgroup (the text of /proc/self/cgroup) and the
// cgroup file systems mounted under root (/sys/fs/cgroup); 0 when none is
// set. A path that /proc names but root does not hold (a container's own
// cgroup namespace, mounted as its root) is looked up from root down only.
func cgroupMemoryLimit(procCgroup, root string) (int64, error) {
	var limit int64
	sc := bufio.NewScanner(strings.NewReader(procCgroup))
	for sc.Scan() {
		// "hierarchy-ID:controller-list:cgroup-path"
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = root, "memory.max"
			if _, err := os.Stat(filepath.Join(root, "unified")); err == nil {
				dir = filepath.Join(root, "unified") // hybrid: v2 beside v1
			}
		case hasController(parts[1], "memory"):
			dir, file = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		n, err := smallestLimit(dir, parts[2], file)
		if err != nil {
			return 0, err
		}
		if n > 0 && (limit == 0 || n < limit) {
			limit = n
		}
	}
	return limit, sc.Err()
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// smallestLimit reads file in the cgroup p under mount and in each of its
// ancestors, and returns the smallest limit set; 0 for none ("max", or
// v1's page-rounded MaxInt64).
func smallestLimit(mount, p, file string) (int64, error) {
	var limit int64
	for p = path.Clean("/" + p); ; p = path.Dir(p) {
		b, err := os.ReadFile(filepath.Join(mount, filepath.FromSlash(p), file))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return 0, err
		default:
			if s := strings.TrimSpace(string(b)); s != "max" {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return 0, errors.New(filepath.Join(mount, p, file) + ": " + err.Error())
				}
				if n > 0 && n < math.MaxInt64/2 && (limit == 0 || n < limit) {
					limit = n
				}
			}
		}
		if p == "/" {
			return limit, nil
		}
	}
}

// autoMemoryLimit holds the Go heap to autoLimitShare of the container's
// memory limit, if the server runs in a memory cgroup that has one.
func autoMemoryLimit(log *slog.Logger) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return // not Linux, or no /proc: no container limit to find
	}
	n, err := cgroupMemoryLimit(string(b), "/sys/fs/cgroup")
	if err != nil {
		log.Warn("memory limit: cannot read the container's", "err", err)
		return
	}
	if n > 0 {
		heap := int64(float64(n) * autoLimitShare)
		debug.SetMemoryLimit(heap)
		log.Info("memory limit: the Go heap is held to 70% of the container's (--memory-limit to set another)", "container_bytes", n, "heap_bytes", heap)
	}
}
