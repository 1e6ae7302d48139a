package sqssrc

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/sqssrc/fauxqs"
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

// env is one test's world: fauxqs (SQS + SNS) as a child process, gofakes3
// in process, and a real index with its Ingester.
type env struct {
	*fauxqs.Emulator
	t       *testing.T
	s3url   string
	s3      *s3mem.Backend
	s3delay sync.Map // key -> time.Duration: GetObject of key waits that long
	store   *index.Store
	in      *ingest.Ingester
}

func newEnv(t *testing.T) *env {
	t.Helper()
	bin := fauxqs.Bin()
	if bin == "" {
		t.Skip("fauxqs is not installed (.tools/bin/fauxqs-node): run .ci/tools.sh, as make test does")
	}
	e := &env{t: t}

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

	e.Emulator = fauxqs.Start(t, bin, testRegion)

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
	return e.SourceURL(queueURL, e.s3url, testRegion, params)
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
