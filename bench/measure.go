package main

import (
	"fmt"
	"slices"
	"time"
)

// measure is what one engine's run of the search benchmark found; the
// codetrail and SQLite FTS5 runs fill one each and the table sets them side
// by side.
type measure struct {
	Engine string `json:"engine"`
	Events int    `json:"events"`
	// Ingest is the time from the start of ingest until every event was
	// searchable (for SQLite: committed and visible to a new query).
	Ingest time.Duration `json:"ingest"`
	// IngestCPU is the CPU time the codetrail server used from its start
	// until every event was searchable.
	IngestCPU time.Duration `json:"ingest_cpu,omitempty"`
	// Queries holds the timings of benchQueries, in their order.
	Queries []timing `json:"queries"`
	// Page1 and Page100 are the median times of page 1 and page 100 of
	// 50 over all events, newest first.
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
	// MemLimit and CgroupPeak are the memory limit of the cgroup the
	// engine ran in (-serve-cgroup) and its peak use, page cache and mapped
	// files included; zero when it ran in none.
	MemLimit   int64 `json:"mem_limit,omitempty"`
	CgroupPeak int64 `json:"cgroup_peak,omitempty"`
	// Settle is how long the engine took to go quiet after ingest, before
	// the queries were timed (-settle); zero when they were timed at once.
	Settle time.Duration `json:"settle,omitempty"`
	// Unsettled is true when that wait ended at its bound with the engine
	// still busy or compacting: its queries were timed beside merges.
	Unsettled bool `json:"unsettled,omitempty"`
	// Runs is how many runs the figures are the medians of (-repeat); zero
	// or one means a single run.
	Runs int `json:"runs,omitempty"`
}

// timing is one benchmark query's latencies over its runs.
type timing struct {
	Name string        `json:"name"`
	P50  time.Duration `json:"p50"`
	P99  time.Duration `json:"p99"`
	Max  time.Duration `json:"max"`
	Hits int64         `json:"hits"`
	// MajFaults and ReadBytes are the server's major page faults and the
	// bytes it read from storage (/proc/<pid>/stat, /proc/<pid>/io) over
	// all runs of the query, divided by the runs: how often a query waited
	// for the disk because the index was not in the page cache. Zero when
	// the server's process is not known.
	MajFaults float64 `json:"maj_faults,omitempty"`
	ReadBytes float64 `json:"read_bytes,omitempty"`
}

// rate is the ingest rate in events per second.
func (m measure) rate() float64 {
	if m.Ingest <= 0 {
		return 0
	}
	return float64(m.Events) / m.Ingest.Seconds()
}

// medianMeasure is the per-field median of runs of one engine on one trail:
// one slow run (a neighbour on the machine, a page cache still cold) should
// not decide the table. Each field's median is taken on its own, so the
// result need not be any single run. Queries are matched by name, in the
// first run's order; a query's hits must be the same in every run, else the
// runs did not answer the same question and there is nothing to take the
// median of.
func medianMeasure(runs []measure) (measure, error) {
	if len(runs) == 0 {
		return measure{}, fmt.Errorf("median of no runs")
	}
	first := runs[0]
	for i, r := range runs[1:] {
		if r.Engine != first.Engine || r.Events != first.Events {
			return measure{}, fmt.Errorf("median: run %d is %s on %d events, run 1 is %s on %d events",
				i+2, r.Engine, r.Events, first.Engine, first.Events)
		}
		if len(r.Queries) != len(first.Queries) {
			return measure{}, fmt.Errorf("median: run %d has %d queries, run 1 has %d", i+2, len(r.Queries), len(first.Queries))
		}
	}
	m := measure{Engine: first.Engine, Events: first.Events}
	m.Ingest = medianBy(runs, func(r measure) time.Duration { return r.Ingest })
	m.Settle = medianBy(runs, func(r measure) time.Duration { return r.Settle })
	m.Unsettled = slices.ContainsFunc(runs, func(r measure) bool { return r.Unsettled })
	m.Page1 = medianBy(runs, func(r measure) time.Duration { return r.Page1 })
	m.Page100 = medianBy(runs, func(r measure) time.Duration { return r.Page100 })
	m.Disk = medianBy(runs, func(r measure) int64 { return r.Disk })
	m.PeakRSS = medianBy(runs, func(r measure) int64 { return r.PeakRSS })
	m.PeakAnon = medianBy(runs, func(r measure) int64 { return r.PeakAnon })
	m.MemLimit = medianBy(runs, func(r measure) int64 { return r.MemLimit })
	m.CgroupPeak = medianBy(runs, func(r measure) int64 { return r.CgroupPeak })
	for _, q := range first.Queries {
		ts := make([]timing, len(runs))
		for i, r := range runs {
			t, ok := tableFind(r, q.Name)
			if !ok {
				return measure{}, fmt.Errorf("median: query %q is missing from run %d", q.Name, i+1)
			}
			if t.Hits != q.Hits {
				return measure{}, fmt.Errorf("median: query %q has %d hits in run %d, %d in run 1", q.Name, t.Hits, i+1, q.Hits)
			}
			ts[i] = t
		}
		m.Queries = append(m.Queries, timing{
			Name:      q.Name,
			P50:       medianBy(ts, func(t timing) time.Duration { return t.P50 }),
			P99:       medianBy(ts, func(t timing) time.Duration { return t.P99 }),
			Max:       medianBy(ts, func(t timing) time.Duration { return t.Max }),
			Hits:      q.Hits,
			MajFaults: medianBy(ts, func(t timing) float64 { return t.MajFaults }),
			ReadBytes: medianBy(ts, func(t timing) float64 { return t.ReadBytes }),
		})
	}
	if len(runs) > 1 {
		m.Runs = len(runs)
	}
	return m, nil
}

// medianBy is the median of get over xs.
func medianBy[E any, T ~int64 | ~float64](xs []E, get func(E) T) T {
	v := make([]T, len(xs))
	for i, x := range xs {
		v[i] = get(x)
	}
	return median(v)
}

// median is the middle of v, or the mean of the two middle values when v
// has an even length. v must not be empty; it is left as it was.
func median[T ~int64 | ~float64](v []T) T {
	s := slices.Clone(v)
	slices.Sort(s)
	h := len(s) / 2
	if len(s)%2 == 1 {
		return s[h]
	}
	return s[h-1] + (s[h]-s[h-1])/2
}
