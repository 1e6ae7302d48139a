package s3src

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/integrity"
)

func TestMain(m *testing.M) {
	// Bleve starts a global pool of analysis workers on first use.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

const testBucket = "trail"

// fakeS3 is gofakes3 behind an httptest server, with a wrapper that counts
// object GETs and can fail, deny or delete objects on the way.
type fakeS3 struct {
	t   *testing.T
	be  *s3mem.Backend
	srv *httptest.Server

	gets     atomic.Int64 // object GETs that reached the fake, throttled ones left out
	slowDown atomic.Int64 // object GETs still to fail with 503 SlowDown
	slowed   atomic.Int64 // object GETs failed with 503

	mu       sync.Mutex
	getKeys  map[string]int  // object GETs per key
	deny     map[string]bool // keys answered with 403 AccessDenied
	deleteOn map[string]bool // keys deleted just before their GET
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	f := &fakeS3{t: t, be: s3mem.New(), getKeys: map[string]int{}, deny: map[string]bool{}, deleteOn: map[string]bool{}}
	if err := f.be.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(f.be).Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, isObject := strings.CutPrefix(r.URL.Path, "/"+testBucket+"/")
		if r.Method == http.MethodGet && isObject && key != "" && r.URL.Query().Get("list-type") == "" {
			if f.slowDown.Add(-1) >= 0 {
				f.slowed.Add(1)
				writeS3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
				return
			}
			if !strings.Contains(key, "/CloudTrail-Digest/") {
				f.gets.Add(1) // log files only: digests are read by the integrity check
			}
			f.mu.Lock()
			f.getKeys[key]++
			deny, del := f.deny[key], f.deleteOn[key]
			f.mu.Unlock()
			switch {
			case deny:
				writeS3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
				return
			case del:
				if _, err := f.be.DeleteObject(testBucket, key); err != nil {
					t.Errorf("delete %s: %v", key, err)
				}
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>1</RequestId></Error>`, code, msg)
}

func (f *fakeS3) put(key string, data []byte) {
	f.t.Helper()
	f.putMeta(key, data, map[string]string{})
}

func (f *fakeS3) putMeta(key string, data []byte, meta map[string]string) {
	f.t.Helper()
	if _, err := f.be.PutObject(testBucket, key, meta, bytes.NewReader(data), int64(len(data)), nil); err != nil {
		f.t.Fatalf("put %s: %v", key, err)
	}
}

// putDir uploads every file under dir as prefix/<path relative to dir>,
// digests with their signature (by path relative to dir) as CloudTrail's
// x-amz-meta-signature, and returns the keys of the log files.
func (f *fakeS3) putDir(dir, prefix string, signatures map[string]string) (logs []string) {
	f.t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key := prefix + "/" + filepath.ToSlash(rel)
		meta := map[string]string{}
		if sig, ok := signatures[filepath.ToSlash(rel)]; ok {
			meta["X-Amz-Meta-Signature"] = sig
		}
		f.putMeta(key, data, meta)
		if !strings.Contains(key, "/CloudTrail-Digest/") {
			logs = append(logs, key)
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return logs
}

func (f *fakeS3) getsOf(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.getKeys[key]
}

// awsEnv points the SDK's default chain at static test credentials and away
// from the host's files, IMDS and endpoint settings.
func awsEnv(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "us-east-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
	} {
		t.Setenv(k, v)
	}
}

// testConfig is a config for the fake with short waits.
func (f *fakeS3) testConfig(prefix string) Config {
	c := DefaultConfig()
	c.Bucket, c.Prefix = testBucket, prefix
	c.Endpoint, c.PathStyle = f.srv.URL, true
	c.Interval = 50 * time.Millisecond
	c.MaxBackoff = 10 * time.Millisecond
	c.Keys = testKeys
	return c
}

// digestKey signs the generated digests; testKeys serves its public key as
// ListPublicKeys would.
var (
	digestKey = func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}()
	testKeys = integrity.StaticKeys(integrity.PublicKey{DER: x509.MarshalPKCS1PublicKey(&digestKey.PublicKey)})
)

// openStore opens the index in dir, closed at cleanup unless closed before.
func openStore(t *testing.T, dir string) *index.Store {
	t.Helper()
	st, err := index.Open(index.DefaultConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newIngester(t *testing.T, st *index.Store) *ingest.Ingester {
	t.Helper()
	cfg := ingest.DefaultConfig()
	in, err := ingest.New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	return in
}

// start runs src until the returned stop is called (also at cleanup).
func start(t *testing.T, src ingest.Source, in *ingest.Ingester) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, in) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitEvents waits until the store holds want events and fails if it holds
// more or the wait is long.
func waitEvents(t *testing.T, st *index.Store, want uint64) {
	t.Helper()
	const wait = 45 * time.Second // the race detector on a busy machine is slow
	deadline := time.Now().Add(wait)
	for {
		n := st.Stats().Events
		if n > want {
			t.Fatalf("store holds %d events, want %d", n, want)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store holds %d events after %s, want %d", n, wait, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// trailFile is a small gzip trail file with the given event ids.
func trailFile(account, region string, ids ...string) []byte {
	var recs []string
	for i, id := range ids {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2026-10-31T12:%02d:00Z","eventSource":"codecommit.amazonaws.com","eventName":"GitPush","awsRegion":%q,"recipientAccountId":%q,"requestParameters":{"repositoryName":"r%d"}}`, id, i%60, region, account, i))
	}
	return gz([]byte(`{"Records":[` + strings.Join(recs, ",") + `]}`))
}
