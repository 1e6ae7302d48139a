// Package fauxqs runs the fauxqs SQS and SNS emulator (npm fauxqs, which
// .ci/tools.sh installs into .tools/bin) for tests: started on a free
// loopback port, killed by PID when the test ends, with the few SQS and SNS
// calls the tests of the sqs:// source and of the binary need.
package fauxqs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Bin returns $CODETRAIL_FAUXQS, or the launcher in .tools/bin of the
// module the working directory is in, or "" when neither is there.
func Bin() string {
	if p := os.Getenv("CODETRAIL_FAUXQS"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".tools", "bin", "fauxqs-node")
			if _, err := os.Stat(p); err != nil {
				return ""
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Emulator is a running fauxqs.
type Emulator struct {
	t        testing.TB
	Endpoint string      // http://127.0.0.1:port
	SQS      *sqs.Client // static test credentials
	web      *http.Client
}

// Start runs bin on a free loopback port (trying another port if that one
// is taken meanwhile), waits until it answers, and stops it by PID at the
// end of the test.
func Start(t testing.TB, bin, region string) *Emulator {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	e := &Emulator{t: t, web: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		out := &lockedBuffer{}
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
		e.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
		if e.waitHealthy(exited) {
			t.Cleanup(stop)
			break
		}
		stop()
		if attempt == 2 {
			t.Fatalf("fauxqs did not start on %s:\n%s", e.Endpoint, out.String())
		}
		t.Logf("fauxqs did not start on port %d (taken?), retrying:\n%s", port, out.String())
	}
	sqsTr := &http.Transport{}
	t.Cleanup(sqsTr.CloseIdleConnections)
	e.SQS = sqs.New(sqs.Options{
		Region:       region,
		BaseEndpoint: aws.String(e.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: sqsTr},
	})
	return e
}

// waitHealthy polls /health until it answers 200, the process exits or 20 s
// pass.
func (e *Emulator) waitHealthy(exited <-chan struct{}) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := e.web.Get(e.Endpoint + "/health"); err == nil {
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

// Queue creates a queue and returns its URL.
func (e *Emulator) Queue(name string) string {
	e.t.Helper()
	out, err := e.SQS.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("create queue: %v", err)
	}
	return aws.ToString(out.QueueUrl)
}

// Send puts a raw message on a queue.
func (e *Emulator) Send(queueURL, body string) {
	e.t.Helper()
	if _, err := e.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)}); err != nil {
		e.t.Fatalf("send: %v", err)
	}
}

// InQueue returns the visible and in-flight message counts of a queue.
func (e *Emulator) InQueue(queueURL string) (visible, inFlight int) {
	e.t.Helper()
	out, err := e.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		e.t.Fatalf("queue attributes: %v", err)
	}
	_, _ = fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], &visible)
	_, _ = fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &inFlight)
	return visible, inFlight
}

// SNS calls the SNS Query API with a plain form POST (go.mod has no SNS
// client) and returns the XML answer.
func (e *Emulator) SNS(params url.Values) string {
	e.t.Helper()
	resp, err := e.web.PostForm(e.Endpoint+"/", params)
	if err != nil {
		e.t.Fatalf("sns %s: %v", params.Get("Action"), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("sns %s: %s: %s", params.Get("Action"), resp.Status, b)
	}
	return string(b)
}

var topicArnRE = regexp.MustCompile(`<TopicArn>([^<]+)</TopicArn>`)

// Topic creates an SNS topic, subscribes queueURL to it (SNS envelope, as
// CloudTrail's notices arrive, not raw delivery) and returns its ARN.
func (e *Emulator) Topic(name, queueURL string) string {
	e.t.Helper()
	m := topicArnRE.FindStringSubmatch(e.SNS(url.Values{"Action": {"CreateTopic"}, "Name": {name}}))
	if m == nil {
		e.t.Fatal("CreateTopic: no TopicArn")
	}
	out, err := e.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.SNS(url.Values{"Action": {"Subscribe"}, "TopicArn": {m[1]}, "Protocol": {"sqs"},
		"Endpoint": {out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}})
	return m[1]
}

// Publish publishes message on a topic.
func (e *Emulator) Publish(topicArn, message string) {
	e.t.Helper()
	e.SNS(url.Values{"Action": {"Publish"}, "TopicArn": {topicArn}, "Message": {message}})
}

// SourceURL is the sqs:// source URL of queueURL on this emulator, fetching
// objects from s3url; params (a=b&c=d) are appended.
func (e *Emulator) SourceURL(queueURL, s3url, region, params string) string {
	e.t.Helper()
	u, err := url.Parse(queueURL)
	if err != nil {
		e.t.Fatal(err)
	}
	s := fmt.Sprintf("sqs://%s%s?endpoint=%s&s3_endpoint=%s&path_style=true&region=%s", u.Host, u.Path, e.Endpoint, s3url, region)
	if params != "" {
		s += "&" + params
	}
	return s
}

// lockedBuffer collects the emulator's output from its two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
