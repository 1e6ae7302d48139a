package catalyst

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
const Scheme = "codecatalyst"

// TokenEnv is the environment variable holding a CodeCatalyst bearer token
// (a personal access token).
const TokenEnv = "AWS_BEARER_TOKEN_CODECATALYST"

// Defaults, see Config.
const (
	// DefaultInterval is the pause between polls.
	DefaultInterval = time.Minute
	// DefaultWindow bounds one ListEventLogs time window, so a first read of
	// 30 days checkpoints its progress every hour of log.
	DefaultWindow = time.Hour
	// DefaultOverlap is re-read before the checkpoint on every poll, for
	// entries that show up after later ones.
	DefaultOverlap = 15 * time.Minute
	// DefaultRate is the requests per second. ListEventLogs has no published
	// quota; this is modest, and throttling is backed off anyway.
	DefaultRate = 5.0
	// DefaultHistory is how far back a space without a start time or
	// checkpoint is read: ListEventLogs guarantees the last 30 days.
	DefaultHistory = 30 * 24 * time.Hour
	// DefaultPageSize is maxResults; MaxPageSize is the API's largest.
	DefaultPageSize = 100
	MaxPageSize     = 250
	// defaultRegion is the region CodeCatalyst's global endpoint signs and
	// resolves with; the API lives in us-west-2.
	defaultRegion = "us-west-2"
)

// Config configures a Source.
type Config struct {
	// Space is the CodeCatalyst space name.
	Space string
	// Endpoint overrides the SDK's base endpoint. It must be https: the SDK
	// refuses to send a bearer token over plain HTTP.
	Endpoint string
	// TokenFile, if set, holds the bearer token (surrounding white space is
	// ignored); it is read on every request.
	TokenFile string
	// Start is where a space without a checkpoint begins; zero means
	// DefaultHistory before the first poll. It also bounds the overlap.
	Start time.Time
	// Interval is the pause between polls.
	Interval time.Duration
	// Window is the longest time span of one ListEventLogs query.
	Window time.Duration
	// Overlap is re-read before the checkpoint on every poll.
	Overlap time.Duration
	// Rate is the requests per second allowed (burst 1).
	Rate float64
	// PageSize is maxResults, 1 to MaxPageSize.
	PageSize int
	// Backoff is the first retry delay after a throttled or failed request;
	// it doubles per attempt up to MaxBackoff, with jitter.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Retries is how many times one request is retried before the window is
	// given up until the next poll.
	Retries int
	// HTTPClient, if set, sends the requests (custom transport or CA pool,
	// tests).
	HTTPClient *http.Client
}

// DefaultConfig returns the defaults, without a space.
func DefaultConfig() Config {
	return Config{
		Interval:   DefaultInterval,
		Window:     DefaultWindow,
		Overlap:    DefaultOverlap,
		Rate:       DefaultRate,
		PageSize:   DefaultPageSize,
		Backoff:    time.Second,
		MaxBackoff: time.Minute,
		Retries:    10,
	}
}

// spaceName is what a CodeCatalyst space may be called (and so what fits a
// URL host).
var spaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate reports the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Space == "":
		return errors.New("catalyst: space name is required")
	case !spaceName.MatchString(c.Space):
		return fmt.Errorf("catalyst: %q is not a space name (letters, digits, '.', '_' and '-')", c.Space)
	case c.Endpoint != "" && !validEndpoint(c.Endpoint):
		return fmt.Errorf("catalyst: endpoint %q is not an https URL", c.Endpoint)
	case c.Interval <= 0:
		return errors.New("catalyst: interval must be positive")
	case c.Window <= 0:
		return errors.New("catalyst: window must be positive")
	case c.Overlap < 0:
		return errors.New("catalyst: overlap must not be negative")
	case !(c.Rate > 0) || math.IsInf(c.Rate, 1): // NaN and +Inf would mean no limit at all
		return errors.New("catalyst: rate must be positive (and finite)")
	case c.PageSize < 1 || c.PageSize > MaxPageSize:
		return fmt.Errorf("catalyst: page size must be between 1 and %d", MaxPageSize)
	case c.Backoff <= 0 || c.MaxBackoff < c.Backoff:
		return errors.New("catalyst: backoff must be positive and at most max backoff")
	case c.Retries < 0:
		return errors.New("catalyst: retries must not be negative")
	}
	return nil
}

func validEndpoint(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}

// Parse reads a source URL into DefaultConfig:
//
//	codecatalyst://my-space?endpoint=URL&token_file=PATH&start=RFC3339&interval=1m&window=1h&overlap=15m&rate=5
//
// Unknown parameters are an error naming them.
func Parse(raw string) (Config, error) {
	c := DefaultConfig()
	u, err := url.Parse(raw)
	if err != nil {
		return c, fmt.Errorf("catalyst: parse %q: %w", raw, err)
	}
	if u.Scheme != Scheme {
		return c, fmt.Errorf("catalyst: %q: scheme must be %s://", raw, Scheme)
	}
	if u.User != nil || u.Port() != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return c, fmt.Errorf("catalyst: %q: want %s://space?params", raw, Scheme)
	}
	c.Space = u.Hostname()
	var unknown []string
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "endpoint":
			c.Endpoint = v
		case "token_file":
			c.TokenFile = v
		case "start":
			c.Start, err = time.Parse(time.RFC3339, v)
		case "interval":
			c.Interval, err = time.ParseDuration(v)
		case "window":
			c.Window, err = time.ParseDuration(v)
		case "overlap":
			c.Overlap, err = time.ParseDuration(v)
		case "rate":
			c.Rate, err = strconv.ParseFloat(v, 64)
		default:
			unknown = append(unknown, k)
			continue
		}
		if err != nil {
			return c, fmt.Errorf("catalyst: %q: parameter %s: %w", raw, k, err)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return c, fmt.Errorf("catalyst: %q: unknown parameters %s (known: endpoint, token_file, start, interval, window, overlap, rate)", raw, strings.Join(unknown, ", "))
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
