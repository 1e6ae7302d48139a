package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/klauspost/compress/dict"

	"github.com/codetrail/codetrail/ingest/gen"
)

func main() {
	out := flag.String("out", "index/blobdict/v1.dict", "file to write the dictionary to")
	events := flag.Int("events", 20000, "generated events to train on")
	id := flag.Uint("id", 1, "dictionary ID written into the dictionary and every frame made with it")
	size := flag.Int("size", 16<<10, "largest dictionary in bytes (16 KiB did as well as 112 KiB on real records)")
	flag.Parse()
	if err := run(*out, *events, uint32(*id), *size); err != nil {
		fmt.Fprintln(os.Stderr, "blobdict:", err)
		os.Exit(1)
	}
}

func run(out string, events int, id uint32, size int) error {
	cfg := gen.DemoConfig()
	cfg.Events = events
	recs, err := gen.Events(cfg)
	if err != nil {
		return fmt.Errorf("generate events: %w", err)
	}
	d, err := dict.BuildZstdDict(recs, dict.Options{MaxDictSize: size, HashBytes: 6, ZstdDictID: id})
	if err != nil {
		return fmt.Errorf("build dictionary: %w", err)
	}
	if err := os.WriteFile(out, d, 0o644); err != nil {
		return fmt.Errorf("write dictionary: %w", err)
	}
	fmt.Printf("wrote %s: %d bytes, ID %d, from %d events\n", out, len(d), id, len(recs))
	return nil
}
