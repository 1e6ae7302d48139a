package index

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseDate checks the date parser of time queries. An accepted date
// names a non-empty UTC span [lo, hi). An absolute date does not depend on
// now and its lo written as RFC 3339 reads back as itself; now math without
// rounding or calendar units moves with now; a rounded "now…/u" span holds
// the instant before rounding.
//
// On error lo and hi are not checked: callers drop them, and parseNowMath
// returns the unrounded time beside an unknown rounding unit.
func FuzzParseDate(f *testing.F) {
	now := time.Date(2024, 6, 15, 12, 34, 56, 789, time.UTC).UnixNano()
	for _, s := range []string{
		"now", "now-1h", "now-7d/d", "now+1M-2w/w", "now/y", "now/H", "now-15m/s", "now-1000000y/M",
		"2024-01-31", "2024-01", "2024", "2024-01-31T10:00:00Z", "2024-01-31T10:00:00.123456789+05:30",
		"2024-01-31T10:00:00.5", "2024-01-31 10:00:00", "2024-01-31T10:00", "0000-01-01T00:30:00+01:00",
		"1700000000", "1700000000123", "-000000001", "+1700000000",
		"", "now-", "now-1", "now-1x", "now/x", "now/dd", "now-1000001s", "now+99999999999999999999d",
		"2024-13-01", "yesterday", "170000000",
	} {
		f.Add(s, now)
	}
	f.Fuzz(func(t *testing.T, s string, nowNanos int64) {
		now := time.Unix(0, nowNanos).UTC()
		lo, hi, err := parseDate(s, now)
		if err != nil {
			return
		}
		if !lo.Before(hi) || lo.Location() != time.UTC || hi.Location() != time.UTC {
			t.Fatalf("parseDate(%q) = [%v, %v)", s, lo, hi)
		}
		if l2, h2, err := parseDate(s, now); err != nil || !l2.Equal(lo) || !h2.Equal(hi) {
			t.Fatalf("parseDate(%q) not deterministic: [%v, %v) then [%v, %v) %v", s, lo, hi, l2, h2, err)
		}
		later := now.Add(97*time.Minute + 3*time.Second)
		l2, h2, err := parseDate(s, later)
		if err != nil {
			t.Fatalf("parseDate(%q) fails at another now: %v", s, err)
		}
		rest, isNow := strings.CutPrefix(s, "now")
		switch {
		case !isNow:
			if !l2.Equal(lo) || !h2.Equal(hi) {
				t.Fatalf("absolute date %q moved with now: [%v, %v) then [%v, %v)", s, lo, hi, l2, h2)
			}
			if y := lo.Year(); y >= 0 && y <= 9999 {
				text := lo.Format(time.RFC3339Nano)
				l3, h3, err := parseDate(text, now)
				if err != nil || !l3.Equal(lo) || !h3.Equal(lo.Add(time.Nanosecond)) {
					t.Fatalf("parseDate(%q) = %v, written %q reads [%v, %v) %v", s, lo, text, l3, h3, err)
				}
			}
		case strings.Contains(rest, "/"):
			before, _, _ := strings.Cut(s, "/")
			t0, _, err := parseDate(before, now)
			if err != nil || t0.Before(lo) || !t0.Before(hi) {
				t.Fatalf("parseDate(%q) = [%v, %v) does not hold %q = %v (%v)", s, lo, hi, before, t0, err)
			}
		case !strings.ContainsAny(rest, "dwMy"):
			if d := later.Sub(now); !l2.Equal(lo.Add(d)) || !h2.Equal(hi.Add(d)) {
				t.Fatalf("parseDate(%q) did not move with now: [%v, %v) then [%v, %v)", s, lo, hi, l2, h2)
			}
		}
	})
}

// FuzzParseInterval checks histogram intervals: an error or a duration of
// at least a second, never both, and the duration written by
// time.Duration.String reads back as itself.
func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{
		"1h", "90m", "1d", "7d", "2w", "1h30m", "1.5h", "3650d", "24h0m0s",
		"", "0s", "999ms", "0d", "-1d", "3651d", "1.5d", "d", "w", "+2w", "1x", "-1h", "2562048h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseInterval(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("parseInterval(%q) = %v with error %v", s, d, err)
			}
			return
		}
		if d < time.Second {
			t.Fatalf("parseInterval(%q) = %v, below a second", s, d)
		}
		if last := s[len(s)-1]; (last == 'd' || last == 'w') && (d%(24*time.Hour) != 0 || d > 3650*7*24*time.Hour) {
			t.Fatalf("parseInterval(%q) = %v, not a whole number of days up to 3650 weeks", s, d)
		}
		if again, err := parseInterval(d.String()); err != nil || again != d {
			t.Fatalf("parseInterval(%q) = %v, but %q reads %v, %v", s, d, d.String(), again, err)
		}
	})
}
