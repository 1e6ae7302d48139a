package gen

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// DefaultEnd is the end of the default event window. It is fixed so that
// generated data never depends on the clock.
var DefaultEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Default values of Config.
const (
	// DefaultEvents is the size of the demo dataset: big enough to make
	// searches and facets interesting, small enough to index in seconds.
	DefaultEvents = 50_000
	// DefaultSpan is the default length of the event window.
	DefaultSpan = 30 * 24 * time.Hour
	// DeliveryWindow is how much event time one CloudTrail log file covers.
	DeliveryWindow = 5 * time.Minute
	// DefaultMaxFileRecords caps the records of one log file. Real files stay
	// well under this; the cap keeps a busy window from making one huge file.
	DefaultMaxFileRecords = 2000
	// MaxEvents bounds Config.Events; WriteTrail streams, so the bound is about
	// run time, not memory.
	MaxEvents = 1_000_000_000
)

// DefaultAccounts are the account ids of the generated world. The first is
// the anchor account (see the package doc).
var DefaultAccounts = []string{"111122223333", "444455556666", "123456789012", "210987654321"}

// DefaultRegions are the regions of the generated world. The first is the
// anchor region.
var DefaultRegions = []string{"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"}

var (
	accountRE = regexp.MustCompile(`^\d{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	orgRE     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	trailRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)
)

// Config says what to generate. The zero value is not valid; start from
// DefaultConfig or DemoConfig.
type Config struct {
	// Seed selects the event stream: the same Config gives byte-identical
	// output. The world (resource and principal names) depends only on
	// Accounts and Regions, not on Seed.
	Seed uint64
	// Events is the number of distinct events. Duplicated deliveries
	// (DuplicateRate) come on top.
	Events int
	// Start and Span bound event times: [Start, Start+Span).
	Start time.Time
	Span  time.Duration
	// Accounts are 12-digit account ids; the first one carries the anchors.
	Accounts []string
	// Regions are the regions used; the first one carries the anchors.
	Regions []string
	// DuplicateRate is the share of records delivered a second time in a
	// later file, with the same eventID, as CloudTrail sometimes does.
	DuplicateRate float64
	// OddityRate is the share of events given one of the oddities real
	// trails have: null requestParameters, sourceIPAddress "AWS Internal", or
	// a requestParameters key that is an object in most records and a string
	// in these (a shape clash for schema-inferring indexers).
	OddityRate float64
	// MaxFileRecords caps the records in one trail log file (WriteTrail).
	MaxFileRecords int
	// Digests makes WriteTrail also write hourly digest files.
	Digests bool
	// Organization, when set (o-xxxxxxxxxx), makes WriteTrail use the
	// organization trail layout AWSLogs/<org>/<account>/...
	Organization string
	// Bucket and TrailName appear in digest files.
	Bucket    string
	TrailName string
	// KeyPrefix is the trail's S3 key prefix (no slashes around it): files
	// are written under dir without it, but digest files name objects by
	// their full key, prefix included.
	KeyPrefix string
	// DigestKey, when set, signs digest files as CloudTrail does
	// (SHA256withRSA over the data signing string, fingerprint of its
	// public key); the signatures, which S3 keeps as x-amz-meta-signature
	// object metadata, are returned in TrailSummary.Signatures. Unset, digests
	// carry made-up fingerprints and signatures.
	DigestKey *rsa.PrivateKey
}

// DefaultConfig returns the configuration for tests and Events: the four
// default accounts and regions, 30 days ending at DefaultEnd, no duplicates
// and no oddities.
func DefaultConfig() Config {
	return Config{
		Seed:           1,
		Events:         DefaultEvents,
		Start:          DefaultEnd.Add(-DefaultSpan),
		Span:           DefaultSpan,
		Accounts:       append([]string(nil), DefaultAccounts...),
		Regions:        append([]string(nil), DefaultRegions...),
		MaxFileRecords: DefaultMaxFileRecords,
		Bucket:         "aws-cloudtrail-logs-111122223333-codetrail",
		TrailName:      "management-events",
	}
}

// DemoConfig returns DefaultConfig with the oddities of real trails switched
// on (0.1% duplicates, 0.1% odd records) and digest files: what
// `codetrail serve --demo` and `codetrail gen` write.
func DemoConfig() Config {
	c := DefaultConfig()
	// A week rather than a month: the demo's few thousand events a day then
	// fill trail files of realistic size instead of one event per file.
	c.Span = 7 * 24 * time.Hour
	c.Start = DefaultEnd.Add(-c.Span)
	c.DuplicateRate = 0.001
	c.OddityRate = 0.001
	c.Digests = true
	return c
}

// Validate reports the first problem of c in plain words.
func (c Config) Validate() error {
	switch {
	case c.Events < 0 || c.Events > MaxEvents:
		return fmt.Errorf("events must be between 0 and %d, got %d", MaxEvents, c.Events)
	case c.Start.IsZero():
		return errors.New("start time must be set")
	case c.Span < DeliveryWindow:
		return fmt.Errorf("span must be at least %s, got %s", DeliveryWindow, c.Span)
	case len(c.Accounts) == 0:
		return errors.New("at least one account is required")
	case len(c.Regions) == 0:
		return errors.New("at least one region is required")
	case c.DuplicateRate < 0 || c.DuplicateRate > 0.1:
		return fmt.Errorf("duplicate rate must be between 0 and 0.1, got %g", c.DuplicateRate)
	case c.OddityRate < 0 || c.OddityRate > 0.1:
		return fmt.Errorf("oddity rate must be between 0 and 0.1, got %g", c.OddityRate)
	case c.MaxFileRecords < 1:
		return fmt.Errorf("max file records must be positive, got %d", c.MaxFileRecords)
	case c.Organization != "" && !orgRE.MatchString(c.Organization):
		return fmt.Errorf("organization %q is not an organization id (o-...)", c.Organization)
	case c.Digests && !trailRE.MatchString(c.TrailName):
		return fmt.Errorf("trail name %q is not valid", c.TrailName)
	case c.Digests && c.Bucket == "":
		return errors.New("bucket must be set when digests are written")
	}
	seen := make(map[string]bool)
	for _, a := range c.Accounts {
		if !accountRE.MatchString(a) {
			return fmt.Errorf("account %q is not a 12-digit account id", a)
		}
		if seen[a] {
			return fmt.Errorf("account %s is listed twice", a)
		}
		seen[a] = true
	}
	for _, r := range c.Regions {
		if !regionRE.MatchString(r) {
			return fmt.Errorf("region %q is not a region name", r)
		}
		if seen[r] {
			return fmt.Errorf("region %s is listed twice", r)
		}
		seen[r] = true
	}
	return nil
}
