package main

import "time"

// measure is what one engine's run of the search benchmark found; the
// codetrail and SQLite FTS5 runs fill one each and the table sets them side
// by side.
type measure struct {
	Engine string `json:"engine"`
	Events int    `json:"events"`
	// Ingest is the time from the start of ingest until every event was
	// searchable (for SQLite: committed and visible to a new query).
	Ingest time.Duration `json:"ingest"`
	// Queries holds the timings of benchQueries, in their order.
	Queries []timing `json:"queries"`
	// Page1 and Page100 are the times of page 1 and page 100 of 50 over
	// all events, newest first.
	Page1   time.Duration `json:"page1"`
	Page100 time.Duration `json:"page100"`
	// Disk is the size on disk once ingest is done, in bytes.
	Disk int64 `json:"disk"`
	// PeakRSS is the peak resident memory of the engine's process, in bytes.
	PeakRSS int64 `json:"peak_rss"`
	// PeakAnon is the peak of the process's anonymous memory (RssAnon): RSS
	// less the files mapped into memory (Bleve maps its segments), which
	// the kernel drops under memory pressure. Zero when not measured.
	PeakAnon int64 `json:"peak_anon,omitempty"`
}

// timing is one benchmark query's latencies over its runs.
type timing struct {
	Name string        `json:"name"`
	P50  time.Duration `json:"p50"`
	P99  time.Duration `json:"p99"`
	Max  time.Duration `json:"max"`
	Hits int64         `json:"hits"`
}

// rate is the ingest rate in events per second.
func (m measure) rate() float64 {
	if m.Ingest <= 0 {
		return 0
	}
	return float64(m.Events) / m.Ingest.Seconds()
}
