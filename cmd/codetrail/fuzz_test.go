package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzParseConfig checks the --config file parser: entries or an error,
// never both; every entry has a line number that grows and a flag name with
// no "=", no dash in front and no blank at the end (names are not checked
// further: "-- a = b" gives " a", which the caller reports as no command's
// flag); and the entries written back one a line, values quoted, read back
// the same.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		"# a comment\n\nserver = 10.0.0.1:7000\n  --limit=50  \n   # indented comment\nsource = s3://b/p?accounts=1#x\n",
		"since = \" 7d \"\nempty =\n",
		"source = s3://a\r\nsource = sqs://h/1/q\r\n--data=/srv/codetrail   # not a comment\n",
		"a = \"\\u00e9\\x00\"\n-#x = y\nlast = no newline",
		"-- limit = 50\n", "server 10.0.0.1\n", "= x\n", "--- = x\n", "a = \"x\\q\"\n", "a = \"\n", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := parseConfig(strings.NewReader(in), "f")
		if err != nil {
			if entries != nil {
				t.Fatalf("parseConfig(%q) = %v with error %v", in, entries, err)
			}
			if !strings.HasPrefix(err.Error(), "f:") && !strings.HasPrefix(err.Error(), "read f:") {
				t.Fatalf("parseConfig(%q): error %q does not name the file", in, err)
			}
			return
		}
		var out strings.Builder
		for i, e := range entries {
			if e.name == "" || e.name[0] == '-' || e.name != strings.TrimRightFunc(e.name, unicode.IsSpace) || strings.Contains(e.name, "=") {
				t.Fatalf("parseConfig(%q): bad name %q", in, e.name)
			}
			if e.line < 1 || i > 0 && e.line <= entries[i-1].line {
				t.Fatalf("parseConfig(%q): line numbers %v", in, entries)
			}
			// "--" keeps a name starting with # from reading as a comment.
			fmt.Fprintf(&out, "--%s = %s\n", e.name, strconv.Quote(e.value))
		}
		again, err := parseConfig(strings.NewReader(out.String()), "f")
		if err != nil || len(again) != len(entries) {
			t.Fatalf("parseConfig(%q) = %v, written back as %q reads %v, %v", in, entries, out.String(), again, err)
		}
		for i, e := range again {
			if e.line != i+1 || e.name != entries[i].name || e.value != entries[i].value {
				t.Fatalf("entry %d: %+v written back reads %+v", i, entries[i], e)
			}
		}
	})
}

// FuzzParseAgo checks the duration reader of --since, --until and the
// retention flags: what it accepts is a non-negative duration, as its
// contract says; it reads Go durations as time.ParseDuration does (to
// float64 precision), the ones Duration.String writes included.
func FuzzParseAgo(f *testing.F) {
	for _, s := range []string{
		"90m", "2h", "7d", "2w", "1d12h", "1.5h", ".5h", "1.h", "1.9ns1.9ns1.9ns", "3μs", "300ms", "10us", "10µs", "5ns", "0s",
		"2562047h47m16s", "9223372036ns", "99999999999w", "", "7", "7x", "d", "-1h", "1..5h", "1hm",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseAgo(s)
		if !ok {
			if d != 0 {
				t.Fatalf("parseAgo(%q) = %v, false", s, d)
			}
		} else if d < 0 {
			t.Fatalf("parseAgo(%q) = %v: negative", s, d)
		}
		// Go truncates each number to whole nanoseconds, parseAgo sums
		// float64s: allow a nanosecond a byte and float64's precision.
		slack := func(d time.Duration, s string) float64 { return float64(len(s)) + 1e-12*float64(d) }
		// "0" without a unit is Go's own special case, a sign and the Greek
		// mu of "μs" (Go takes it beside the micro sign µ) are not ours.
		// Within that slack of the largest Duration, the float64 sum may
		// round up past it and be refused.
		atTop := func(d time.Duration, s string) bool { return float64(d)+slack(d, s) >= float64(1<<63-1) }
		if want, err := time.ParseDuration(s); err == nil && s != "0" && s[0] != '+' && s[0] != '-' && !strings.Contains(s, "μ") {
			if !ok && atTop(want, s) {
				return
			}
			if !ok || math.Abs(float64(d-want)) > slack(want, s) {
				t.Fatalf("parseAgo(%q) = %v, %v; time.ParseDuration reads %v", s, d, ok, want)
			}
		}
		if ok {
			if again, ok := parseAgo(d.String()); (!ok && !atTop(d, d.String())) || (ok && math.Abs(float64(again-d)) > slack(d, d.String())) {
				t.Fatalf("parseAgo(%q) = %v, but %q reads %v, %v", s, d, d.String(), again, ok)
			}
		}
	})
}

// FuzzParseWhen checks --since and --until: a time or an error, never both;
// "ago" never lies after now; an upper bound is never before the lower bound
// the same text gives, and a date alone as an upper bound takes in its whole
// day; a time written as RFC 3339 reads back as itself.
func FuzzParseWhen(f *testing.F) {
	now := time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC).UnixNano()
	for _, s := range []string{
		"now", "90m", "7d", "2w", "1d12h", "2024-01-31", "2024-01-31T15:04", "2024-01-31T15:04:05",
		"2024-01-31 15:04:05", "2024-01-31 15:04", "2024-01-31T15:04:05Z", "2024-01-31T15:04:05+02:00",
		"2024-01-31T15:04:05.250Z", "", "-1h", "7", "7x", "d", "yesterday", "2024-13-01", "99999999999w", "NOW",
	} {
		f.Add(s, now)
	}
	f.Fuzz(func(t *testing.T, s string, nowNanos int64) {
		if len(s) > 64 {
			// No date or duration is this long; minimising long junk that
			// happens to widen coverage in time.Parse stalls the fuzzer.
			return
		}
		now := time.Unix(0, nowNanos).UTC()
		lo, err := parseWhen(s, now, false)
		hi, herr := parseWhen(s, now, true)
		if (err == nil) != (herr == nil) {
			t.Fatalf("parseWhen(%q) as lower bound: %v; as upper: %v", s, err, herr)
		}
		if err != nil {
			if !lo.IsZero() || !hi.IsZero() {
				t.Fatalf("parseWhen(%q) = %v, %v with error %v", s, lo, hi, err)
			}
			return
		}
		if _, ago := parseAgo(s); (ago || s == "now") && lo.After(now) {
			t.Fatalf("parseWhen(%q) = %v, after now %v", s, lo, now)
		}
		if hi.Before(lo) {
			t.Fatalf("parseWhen(%q): upper %v before lower %v", s, hi, lo)
		}
		if _, err := time.Parse(time.DateOnly, s); err == nil && !hi.Equal(lo.AddDate(0, 0, 1)) {
			t.Fatalf("parseWhen(%q): upper %v is not the end of the day from %v", s, hi, lo)
		}
		if y := lo.UTC().Year(); y >= 0 && y <= 9999 {
			text := lo.UTC().Format(time.RFC3339Nano)
			if again, err := parseWhen(text, now, false); err != nil || !again.Equal(lo) {
				t.Fatalf("parseWhen(%q) = %v, written %q reads %v, %v", s, lo, text, again, err)
			}
		}
	})
}

// FuzzParseByteSize checks --memory-limit and the other size flags: what it
// accepts is non-negative and reads back from its own String; a plain
// number reads as strconv does.
func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"0", "900MiB", "1GiB", "512MB", "65536", " 2 GiB ", "1.5GiB", "-1", "MiB", "8589934592GiB", "9223372036854775807", "1024KiB", "10B", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseByteSize(s)
		if err != nil {
			if v != 0 {
				t.Fatalf("parseByteSize(%q) = %d with error %v", s, v, err)
			}
			return
		}
		if v < 0 {
			t.Fatalf("parseByteSize(%q) = %d: negative", s, v)
		}
		b := byteSize(v)
		if again, err := parseByteSize(b.String()); err != nil || again != v {
			t.Fatalf("parseByteSize(%q) = %d, but its String %q reads %d, %v", s, v, b.String(), again, err)
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n != v {
			t.Fatalf("parseByteSize(%q) = %d, strconv reads %d", s, v, n)
		}
	})
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		str  string
	}{
		{"900MiB", 900 << 20, "900MiB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"1024MiB", 1 << 30, "1GiB"},
		{"512MB", 512e6, "512000000"},
		{"1000", 1000, "1000"},
		{"0", 0, "0"},
		{" 2 GiB ", 2 << 30, "2GiB"},
	} {
		var b byteSize
		if err := b.Set(tc.in); err != nil || int64(b) != tc.want || b.String() != tc.str {
			t.Errorf("Set(%q) = %d (%s), %v; want %d (%s)", tc.in, int64(b), b.String(), err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "-1", "1.5GiB", "GiB", "9223372036854775807KiB", "1 PiB"} {
		var b byteSize
		if err := b.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted: %d", bad, int64(b))
		}
	}
}

// FuzzCgroupMemoryLimit: any /proc/self/cgroup text and limit file gives a
// limit of zero or more, or an error, and never panics.
func FuzzCgroupMemoryLimit(f *testing.F) {
	f.Add("0::/a\n", "1073741824\n")
	f.Add("4:memory:/a/b\n0::/\n", "max")
	f.Add("5:cpu,memory:/\n", "9223372036854771712")
	f.Add(":::\n0::../../x", "-1")
	f.Fuzz(func(t *testing.T, proc, limit string) {
		root := writeTree(t, map[string]string{"memory.max": limit, "memory/memory.limit_in_bytes": limit})
		n, err := cgroupMemoryLimit(proc, root)
		if err == nil && n < 0 {
			t.Errorf("limit %d", n)
		}
	})
}
