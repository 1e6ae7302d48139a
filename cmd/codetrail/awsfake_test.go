package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/client"
)

// Shared helpers of the AWS end-to-end tests (aws_e2e_test.go): gofakes3 in
// process, fauxqs (SQS + SNS) as a child process killed by PID, the AWS
// environment the served binary inherits, and the Go client.

const awsTestRegion = "us-east-1"

// noLeaks checks, when the test ends, that it left no goroutine behind
// (those running when it started are ignored: other tests of the package
// keep none of their own checks). Call it first, so that its cleanup runs
// after every other cleanup of the test.
func noLeaks(t *testing.T) {
	t.Helper()
	opts := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opts) })
}

// awsEnv gives the SDK's default credential chain, in this process and in
// the servers it starts, static test credentials and keeps it away from the
// host's profiles, IMDS and endpoint settings.
func awsEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  awsTestRegion,
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_ENDPOINT_URL_SQS":        "",
	} {
		t.Setenv(k, v)
	}
}

// fakeS3 is gofakes3 on a loopback httptest server (path-style requests).
type fakeS3 struct {
	t   *testing.T
	be  *s3mem.Backend
	url string
}

func newFakeS3(t *testing.T, buckets ...string) *fakeS3 {
	t.Helper()
	f := &fakeS3{t: t, be: s3mem.New()}
	for _, b := range buckets {
		if err := f.be.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(gofakes3.New(f.be).Server())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fakeS3) put(bucket, key string, data []byte) {
	f.t.Helper()
	if _, err := f.be.PutObject(bucket, key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		f.t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// dialTest connects the Go client to a test server; closed at cleanup.
func dialTest(t *testing.T, addr string) *client.Client {
	t.Helper()
	c, err := client.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fauxqsBin returns $CODETRAIL_FAUXQS or the launcher .ci/tools.sh installs
// into .tools/bin, or "" when neither is there.
func fauxqsBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CODETRAIL_FAUXQS"); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", ".tools", "bin", "fauxqs-node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// fauxqs is the SQS and SNS emulator, run as a child process.
type fauxqs struct {
	t        *testing.T
	endpoint string
	sqs      *sqs.Client
	web      *http.Client // plain HTTP: health and the SNS Query API
}

// startFauxqs starts bin on a free loopback port, waits until it answers,
// and kills it by PID when the test ends.
func startFauxqs(t *testing.T, bin string) *fauxqs {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	q := &fauxqs{t: t, web: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		out := &syncBuffer{}
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), fmt.Sprintf("FAUXQS_PORT=%d", port), "FAUXQS_LOGGER=false")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start fauxqs: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		q.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
		if q.waitHealthy(exited) {
			t.Cleanup(stop)
			break
		}
		stop()
		if attempt == 2 {
			t.Fatalf("fauxqs did not start on %s:\n%s", q.endpoint, out.String())
		}
		t.Logf("fauxqs did not start on port %d (taken?), retrying:\n%s", port, out.String())
	}
	sqsTr := &http.Transport{}
	t.Cleanup(sqsTr.CloseIdleConnections)
	q.sqs = sqs.New(sqs.Options{
		Region:       awsTestRegion,
		BaseEndpoint: aws.String(q.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: sqsTr},
	})
	return q
}

// waitHealthy polls /health until it answers 200, the process exits or 20 s
// pass.
func (q *fauxqs) waitHealthy(exited <-chan struct{}) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := q.web.Get(q.endpoint + "/health"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// queue creates a queue and returns its URL.
func (q *fauxqs) queue(name string) string {
	q.t.Helper()
	out, err := q.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		q.t.Fatalf("create queue: %v", err)
	}
	return aws.ToString(out.QueueUrl)
}

// inQueue returns the visible and in-flight message counts of a queue.
func (q *fauxqs) inQueue(queueURL string) (visible, inFlight int) {
	q.t.Helper()
	out, err := q.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		q.t.Fatalf("queue attributes: %v", err)
	}
	_, _ = fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], &visible)
	_, _ = fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &inFlight)
	return visible, inFlight
}

// sns calls the SNS Query API of fauxqs with a plain form POST (go.mod has
// no SNS client) and returns the XML answer.
func (q *fauxqs) sns(params url.Values) string {
	q.t.Helper()
	resp, err := q.web.PostForm(q.endpoint+"/", params)
	if err != nil {
		q.t.Fatalf("sns %s: %v", params.Get("Action"), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		q.t.Fatalf("sns %s: %s: %s", params.Get("Action"), resp.Status, b)
	}
	return string(b)
}

var topicArnRE = regexp.MustCompile(`<TopicArn>([^<]+)</TopicArn>`)

// topic creates an SNS topic, subscribes queueURL to it (SNS envelope, as
// CloudTrail's notices arrive, not raw delivery) and returns its ARN.
func (q *fauxqs) topic(name, queueURL string) string {
	q.t.Helper()
	m := topicArnRE.FindStringSubmatch(q.sns(url.Values{"Action": {"CreateTopic"}, "Name": {name}}))
	if m == nil {
		q.t.Fatal("CreateTopic: no TopicArn")
	}
	out, err := q.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		q.t.Fatal(err)
	}
	q.sns(url.Values{"Action": {"Subscribe"}, "TopicArn": {m[1]}, "Protocol": {"sqs"},
		"Endpoint": {out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}})
	return m[1]
}

func (q *fauxqs) publish(topicArn, message string) {
	q.t.Helper()
	q.sns(url.Values{"Action": {"Publish"}, "TopicArn": {topicArn}, "Message": {message}})
}

// sourceURL is the --source sqs:// URL of queueURL, fetching objects from
// s3url; params (a=b&c=d) are appended.
func (q *fauxqs) sourceURL(queueURL, s3url, params string) string {
	q.t.Helper()
	u, err := url.Parse(queueURL)
	if err != nil {
		q.t.Fatal(err)
	}
	s := fmt.Sprintf("sqs://%s%s?endpoint=%s&s3_endpoint=%s&path_style=true&region=%s", u.Host, u.Path, q.endpoint, s3url, awsTestRegion)
	if params != "" {
		s += "&" + params
	}
	return s
}
