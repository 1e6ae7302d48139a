package s3src

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse accepts only valid configs, that a config it
// accepts is written back as a source URL (format) that parses to the same
// config, and that a name() is the bucket and prefix it was parsed from.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"s3://trail/logs",
		"s3://trail",
		"s3://trail/a/b/",
		"s3://trail/logs?endpoint=http://127.0.0.1:9000&path_style=true&accounts=111122223333,444455556666&regions=us-east-1&start=2024-01-01&interval=1m&parallel=8&region=us-east-1&integrity=false",
		"s3://trail/logs?accounts=+111122223333+,,&regions=eu-west-1,ap-southeast-2",
		"s3://trail/logs?parallel=0", "s3://trail/logs?interval=-1s", "s3://trail/logs?start=2024-02-30",
		"s3://trail/logs?bogus=1&paralel=2", "s3://trail/logs?endpoint=127.0.0.1:9000", "s3:///logs",
		"s3://trail/a%2Fb%3Fc", "s3://b:9000/p?x;y", "http://trail/logs", "s3://trail/logs?parallel=1&parallel=2",
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
		if c.Bucket == "" || strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") ||
			c.Interval <= 0 || c.Parallel < 1 || !c.Start.IsZero() && c.Start.Location() != time.UTC {
			t.Fatalf("Parse(%q) = %+v", raw, c)
		}
		if !strings.HasPrefix(c.logsPrefix(), c.Prefix) || !strings.HasSuffix(c.logsPrefix(), "AWSLogs/") {
			t.Fatalf("Parse(%q): logs prefix %q", raw, c.logsPrefix())
		}
		text := format(c)
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, written back as %q: %v", raw, c, text, err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("Parse(%q) = %+v\nwritten back as %q parses to %+v", raw, c, text, again)
		}
	})
}

// format writes c as the source URL Parse reads, every parameter spelled
// out. Config has no such method; this is the test's own.
func format(c Config) string {
	u := url.URL{Scheme: "s3", Host: c.Bucket, Path: "/" + c.Prefix}
	q := url.Values{}
	q.Set("endpoint", c.Endpoint)
	q.Set("path_style", strconv.FormatBool(c.PathStyle))
	q.Set("region", c.Region)
	q.Set("accounts", strings.Join(c.Accounts, ","))
	q.Set("regions", strings.Join(c.Regions, ","))
	if !c.Start.IsZero() {
		q.Set("start", c.Start.Format(time.DateOnly))
	}
	q.Set("interval", c.Interval.String())
	q.Set("parallel", strconv.Itoa(c.Parallel))
	q.Set("integrity", strconv.FormatBool(c.Integrity))
	u.RawQuery = q.Encode()
	return u.String()
}
