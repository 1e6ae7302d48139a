package sqssrc

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
)

func TestMain(m *testing.M) {
	// The Sources use the SDK's default credential chain: give it static
	// test credentials and keep it away from profiles and IMDS.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		if v == "" {
			_ = os.Unsetenv(k)
		} else {
			_ = os.Setenv(k, v)
		}
	}
	// Bleve starts a global pool of analysis workers on first use.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

const testRegion = "us-east-1"

// fauxqsBin returns the launcher .ci/tools.sh installs, or "" when absent.
func fauxqsBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CODETRAIL_FAUXQS"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
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

// env is one test's world: fauxqs (SQS + SNS) as a child process, gofakes3
// in process, and a real index with its Ingester.
type env struct {
	t        *testing.T
	endpoint string // fauxqs
	sqs      *sqs.Client
	web      *http.Client // plain HTTP to fauxqs (health, SNS Query API)
	s3url    string
	s3       *s3mem.Backend
	s3delay  sync.Map // key -> time.Duration: GetObject of key waits that long
	store    *index.Store
	in       *ingest.Ingester
}

func newEnv(t *testing.T) *env {
	t.Helper()
	bin := fauxqsBin(t)
	if bin == "" {
		t.Skip("fauxqs is not installed (.tools/bin/fauxqs-node): run .ci/tools.sh, as make test does")
	}
	e := &env{t: t}
	tr := &http.Transport{DisableKeepAlives: true}
	e.web = &http.Client{Transport: tr, Timeout: 10 * time.Second}

	st, err := index.Open(index.DefaultConfig(t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingest.New(ingest.DefaultConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = st.Close()
	})
	e.store, e.in = st, in

	e.startFauxqs(bin)

	sqsTr := &http.Transport{}
	t.Cleanup(sqsTr.CloseIdleConnections)
	e.sqs = sqs.New(sqs.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(e.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: sqsTr},
	})

	e.s3 = s3mem.New()
	if err := e.s3.CreateBucket("trail"); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(e.s3)
	h := faker.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			key, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/trail/"))
			if d, ok := e.s3delay.Load(key); ok {
				time.Sleep(d.(time.Duration))
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.s3url = srv.URL
	return e
}

// startFauxqs starts the emulator on a free loopback port and waits until
// it answers. It is killed by PID when the test ends.
func (e *env) startFauxqs(bin string) {
	t := e.t
retry:
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		var out bytes.Buffer
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), fmt.Sprintf("FAUXQS_PORT=%d", port), "FAUXQS_LOGGER=false")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start fauxqs: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		e.endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
		deadline := time.Now().Add(20 * time.Second)
		for {
			select {
			case <-exited:
				if attempt < 2 {
					t.Logf("fauxqs exited at start (port %d taken?), retrying:\n%s", port, out.String())
					continue retry
				}
				t.Fatalf("fauxqs exited at start:\n%s", out.String())
			default:
			}
			if resp, err := e.web.Get(e.endpoint + "/health"); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Cleanup(stop)
					return
				}
			}
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("fauxqs did not answer on %s:\n%s", e.endpoint, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// queue creates a queue and returns its URL.
func (e *env) queue(name string) string {
	e.t.Helper()
	out, err := e.sqs.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		e.t.Fatalf("create queue: %v", err)
	}
	return aws.ToString(out.QueueUrl)
}

func (e *env) send(queueURL, body string) {
	e.t.Helper()
	if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)}); err != nil {
		e.t.Fatalf("send: %v", err)
	}
}

// inQueue returns the visible and in-flight message counts.
func (e *env) inQueue(queueURL string) (visible, inFlight int) {
	e.t.Helper()
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		e.t.Fatalf("queue attributes: %v", err)
	}
	var v, f int
	_, _ = fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], &v)
	_, _ = fmt.Sscan(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], &f)
	return v, f
}

// sns calls the SNS Query API of fauxqs with a plain form POST (the module
// has no SNS client) and returns the XML answer.
func (e *env) sns(params url.Values) string {
	e.t.Helper()
	resp, err := e.web.PostForm(e.endpoint+"/", params)
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

// topic creates an SNS topic subscribed by queueURL (SNS envelope, not raw
// delivery) and returns its ARN.
func (e *env) topic(name, queueURL string) string {
	e.t.Helper()
	m := topicArnRE.FindStringSubmatch(e.sns(url.Values{"Action": {"CreateTopic"}, "Name": {name}}))
	if m == nil {
		e.t.Fatal("CreateTopic: no TopicArn")
	}
	out, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.sns(url.Values{"Action": {"Subscribe"}, "TopicArn": {m[1]}, "Protocol": {"sqs"},
		"Endpoint": {out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]}})
	return m[1]
}

func (e *env) publish(topicArn, message string) {
	e.t.Helper()
	e.sns(url.Values{"Action": {"Publish"}, "TopicArn": {topicArn}, "Message": {message}})
}

// put stores a gzip trail file of events prefix-from .. prefix-(to-1).
func (e *env) put(key, prefix string, from, to int) {
	e.t.Helper()
	data := gz(trailFile(prefix, from, to))
	if _, err := e.s3.PutObject("trail", key, map[string]string{}, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		e.t.Fatalf("put %s: %v", key, err)
	}
}

// sourceURL is the sqs:// URL of queueURL with params added.
func (e *env) sourceURL(queueURL, params string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		e.t.Fatal(err)
	}
	s := fmt.Sprintf("sqs://%s%s?endpoint=%s&s3_endpoint=%s&path_style=true&region=%s", u.Host, u.Path, e.endpoint, e.s3url, testRegion)
	if params != "" {
		s += "&" + params
	}
	return s
}

// source parses sourceURL and returns the Source.
func (e *env) source(queueURL, params string) *Source {
	e.t.Helper()
	cfg, err := Parse(e.sourceURL(queueURL, params))
	if err != nil {
		e.t.Fatal(err)
	}
	s, err := New(cfg, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// run runs s with in until the returned stop (also a cleanup) is called.
func (e *env) run(s *Source, in *ingest.Ingester) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, in) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// ids counts the stored events by eventID.
func (e *env) ids() map[string]int {
	e.t.Helper()
	got := map[string]int{}
	req := index.SearchRequest{PageSize: 1000}
	for {
		res, err := e.store.Search(context.Background(), req)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, h := range res.Hits {
			got[h.Event.ID]++
		}
		if res.NextPageToken == "" {
			return got
		}
		req.PageToken = res.NextPageToken
	}
}

// eventually waits up to d for cond.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func rec(prefix string, i int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":"%s-%05d","eventTime":"2024-02-01T10:%02d:%02dZ","eventSource":"codecommit.amazonaws.com","eventName":"GitPush","awsRegion":"eu-west-1","recipientAccountId":"123456789012","requestParameters":{"repositoryName":"r%d"}}`,
		prefix, i, (i/60)%60, i%60, i%5)
}

func trailFile(prefix string, from, to int) []byte {
	var recs []string
	for i := from; i < to; i++ {
		recs = append(recs, rec(prefix, i))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// wantIDs is prefix-from .. prefix-(to-1), each once.
func wantIDs(into map[string]int, prefix string, from, to int) {
	for i := from; i < to; i++ {
		into[fmt.Sprintf("%s-%05d", prefix, i)] = 1
	}
}
