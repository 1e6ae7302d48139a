package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/ingest"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// stdinChunk is how much standard input goes into one Ingest message: large
// enough to amortise the call, small enough to stay far below the message
// limit. Inputs larger than one chunk are split at line ends (JSON lines).
const stdinChunk = 8 << 20

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	conn := addClientFlags(fs)
	quiet := fs.Bool("quiet", false, "no progress bar")
	asJSON := fs.Bool("json", false, "print the whole response as JSON: counts, problems, last cursor")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail ingest [flags] PATH...\n\nSends files (any supported format, gzip or not) and directories (recursively)\nto a running server; - reads standard input. On a terminal it draws a\nprogress bar on stderr (files, events, events/s, ETA). Once everything is\nstored it prints one summary line: inputs, records, events stored,\nduplicates, invalid records and inputs, rate and the last cursor; each\nproblem (input, position, reason) follows on stderr.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := parseFlags(ctx, fs, args, stderr); err != nil {
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

	var sent func(client.Input)
	stopProgress := func() {}
	if !*quiet && isTerminal(stderr) {
		prog := newProgress(stderr, len(files), totalSize(files), time.Now)
		sent = prog.sent
		var wg sync.WaitGroup
		pollCtx, cancel := context.WithCancel(ctx)
		if st, err := c.Stats(pollCtx); err == nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pollEvents(pollCtx, c.Stats, ingestRecords(st), prog.setEvents)
			}()
		}
		stopProgress = func() {
			cancel()
			wg.Wait()
			prog.done()
		}
	}
	start := time.Now()
	res, err := c.Ingest(ctx, inputs(files, os.Stdin), sent)
	stopProgress()
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	if _, err := fmt.Fprintln(stdout, ingestSummary(res, time.Since(start))); err != nil {
		return err
	}
	for _, p := range res.GetProblems() {
		pos := ""
		if p.GetPosition() != "" {
			pos = " " + p.GetPosition()
		}
		fmt.Fprintf(stderr, "problem: %s%s: %s\n", p.GetName(), pos, p.GetReason())
	}
	return nil
}

// ingestSummary is the one line ingest prints when done.
func ingestSummary(res *pb.IngestResponse, took time.Duration) string {
	n := res.GetCounts()
	rate := 0.0
	if took > 0 {
		rate = float64(n.GetRecords()) / took.Seconds()
	}
	s := fmt.Sprintf("%s inputs, %s records: %s events stored, %s duplicates, %s invalid records, %s invalid inputs, %s skipped (digests) in %s (%s events/s)",
		thousands(n.GetFiles()), thousands(n.GetRecords()), thousands(n.GetEventsStored()), thousands(n.GetDuplicates()),
		thousands(n.GetInvalidRecords()), thousands(n.GetInvalidFiles()), thousands(n.GetSkippedFiles()),
		took.Round(time.Millisecond), thousands(int64(rate)))
	if res.GetLastCursor() != "" {
		s += "; last cursor " + res.GetLastCursor()
	}
	return s
}

// expandPaths lists files of the arguments; directories recursively, in
// trail order (log files by delivery time); "-" stays as is.
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
		sub, err := ingest.DirFiles(a)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

// totalSize is the bytes of files to send; 0 (unknown) when one is
// standard input.
func totalSize(files []string) int64 {
	var n int64
	for _, f := range files {
		if f == "-" {
			return 0
		}
		if fi, err := os.Stat(f); err == nil {
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
					return client.Input{Name: fmt.Sprintf("%s%d", stdinPartPrefix, part), Data: chunk}, true, nil
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
