package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// fileCheckpoint is what a file looked like when all its events were stored.
func fileCheckpoint(fi fs.FileInfo) []byte {
	return []byte(strconv.FormatInt(fi.Size(), 10) + ":" + strconv.FormatInt(fi.ModTime().UnixNano(), 10))
}

func fileCheckpointKey(path string) string { return "file:" + path }

// listFiles expands paths into regular files, directories recursively (see
// DirFiles), all in trail order (see sortTrailOrder).
func listFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", p, err)
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		sub, err := walkFiles(p)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	sortTrailOrder(out)
	return out, nil
}

// DirFiles lists the regular files under dir, recursively and in trail
// order (see sortTrailOrder), leaving hidden entries out. dir itself may be
// a symbolic link (a trail mounted or linked elsewhere); links below it are
// not followed, so a link loop cannot make the walk endless.
func DirFiles(dir string) ([]string, error) {
	out, err := walkFiles(dir)
	if err != nil {
		return nil, err
	}
	sortTrailOrder(out)
	return out, nil
}

// walkFiles is DirFiles in walk order: listFiles sorts its files once,
// all directories together.
func walkFiles(dir string) ([]string, error) {
	root := dir
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// WalkDir does not follow a root that is a link; with a trailing
		// separator the kernel resolves it, and the paths keep the user's
		// spelling.
		root = dir + string(filepath.Separator)
	}
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", dir, err)
	}
	return out, nil
}

// sortTrailOrder sorts paths by name, except that CloudTrail log files go
// by the delivery time in their names, after the other files. A trail's
// names sort by account and region before the date, so in name order a
// first read of a trail of many accounts and regions went through the
// whole time range once per account and region: every index partition
// then spanned all of it, and neither newest-first searches nor retention
// could leave any partition out.
func sortTrailOrder(paths []string) {
	// Each name is parsed once: a watched trail is listed again every
	// --watch-interval, tens of thousands of files.
	type keyed struct{ time, path string }
	ks := make([]keyed, len(paths))
	for i, p := range paths {
		t, _ := trailFileTime(filepath.Base(p))
		ks[i] = keyed{t, p}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := strings.Compare(a.time, b.time); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	for i, k := range ks {
		paths[i] = k.path
	}
}

// trailFileTime returns the delivery time (YYYYMMDDTHHmmZ, which sorts as
// time does) in the name of a CloudTrail log or Insights file,
// <account>_CloudTrail[-Insight]_<region>_<time>_<unique>.json.gz, and
// false (with "") for any other name.
func trailFileTime(name string) (string, bool) {
	parts := strings.SplitN(name, "_", 5)
	if len(parts) != 5 || (parts[1] != "CloudTrail" && parts[1] != "CloudTrail-Insight") {
		return "", false
	}
	t := parts[3]
	if len(t) != len("20060102T1504Z") || t[8] != 'T' || t[13] != 'Z' {
		return "", false
	}
	for i, c := range t {
		if i != 8 && i != 13 && (c < '0' || c > '9') {
			return "", false
		}
	}
	return t, true
}

// Paths ingests files and directories (recursively) once, with Workers files
// decoded in parallel. "-" reads standard input. A file whose size and
// modification time match the checkpoint stored with its events is not read
// again. It returns the combined result; errors of single files are counted
// in it, and the returned error is for failures to store or a cancelled ctx.
func (in *Ingester) Paths(ctx context.Context, source string, paths []string) (Result, error) {
	return in.paths(ctx, source, paths, func() {})
}

// paths is Paths, calling listed once the files to read are known.
func (in *Ingester) paths(ctx context.Context, source string, paths []string, listed func()) (Result, error) {
	var total Result
	var files []string
	for _, p := range paths {
		if p == "-" {
			r, err := in.Reader(ctx, source, "stdin", os.Stdin, nil)
			total.Counts.Add(r.Counts)
			total.Problems = append(total.Problems, r.Problems...)
			if err != nil {
				return total, err
			}
			continue
		}
		files = append(files, p)
	}
	list, err := listFiles(files)
	listed()
	if err != nil {
		return total, err
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		slots    = semaphore.NewWeighted(int64(in.cfg.Workers))
	)
	for _, p := range list {
		// Small files are many and cheap: keep lots of them in flight so the
		// committer can merge them into large batches. The bytes they hold
		// are bounded by the decode budget, which admits them before they
		// are read.
		if err := slots.Acquire(ctx, 1); err != nil {
			break
		}
		wg.Add(1)
		go func(path string) {
			defer wg.Done()
			defer slots.Release(1)
			r, err := in.file(ctx, source, path)
			mu.Lock()
			defer mu.Unlock()
			total.Counts.Add(r.Counts)
			total.Problems = append(total.Problems, r.Problems...)
			if r.LastSeq > total.LastSeq {
				total.LastSeq = r.LastSeq
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}(p)
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return total, firstErr
}

// file ingests one file unless its checkpoint says it is already stored.
func (in *Ingester) file(ctx context.Context, source, path string) (Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	fi, err := os.Stat(path)
	if err != nil {
		return in.unreadable(source, path, err), nil
	}
	cp := fileCheckpoint(fi)
	key := fileCheckpointKey(abs)
	if old, err := in.store.Checkpoint(key); err == nil && bytes.Equal(old, cp) {
		return Result{}, nil
	}
	// The file is read only once admitted to the decode budget: read
	// earlier, it would wait in memory behind the inputs being decoded, and
	// with hundreds of files in flight that is hundreds of MB held for
	// nothing (151 MB in a heap profile of a 10M-event ingest). Nor is it
	// kept open while it waits: that would be hundreds of descriptors.
	cost, err := fileDecodedSize(path, fi.Size())
	if err != nil {
		return in.unreadable(source, path, err), nil
	}
	release, err := in.admit(ctx, cost)
	if err != nil {
		return Result{}, err
	}
	defer release()
	data, err := os.ReadFile(path)
	if err != nil {
		return in.unreadable(source, path, err), nil
	}
	defer holding(data)()
	return in.decodeInput(ctx, source, path, data, map[string][]byte{key: cp})
}

// unreadable is the result of a file that could not be read: one bad
// input, reported, which does not stop the others.
func (in *Ingester) unreadable(source, path string, err error) Result {
	return Result{Counts: Counts{Files: 1, InvalidFiles: 1}, Problems: []Problem{in.problem(source, path, "", err.Error())}}
}

// fileDecodedSize is decodedSize of the file at path, of size bytes,
// reading only its gzip header and trailer.
func fileDecodedSize(path string, size int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	return decodedSize(f, size), nil
}

// Watch ingests paths now and then every interval until ctx ends, picking up
// new and changed files. Results of each pass are logged.
func (in *Ingester) Watch(ctx context.Context, source string, paths []string, interval time.Duration) error {
	for pass := 0; ; pass++ {
		if pass == 1 { // standard input is read once
			var rest []string
			for _, p := range paths {
				if p != "-" {
					rest = append(rest, p)
				}
			}
			paths = rest
		}
		start := time.Now()
		// The first listing is the resume point: each listed file is
		// compared with its checkpoint before it is read.
		r, err := in.paths(ctx, source, paths, func() { in.Resumed(source) })
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			in.fail(source, err)
		} else if r.Counts.Files > 0 {
			in.log.Info("ingested", "source", source, "files", r.Counts.Files, "records", r.Counts.Records,
				"stored", r.Counts.Stored, "duplicates", r.Counts.Duplicates, "invalid", r.Counts.InvalidRecords+r.Counts.InvalidFiles,
				"took", time.Since(start).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
