package catalyst

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     string
		want    func(c *Config)
		wantErr string
	}{
		{name: "space only", raw: "codecatalyst://my-space", want: func(c *Config) {}},
		{
			name: "every parameter",
			raw:  "codecatalyst://my-space?endpoint=https://127.0.0.1:4443&start=2024-01-01T00:00:00Z&interval=1m&window=1h&overlap=5m&rate=1.5&token_file=/run/secrets/cc-token",
			want: func(c *Config) {
				c.Endpoint = "https://127.0.0.1:4443"
				c.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
				c.Interval = time.Minute
				c.Window = time.Hour
				c.Overlap = 5 * time.Minute
				c.Rate = 1.5
				c.TokenFile = "/run/secrets/cc-token"
			},
		},
		{name: "space with dots and underscores", raw: "codecatalyst://Example_Corp.dev", want: func(c *Config) { c.Space = "Example_Corp.dev" }},
		{name: "unknown parameters named", raw: "codecatalyst://my-space?token=abc&region=us-west-2", wantErr: "unknown parameters region, token"},
		{name: "no space", raw: "codecatalyst://?window=1h", wantErr: "space name is required"},
		{name: "plain http endpoint", raw: "codecatalyst://my-space?endpoint=http://127.0.0.1:4443", wantErr: "not an https URL"},
		{name: "wrong scheme", raw: "cloudtrail://my-space", wantErr: "scheme must be codecatalyst://"},
		{name: "path", raw: "codecatalyst://my-space/projects", wantErr: "want codecatalyst://space"},
		{name: "port", raw: "codecatalyst://my-space:443", wantErr: "want codecatalyst://space"},
		{name: "bad window", raw: "codecatalyst://my-space?window=hour", wantErr: "parameter window"},
		{name: "zero window", raw: "codecatalyst://my-space?window=0s", wantErr: "window must be positive"},
		{name: "bad start", raw: "codecatalyst://my-space?start=2024-01-01", wantErr: "parameter start"},
		{name: "negative overlap", raw: "codecatalyst://my-space?overlap=-1m", wantErr: "overlap must not be negative"},
		{name: "bad rate", raw: "codecatalyst://my-space?rate=fast", wantErr: "parameter rate"},
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
			want := DefaultConfig()
			want.Space = "my-space"
			tc.want(&want)
			if !got.Start.Equal(want.Start) {
				t.Fatalf("start %s, want %s", got.Start, want.Start)
			}
			got.Start, want.Start = time.Time{}, time.Time{}
			if got != want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.raw, got, want)
			}
		})
	}
}
