package lookup

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse accepts only configs that keep Validate's
// promises (positive interval, window and rate; a non-negative overlap;
// distinct region names) and that an accepted config written back as a
// source URL parses to the same config.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"cloudtrail://us-east-1",
		"cloudtrail://us-east-1,eu-west-1/",
		"cloudtrail://us-east-1?endpoint=http://127.0.0.1:1234&start=2024-01-01T00:00:00Z&interval=1m&overlap=15m&rate=2&window=2h",
		"cloudtrail://eu-west-1?rate=0.5&overlap=0s&start=2024-01-01T10:00:00.5%2B02:00",
		"cloudtrail://us-east-1?regoin=x&bucket=y", "cloudtrail://", "cloudtrail://US_EAST",
		"cloudtrail://us-east-1,us-east-1", "s3://us-east-1", "cloudtrail://us-east-1/x",
		"cloudtrail://us-east-1?rate=0", "cloudtrail://us-east-1?rate=1e309", "cloudtrail://us-east-1?overlap=-1s",
		"cloudtrail://u@us-east-1", "cloudtrail://us-east-1#f", "cloudtrail://us-gov-west-1?start=yesterday",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Parse(raw)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted an invalid config: %v", raw, err)
		}
		// Validate's words, checked directly: "rate must be positive"
		// rules out NaN as well.
		if !(c.Rate > 0) || c.Interval <= 0 || c.Window <= 0 || c.Overlap < 0 || len(c.Regions) == 0 {
			t.Fatalf("Parse(%q) = %+v", raw, c)
		}
		q := url.Values{}
		q.Set("endpoint", c.Endpoint)
		if !c.Start.IsZero() {
			q.Set("start", c.Start.Format(time.RFC3339Nano))
		}
		q.Set("interval", c.Interval.String())
		q.Set("overlap", c.Overlap.String())
		q.Set("window", c.Window.String())
		q.Set("rate", strconv.FormatFloat(c.Rate, 'g', -1, 64))
		text := Scheme + "://" + strings.Join(c.Regions, ",") + "?" + q.Encode()
		again, err := Parse(text)
		if err != nil || !again.Start.Equal(c.Start) {
			t.Fatalf("Parse(%q) = %+v\nwritten back as %q parses to %+v, %v", raw, c, text, again, err)
		}
		again.Start = c.Start // same instant; the zone is compared by Equal
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("Parse(%q) = %+v\nwritten back as %q parses to %+v", raw, c, text, again)
		}
	})
}
