package lookup

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	def := DefaultConfig()
	for _, tc := range []struct {
		name    string
		raw     string
		want    func(c *Config)
		wantErr string
	}{
		{name: "one region", raw: "cloudtrail://us-east-1", want: func(c *Config) { c.Regions = []string{"us-east-1"} }},
		{name: "several regions", raw: "cloudtrail://us-east-1,eu-west-1", want: func(c *Config) { c.Regions = []string{"us-east-1", "eu-west-1"} }},
		{
			name: "every parameter",
			raw:  "cloudtrail://us-east-1?endpoint=http://127.0.0.1:1234&start=2024-01-01T00:00:00Z&interval=1m&overlap=15m&rate=2&window=2h",
			want: func(c *Config) {
				c.Regions = []string{"us-east-1"}
				c.Endpoint = "http://127.0.0.1:1234"
				c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
				c.Interval = time.Minute
				c.Overlap = 15 * time.Minute
				c.Rate = 2
				c.Window = 2 * time.Hour
			},
		},
		{name: "fractional rate", raw: "cloudtrail://eu-west-1?rate=0.5", want: func(c *Config) { c.Regions = []string{"eu-west-1"}; c.Rate = 0.5 }},
		{name: "zero overlap", raw: "cloudtrail://eu-west-1?overlap=0s", want: func(c *Config) { c.Regions = []string{"eu-west-1"}; c.Overlap = 0 }},
		{name: "unknown parameters named", raw: "cloudtrail://us-east-1?regoin=x&bucket=y", wantErr: "unknown parameters bucket, regoin"},
		{name: "no region", raw: "cloudtrail://", wantErr: "at least one region"},
		{name: "bad region", raw: "cloudtrail://US_EAST", wantErr: "not a region name"},
		{name: "region twice", raw: "cloudtrail://us-east-1,us-east-1", wantErr: "listed twice"},
		{name: "wrong scheme", raw: "s3://us-east-1", wantErr: "scheme must be cloudtrail://"},
		{name: "path", raw: "cloudtrail://us-east-1/x", wantErr: "want cloudtrail://region"},
		{name: "bad start", raw: "cloudtrail://us-east-1?start=yesterday", wantErr: "parameter start"},
		{name: "bad interval", raw: "cloudtrail://us-east-1?interval=5", wantErr: "parameter interval"},
		{name: "negative interval", raw: "cloudtrail://us-east-1?interval=-1s", wantErr: "interval must be positive"},
		{name: "zero rate", raw: "cloudtrail://us-east-1?rate=0", wantErr: "rate must be positive"},
		{name: "bad endpoint", raw: "cloudtrail://us-east-1?endpoint=127.0.0.1:1234", wantErr: "not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.raw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error %v, want one containing %q", tc.raw, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.raw, err)
			}
			want := def
			tc.want(&want)
			if !equalConfig(got, want) {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.raw, got, want)
			}
		})
	}
}

func equalConfig(a, b Config) bool {
	if strings.Join(a.Regions, ",") != strings.Join(b.Regions, ",") {
		return false
	}
	a.Regions, b.Regions = nil, nil
	return a.Start.Equal(b.Start) && a.Endpoint == b.Endpoint && a.Interval == b.Interval &&
		a.Overlap == b.Overlap && a.Window == b.Window && a.Rate == b.Rate && a.PageSize == b.PageSize &&
		a.Backoff == b.Backoff && a.MaxBackoff == b.MaxBackoff && a.Retries == b.Retries && a.HTTPClient == b.HTTPClient
}
