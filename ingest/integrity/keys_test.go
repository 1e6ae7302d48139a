package integrity

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// fakeKeys serves ListPublicKeys over JSON 1.1, one key a page.
type fakeKeys struct {
	keys []PublicKey

	mu       sync.Mutex
	requests []map[string]any
}

func (f *fakeKeys) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".ListPublicKeys") {
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"__type":"SerializationException"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, in)
	f.mu.Unlock()
	i := 0
	if tok, _ := in["NextToken"].(string); tok == "page2" {
		i = 1
	}
	k := f.keys[i]
	out := map[string]any{"PublicKeyList": []map[string]any{{
		"Value":             base64.StdEncoding.EncodeToString(k.DER),
		"ValidityStartTime": k.ValidityStart.Unix(),
		"ValidityEndTime":   k.ValidityEnd.Unix(),
		"Fingerprint":       Fingerprint(k.DER),
	}}}
	if i == 0 {
		out["NextToken"] = "page2"
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func TestCloudTrailKeys(t *testing.T) {
	other := publicKeyOf(mustKey(t))
	fake := &fakeKeys{keys: []PublicKey{other, publicKeyOf(testKey)}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client := cloudtrail.New(cloudtrail.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{},
		HTTPClient: srv.Client(), RetryMaxAttempts: 1,
	})
	keys := CloudTrailKeys(func(string) ListPublicKeysAPI { return client })

	got, err := keys(context.Background(), "us-east-1", testStart, testStart.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Fingerprint != Fingerprint(x509.MarshalPKCS1PublicKey(&testKey.PublicKey)) ||
		!got[1].ValidityStart.Equal(publicKeyOf(testKey).ValidityStart) || string(got[1].DER) != string(publicKeyOf(testKey).DER) {
		t.Fatalf("keys = %+v", got)
	}
	fake.mu.Lock()
	first := fake.requests[0]
	fake.mu.Unlock()
	if st, _ := first["StartTime"].(float64); int64(st) != testStart.Unix() {
		t.Errorf("StartTime sent = %v, want %d", first["StartTime"], testStart.Unix())
	}

	// The keys served verify a real chain through a Checker.
	r := check(t, keys, buildChain(t, testAccount, "us-east-1", 3, nil))
	if !r.OK() || r.Regions[0].Digests != 3 {
		t.Fatalf("report = %+v", r)
	}
}

func TestCloudTrailKeysError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"InvalidTimeRangeException","message":"bad range"}`))
	}))
	defer srv.Close()
	client := cloudtrail.New(cloudtrail.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.AnonymousCredentials{},
		HTTPClient: srv.Client(), RetryMaxAttempts: 1,
	})
	_, err := CloudTrailKeys(func(string) ListPublicKeysAPI { return client })(context.Background(), "us-east-1", testStart, testStart)
	if err == nil || !strings.Contains(err.Error(), "InvalidTimeRange") {
		t.Fatalf("err = %v", err)
	}
}
