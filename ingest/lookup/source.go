package lookup

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/codetrail/codetrail/ingest/awsretry"
	"github.com/codetrail/codetrail/ingest/window"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"golang.org/x/time/rate"

	"github.com/codetrail/codetrail/ingest"
)

var _ ingest.Source = (*Source)(nil)

// api is the part of the CloudTrail client the source uses.
type api interface {
	LookupEvents(ctx context.Context, in *cloudtrail.LookupEventsInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.LookupEventsOutput, error)
}

// region is one polled region. Only its own goroutine touches it.
type region struct {
	name   string
	key    string // checkpoint key
	client api
	limit  *rate.Limiter
}

// Source reads CloudTrail Event History through LookupEvents. Run may be
// called once at a time.
type Source struct {
	cfg     Config
	log     *slog.Logger
	name    string
	regions []*region
	now     func() time.Time
}

// New returns a source for cfg. AWS credentials come from the SDK's default
// chain (environment, shared files, SSO, IMDS, ...), resolved on first use.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("lookup: load AWS config: %w", err)
	}
	s := &Source{
		cfg:  cfg,
		name: Scheme + "://" + strings.Join(cfg.Regions, ","),
		now:  time.Now,
	}
	s.log = log.With("source", s.name)
	for _, r := range cfg.Regions {
		client := cloudtrail.NewFromConfig(awsCfg, func(o *cloudtrail.Options) {
			o.Region = r
			if cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.Endpoint)
			}
			// The source retries itself, so that every attempt passes the
			// rate limiter and throttling backs off for as long as needed.
			o.Retryer = aws.NopRetryer{}
			if cfg.HTTPClient != nil {
				o.HTTPClient = cfg.HTTPClient
			}
		})
		s.regions = append(s.regions, &region{
			name:   r,
			key:    CheckpointKey(r),
			client: client,
			limit:  rate.NewLimiter(rate.Limit(cfg.Rate), 1),
		})
	}
	return s, nil
}

// CheckpointKey is the key under which region's checkpoint is stored.
func CheckpointKey(region string) string { return Scheme + ":" + region }

// Name implements ingest.Source: "cloudtrail://<regions>".
func (s *Source) Name() string { return s.name }

// Run implements ingest.Source: it polls every region until ctx ends and
// returns nil then. Failures are reported through in.Fail and retried at the
// next poll.
func (s *Source) Run(ctx context.Context, in *ingest.Ingester) error {
	// Each poll reads its region's checkpoint again; reading them all
	// first is what resuming means here (for health).
	for _, r := range s.regions {
		if _, err := s.checkpoint(in, r); err != nil {
			in.Fail(s.name, err)
		}
	}
	in.Resumed(s.name)
	var wg sync.WaitGroup
	for _, r := range s.regions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runRegion(ctx, in, r)
		}()
	}
	wg.Wait()
	return nil
}

func (s *Source) runRegion(ctx context.Context, in *ingest.Ingester, r *region) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if err := s.poll(ctx, in, r); err != nil {
			if ctx.Err() != nil {
				return
			}
			in.Fail(s.name, fmt.Errorf("region %s: %w", r.name, err))
		}
		timer.Reset(s.cfg.Interval)
	}
}

// poll reads from the checkpoint minus the overlap up to now, window by
// window, oldest first.
func (s *Source) poll(ctx context.Context, in *ingest.Ingester, r *region) error {
	now := s.now().UTC()
	covered, err := s.checkpoint(in, r)
	if err != nil {
		return err
	}
	start := s.cfg.Start
	if start.IsZero() {
		start = now.Add(-DefaultHistory)
	}
	return window.Walk(now, start, covered, s.cfg.Overlap, s.cfg.Window, func(from, to, covered time.Time) error {
		return s.window(ctx, in, r, from, to, covered)
	})
}

// checkpoint returns the end of the newest window r read completely, or
// zero.
func (s *Source) checkpoint(in *ingest.Ingester, r *region) (time.Time, error) {
	b, err := in.Checkpoint(r.key)
	if err != nil {
		return time.Time{}, fmt.Errorf("read checkpoint %s: %w", r.key, err)
	}
	if b == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		// Starting over is safe: the index drops what it already holds.
		s.log.Warn("ignoring unreadable checkpoint", "key", r.key, "value", string(b), "err", err)
		return time.Time{}, nil
	}
	return t, nil
}

// window reads [from, to] page by page and stores each page; the last page
// carries the checkpoint covered.
func (s *Source) window(ctx context.Context, in *ingest.Ingester, r *region, from, to, covered time.Time) error {
	req := &cloudtrail.LookupEventsInput{
		StartTime:  aws.Time(from),
		EndTime:    aws.Time(to),
		MaxResults: aws.Int32(int32(s.cfg.PageSize)),
	}
	var stored, dups int64
	for page := 1; ; page++ {
		out, err := s.call(ctx, r, req)
		if err != nil {
			return fmt.Errorf("lookup events %s..%s page %d: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), page, err)
		}
		last := out.NextToken == nil || *out.NextToken == ""
		data, err := marshalPage(out.Events)
		if err != nil {
			return fmt.Errorf("encode page %d: %w", page, err)
		}
		var cps map[string][]byte
		if last {
			cps = map[string][]byte{r.key: []byte(covered.UTC().Format(time.RFC3339Nano))}
		}
		name := fmt.Sprintf("%s %s..%s page %d", r.name, from.Format(time.RFC3339), to.Format(time.RFC3339), page)
		res, err := in.Input(ctx, s.name, name, data, cps)
		if err != nil {
			return fmt.Errorf("store %s: %w", name, err)
		}
		metricPages.WithLabelValues(r.name).Inc()
		metricDuplicates.WithLabelValues(r.name).Add(float64(res.Counts.Duplicates))
		stored += res.Counts.Stored
		dups += res.Counts.Duplicates
		if last {
			s.log.Debug("window read", "region", r.name, "from", from, "to", to, "pages", page, "stored", stored, "duplicates", dups)
			return nil
		}
		req.NextToken = out.NextToken
	}
}

// call sends one request through the rate limiter, retrying throttling and
// transient errors with backoff.
func (s *Source) call(ctx context.Context, r *region, req *cloudtrail.LookupEventsInput) (*cloudtrail.LookupEventsOutput, error) {
	p := awsretry.Policy{Limiter: r.limit, Retries: s.cfg.Retries, Base: s.cfg.Backoff, Max: s.cfg.MaxBackoff}
	return awsretry.Do(ctx, p, func(outcome string, attempt int, delay time.Duration, err error) {
		metricRequests.WithLabelValues(r.name, outcome).Inc()
		if delay > 0 {
			s.log.Debug("retrying LookupEvents", "region", r.name, "attempt", attempt+1, "outcome", outcome, "delay", delay, "err", err)
		}
	}, func(ctx context.Context) (*cloudtrail.LookupEventsOutput, error) {
		return r.client.LookupEvents(ctx, req)
	})
}

// lookupEvent is one entry of `aws cloudtrail lookup-events` output.
type lookupEvent struct {
	EventID         string     `json:"EventId"`
	EventName       string     `json:"EventName,omitempty"`
	ReadOnly        string     `json:"ReadOnly,omitempty"`
	AccessKeyID     string     `json:"AccessKeyId,omitempty"`
	EventTime       string     `json:"EventTime,omitempty"`
	EventSource     string     `json:"EventSource,omitempty"`
	Username        string     `json:"Username,omitempty"`
	Resources       []resource `json:"Resources,omitempty"`
	CloudTrailEvent *string    `json:"CloudTrailEvent"`
}

type resource struct {
	ResourceType string `json:"ResourceType,omitempty"`
	ResourceName string `json:"ResourceName,omitempty"`
}

// marshalPage writes events as `aws cloudtrail lookup-events` output. The
// CloudTrailEvent strings are kept exactly (encoding/json escapes only what
// JSON requires once HTML escaping is off; the decoder unescapes it back).
func marshalPage(events []types.Event) ([]byte, error) {
	page := struct {
		Events []lookupEvent `json:"Events"`
	}{Events: make([]lookupEvent, 0, len(events))}
	for _, e := range events {
		le := lookupEvent{
			EventID:         aws.ToString(e.EventId),
			EventName:       aws.ToString(e.EventName),
			ReadOnly:        aws.ToString(e.ReadOnly),
			AccessKeyID:     aws.ToString(e.AccessKeyId),
			EventSource:     aws.ToString(e.EventSource),
			Username:        aws.ToString(e.Username),
			CloudTrailEvent: e.CloudTrailEvent,
		}
		if e.EventTime != nil {
			le.EventTime = e.EventTime.UTC().Format(time.RFC3339)
		}
		for _, r := range e.Resources {
			le.Resources = append(le.Resources, resource{aws.ToString(r.ResourceType), aws.ToString(r.ResourceName)})
		}
		page.Events = append(page.Events, le)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
