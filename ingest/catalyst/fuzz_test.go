package catalyst

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that Parse accepts only configs that keep Validate's
// promises (a space name that needs no escaping, an https endpoint,
// positive interval, window and rate, a non-negative overlap) and that an
// accepted config written back as a source URL parses to the same config.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"codecatalyst://my-space",
		"codecatalyst://my-space/",
		"codecatalyst://my-space?endpoint=https://127.0.0.1:8443&token_file=/run/secrets/cc%20token&start=2024-01-01T00:00:00Z&interval=1m&window=1h&overlap=15m&rate=5",
		"codecatalyst://my-space?start=2024-01-01T10:00:00.5%2B02:00&overlap=0s&rate=0.25",
		"codecatalyst://my-space?endpoint=http://127.0.0.1:8080", "codecatalyst://my-space?regoin=x",
		"codecatalyst://", "codecatalyst://my-space:443", "codecatalyst://u@my-space", "codecatalyst://my-space/x",
		"codecatalyst://my-space#f", "codecatalyst://my%25space", "codecatalyst://[::1]", "codecatalyst://%C3%A9",
		"codecatalyst://my-space?rate=-1", "codecatalyst://my-space?window=0s", "cloudtrail://my-space",
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
		if !(c.Rate > 0) || c.Interval <= 0 || c.Window <= 0 || c.Overlap < 0 ||
			c.Space == "" || strings.ContainsAny(c.Space, "/?#% ") {
			t.Fatalf("Parse(%q) = %+v", raw, c)
		}
		q := url.Values{}
		q.Set("endpoint", c.Endpoint)
		q.Set("token_file", c.TokenFile)
		if !c.Start.IsZero() {
			q.Set("start", c.Start.Format(time.RFC3339Nano))
		}
		q.Set("interval", c.Interval.String())
		q.Set("window", c.Window.String())
		q.Set("overlap", c.Overlap.String())
		q.Set("rate", strconv.FormatFloat(c.Rate, 'g', -1, 64))
		// url.URL escapes the space name as a host; Parse's Hostname()
		// gives an IPv6 literal without its brackets, so put them back.
		host := c.Space
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		text := (&url.URL{Scheme: Scheme, Host: host, RawQuery: q.Encode()}).String()
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
