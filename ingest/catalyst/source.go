package catalyst

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/codetrail/codetrail/ingest/awsretry"
	"github.com/codetrail/codetrail/ingest/window"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codecatalyst"
	"github.com/aws/aws-sdk-go-v2/service/codecatalyst/types"
	"github.com/aws/smithy-go/auth/bearer"
	"golang.org/x/time/rate"

	"github.com/codetrail/codetrail/ingest"
)

var _ ingest.Source = (*Source)(nil)

// ErrNoToken means no bearer token was configured anywhere.
var ErrNoToken = errors.New("catalyst: no bearer token: set token_file, " + TokenEnv + ", or an sso-session in the AWS config")

// api is the part of the CodeCatalyst client the source uses.
type api interface {
	ListEventLogs(ctx context.Context, in *codecatalyst.ListEventLogsInput, optFns ...func(*codecatalyst.Options)) (*codecatalyst.ListEventLogsOutput, error)
}

// Source reads a CodeCatalyst space's event log. Run may be called once at a
// time.
type Source struct {
	cfg    Config
	log    *slog.Logger
	name   string
	key    string
	client api
	limit  *rate.Limiter
	now    func() time.Time
}

// New returns a source for cfg. The bearer token is looked up as the package
// documentation says; New fails with ErrNoToken when there is none.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("catalyst: load AWS config: %w", err)
	}
	tokens, err := tokenProvider(cfg, awsCfg)
	if err != nil {
		return nil, err
	}
	client := codecatalyst.NewFromConfig(awsCfg, func(o *codecatalyst.Options) {
		if o.Region == "" {
			o.Region = defaultRegion
		}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.BearerAuthTokenProvider = tokens
		// The source retries itself, so that every attempt passes the rate
		// limiter and throttling backs off for as long as needed.
		o.Retryer = aws.NopRetryer{}
		if cfg.HTTPClient != nil {
			o.HTTPClient = cfg.HTTPClient
		}
	})
	s := &Source{
		cfg:    cfg,
		name:   Scheme + "://" + cfg.Space,
		key:    CheckpointKey(cfg.Space),
		client: client,
		limit:  rate.NewLimiter(rate.Limit(cfg.Rate), 1),
		now:    time.Now,
	}
	s.log = log.With("source", s.name)
	return s, nil
}

// tokenProvider picks the bearer token: token_file, then TokenEnv, then the
// SDK's (an sso-session).
func tokenProvider(cfg Config, awsCfg aws.Config) (bearer.TokenProvider, error) {
	if cfg.TokenFile != "" {
		read := func(context.Context) (bearer.Token, error) {
			b, err := os.ReadFile(cfg.TokenFile)
			if err != nil {
				return bearer.Token{}, fmt.Errorf("catalyst: read token file: %w", err)
			}
			tok := strings.TrimSpace(string(b))
			if tok == "" {
				return bearer.Token{}, fmt.Errorf("catalyst: token file %s is empty", cfg.TokenFile)
			}
			return bearer.Token{Value: tok}, nil
		}
		if _, err := read(context.Background()); err != nil {
			return nil, err
		}
		return bearer.TokenProviderFunc(read), nil
	}
	if tok := strings.TrimSpace(os.Getenv(TokenEnv)); tok != "" {
		return bearer.StaticTokenProvider{Token: bearer.Token{Value: tok}}, nil
	}
	if awsCfg.BearerAuthTokenProvider != nil {
		return awsCfg.BearerAuthTokenProvider, nil
	}
	return nil, ErrNoToken
}

// CheckpointKey is the key under which space's checkpoint is stored.
func CheckpointKey(space string) string { return Scheme + ":" + space }

// Name implements ingest.Source: "codecatalyst://<space>".
func (s *Source) Name() string { return s.name }

// Run implements ingest.Source: it polls the space until ctx ends and
// returns nil then. Failures are reported through in.Fail and retried at the
// next poll.
func (s *Source) Run(ctx context.Context, in *ingest.Ingester) error {
	// Each poll reads the checkpoint again; reading it first is what
	// resuming means here (for health).
	if _, err := s.checkpoint(in); err != nil {
		in.Fail(s.name, err)
	}
	in.Resumed(s.name)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := s.poll(ctx, in); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			in.Fail(s.name, err)
		}
		timer.Reset(s.cfg.Interval)
	}
}

// poll reads from the checkpoint minus the overlap up to now, window by
// window, oldest first.
func (s *Source) poll(ctx context.Context, in *ingest.Ingester) error {
	now := s.now().UTC()
	covered, err := s.checkpoint(in)
	if err != nil {
		return err
	}
	start := s.cfg.Start
	if start.IsZero() {
		start = now.Add(-DefaultHistory)
	}
	return window.Walk(now, start, covered, s.cfg.Overlap, s.cfg.Window, func(from, to, covered time.Time) error {
		return s.window(ctx, in, from, to, covered)
	})
}

// checkpoint returns the end of the newest window read completely, or zero.
func (s *Source) checkpoint(in *ingest.Ingester) (time.Time, error) {
	b, err := in.Checkpoint(s.key)
	if err != nil {
		return time.Time{}, fmt.Errorf("read checkpoint %s: %w", s.key, err)
	}
	if b == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		// Starting over is safe: the index drops what it already holds.
		s.log.Warn("ignoring unreadable checkpoint", "key", s.key, "value", string(b), "err", err)
		return time.Time{}, nil
	}
	return t, nil
}

// window reads [from, to] page by page and stores each page; the last page
// carries the checkpoint covered.
func (s *Source) window(ctx context.Context, in *ingest.Ingester, from, to, covered time.Time) error {
	req := &codecatalyst.ListEventLogsInput{
		SpaceName:  aws.String(s.cfg.Space),
		StartTime:  aws.Time(from),
		EndTime:    aws.Time(to),
		MaxResults: aws.Int32(int32(s.cfg.PageSize)),
	}
	var stored, dups int64
	for page := 1; ; page++ {
		out, err := s.call(ctx, req)
		if err != nil {
			return fmt.Errorf("list event logs %s..%s page %d: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), page, err)
		}
		last := out.NextToken == nil || *out.NextToken == ""
		data, err := marshalPage(out.Items)
		if err != nil {
			return fmt.Errorf("encode page %d: %w", page, err)
		}
		var cps map[string][]byte
		if last {
			cps = map[string][]byte{s.key: []byte(covered.UTC().Format(time.RFC3339Nano))}
		}
		name := fmt.Sprintf("%s..%s page %d", from.Format(time.RFC3339), to.Format(time.RFC3339), page)
		res, err := in.Input(ctx, s.name, name, data, cps)
		if err != nil {
			return fmt.Errorf("store %s: %w", name, err)
		}
		metricPages.WithLabelValues(s.cfg.Space).Inc()
		metricDuplicates.WithLabelValues(s.cfg.Space).Add(float64(res.Counts.Duplicates))
		stored += res.Counts.Stored
		dups += res.Counts.Duplicates
		if last {
			s.log.Debug("window read", "from", from, "to", to, "pages", page, "stored", stored, "duplicates", dups)
			return nil
		}
		req.NextToken = out.NextToken
	}
}

// call sends one request through the rate limiter, retrying throttling and
// transient errors with backoff.
func (s *Source) call(ctx context.Context, req *codecatalyst.ListEventLogsInput) (*codecatalyst.ListEventLogsOutput, error) {
	p := awsretry.Policy{Limiter: s.limit, Retries: s.cfg.Retries, Base: s.cfg.Backoff, Max: s.cfg.MaxBackoff}
	return awsretry.Do(ctx, p, func(outcome string, attempt int, delay time.Duration, err error) {
		metricRequests.WithLabelValues(s.cfg.Space, outcome).Inc()
		if delay > 0 {
			s.log.Debug("retrying ListEventLogs", "attempt", attempt+1, "outcome", outcome, "delay", delay, "err", err)
		}
	}, func(ctx context.Context) (*codecatalyst.ListEventLogsOutput, error) {
		return s.client.ListEventLogs(ctx, req)
	})
}

// entry is one item of ListEventLogs in the API's JSON, fields in the API's
// order. organizationId is missing: the SDK's EventLogEntry does not model
// it, so it is dropped when the response is decoded.
type entry struct {
	ID                 string       `json:"id"`
	EventName          string       `json:"eventName,omitempty"`
	EventType          string       `json:"eventType,omitempty"`
	EventCategory      string       `json:"eventCategory,omitempty"`
	EventSource        string       `json:"eventSource,omitempty"`
	EventTime          string       `json:"eventTime,omitempty"`
	OperationType      string       `json:"operationType,omitempty"`
	UserIdentity       *userID      `json:"userIdentity,omitempty"`
	ProjectInformation *projectInfo `json:"projectInformation,omitempty"`
	RequestID          string       `json:"requestId,omitempty"`
	RequestPayload     *payload     `json:"requestPayload,omitempty"`
	ResponsePayload    *payload     `json:"responsePayload,omitempty"`
	ErrorCode          string       `json:"errorCode,omitempty"`
	SourceIPAddress    string       `json:"sourceIpAddress,omitempty"`
	UserAgent          string       `json:"userAgent,omitempty"`
}

type userID struct {
	UserType     string `json:"userType,omitempty"`
	PrincipalID  string `json:"principalId,omitempty"`
	UserName     string `json:"userName,omitempty"`
	AwsAccountID string `json:"awsAccountId,omitempty"`
}

type projectInfo struct {
	ProjectID string `json:"projectId,omitempty"`
	Name      string `json:"name,omitempty"`
}

type payload struct {
	ContentType string `json:"contentType,omitempty"`
	Data        string `json:"data,omitempty"`
}

func toPayload(p *types.EventPayload) *payload {
	if p == nil {
		return nil
	}
	return &payload{ContentType: aws.ToString(p.ContentType), Data: aws.ToString(p.Data)}
}

// marshalPage writes items as `aws codecatalyst list-event-logs` output.
func marshalPage(items []types.EventLogEntry) ([]byte, error) {
	page := struct {
		Items []entry `json:"items"`
	}{Items: make([]entry, 0, len(items))}
	for _, it := range items {
		e := entry{
			ID:              aws.ToString(it.Id),
			EventName:       aws.ToString(it.EventName),
			EventType:       aws.ToString(it.EventType),
			EventCategory:   aws.ToString(it.EventCategory),
			EventSource:     aws.ToString(it.EventSource),
			OperationType:   string(it.OperationType),
			RequestID:       aws.ToString(it.RequestId),
			RequestPayload:  toPayload(it.RequestPayload),
			ResponsePayload: toPayload(it.ResponsePayload),
			ErrorCode:       aws.ToString(it.ErrorCode),
			SourceIPAddress: aws.ToString(it.SourceIpAddress),
			UserAgent:       aws.ToString(it.UserAgent),
		}
		if it.EventTime != nil {
			e.EventTime = it.EventTime.UTC().Format(time.RFC3339Nano)
		}
		if u := it.UserIdentity; u != nil {
			e.UserIdentity = &userID{
				UserType:     string(u.UserType),
				PrincipalID:  aws.ToString(u.PrincipalId),
				UserName:     aws.ToString(u.UserName),
				AwsAccountID: aws.ToString(u.AwsAccountId),
			}
		}
		if p := it.ProjectInformation; p != nil {
			e.ProjectInformation = &projectInfo{ProjectID: aws.ToString(p.ProjectId), Name: aws.ToString(p.Name)}
		}
		page.Items = append(page.Items, e)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(page); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
