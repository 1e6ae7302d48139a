package ingest

import (
	"context"
	"time"
)

// Source is one place audit records come from (a directory, an S3 trail
// bucket, an SQS queue, Event History, a CodeCatalyst space). Run reads it
// until ctx ends, storing what it reads through the Ingester with
// checkpoints (Ingester.Input's checkpoints argument, read back with
// Ingester.Checkpoint), so that a restart resumes exactly where the last
// stored batch left off. Run retries transient failures itself and reports
// bad inputs through the Ingester's counts; it returns nil when ctx ends and
// an error only when the source cannot go on at all. Run calls
// Ingester.Resumed once it has read its checkpoints back and is about to
// read where it left off: health waits for that.
type Source interface {
	// Name identifies the source in Stats, logs and metrics, e.g.
	// "s3://trail-bucket/logs"; it is also the source argument of Input.
	Name() string
	Run(ctx context.Context, in *Ingester) error
}

// Checkpoint returns what a source stored under key with its last batch, or
// nil when nothing was stored yet.
func (in *Ingester) Checkpoint(key string) ([]byte, error) { return in.store.Checkpoint(key) }

// Fail records an error of a source that is not about one input (a listing
// that failed, credentials that expired): it shows as the source's last
// error in Stats and is logged.
func (in *Ingester) Fail(source string, err error) { in.fail(source, err) }

// Problem records and logs one input (pos "") or record that a source had
// to skip, with the reason, counting it as an invalid input or record.
func (in *Ingester) Problem(source, name, pos, reason string) {
	in.problem(source, name, pos, reason)
	c := Counts{Files: 1, InvalidFiles: 1}
	if pos != "" {
		c = Counts{Records: 1, InvalidRecords: 1}
	}
	in.account(source, c, time.Time{})
}

// Files is the Source of local files and directories: read at start, then
// rescanned every Interval for new or changed files ("-" is standard input,
// read once).
type Files struct {
	Paths    []string
	Interval time.Duration
}

// Name implements Source.
func (f Files) Name() string { return "files" }

// Run implements Source.
func (f Files) Run(ctx context.Context, in *Ingester) error {
	return in.Watch(ctx, f.Name(), f.Paths, f.Interval)
}
