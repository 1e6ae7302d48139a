package s3src

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		c.Bucket, c.Prefix = "trail", "logs"
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name    string
		raw     string
		want    Config
		wantErr string
	}{
		{name: "bucket and prefix", raw: "s3://trail/logs", want: with(func(*Config) {})},
		{name: "trailing slash", raw: "s3://trail/logs/", want: with(func(*Config) {})},
		{name: "nested prefix", raw: "s3://trail/a/b", want: with(func(c *Config) { c.Prefix = "a/b" })},
		{name: "bucket root", raw: "s3://trail", want: with(func(c *Config) { c.Prefix = "" })},
		{
			name: "every parameter",
			raw:  "s3://trail/logs?endpoint=http://127.0.0.1:9000&path_style=true&accounts=111122223333,444455556666&regions=us-east-1&start=2024-01-01&interval=1m&parallel=8&region=us-east-1",
			want: with(func(c *Config) {
				c.Endpoint, c.PathStyle, c.Region = "http://127.0.0.1:9000", true, "us-east-1"
				c.Accounts, c.Regions = []string{"111122223333", "444455556666"}, []string{"us-east-1"}
				c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
				c.Interval, c.Parallel = time.Minute, 8
			}),
		},
		{name: "parallel", raw: "s3://trail/logs?parallel=32&interval=10s", want: with(func(c *Config) { c.Parallel, c.Interval = 32, 10*time.Second })},
		{name: "integrity off", raw: "s3://trail/logs?integrity=false", want: with(func(c *Config) { c.Integrity = false })},
		{name: "bad integrity", raw: "s3://trail/logs?integrity=sometimes", wantErr: `integrity "sometimes" is not a boolean`},
		{name: "unknown parameters", raw: "s3://trail/logs?bogus=1&paralel=2", wantErr: "unknown parameters bogus, paralel"},
		{name: "not s3", raw: "http://trail/logs", wantErr: "not an s3:// URL"},
		{name: "no bucket", raw: "s3:///logs", wantErr: "bucket must be set"},
		{name: "bad account", raw: "s3://trail/logs?accounts=12345", wantErr: `account "12345"`},
		{name: "bad region", raw: "s3://trail/logs?regions=mars", wantErr: `region "mars"`},
		{name: "bad start", raw: "s3://trail/logs?start=yesterday", wantErr: "start \"yesterday\" is not a date"},
		{name: "bad interval", raw: "s3://trail/logs?interval=soon", wantErr: "interval \"soon\""},
		{name: "zero interval", raw: "s3://trail/logs?interval=0s", wantErr: "interval must be positive"},
		{name: "bad parallel", raw: "s3://trail/logs?parallel=0", wantErr: "parallel must be between"},
		{name: "bad path style", raw: "s3://trail/logs?path_style=maybe", wantErr: "path_style"},
		{name: "bad endpoint", raw: "s3://trail/logs?endpoint=127.0.0.1:9000", wantErr: "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.raw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error %v, want %q", tc.raw, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.raw, got, tc.want)
			}
		})
	}
}

func TestName(t *testing.T) {
	for raw, want := range map[string]string{"s3://trail/logs/": "s3://trail/logs", "s3://trail": "s3://trail"} {
		c, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if c.name() != want {
			t.Errorf("%s: name %q, want %q", raw, c.name(), want)
		}
	}
}

func TestListFrom(t *testing.T) {
	p := "logs/AWSLogs/111122223333/CloudTrail/us-east-1/"
	s := &Source{cfg: DefaultConfig()}
	st := &stream{prefix: p, kind: kindTrail}
	if got := s.listFrom(st); got != "" {
		t.Errorf("no watermark, no start: %q", got)
	}
	st.after = p + "2026/11/01/111122223333_CloudTrail_us-east-1_20261101T0005Z_x.json.gz"
	if got, want := s.listFrom(st), p+"2026/10/31/"; got != want {
		t.Errorf("trailing window: %q, want %q", got, want)
	}
	s.cfg.Start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if got, want := s.listFrom(st), p+"2026/11/01/"; got != want {
		t.Errorf("start bounds the window: %q, want %q", got, want)
	}
}
