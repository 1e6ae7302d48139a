package lookup

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scheme is the URL scheme of the source.
const Scheme = "cloudtrail"

// Defaults, see Config.
const (
	// DefaultInterval is the pause between polls. Event History lags by
	// minutes anyway, so polling more often buys little.
	DefaultInterval = time.Minute
	// DefaultOverlap is re-read before the checkpoint on every poll. AWS
	// states events usually show in Event History within 5 minutes and
	// occasionally later; 15 minutes catches the stragglers seen in practice.
	DefaultOverlap = 15 * time.Minute
	// DefaultWindow bounds one LookupEvents time window, so a first poll over
	// 90 days checkpoints its progress every window rather than only at the
	// end.
	DefaultWindow = 6 * time.Hour
	// DefaultRate is LookupEvents' quota: 2 requests per second per account
	// and region.
	DefaultRate = 2.0
	// DefaultHistory is how far back a source starts without a start time
	// or checkpoint: Event History keeps 90 days.
	DefaultHistory = 90 * 24 * time.Hour
	// MaxPageSize is LookupEvents' largest MaxResults.
	MaxPageSize = 50
)

// Config configures a Source.
type Config struct {
	// Regions are polled each on its own, with its own rate limit and
	// checkpoint.
	Regions []string
	// Endpoint overrides the SDK's base endpoint (tests, VPC endpoints).
	Endpoint string
	// Start is where a region without a checkpoint begins; zero means
	// DefaultHistory before the first poll. It also bounds the overlap.
	Start time.Time
	// Interval is the pause between polls of a region.
	Interval time.Duration
	// Overlap is re-read before the checkpoint on every poll.
	Overlap time.Duration
	// Window is the longest time span of one LookupEvents query.
	Window time.Duration
	// Rate is the requests per second allowed per region (burst 1).
	Rate float64
	// PageSize is MaxResults, 1 to MaxPageSize.
	PageSize int
	// Backoff is the first retry delay after a throttled or failed request;
	// it doubles per attempt up to MaxBackoff, with full jitter.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Retries is how many times one request is retried before the window is
	// given up until the next poll.
	Retries int
	// HTTPClient, if set, sends the requests (custom transport, tests).
	HTTPClient *http.Client
}

// DefaultConfig returns the defaults, without regions.
func DefaultConfig() Config {
	return Config{
		Interval:   DefaultInterval,
		Overlap:    DefaultOverlap,
		Window:     DefaultWindow,
		Rate:       DefaultRate,
		PageSize:   MaxPageSize,
		Backoff:    time.Second,
		MaxBackoff: time.Minute,
		Retries:    10,
	}
}

var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if len(c.Regions) == 0 {
		return errors.New("lookup: at least one region is required")
	}
	seen := map[string]bool{}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			return fmt.Errorf("lookup: %q is not a region name", r)
		}
		if seen[r] {
			return fmt.Errorf("lookup: region %s listed twice", r)
		}
		seen[r] = true
	}
	switch {
	case c.Endpoint != "" && !validEndpoint(c.Endpoint):
		return fmt.Errorf("lookup: endpoint %q is not an http(s) URL", c.Endpoint)
	case c.Interval <= 0:
		return errors.New("lookup: interval must be positive")
	case c.Overlap < 0:
		return errors.New("lookup: overlap must not be negative")
	case c.Window <= 0:
		return errors.New("lookup: window must be positive")
	case !(c.Rate > 0) || math.IsInf(c.Rate, 1): // NaN and +Inf would mean no limit at all
		return errors.New("lookup: rate must be positive (and finite)")
	case c.PageSize < 1 || c.PageSize > MaxPageSize:
		return fmt.Errorf("lookup: page size must be between 1 and %d", MaxPageSize)
	case c.Backoff <= 0 || c.MaxBackoff < c.Backoff:
		return errors.New("lookup: backoff must be positive and at most max backoff")
	case c.Retries < 0:
		return errors.New("lookup: retries must not be negative")
	}
	return nil
}

func validEndpoint(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Parse reads a source URL into DefaultConfig:
//
//	cloudtrail://us-east-1,eu-west-1?endpoint=URL&start=RFC3339&interval=1m&overlap=15m&window=6h&rate=2
//
// Unknown parameters are an error naming them.
func Parse(raw string) (Config, error) {
	c := DefaultConfig()
	u, err := url.Parse(raw)
	if err != nil {
		return c, fmt.Errorf("lookup: parse %q: %w", raw, err)
	}
	if u.Scheme != Scheme {
		return c, fmt.Errorf("lookup: %q: scheme must be %s://", raw, Scheme)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return c, fmt.Errorf("lookup: %q: want %s://region[,region...]?params", raw, Scheme)
	}
	if u.Host != "" {
		c.Regions = strings.Split(u.Host, ",")
	}
	q := u.Query()
	var unknown []string
	for k, vs := range q {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "endpoint":
			c.Endpoint = v
		case "start":
			c.Start, err = time.Parse(time.RFC3339, v)
		case "interval":
			c.Interval, err = time.ParseDuration(v)
		case "overlap":
			c.Overlap, err = time.ParseDuration(v)
		case "window":
			c.Window, err = time.ParseDuration(v)
		case "rate":
			c.Rate, err = strconv.ParseFloat(v, 64)
		default:
			unknown = append(unknown, k)
			continue
		}
		if err != nil {
			return c, fmt.Errorf("lookup: %q: parameter %s: %w", raw, k, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return c, fmt.Errorf("lookup: %q: unknown parameters %s (known: endpoint, start, interval, overlap, window, rate)", raw, strings.Join(unknown, ", "))
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
