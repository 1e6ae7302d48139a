package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/index/record"
	"github.com/codetrail/codetrail/ingest/decode"
	"github.com/codetrail/codetrail/ingest/integrity"
)

// Config configures an Ingester.
type Config struct {
	// BatchSize is the most events committed to the index in one batch.
	// Larger batches index faster (a fixed cost per segment) but wait longer.
	BatchSize int
	// Linger is how long the committer waits for more events to fill a batch.
	Linger time.Duration
	// Workers is how many files are in flight at once (waiting to be
	// admitted to DecodeBytes, decoded, waiting for their group commit).
	// Most of that time is waiting, so far more files than cores make larger
	// batches out of many small trail files.
	Workers int
	// DecodeBytes bounds the decompressed bytes of all inputs being decoded
	// or waiting for their commit, whatever their source: a gzip trail
	// file holds about ten times its size in JSON, and its parsed events
	// about three times that, so compressed bytes alone do not bound memory.
	DecodeBytes int64
	// RecentProblems is how many problems Stats keeps.
	RecentProblems int
	// Decode bounds what one input may hold.
	Decode decode.Options
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		// 2,500 and 16 MiB: at 5,000 and 32 MiB ingest was no faster
		// (240 s of the 10M trail, 2 rounds: 0.81-0.86 against 0.83-0.84 ms
		// of CPU an event) and its peak anonymous memory was 1.5-1.7 GB
		// instead of 1.0-1.1: Bleve holds the analysis of a whole batch.
		BatchSize:      2500,
		Linger:         20 * time.Millisecond,
		Workers:        512,
		DecodeBytes:    16 << 20,
		RecentProblems: 100,
		Decode:         decode.DefaultOptions(),
	}
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 1:
		return errors.New("ingest: batch size must be positive")
	case c.Linger < 0:
		return errors.New("ingest: linger must not be negative")
	case c.Workers < 1, c.DecodeBytes < 1:
		return errors.New("ingest: workers and decode bytes must be positive")
	case c.RecentProblems < 0:
		return errors.New("ingest: recent problems must not be negative")
	}
	return nil
}

// Counts are what ingest read and stored.
type Counts struct {
	Files               int64 // inputs read
	Records             int64 // records found in them
	Stored              int64 // new events stored
	Duplicates          int64 // records whose eventID was already stored
	InvalidRecords      int64 // records reported and skipped
	InvalidFiles        int64 // inputs that could not be read
	SkippedFiles        int64 // inputs deliberately skipped (digests)
	RecordsWithProblems int64 // records kept with an oddity noted
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Files += o.Files
	c.Records += o.Records
	c.Stored += o.Stored
	c.Duplicates += o.Duplicates
	c.InvalidRecords += o.InvalidRecords
	c.InvalidFiles += o.InvalidFiles
	c.SkippedFiles += o.SkippedFiles
	c.RecordsWithProblems += o.RecordsWithProblems
}

// Problem is one input or record that was skipped, and why.
type Problem struct {
	Source string
	Name   string // file or input name
	Pos    string // position in the input; empty for a whole input
	Reason string
	Time   time.Time
}

// Result is what one input gave.
type Result struct {
	Counts   Counts
	Problems []Problem
	LastSeq  uint64 // newest sequence number after the input was stored
}

// SourceStats reports one source.
type SourceStats struct {
	Name          string
	Counts        Counts
	LastError     string
	LastErrorTime time.Time
	LastSuccess   time.Time
	NewestEvent   time.Time // newest eventTime seen
	Errors        int64     // failures reported with Fail
	// Resumed is when the source had read its checkpoints back and made
	// its first attempt to read (see Ingester.Resumed); zero until then.
	Resumed time.Time
	// Integrity is the source's last digest check; nil if it makes none.
	Integrity *Integrity
}

// Integrity is the result of a source's last integrity check.
type Integrity struct {
	Report  integrity.Report
	Checked time.Time
	// Err is why the check is incomplete (e.g. no public keys for a
	// region); the report holds what could be checked.
	Err string
}

// SetIntegrity records the result of source's latest integrity check.
func (in *Ingester) SetIntegrity(source string, r Integrity) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.sourceLocked(source).Integrity = &r
}

// Ingester decodes inputs and stores their events through a group-committing
// writer. It is safe for concurrent use.
type Ingester struct {
	cfg   Config
	log   *slog.Logger
	store *index.Store
	com   *committer
	// decoding holds DecodeBytes: Input takes its input's decompressed size
	// before decoding and gives it back once its events are committed.
	decoding *semaphore.Weighted

	mu       sync.Mutex // guards the fields below
	sources  map[string]*SourceStats
	order    []string
	total    Counts
	problems []Problem     // ring of recent problems, oldest first
	resumed  chan struct{} // closed and replaced when a source resumes
}

// New returns an Ingester writing to store. Close it to flush.
func New(cfg Config, store *index.Store, log *slog.Logger) (*Ingester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// Every record goes through record.Parse, which validates it.
	cfg.Decode.CallerValidates = true
	in := &Ingester{cfg: cfg, log: log, store: store, sources: map[string]*SourceStats{}, resumed: make(chan struct{})}
	in.decoding = semaphore.NewWeighted(cfg.DecodeBytes)
	in.com = newCommitter(store, cfg.BatchSize, cfg.Linger)
	in.com.onCommit = func(n int, took time.Duration) {
		metricBatchSeconds.Observe(took.Seconds())
		metricBatchEvents.Observe(float64(n))
	}
	return in, nil
}

// Close commits what is queued and stops the writer.
func (in *Ingester) Close() { in.com.close() }

// Input decodes one whole input (a file's bytes, gzip or not, in any
// supported format) and stores its events. checkpoints, if any, are stored
// atomically with the input's last events. Bad records and bad inputs are
// counted and reported in the Result, not returned as errors; the error is
// for failures to store (and a cancelled ctx).
func (in *Ingester) Input(ctx context.Context, source, name string, data []byte, checkpoints map[string][]byte) (Result, error) {
	if data == nil && len(checkpoints) > 0 {
		// Only checkpoints (a source storing its final watermark): not an
		// input to count.
		cr, err := in.com.submit(ctx, nil, checkpoints)
		if err != nil {
			in.fail(source, err)
			return Result{}, err
		}
		return Result{LastSeq: cr.lastSeq}, nil
	}
	defer holding(data)()
	release, err := in.admit(ctx, decodedSize(bytes.NewReader(data), int64(len(data))))
	if err != nil {
		return Result{}, err
	}
	defer release()
	return in.decodeInput(ctx, source, name, data, checkpoints)
}

// admit waits for decoded bytes of the decode budget. One input takes at
// most the whole budget, so a large one waits for the others to finish
// instead of never starting.
func (in *Ingester) admit(ctx context.Context, decoded int64) (release func(), err error) {
	cost := min(decoded, in.cfg.DecodeBytes)
	if err := in.decoding.Acquire(ctx, cost); err != nil {
		return nil, err
	}
	return func() { in.decoding.Release(cost) }, nil
}

// holding counts data in codetrail_ingest_held_bytes until the returned
// func is called.
func holding(data []byte) (done func()) {
	metricHeldBytes.Add(float64(len(data)))
	return func() { metricHeldBytes.Sub(float64(len(data))) }
}

// decodeInput is Input once admitted to the decode budget.
func (in *Ingester) decodeInput(ctx context.Context, source, name string, data []byte, checkpoints map[string][]byte) (Result, error) {
	metricBytes.Add(float64(len(data)))
	return in.ingest(ctx, source, name, checkpoints, func(fn func(decode.Record) error, pb func(decode.Problem)) (decode.Summary, error) {
		return decode.Decode(name, data, in.cfg.Decode, fn, pb)
	})
}

// decodedSize estimates the bytes the n bytes of r hold once decompressed:
// for gzip, the size its trailer records (modulo 4 GiB, of the last member
// only, so never less than the compressed size). It reads 6 bytes, so a
// file's cost is known before the file is read.
func decodedSize(r io.ReaderAt, n int64) int64 {
	size := max(n, 1)
	var magic, trailer [4]byte
	if n < 18 {
		return size
	}
	if _, err := r.ReadAt(magic[:2], 0); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		return size
	}
	if _, err := r.ReadAt(trailer[:], n-4); err != nil {
		return size
	}
	return max(size, int64(binary.LittleEndian.Uint32(trailer[:])))
}

// Reader is Input for a stream (standard input, a large file): JSON lines
// are stored as they are read, without holding the whole stream.
func (in *Ingester) Reader(ctx context.Context, source, name string, r io.Reader, checkpoints map[string][]byte) (Result, error) {
	return in.ingest(ctx, source, name, checkpoints, func(fn func(decode.Record) error, pb func(decode.Problem)) (decode.Summary, error) {
		return decode.DecodeReader(name, r, in.cfg.Decode, fn, pb)
	})
}

type decodeFunc func(fn func(decode.Record) error, problem func(decode.Problem)) (decode.Summary, error)

func (in *Ingester) ingest(ctx context.Context, source, name string, checkpoints map[string][]byte, dec decodeFunc) (Result, error) {
	var res Result
	res.Counts.Files = 1
	var batch []record.Event
	flush := func(cps map[string][]byte) error {
		if len(batch) == 0 && cps == nil {
			return nil
		}
		cr, err := in.com.submit(ctx, batch, cps)
		if err != nil {
			return err
		}
		res.Counts.Stored += int64(cr.stored)
		res.Counts.Duplicates += int64(cr.duplicates)
		res.LastSeq = cr.lastSeq
		batch = nil
		return nil
	}
	var newest time.Time
	var parseErr error
	sum, derr := dec(func(r decode.Record) error {
		res.Counts.Records++
		ev, err := record.Parse(r.Kind, r.Raw)
		if err != nil {
			res.Counts.InvalidRecords++
			res.Problems = append(res.Problems, in.problem(source, name, r.Pos, err.Error()))
			return nil
		}
		if len(ev.Problems) > 0 {
			res.Counts.RecordsWithProblems++
			in.log.Debug("record kept with problems", "source", source, "name", name, "pos", r.Pos, "problems", ev.Problems)
		}
		if ev.Time.After(newest) {
			newest = ev.Time
		}
		batch = append(batch, ev)
		if len(batch) >= in.cfg.BatchSize {
			if err := flush(nil); err != nil {
				parseErr = err
				return err
			}
		}
		return nil
	}, func(p decode.Problem) {
		res.Counts.Records++
		res.Counts.InvalidRecords++
		res.Problems = append(res.Problems, in.problem(source, name, p.Pos, p.Reason))
	})
	if parseErr != nil {
		in.fail(source, parseErr)
		return res, parseErr
	}
	switch {
	case derr != nil:
		res.Counts.InvalidFiles++
		res.Problems = append(res.Problems, in.problem(source, name, "", derr.Error()))
	case sum.Skipped != "":
		res.Counts.SkippedFiles++
		in.log.Debug("input skipped", "source", source, "name", name, "why", sum.Skipped)
	}
	if err := flush(checkpoints); err != nil {
		in.fail(source, err)
		return res, err
	}
	in.account(source, res.Counts, newest)
	return res, nil
}

// problem records and logs one skipped record or input.
func (in *Ingester) problem(source, name, pos, reason string) Problem {
	p := Problem{Source: source, Name: name, Pos: pos, Reason: reason, Time: time.Now()}
	in.log.Warn("input problem", "source", source, "name", name, "pos", pos, "reason", reason)
	kind := "record"
	if pos == "" {
		kind = "file"
	}
	metricProblems.WithLabelValues(kind).Inc()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cfg.RecentProblems > 0 {
		if len(in.problems) >= in.cfg.RecentProblems {
			in.problems = append(in.problems[:0], in.problems[1:]...)
		}
		in.problems = append(in.problems, p)
	}
	st := in.sourceLocked(source)
	st.LastError = fmt.Sprintf("%s %s: %s", name, pos, reason)
	st.LastErrorTime = p.Time
	return p
}

func (in *Ingester) fail(source string, err error) {
	if errors.Is(err, context.Canceled) {
		// Stopped by its caller (a shutdown, a client that went away):
		// the input is read again next time, nothing failed.
		in.log.Debug("ingest stopped", "source", source, "err", err)
		return
	}
	in.log.Warn("ingest failed", "source", source, "err", err)
	in.mu.Lock()
	defer in.mu.Unlock()
	st := in.sourceLocked(source)
	st.LastError = err.Error()
	st.LastErrorTime = time.Now()
	st.Errors++
}

// Resumed records that source has read its checkpoints back and made its
// first attempt to read where it left off (whether that attempt worked or
// not: a failure shows as its last error). Health waits for it (WaitResumed).
// Later calls are no-ops.
func (in *Ingester) Resumed(source string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	st := in.sourceLocked(source)
	if !st.Resumed.IsZero() {
		return
	}
	st.Resumed = time.Now()
	close(in.resumed)
	in.resumed = make(chan struct{})
	in.log.Info("source resumed", "source", source)
}

// WaitResumed waits until every named source has called Resumed, or ctx
// ends (its error is returned).
func (in *Ingester) WaitResumed(ctx context.Context, sources []string) error {
	for {
		in.mu.Lock()
		wait := in.resumed
		done := true
		for _, name := range sources {
			if st, ok := in.sources[name]; !ok || st.Resumed.IsZero() {
				done = false
				break
			}
		}
		in.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait:
		}
	}
}

func (in *Ingester) account(source string, c Counts, newest time.Time) {
	metricRecords.Add(float64(c.Records))
	in.mu.Lock()
	defer in.mu.Unlock()
	st := in.sourceLocked(source)
	st.Counts.Add(c)
	in.total.Add(c)
	if c.Stored > 0 || c.Duplicates > 0 {
		st.LastSuccess = time.Now()
	}
	if newest.After(st.NewestEvent) {
		st.NewestEvent = newest
	}
}

func (in *Ingester) sourceLocked(name string) *SourceStats {
	st, ok := in.sources[name]
	if !ok {
		st = &SourceStats{Name: name}
		in.sources[name] = st
		in.order = append(in.order, name)
	}
	return st
}

// Stats returns the totals, each source in the order first seen, and the
// recent problems, newest first.
func (in *Ingester) Stats() (Counts, []SourceStats, []Problem) {
	in.mu.Lock()
	defer in.mu.Unlock()
	srcs := make([]SourceStats, 0, len(in.order))
	for _, n := range in.order {
		srcs = append(srcs, *in.sources[n])
	}
	probs := make([]Problem, len(in.problems))
	for i, p := range in.problems {
		probs[len(probs)-1-i] = p
	}
	return in.total, srcs, probs
}
