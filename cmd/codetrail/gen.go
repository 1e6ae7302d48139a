package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/codetrail/codetrail/ingest/gen"
)

func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := gen.DemoConfig()
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	out := fs.String("out", "", "directory to write the trail files into (AWSLogs/... layout); required")
	fs.IntVar(&cfg.Events, "events", cfg.Events, "number of events")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed; the same seed gives the same files")
	fs.Float64Var(&cfg.DuplicateRate, "duplicate-rate", cfg.DuplicateRate, "share of events delivered twice, as CloudTrail sometimes does")
	fs.BoolVar(&cfg.Digests, "digests", cfg.Digests, "also write CloudTrail-Digest files")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: codetrail gen --out DIR [flags]\n\nWrites realistic developer-tools CloudTrail events as gzip trail files in the\nreal S3 key layout, deterministic by seed.\n\nFlags:")
		printFlags(stderr, fs)
	}
	if err := parseFlags(ctx, fs, args, stderr); err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errUsage
	}
	start := time.Now()
	sum, err := gen.WriteTrail(*out, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %+v to %s in %s\n", sum, *out, time.Since(start).Round(time.Millisecond))
	return nil
}
