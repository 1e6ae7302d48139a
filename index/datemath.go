package index

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dateLayouts are the absolute forms accepted in queries, most precise first,
// each with the width of the span it names.
var dateLayouts = []struct {
	layout string
	span   func(time.Time) time.Time // end (exclusive) of the named span
}{
	{time.RFC3339Nano, func(t time.Time) time.Time { return t.Add(time.Nanosecond) }},
	{"2006-01-02T15:04:05.999999999", func(t time.Time) time.Time { return t.Add(time.Nanosecond) }},
	{"2006-01-02 15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
	{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
	{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
}

// parseDate parses an absolute date or date math ("now", "now-1h",
// "now-7d/d") into the span [lo, hi) it names: a day for "2024-01-01", one
// nanosecond for a full timestamp. Like Elasticsearch, an inclusive upper
// bound "2024-02-01" then includes that whole day.
func parseDate(s string, now time.Time) (lo, hi time.Time, err error) {
	if rest, ok := strings.CutPrefix(s, "now"); ok {
		return parseNowMath(rest, now.UTC())
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l.layout, s, time.UTC); err == nil {
			return t.UTC(), l.span(t.UTC()), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) >= 10 {
		// epoch milliseconds (13 digits) or seconds (10 digits)
		if len(s) >= 13 {
			t := time.UnixMilli(n).UTC()
			return t, t.Add(time.Millisecond), nil
		}
		t := time.Unix(n, 0).UTC()
		return t, t.Add(time.Second), nil
	}
	return lo, hi, fmt.Errorf("cannot read %q as a date: use 2024-01-31, 2024-01-31T10:00:00Z or now-1h", s)
}

// parseNowMath reads what follows "now": any number of +N or -N units, then
// an optional /unit rounding.
func parseNowMath(s string, now time.Time) (lo, hi time.Time, err error) {
	t := now
	for s != "" && (s[0] == '+' || s[0] == '-') {
		sign := 1
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) {
			return lo, hi, fmt.Errorf("date math needs a number and a unit, as in now-15m")
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil || n > 1_000_000 {
			return lo, hi, fmt.Errorf("date math number %q is too large", s[:i])
		}
		if t, err = addUnit(t, s[i], sign*n); err != nil {
			return lo, hi, err
		}
		s = s[i+1:]
	}
	if s == "" {
		return t, t.Add(time.Nanosecond), nil
	}
	if s[0] != '/' || len(s) != 2 {
		return lo, hi, fmt.Errorf("cannot read date math %q: expected +N<unit>, -N<unit> or /<unit>", s)
	}
	lo, err = roundDown(t, s[1])
	if err != nil {
		return lo, hi, err
	}
	hi, _ = addUnit(lo, s[1], 1)
	return lo, hi, nil
}

func addUnit(t time.Time, unit byte, n int) (time.Time, error) {
	switch unit {
	case 's':
		return t.Add(time.Duration(n) * time.Second), nil
	case 'm':
		return t.Add(time.Duration(n) * time.Minute), nil
	case 'h', 'H':
		return t.Add(time.Duration(n) * time.Hour), nil
	case 'd':
		return t.AddDate(0, 0, n), nil
	case 'w':
		return t.AddDate(0, 0, 7*n), nil
	case 'M':
		return t.AddDate(0, n, 0), nil
	case 'y':
		return t.AddDate(n, 0, 0), nil
	}
	return t, fmt.Errorf("unknown date math unit %q: use s, m, h, d, w, M or y", string(unit))
}

func roundDown(t time.Time, unit byte) (time.Time, error) {
	y, mo, d := t.Date()
	switch unit {
	case 's':
		return t.Truncate(time.Second), nil
	case 'm':
		return t.Truncate(time.Minute), nil
	case 'h', 'H':
		return t.Truncate(time.Hour), nil
	case 'd':
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC), nil
	case 'w':
		day := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)), nil // weeks start on Monday
	case 'M':
		return time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC), nil
	case 'y':
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	return t, fmt.Errorf("unknown date math unit %q: use s, m, h, d, w, M or y", string(unit))
}

// parseInterval reads a histogram interval: Go durations ("90m", "1h") plus
// days and weeks ("1d", "7d", "2w").
func parseInterval(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("histogram interval is empty: use e.g. 1h or 1d")
	}
	last := s[len(s)-1]
	if last == 'd' || last == 'w' {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n <= 0 || n > 3650 {
			return 0, fmt.Errorf("cannot read histogram interval %q: use e.g. 1h or 1d", s)
		}
		if last == 'w' {
			n *= 7
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("cannot read histogram interval %q: use e.g. 1h or 1d (at least 1s)", s)
	}
	return d, nil
}
