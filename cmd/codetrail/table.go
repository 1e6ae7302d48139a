package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// columnGap is the space between table columns.
const columnGap = "  "

// cell is one table cell: its text and how to colour it.
type cell struct {
	text  string
	style style
}

// table is a text table aligned by visible width, so colours never shift
// columns (text/tabwriter counts escape bytes as width). The last column is
// not padded, so lines carry no trailing spaces.
type table struct {
	header []string
	right  []bool // right-align this column (numbers)
	rows   [][]cell
	indent string
}

// add appends a row of plain cells.
func (t *table) add(texts ...string) {
	row := make([]cell, len(texts))
	for i, s := range texts {
		row[i] = cell{text: s}
	}
	t.rows = append(t.rows, row)
}

// addCells appends a row.
func (t *table) addCells(row ...cell) { t.rows = append(t.rows, row) }

// render writes the table to w, coloured by p.
func (t *table) render(w io.Writer, p painter) error {
	cols := len(t.header)
	for _, r := range t.rows {
		cols = max(cols, len(r))
	}
	widths := make([]int, cols)
	for i, h := range t.header {
		widths[i] = visibleWidth(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], visibleWidth(c.text))
		}
	}
	var b strings.Builder
	line := func(row []cell) {
		b.WriteString(t.indent)
		// Drop empty trailing cells so the line ends at its last text.
		for len(row) > 0 && row[len(row)-1].text == "" {
			row = row[:len(row)-1]
		}
		for i, c := range row {
			if i > 0 {
				b.WriteString(columnGap)
			}
			pad := strings.Repeat(" ", widths[i]-visibleWidth(c.text))
			text := p.paint(c.text, c.style)
			switch {
			case i < len(t.right) && t.right[i]:
				b.WriteString(pad + text)
			case i == len(row)-1:
				b.WriteString(text)
			default:
				b.WriteString(text + pad)
			}
		}
		b.WriteByte('\n')
	}
	if len(t.header) > 0 {
		hdr := make([]cell, len(t.header))
		for i, h := range t.header {
			hdr[i] = cell{text: h, style: styleHeader}
		}
		line(hdr)
	}
	for _, r := range t.rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// clip shortens s to at most n characters, ending in "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// clipLeft shortens s to at most n characters, keeping the end (where a
// path or key is most specific), starting with "…" when cut.
func clipLeft(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return "…" + string(r[len(r)-n+1:])
}

// clipMiddle shortens s to at most n characters, keeping its start (what
// failed) and its end (the cause, in a wrapped error), with "…" between.
func clipMiddle(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	head := (n - 1) * 2 / 5
	return string(r[:head]) + "…" + string(r[len(r)-(n-1-head):])
}

// dash stands in for an empty field.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// thousands formats n with comma separators: 20000 -> "20,000".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// humanBytes formats a byte count in binary units: 43311923 -> "41.3 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// humanDuration formats d in at most two units, for people: 42s, 12m30s,
// 5h12m, 3d4h. Below a second it is "0s"; negative durations get a "-".
func humanDuration(d time.Duration) string {
	if d < 0 {
		return "-" + humanDuration(-d)
	}
	d = d.Truncate(time.Second)
	day := 24 * time.Hour
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return twoUnits(int(d/time.Minute), "m", int(d%time.Minute/time.Second), "s")
	case d < day:
		return twoUnits(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	}
	return twoUnits(int(d/day), "d", int(d%day/time.Hour), "h")
}

func twoUnits(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s%d%s", a, au, b, bu)
}

// timeLayout is how times are shown in tables: UTC, to the second.
const timeLayout = "2006-01-02 15:04:05"
