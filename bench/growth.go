package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// growthEngines are the engines -growth reads, as named in the measure
// files, in the order it prints them.
var growthEngines = []string{"codetrail", "sqlite"}

// growthFile matches the median measure files saveMeasure writes, and not
// the -run<i> files beside them.
var growthFile = regexp.MustCompile(`^measure-(codetrail|sqlite)-(\d+)\.json$`)

// runGrowth prints, per engine, how its costs grow over the trails measured
// in dirs: each one the -dir of an earlier search benchmark, typically one
// per event count.
func runGrowth(w io.Writer, dirs []string) error {
	byEngine, err := loadGrowth(dirs)
	if err != nil {
		return err
	}
	first := true
	for _, e := range growthEngines {
		if len(byEngine[e]) == 0 {
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		printGrowth(w, byEngine[e])
	}
	return nil
}

// loadGrowth reads every measure-<engine>-<n>.json in dirs and returns them
// by engine, sorted by event count. Two files for one engine and count are
// an error: which one to show would be a guess.
func loadGrowth(dirs []string) (map[string][]measure, error) {
	byEngine := map[string][]measure{}
	from := map[string]string{} // engine and count -> the file read for them
	for _, dir := range dirs {
		dir = strings.TrimSpace(dir)
		if dir == "" {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("growth: %w", err)
		}
		found := false
		for _, ent := range entries {
			sub := growthFile.FindStringSubmatch(ent.Name())
			if sub == nil {
				continue
			}
			path := filepath.Join(dir, ent.Name())
			b, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("growth: %w", err)
			}
			var m measure
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("growth: read %s: %w", path, err)
			}
			if m.Events == 0 {
				m.Events, _ = strconv.Atoi(sub[2]) // the regexp admits digits only
			}
			key := sub[1] + "-" + strconv.Itoa(m.Events)
			if prev, ok := from[key]; ok {
				return nil, fmt.Errorf("growth: %s on %d events is in both %s and %s", sub[1], m.Events, prev, path)
			}
			from[key] = path
			byEngine[sub[1]] = append(byEngine[sub[1]], m)
			found = true
		}
		if !found {
			return nil, fmt.Errorf("growth: no measure-<engine>-<events>.json in %s", dir)
		}
	}
	if len(from) == 0 {
		return nil, fmt.Errorf("growth: no directories given")
	}
	for _, ms := range byEngine {
		slices.SortFunc(ms, func(a, b measure) int { return a.Events - b.Events })
	}
	return byEngine, nil
}

// printGrowth prints one engine's measures, sorted by event count, with the
// metrics as rows and the counts as columns, so that many queries still fit
// in 100 columns. The last column is last/first; the header gives the
// growth of N and of log N to set it against.
func printGrowth(w io.Writer, ms []measure) {
	first, last := ms[0], ms[len(ms)-1]
	name := tableOr(first.Engine, "?")
	rows := [][]string{{""}}
	for _, m := range ms {
		rows[0] = append(rows[0], growthCount(m.Events))
	}
	grows := len(ms) > 1
	if grows {
		rows[0] = append(rows[0], "growth 1st→last")
	}
	add := func(label string, cell func(measure) string, value func(measure) float64) {
		r := []string{label}
		for _, m := range ms {
			r = append(r, cell(m))
		}
		if grows {
			r = append(r, tableRatio(value(last), value(first)))
		}
		rows = append(rows, r)
	}
	num := func(value func(measure) float64) func(measure) string {
		return func(m measure) string {
			if v := value(m); v > 0 {
				return fmt.Sprintf("%.0f", v)
			}
			return "-"
		}
	}

	if slices.ContainsFunc(ms, func(m measure) bool { return m.Runs > 1 }) {
		runs := func(m measure) float64 { return float64(max(m.Runs, 1)) }
		add("runs (figures are their medians)", num(runs), func(measure) float64 { return 0 })
	}
	rate := func(m measure) float64 { return m.rate() }
	add("ingest events/s (to searchable)", num(rate), rate)
	disk := func(m measure) float64 { return tablePerEvent(m.Disk, m.Events) }
	add("disk B/event", num(disk), disk)
	rss := func(m measure) float64 { return float64(m.PeakRSS) / 1e6 }
	add("peak RSS MB", num(rss), rss)
	if slices.ContainsFunc(ms, func(m measure) bool { return m.PeakAnon > 0 }) {
		anon := func(m measure) float64 { return float64(m.PeakAnon) / 1e6 }
		add("peak anonymous MB", num(anon), anon)
	}
	for _, q := range growthQueryNames(ms) {
		p99 := func(m measure) float64 {
			t, _ := tableFind(m, q) // missing: zero, shown as "-"
			return float64(t.P99)
		}
		add(q+" p99", func(m measure) string {
			t, ok := tableFind(m, q)
			return tableDurOK(t.P99, ok)
		}, p99)
	}

	if !grows {
		fmt.Fprintf(w, "%s at %s events only: nothing to grow from\n", name, growthCount(first.Events))
	} else {
		nGrowth := tableRatio(float64(last.Events), float64(first.Events))
		logGrowth := "-"
		if first.Events > 1 {
			logGrowth = tableRatio(math.Log(float64(last.Events)), math.Log(float64(first.Events)))
		}
		fmt.Fprintf(w, "%s from %s to %s events; growth 1st→last is last/first\n",
			name, growthCount(first.Events), growthCount(last.Events))
		// Per-event rows hold at 1 when the total grows as N; a latency
		// that grows like log N is what an index promises.
		fmt.Fprintf(w, "for comparison N grew %s×, log N %s×; events/s and B/event stay near 1 if cost ∝ N\n",
			nGrowth, logGrowth)
	}
	tableWrite(w, rows, false)
}

// growthQueryNames lists the query names of ms in order of first
// appearance.
func growthQueryNames(ms []measure) []string {
	var names []string
	for _, m := range ms {
		for _, q := range m.Queries {
			if !slices.Contains(names, q.Name) {
				names = append(names, q.Name)
			}
		}
	}
	return names
}

// growthCount prints an event count short when it is round: 100k, 1M.
func growthCount(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	}
	return strconv.Itoa(n)
}
