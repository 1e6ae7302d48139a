package sqssrc

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxMessages is MaxNumberOfMessages of one ReceiveMessage call: the most
// SQS allows, so one long poll drains a burst of notices.
const maxMessages = 10

// Config configures a Source.
type Config struct {
	// QueueURL is the queue, as SQS names it:
	// https://sqs.us-east-1.amazonaws.com/123456789012/trail-notices.
	QueueURL string
	// Endpoint overrides the SQS endpoint (an emulator); empty means the
	// SDK's resolution (region, AWS_ENDPOINT_URL_SQS, config files).
	Endpoint string
	// S3Endpoint overrides the S3 endpoint the log files are fetched from;
	// empty means the SDK's resolution (AWS_ENDPOINT_URL_S3 included).
	S3Endpoint string
	// PathStyle makes the S3 client address buckets as endpoint/bucket/key
	// (most emulators need it).
	PathStyle bool
	// Region of the queue and the S3 client. Empty means the region in an
	// sqs.<region>.amazonaws.com queue host, else the SDK's default chain
	// (AWS_REGION, config files).
	Region string
	// Visibility is the visibility timeout asked for on every receive: how
	// long a message stays hidden from other readers (replicas included)
	// while it is in work. It is extended every Visibility/2 while its
	// objects are fetched and stored, and it is how long a message that
	// could not be understood, or whose object could not be fetched, stays
	// away before it is seen again. Whole seconds, 1s to 12h.
	Visibility time.Duration
	// Wait is the long-poll time of one ReceiveMessage (0 to 20s).
	Wait time.Duration
	// Parallel is how many messages are in work at once. Each receive asks
	// for at most the free slots (and at most 10), so no received message
	// waits unstarted while its visibility runs out.
	Parallel int
}

// DefaultConfig returns the defaults; QueueURL must still be set.
func DefaultConfig() Config {
	return Config{
		Visibility: 60 * time.Second,
		Wait:       20 * time.Second,
		Parallel:   8,
	}
}

// maxVisibility is the longest visibility timeout SQS accepts.
const maxVisibility = 12 * time.Hour

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if _, _, err := splitQueueURL(c.QueueURL); err != nil {
		return err
	}
	for _, e := range []struct{ name, v string }{{"endpoint", c.Endpoint}, {"s3 endpoint", c.S3Endpoint}} {
		if e.v == "" {
			continue
		}
		if u, err := url.Parse(e.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("sqssrc: %s %q is not an http(s) URL", e.name, e.v)
		}
	}
	switch {
	case c.Visibility < time.Second || c.Visibility > maxVisibility:
		return errors.New("sqssrc: visibility must be between 1s and 12h")
	case c.Visibility%time.Second != 0:
		return errors.New("sqssrc: visibility must be whole seconds")
	case c.Wait < 0 || c.Wait > 20*time.Second:
		return errors.New("sqssrc: wait must be between 0s and 20s")
	case c.Wait%time.Second != 0:
		return errors.New("sqssrc: wait must be whole seconds")
	case c.Parallel < 1:
		return errors.New("sqssrc: parallel must be positive")
	}
	return nil
}

// splitQueueURL returns the host and path of a queue URL.
func splitQueueURL(raw string) (host, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("sqssrc: queue URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return "", "", fmt.Errorf("sqssrc: queue URL %q is not http(s)://host/account/queue", raw)
	}
	return u.Host, u.Path, nil
}

// Parse reads a source URL:
//
//	sqs://<host>/<path>?endpoint=URL&s3_endpoint=URL&path_style=true&region=R&visibility=60s&wait=20s&parallel=8
//
// The queue URL is https://<host>/<path>, or http://<host>/<path> when
// endpoint is an http:// URL (an emulator), so the usual form is
// sqs://sqs.us-east-1.amazonaws.com/123456789012/trail-notices; the full
// queue URL after sqs:// (sqs://https://sqs...) works too. Parameters
// not given keep DefaultConfig's values; an unknown parameter is an error
// that names it. The result is validated.
func Parse(raw string) (Config, error) {
	// The queue URL as the console and the CLI print it, written after
	// sqs://, is accepted too: sqs://https://sqs.<region>.amazonaws.com/...
	embedded := ""
	if rest, ok := strings.CutPrefix(raw, "sqs://"); ok {
		for _, sch := range []string{"https://", "http://"} {
			if after, ok := strings.CutPrefix(rest, sch); ok {
				embedded, raw = strings.TrimSuffix(sch, "://"), "sqs://"+after
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("sqssrc: parse %q: %w", raw, err)
	}
	if u.Scheme != "sqs" || u.Host == "" || u.Opaque != "" {
		return Config{}, fmt.Errorf("sqssrc: %q is not sqs://host/account/queue", raw)
	}
	cfg := DefaultConfig()
	q := u.Query()
	var unknown []string
	for k, vs := range q {
		v := vs[len(vs)-1]
		var perr error
		switch k {
		case "endpoint":
			cfg.Endpoint = v
		case "s3_endpoint":
			cfg.S3Endpoint = v
		case "path_style":
			cfg.PathStyle, perr = strconv.ParseBool(v)
		case "region":
			cfg.Region = v
		case "visibility":
			cfg.Visibility, perr = time.ParseDuration(v)
		case "wait":
			cfg.Wait, perr = time.ParseDuration(v)
		case "parallel":
			cfg.Parallel, perr = strconv.Atoi(v)
		default:
			unknown = append(unknown, k)
			continue
		}
		if perr != nil {
			return Config{}, fmt.Errorf("sqssrc: parameter %s=%q: %w", k, v, perr)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Config{}, fmt.Errorf("sqssrc: unknown parameters in %q: %s", raw, strings.Join(unknown, ", "))
	}
	scheme := "https"
	if strings.HasPrefix(strings.ToLower(cfg.Endpoint), "http://") {
		scheme = "http"
	}
	if embedded != "" {
		scheme = embedded
	}
	cfg.QueueURL = scheme + "://" + u.Host + u.EscapedPath()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// sqsHostRE matches the standard SQS host, whose second label is the region.
var sqsHostRE = regexp.MustCompile(`^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// regionOf returns the region of a standard SQS queue host, or "".
func regionOf(host string) string {
	if m := sqsHostRE.FindStringSubmatch(host); m != nil {
		return m[1]
	}
	return ""
}
