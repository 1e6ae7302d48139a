package sqssrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/decode"
)

// maxObjectBytes bounds the bytes read of one S3 object: no trail file is
// larger than what the decoder accepts after gunzip.
const maxObjectBytes = decode.DefaultMaxDecompressedBytes

// Backoff after a failed ReceiveMessage, doubling up to the maximum.
const (
	minBackoff = time.Second
	maxBackoff = 30 * time.Second
)

// settleTimeout bounds the calls made after ctx ended (deleting a message
// whose objects are stored, handing back one that is not).
const settleTimeout = 10 * time.Second

// Source reads CloudTrail delivery notices from an SQS queue. It implements
// ingest.Source.
//
// A message is deleted only after every object it names has been stored
// (Ingester.Input returned without error), so a crash or shutdown leaves it
// in the queue to be read again; events stored twice are deduplicated by
// eventID. A message that cannot be understood (not JSON, no keys) is
// reported with Ingester.Problem and left alone: it stays invisible for the
// visibility timeout and then comes back until the queue's redrive policy
// moves it to a dead-letter queue; it is never deleted. An object that is
// missing (NoSuchKey) or denied, or too large, is reported and skipped, and
// the message is still deleted once its other objects are stored: retrying
// cannot fix it. Any other failure to fetch an object (network, throttling)
// leaves the message for a later try after the visibility timeout.
//
// Several Sources, in one process or in several replicas, may read one
// queue: SQS visibility keeps a message with one reader at a time, and
// nothing is coordinated locally.
type Source struct {
	cfg  Config
	name string
	log  *slog.Logger
	sqs  *sqs.Client
	s3   *s3.Client
	tr   *transports // closed idle after Run
}

var _ ingest.Source = (*Source)(nil)

// New returns a Source for cfg. AWS credentials come from the SDK's default
// chain; nothing is contacted before Run. log nil means discard.
func New(cfg Config, log *slog.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, path, _ := splitQueueURL(cfg.QueueURL)
	region := cfg.Region
	if region == "" {
		region = regionOf(strings.Split(host, ":")[0])
	}
	tr := &transports{}
	// The SDK's own client, so that the loader can still apply AWS_CA_BUNDLE;
	// the option notes each transport it builds, for closing.
	hc := awshttp.NewBuildableClient().WithTransportOptions(tr.add)
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(hc)}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("sqssrc: load AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, errors.New("sqssrc: no region: set region= or AWS_REGION")
	}
	s := &Source{
		cfg:  cfg,
		name: "sqs://" + host + path,
		log:  log,
		tr:   tr,
		sqs: sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
			if cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.Endpoint)
			}
		}),
		s3: s3.NewFromConfig(awsCfg, func(o *s3.Options) {
			if cfg.S3Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.S3Endpoint)
			}
			o.UsePathStyle = cfg.PathStyle
			// Trail files carry no response checksum; do not log that.
			o.DisableLogOutputChecksumValidationSkipped = true
		}),
	}
	return s, nil
}

// Name implements ingest.Source: "sqs://<host>/<path>" of the queue URL.
func (s *Source) Name() string { return s.name }

// Run implements ingest.Source. It long-polls the queue until ctx ends, with
// up to Config.Parallel messages in work at once, and returns nil then. A
// failed receive is recorded with Ingester.Fail and retried with backoff.
// Messages in work when ctx ends are handed back to the queue (visibility
// 0) unless they were stored. A long poll cut short by ctx may still have
// taken a message on the server's side (SQS does this too); that message
// comes back after the visibility timeout.
func (s *Source) Run(ctx context.Context, in *ingest.Ingester) error {
	defer s.tr.closeIdle()
	// The queue keeps what is not deleted: there is no checkpoint to read
	// back, so the source has resumed as soon as it runs.
	in.Resumed(s.name)
	slots := make(chan struct{}, s.cfg.Parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := minBackoff
	for {
		// Take one free slot (waiting for it), then any others free.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		n := 1
	fill:
		for n < maxMessages {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break fill
			}
		}
		msgs, err := s.receive(ctx, n)
		for range n - len(msgs) {
			<-slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			in.Fail(s.name, err)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		for _, m := range msgs {
			wg.Add(1)
			go func() {
				defer func() { <-slots; wg.Done() }()
				s.handle(ctx, in, m)
			}()
		}
	}
}

func (s *Source) receive(ctx context.Context, n int) ([]sqstypes.Message, error) {
	out, err := s.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(s.cfg.QueueURL),
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             int32(s.cfg.Wait / time.Second),
		VisibilityTimeout:           int32(s.cfg.Visibility / time.Second),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", s.cfg.QueueURL, err)
	}
	return out.Messages, nil
}

// handle works on one message; see Source for what happens to it.
func (s *Source) handle(ctx context.Context, in *ingest.Ingester, m sqstypes.Message) {
	metricReceived.Inc()
	id := aws.ToString(m.MessageId)
	n, err := parseNotice([]byte(aws.ToString(m.Body)))
	if err != nil {
		// Left invisible for the visibility timeout asked for on receive,
		// then redelivered until the redrive policy takes it: not a hot loop.
		metricBad.Inc()
		count := m.Attributes[string(sqstypes.MessageSystemAttributeNameApproximateReceiveCount)]
		in.Problem(s.name, "message "+id, "", fmt.Sprintf("%s (received %s times; left in the queue for its redrive policy)", err, count))
		return
	}
	if len(n.Objects) == 0 {
		s.log.Debug("sqs message without objects", "source", s.name, "message", id, "why", n.Why)
		s.delete(ctx, in, m)
		return
	}
	stop := s.keepInvisible(ctx, m)
	stored := s.ingestObjects(ctx, in, id, n.Objects)
	stop()
	s.log.Debug("sqs message done", "source", s.name, "message", id, "stored", stored, "ctx", ctx.Err())
	switch {
	case stored:
		s.delete(ctx, in, m)
	case ctx.Err() != nil:
		// Shutting down: hand the message to another reader now rather
		// than after the visibility timeout.
		s.setVisibility(context.WithoutCancel(ctx), m, 0)
	}
}

// ingestObjects fetches and stores the objects of one message and reports
// whether the message is done with (every object stored or reported as one
// that cannot be fetched ever).
func (s *Source) ingestObjects(ctx context.Context, in *ingest.Ingester, id string, objs []object) bool {
	for _, o := range objs {
		if isDigest(o.Key) {
			s.log.Debug("digest file skipped", "source", s.name, "message", id, "bucket", o.Bucket, "key", o.Key)
			continue
		}
		data, err := s.fetch(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			if reason := permanent(err); reason != "" {
				metricObjectProblems.WithLabelValues(reason).Inc()
				in.Problem(s.name, o.Key, "", fmt.Sprintf("%v (message %s deleted: retrying cannot fix it)", err, id))
				continue
			}
			in.Fail(s.name, fmt.Errorf("message %s: %w", id, err))
			return false
		}
		metricFetched.Inc()
		if _, err := in.Input(ctx, s.name, o.Key, data, nil); err != nil {
			return false // Input recorded the failure
		}
	}
	return true
}

// errTooLarge marks an object larger than maxObjectBytes.
var errTooLarge = errors.New("object too large")

func (s *Source) fetch(ctx context.Context, o object) ([]byte, error) {
	out, err := s.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", o.Bucket, o.Key, err)
	}
	if int64(len(data)) > maxObjectBytes {
		return nil, fmt.Errorf("read s3://%s/%s: %w (over %d bytes)", o.Bucket, o.Key, errTooLarge, maxObjectBytes)
	}
	return data, nil
}

// permanent returns the metric reason when err is a fetch failure that
// retrying cannot fix, else "".
func permanent(err error) string {
	if errors.Is(err, errTooLarge) {
		return "too_large"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NoSuchBucket", "NotFound":
			return "missing"
		case "AccessDenied", "Forbidden", "AllAccessDisabled", "InvalidObjectState":
			return "denied"
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotFound:
			return "missing"
		case http.StatusForbidden:
			return "denied"
		}
	}
	return ""
}

// keepInvisible extends m's visibility every Visibility/2 until the
// returned stop is called (stop waits for the extender to end).
func (s *Source) keepInvisible(ctx context.Context, m sqstypes.Message) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.cfg.Visibility / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.setVisibility(ctx, m, s.cfg.Visibility)
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (s *Source) setVisibility(ctx context.Context, m sqstypes.Message, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	_, err := s.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(s.cfg.QueueURL),
		ReceiptHandle:     m.ReceiptHandle,
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		// The message may be read again by another reader meanwhile;
		// its events are then deduplicated by eventID.
		s.log.Warn("sqs change visibility failed", "source", s.name, "message", aws.ToString(m.MessageId), "err", err)
	}
}

// delete deletes a message whose objects are stored, even when ctx has just
// ended: the work is done, and not deleting would only cause a redelivery.
func (s *Source) delete(ctx context.Context, in *ingest.Ingester, m sqstypes.Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	_, err := s.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{
		QueueUrl:      aws.String(s.cfg.QueueURL),
		ReceiptHandle: m.ReceiptHandle,
	})
	if err != nil {
		// Redelivered later; the events are then deduplicated by eventID.
		in.Fail(s.name, fmt.Errorf("delete message %s: %w", aws.ToString(m.MessageId), err))
		return
	}
	metricDeleted.Inc()
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// transports are the HTTP transports the SDK clients built, so that Run
// can close their idle connections when it returns.
type transports struct {
	mu   sync.Mutex
	list []*http.Transport
}

func (t *transports) add(tr *http.Transport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = append(t.list, tr)
}

func (t *transports) closeIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.list {
		tr.CloseIdleConnections()
	}
}
