package sqssrc

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse returns a valid Config or the zero Config with
// an error, and that an accepted config written back with its queue URL
// after sqs:// (the form the console prints) parses to the same config.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"sqs://127.0.0.1:4566/000000000000/trail-notices?endpoint=http://127.0.0.1:4566&s3_endpoint=http://127.0.0.1:9000&path_style=true&region=us-east-1&visibility=60s&wait=20s&parallel=4",
		"sqs://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices",
		"sqs://https://sqs.eu-west-1.amazonaws.com/123456789012/trail-notices?parallel=2",
		"sqs://http://127.0.0.1:4566/000000000000/q",
		"sqs://q.example/1/q?endpoint=HTTPS://vpce.example&wait=0s",
		"sqs://h/%41/q%2Fx", "sqs://[::1]:4566/0/q", "sqs://h/1/q?bogus=1&also=2", "sqs://h",
		"sqs://h/1/q?visibility=1500ms", "sqs://h/1/q?wait=21s", "sqs://h/1/q?parallel=0",
		"sqs://h/1/q?endpoint=localhost:4566", "sqs:h/1/q", "SQS://https://h/1/q", "s3://h/1/q",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Parse(raw)
		if err != nil {
			if c != (Config{}) {
				t.Fatalf("Parse(%q) = %+v with error %v", raw, c, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted an invalid config: %v", raw, err)
		}
		if !strings.HasPrefix(c.QueueURL, "http://") && !strings.HasPrefix(c.QueueURL, "https://") {
			t.Fatalf("Parse(%q): queue URL %q", raw, c.QueueURL)
		}
		q := url.Values{}
		q.Set("endpoint", c.Endpoint)
		q.Set("s3_endpoint", c.S3Endpoint)
		q.Set("path_style", strconv.FormatBool(c.PathStyle))
		q.Set("region", c.Region)
		q.Set("visibility", c.Visibility.String())
		q.Set("wait", c.Wait.String())
		q.Set("parallel", strconv.Itoa(c.Parallel))
		text := "sqs://" + c.QueueURL + "?" + q.Encode()
		again, err := Parse(text)
		if err != nil || again != c {
			t.Fatalf("Parse(%q) = %+v\nwritten back as %q parses to %+v, %v", raw, c, text, again, err)
		}
	})
}
