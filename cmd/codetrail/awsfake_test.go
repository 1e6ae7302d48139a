package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"os"
	"testing"

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
