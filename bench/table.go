package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// printTable prints a's and b's measures side by side, a being codetrail
// and b the engine it is compared with. The ratio column is oriented so that
// above 1 always means a is better: b/a for times, sizes and memory, a/b for
// the ingest rate.
func printTable(w io.Writer, a, b measure) {
	nameA, nameB := tableOr(a.Engine, "codetrail"), tableOr(b.Engine, "other")
	rows := [][]string{{"", nameA, nameB, "ratio", "hits " + nameA + " / " + nameB}}
	add := func(label, va, vb, ratio, hits string) {
		rows = append(rows, []string{label, va, vb, ratio, hits})
	}
	add("ingest events/s (to searchable)", fmt.Sprintf("%.0f", a.rate()), fmt.Sprintf("%.0f", b.rate()), tableRatio(a.rate(), b.rate()), "")
	if a.Settle > 0 || b.Settle > 0 {
		// -settle: the queries below ran once background merges were done.
		add("wait for quiet before the queries", tableSettle(a), tableSettle(b), "", "")
	}

	for _, name := range tableQueryNames(a, b) {
		ta, okA := tableFind(a, name)
		tb, okB := tableFind(b, name)
		hits := fmt.Sprintf("%s / %s", tableHits(ta, okA), tableHits(tb, okB))
		add(name+" p50", tableDurOK(ta.P50, okA), tableDurOK(tb.P50, okB), tableTimeRatio(ta.P50, tb.P50, okA && okB), hits)
		add(name+" p99", tableDurOK(ta.P99, okA), tableDurOK(tb.P99, okB), tableTimeRatio(ta.P99, tb.P99, okA && okB), "")
	}
	add("page 1 of 50, all events", tableDur(a.Page1), tableDur(b.Page1), tableTimeRatio(a.Page1, b.Page1, true), "")
	add("page 100 of 50, all events", tableDur(a.Page100), tableDur(b.Page100), tableTimeRatio(a.Page100, b.Page100, true), "")
	da, db := tablePerEvent(a.Disk, a.Events), tablePerEvent(b.Disk, b.Events)
	add("disk B/event", fmt.Sprintf("%.0f", da), fmt.Sprintf("%.0f", db), tableRatio(db, da), "")
	ma, mb := float64(a.PeakRSS)/1e6, float64(b.PeakRSS)/1e6
	add("peak RSS MB", fmt.Sprintf("%.0f", ma), fmt.Sprintf("%.0f", mb), tableRatio(mb, ma), "")
	if a.PeakAnon > 0 || b.PeakAnon > 0 {
		// RSS counts the index files the kernel has mapped in, which it
		// drops under memory pressure; anonymous memory is the process's own.
		aa, ab := tableMB(a.PeakAnon), tableMB(b.PeakAnon)
		add("peak anonymous MB (RSS less mapped files)", aa, ab, "", "")
	}
	if a.MemLimit > 0 || b.MemLimit > 0 {
		// -serve-cgroup: the kernel kept the process, page cache included,
		// within the cgroup's limit.
		add("memory cgroup limit MB", tableMB(a.MemLimit), tableMB(b.MemLimit), "", "")
		add("memory cgroup peak use MB", tableMB(a.CgroupPeak), tableMB(b.CgroupPeak), "", "")
	}

	fmt.Fprintf(w, "%d events%s; ratio > 1 means %s is better (%s/%s for the ingest rate, %s/%s for times, disk and memory)\n",
		max(a.Events, b.Events), tableRuns(a, b), nameA, nameA, nameB, nameB, nameA)
	// The hits column ends the line, so it is left-aligned.
	tableWrite(w, rows, true)
}

// tableWrite prints rows in aligned columns: the label left-aligned, the
// numbers right-aligned, and the last column left-aligned when lastLeft.
func tableWrite(w io.Writer, rows [][]string, lastLeft bool) {
	// Widths in runes, not bytes: "µs" is one column wide.
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				b.WriteString(c + pad)
			case i == len(r)-1 && lastLeft:
				b.WriteString("  " + c)
			default:
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// tableRuns says, for the header, when the figures are medians of several
// runs (-repeat); it is empty for single runs.
func tableRuns(a, b measure) string {
	ra, rb := max(a.Runs, 1), max(b.Runs, 1)
	switch {
	case ra == 1 && rb == 1:
		return ""
	case ra == rb:
		return fmt.Sprintf(", medians of %d runs", ra)
	}
	runs := func(r int) string {
		if r == 1 {
			return "1 run"
		}
		return fmt.Sprintf("medians of %d runs", r)
	}
	return fmt.Sprintf(" (%s: %s, %s: %s)", tableOr(a.Engine, "codetrail"), runs(ra), tableOr(b.Engine, "other"), runs(rb))
}

func tableOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// tableQueryNames lists the query names of a, then those only b has.
func tableQueryNames(a, b measure) []string {
	var names []string
	seen := map[string]bool{}
	for _, m := range []measure{a, b} {
		for _, q := range m.Queries {
			if !seen[q.Name] {
				seen[q.Name] = true
				names = append(names, q.Name)
			}
		}
	}
	return names
}

func tableFind(m measure, name string) (timing, bool) {
	for _, q := range m.Queries {
		if q.Name == name {
			return q, true
		}
	}
	return timing{}, false
}

// tableRatio is num/den with two decimals, "-" when either is missing.
func tableRatio(num, den float64) string {
	if num <= 0 || den <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", num/den)
}

// tableTimeRatio is b/a: how many times longer the other engine took.
func tableTimeRatio(a, b time.Duration, ok bool) string {
	if !ok {
		return "-"
	}
	return tableRatio(float64(b), float64(a))
}

func tablePerEvent(bytes int64, events int) float64 {
	if events <= 0 {
		return 0
	}
	return float64(bytes) / float64(events)
}

func tableHits(t timing, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprint(t.Hits)
}

func tableDurOK(d time.Duration, ok bool) string {
	if !ok {
		return "-"
	}
	return tableDur(d)
}

// tableDur prints a latency with three significant digits in a unit that
// keeps the column readable.
func tableDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func tableMB(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(b)/1e6)
}

// tableSettle is m's wait for quiet, marked when it ended at the -settle
// bound with merges or compaction still running.
func tableSettle(m measure) string {
	if m.Unsettled {
		return tableDur(m.Settle) + " (not quiet)"
	}
	return tableDur(m.Settle)
}
