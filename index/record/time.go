package record

import (
	"strconv"
	"strings"
	"time"
)

// timeLayouts are tried in order on string times. time.Parse accepts a
// fractional second after the seconds even when the layout has none, so each
// layout also covers its fractional form. Layouts without a zone are UTC.
var timeLayouts = [...]string{
	time.RFC3339Nano, // 2023-07-10T11:42:36Z, 2023-07-10T11:42:36.123+02:00
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04:05Z07:00",
}

// epochMillisFrom is the smallest JSON number read as epoch milliseconds:
// 1e11 seconds is in the year 5138, 1e11 milliseconds is in 1973.
const epochMillisFrom = 1e11

// maxEpochMillis is 9999-12-31T23:59:59.999Z, the last instant RFC 3339
// (and so the index and JSON output) can write.
const maxEpochMillis = 253402300799999

// parseTime reads an event time written as a string in one of timeLayouts
// or as a JSON number of epoch seconds or milliseconds. The result is UTC.
func parseTime(s string, isString bool) (time.Time, bool) {
	if !isString {
		return parseEpoch(s)
	}
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			if y := t.Year(); y < 1 || y > 9999 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

func parseEpoch(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		switch {
		case n < 0:
			return time.Time{}, false
		case n < epochMillisFrom:
			return time.Unix(n, 0).UTC(), true
		case n <= maxEpochMillis:
			return time.UnixMilli(n).UTC(), true
		}
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0) { // also rejects NaN
		return time.Time{}, false
	}
	if f >= epochMillisFrom {
		f /= 1000
	}
	if f > maxEpochMillis/1000 {
		return time.Time{}, false
	}
	sec := int64(f)
	// Round to microseconds: float64 carries about 16 digits, so finer
	// digits of an epoch time are noise.
	us := int64((f-float64(sec))*1e6 + 0.5)
	return time.Unix(sec, us*1000).UTC(), true
}
