package s3src

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/codetrail/codetrail/ingest/integrity"
)

// Defaults of Config.
const (
	// DefaultInterval is how often the bucket is polled for new files.
	// CloudTrail delivers about every 5 minutes per account and region.
	DefaultInterval = time.Minute
	// DefaultParallel is how many objects are downloaded at once. Trail
	// files are small, so latency, not bandwidth, is what parallelism hides.
	DefaultParallel = 8
	// DefaultMaxObjectBytes bounds one compressed object held in memory.
	// Real trail files are a few MB; the decoder bounds the decompressed size.
	DefaultMaxObjectBytes = 256 << 20
	// DefaultTrailingDays is how many day folders behind the watermark are
	// re-listed each poll (the watermark's day and the one before) to catch
	// files CloudTrail delivers late or out of order.
	DefaultTrailingDays = 2
	// DefaultInFlightBytes bounds the compressed bytes of all objects
	// downloaded and not yet stored, across streams.
	DefaultInFlightBytes = 512 << 20
	// DefaultAttempts is how many times one request is tried.
	DefaultAttempts = 5
	// DefaultMaxKeyFailures is how many polls in a row one object may fail
	// with a transient error before it is reported and skipped, so that one
	// broken object cannot hold its stream back forever.
	DefaultMaxKeyFailures = 5
)

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	orgRE     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

// Config configures a Source.
type Config struct {
	// Bucket and Prefix locate the trail: objects live under
	// Prefix/AWSLogs/. Prefix has no leading or trailing slash; empty
	// means the bucket root.
	Bucket string
	Prefix string
	// Endpoint overrides the S3 endpoint (an S3-compatible store, a test
	// fake). Empty leaves it to the SDK (AWS_ENDPOINT_URL_S3 and the like).
	Endpoint string
	// PathStyle addresses the bucket in the path instead of the host name.
	PathStyle bool
	// Region is the bucket's region for the client; empty leaves it to the
	// SDK's chain (AWS_REGION, the profile), then us-east-1.
	Region string
	// Accounts and Regions, when not empty, limit the walk to these account
	// ids and regions.
	Accounts []string
	Regions  []string
	// Start, when not zero, skips day folders before its day (UTC).
	Start time.Time
	// Interval is the time between polls.
	Interval time.Duration
	// Parallel bounds concurrent downloads (and streams in work).
	Parallel int
	// MaxObjectBytes bounds one compressed object; bigger ones are reported
	// and skipped.
	MaxObjectBytes int64
	// InFlightBytes bounds the bytes of objects downloaded and not yet
	// stored (at least MaxObjectBytes).
	InFlightBytes int64
	// TrailingDays is how many day folders up to the watermark's are
	// re-listed each poll.
	TrailingDays int
	// Attempts is how many times a request is tried on throttling, 5xx and
	// network errors; MaxBackoff caps the exponential, jittered wait between
	// tries (tests shrink it).
	Attempts   int
	MaxBackoff time.Duration
	// MaxKeyFailures is how many polls an object may fail transiently
	// before it is reported and skipped.
	MaxKeyFailures int
	// Integrity checks the trail's digest files after each poll: every log
	// file listed was stored with the recorded SHA-256, the previousDigest
	// chain holds, the signatures verify (see package integrity).
	Integrity bool
	// Keys gives the digest signing keys; nil asks CloudTrail
	// ListPublicKeys in each digest's region.
	Keys integrity.PublicKeys
}

// DefaultConfig returns the defaults, without a bucket.
func DefaultConfig() Config {
	return Config{
		Interval:       DefaultInterval,
		Parallel:       DefaultParallel,
		MaxObjectBytes: DefaultMaxObjectBytes,
		InFlightBytes:  DefaultInFlightBytes,
		TrailingDays:   DefaultTrailingDays,
		Attempts:       DefaultAttempts,
		MaxBackoff:     20 * time.Second,
		MaxKeyFailures: DefaultMaxKeyFailures,
		Integrity:      true,
	}
}

// Validate reports the first bad setting in plain words.
func (c Config) Validate() error {
	switch {
	case c.Bucket == "":
		return errors.New("s3: bucket must be set")
	case strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/"):
		return fmt.Errorf("s3: prefix %q must not start or end with a slash", c.Prefix)
	case c.Interval <= 0:
		return errors.New("s3: interval must be positive")
	case c.Parallel < 1 || c.Parallel > 1024:
		return fmt.Errorf("s3: parallel must be between 1 and 1024, got %d", c.Parallel)
	case c.MaxObjectBytes < 1:
		return errors.New("s3: max object bytes must be positive")
	case c.InFlightBytes < c.MaxObjectBytes:
		return errors.New("s3: in-flight bytes must be at least max object bytes")
	case c.TrailingDays < 1:
		return errors.New("s3: trailing days must be at least 1")
	case c.Attempts < 1:
		return errors.New("s3: attempts must be at least 1")
	case c.MaxBackoff <= 0:
		return errors.New("s3: max backoff must be positive")
	case c.MaxKeyFailures < 1:
		return errors.New("s3: max key failures must be at least 1")
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("s3: endpoint %q is not an http or https URL", c.Endpoint)
		}
	}
	for _, a := range c.Accounts {
		if !accountRE.MatchString(a) {
			return fmt.Errorf("s3: account %q is not a 12-digit account id", a)
		}
	}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			return fmt.Errorf("s3: region %q is not a region name", r)
		}
	}
	return nil
}

// Parse reads a source URL:
//
//	s3://bucket/prefix?endpoint=http://127.0.0.1:9000&path_style=true&accounts=111122223333,444455556666&regions=us-east-1&start=2024-01-01&interval=1m&parallel=8&region=us-east-1&integrity=false
//
// Every parameter is optional; the others come from DefaultConfig. An
// unknown parameter is an error naming it.
func Parse(raw string) (Config, error) {
	cfg := DefaultConfig()
	u, err := url.Parse(raw)
	if err != nil {
		return cfg, fmt.Errorf("s3: parse %q: %w", raw, err)
	}
	if u.Scheme != "s3" {
		return cfg, fmt.Errorf("s3: %q is not an s3:// URL", raw)
	}
	cfg.Bucket = u.Host
	cfg.Prefix = strings.Trim(u.Path, "/")
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, fmt.Errorf("s3: parse query of %q: %w", raw, err)
	}
	var unknown []string
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "endpoint":
			cfg.Endpoint = v
		case "path_style":
			if cfg.PathStyle, err = strconv.ParseBool(v); err != nil {
				return cfg, fmt.Errorf("s3: path_style %q is not a boolean", v)
			}
		case "region":
			cfg.Region = v
		case "accounts":
			cfg.Accounts = splitList(v)
		case "regions":
			cfg.Regions = splitList(v)
		case "start":
			if cfg.Start, err = time.Parse(time.DateOnly, v); err != nil {
				return cfg, fmt.Errorf("s3: start %q is not a date (YYYY-MM-DD)", v)
			}
		case "interval":
			if cfg.Interval, err = time.ParseDuration(v); err != nil {
				return cfg, fmt.Errorf("s3: interval %q is not a duration", v)
			}
		case "parallel":
			if cfg.Parallel, err = strconv.Atoi(v); err != nil {
				return cfg, fmt.Errorf("s3: parallel %q is not a number", v)
			}
		case "integrity":
			if cfg.Integrity, err = strconv.ParseBool(v); err != nil {
				return cfg, fmt.Errorf("s3: integrity %q is not a boolean", v)
			}
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return cfg, fmt.Errorf("s3: unknown parameters %s in %q", strings.Join(unknown, ", "), raw)
	}
	return cfg, cfg.Validate()
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// name is the source name, "s3://bucket/prefix".
func (c Config) name() string {
	if c.Prefix == "" {
		return "s3://" + c.Bucket
	}
	return "s3://" + c.Bucket + "/" + c.Prefix
}

// logsPrefix is where AWSLogs starts.
func (c Config) logsPrefix() string {
	if c.Prefix == "" {
		return "AWSLogs/"
	}
	return c.Prefix + "/AWSLogs/"
}

// startAfter is the StartAfter bound the start date puts on a stream's
// listing: every key in an earlier day folder sorts before it.
func (c Config) startAfter(streamPrefix string) string {
	if c.Start.IsZero() {
		return ""
	}
	return streamPrefix + c.Start.UTC().Format("2006/01/02/")
}
