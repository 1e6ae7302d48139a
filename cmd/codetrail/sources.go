package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/catalyst"
	"github.com/codetrail/codetrail/ingest/lookup"
	"github.com/codetrail/codetrail/ingest/s3src"
	"github.com/codetrail/codetrail/ingest/sqssrc"
)

// buildSources turns --source values into sources: URLs by scheme, and
// plain paths (or file://) into one local-files source.
func buildSources(values []string, watch time.Duration, log *slog.Logger) ([]ingest.Source, error) {
	var out []ingest.Source
	var paths []string
	for _, v := range values {
		scheme, _, hasScheme := strings.Cut(v, "://")
		if !hasScheme {
			paths = append(paths, v)
			continue
		}
		var (
			src ingest.Source
			err error
		)
		switch scheme {
		case "file":
			paths = append(paths, strings.TrimPrefix(v, "file://"))
			continue
		case "s3":
			var cfg s3src.Config
			if cfg, err = s3src.Parse(v); err == nil {
				src, err = s3src.New(cfg, log)
			}
		case "sqs":
			var cfg sqssrc.Config
			if cfg, err = sqssrc.Parse(v); err == nil {
				src, err = sqssrc.New(cfg, log)
			}
		case "cloudtrail":
			var cfg lookup.Config
			if cfg, err = lookup.Parse(v); err == nil {
				src, err = lookup.New(cfg, log)
			}
		case "codecatalyst":
			var cfg catalyst.Config
			if cfg, err = catalyst.Parse(v); err == nil {
				src, err = catalyst.New(cfg, log)
			}
		default:
			return nil, fmt.Errorf("--source %s: unknown scheme %q: use a path, file://, s3://, sqs://, cloudtrail:// or codecatalyst://", v, scheme)
		}
		if err != nil {
			return nil, fmt.Errorf("--source %s: %w", v, err)
		}
		out = append(out, src)
	}
	if len(paths) > 0 {
		out = append([]ingest.Source{ingest.Files{Paths: paths, Interval: watch}}, out...)
	}
	return out, nil
}
