package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/codetrail/codetrail/client"
)

// stdinChunk is how much standard input goes into one Ingest message: large
// enough to amortise the call, small enough to stay far below the message
// limit. Inputs larger than one chunk are split at line ends (JSON lines).
const stdinChunk = 8 << 20

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	conn := addClientFlags(fs)
	quiet := fs.Bool("quiet", false, "no progress bar")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail ingest [flags] PATH...\n\nSends files (any supported format, gzip or not) and directories (recursively)\nto a running server; - reads standard input. Prints a summary of events,\nduplicates and problems once everything is stored.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	files, err := expandPaths(fs.Args())
	if err != nil {
		return err
	}
	c, err := conn.dial()
	if err != nil {
		return err
	}
	defer c.Close()

	prog := newProgress(stderr, len(files), totalSize(files), !*quiet && isTerminal(stderr))
	next := inputs(files, os.Stdin)
	start := time.Now()
	res, err := c.Ingest(ctx, next, func(in client.Input) { prog.sent(len(in.Data)) })
	prog.done()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	took := time.Since(start)
	if *asJSON {
		return printJSON(stdout, res)
	}
	n := res.GetCounts()
	fmt.Fprintf(stdout, "%d inputs, %d records: %d events stored, %d duplicates, %d invalid records, %d invalid inputs, %d skipped (digests) in %s (%.0f events/s)\n",
		n.GetFiles(), n.GetRecords(), n.GetEventsStored(), n.GetDuplicates(), n.GetInvalidRecords(), n.GetInvalidFiles(), n.GetSkippedFiles(),
		took.Round(time.Millisecond), float64(n.GetRecords())/took.Seconds())
	for _, p := range res.GetProblems() {
		pos := ""
		if p.GetPosition() != "" {
			pos = " " + p.GetPosition()
		}
		fmt.Fprintf(stdout, "  problem: %s%s: %s\n", p.GetName(), pos, p.GetReason())
	}
	if res.GetLastCursor() != "" {
		fmt.Fprintf(stdout, "last cursor: %s\n", res.GetLastCursor())
	}
	return nil
}

// expandPaths lists files of the arguments; directories recursively, in
// name order; "-" stays as is.
func expandPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		var sub []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != a && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				sub = append(sub, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(sub)
		out = append(out, sub...)
	}
	return out, nil
}

func totalSize(files []string) int64 {
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && f != "-" {
			n += fi.Size()
		}
	}
	return n
}

// inputs returns the iterator Client.Ingest reads: each file whole, and
// standard input in chunks cut at line ends.
func inputs(files []string, stdin io.Reader) func() (client.Input, bool, error) {
	i := 0
	var br *bufio.Reader
	part := 0
	return func() (client.Input, bool, error) {
		for {
			if br != nil {
				chunk, err := readChunk(br, stdinChunk)
				if len(chunk) > 0 {
					part++
					return client.Input{Name: fmt.Sprintf("stdin part %d", part), Data: chunk}, true, nil
				}
				if err != nil && err != io.EOF {
					return client.Input{}, false, fmt.Errorf("read standard input: %w", err)
				}
				br = nil
			}
			if i >= len(files) {
				return client.Input{}, false, nil
			}
			f := files[i]
			i++
			if f == "-" {
				br = bufio.NewReaderSize(stdin, 1<<20)
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				return client.Input{}, false, err
			}
			return client.Input{Name: f, Data: data}, true, nil
		}
	}
}

// readChunk reads up to about max bytes, ending at a line end unless the
// input has no newline that early (a single document is then sent whole, up
// to the message limit).
func readChunk(r *bufio.Reader, max int) ([]byte, error) {
	var buf bytes.Buffer
	for buf.Len() < max {
		line, err := r.ReadSlice('\n')
		buf.Write(line)
		if err == bufio.ErrBufferFull {
			if buf.Len() >= client.MaxMessageBytes-1024 {
				return buf.Bytes(), nil
			}
			continue
		}
		if err != nil {
			return buf.Bytes(), err
		}
	}
	return buf.Bytes(), nil
}

// progress draws a one-line progress bar on a terminal.
type progress struct {
	w          io.Writer
	on         bool
	files      int
	size       int64
	sentFiles  int
	sentBytes  int64
	start      time.Time
	lastUpdate time.Time
}

func newProgress(w io.Writer, files int, size int64, on bool) *progress {
	return &progress{w: w, on: on, files: files, size: size, start: time.Now()}
}

func (p *progress) sent(n int) {
	p.sentFiles++
	p.sentBytes += int64(n)
	if !p.on || time.Since(p.lastUpdate) < 100*time.Millisecond && p.sentFiles < p.files {
		return
	}
	p.lastUpdate = time.Now()
	el := time.Since(p.start).Seconds()
	rate := float64(p.sentBytes) / el / (1 << 20)
	frac := 0.0
	if p.size > 0 {
		frac = float64(p.sentBytes) / float64(p.size)
	}
	const width = 30
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(min(frac, 1)*width))
	eta := ""
	if frac > 0 && frac < 1 {
		eta = fmt.Sprintf(" ETA %s", time.Duration(el/frac*(1-frac)*float64(time.Second)).Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r[%s] %d/%d inputs %.1f MiB/s%s   ", bar, p.sentFiles, p.files, rate, eta)
}

func (p *progress) done() {
	if p.on {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 80))
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
