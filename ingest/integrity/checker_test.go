package integrity

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	testBucket  = "trail-bucket"
	testAccount = "111122223333"
)

var testStart = time.Date(2024, 5, 1, 10, 1, 31, 0, time.UTC)

// testKey is shared: RSA key generation is the slow part of these tests.
var testKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func mustKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicKeyOf(k *rsa.PrivateKey) PublicKey {
	der := x509.MarshalPKCS1PublicKey(&k.PublicKey)
	return PublicKey{DER: der, ValidityStart: testStart.Add(-24 * time.Hour), ValidityEnd: testStart.Add(24 * time.Hour)}
}

// fixture is a chain of digests of one trail with the log files they list.
type fixture struct {
	digests []Digest
	logs    map[string][]byte // bucket/key -> gzip body as stored
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sign signs a digest the way CloudTrail does, written out independently of
// stringToSign so that each checks the other.
func sign(t *testing.T, k *rsa.PrivateKey, f *digestFile, inflated []byte) string {
	t.Helper()
	prev := "null"
	if f.PreviousDigestSignature != nil {
		prev = *f.PreviousDigestSignature
	}
	h := sha256.Sum256(inflated)
	s := fmt.Sprintf("%s\n%s/%s\n%s\n%s", f.DigestEndTime, f.DigestS3Bucket, f.DigestS3Object, hex.EncodeToString(h[:]), prev)
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// buildChain writes n hourly digests of account/region, two log files each.
// mutate, if set, edits digest i before it is signed; the digests after it
// chain onto the edited one.
func buildChain(t *testing.T, account, region string, n int, mutate func(i int, f *digestFile)) fixture {
	t.Helper()
	fx := fixture{logs: map[string][]byte{}}
	fp := Fingerprint(x509.MarshalPKCS1PublicKey(&testKey.PublicKey))
	var prevKey, prevHash, prevSig string
	for i := range n {
		start, end := testStart.Add(time.Duration(i)*time.Hour), testStart.Add(time.Duration(i+1)*time.Hour)
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_main_%s_%s.json.gz",
			account, region, end.Format("2006/01/02"), account, region, region, end.Format("20060102T150405Z"))
		f := digestFile{
			AWSAccountID: account, DigestStartTime: start.Format(time.RFC3339), DigestEndTime: end.Format(time.RFC3339),
			DigestS3Bucket: testBucket, DigestS3Object: key, DigestPublicKeyFingerprint: fp, DigestSignatureAlgorithm: "SHA256withRSA",
		}
		if prevKey != "" {
			b, k, h, a, s := testBucket, prevKey, prevHash, "SHA-256", prevSig
			f.PreviousDigestS3Bucket, f.PreviousDigestS3Object, f.PreviousDigestHashValue, f.PreviousDigestHashAlgorithm, f.PreviousDigestSignature = &b, &k, &h, &a, &s
		}
		for j := range 2 {
			t0 := start.Add(time.Duration(j*20+5) * time.Minute)
			logKey := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%04d%04d.json.gz",
				account, region, t0.Format("2006/01/02"), account, region, t0.Format("20060102T1504Z"), i, j)
			raw := fmt.Appendf(nil, `{"Records":[{"eventID":"%s-%d-%d","eventTime":%q}]}`, region, i, j, t0.Format(time.RFC3339))
			fx.logs[testBucket+"/"+logKey] = gz(t, raw)
			h := sha256.Sum256(raw)
			f.LogFiles = append(f.LogFiles, logFile{S3Bucket: testBucket, S3Object: logKey, HashValue: hex.EncodeToString(h[:]), HashAlgorithm: "SHA-256"})
		}
		if mutate != nil {
			mutate(i, &f)
		}
		inflated, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		sig := sign(t, testKey, &f, inflated)
		fx.digests = append(fx.digests, Digest{Bucket: testBucket, Key: key, Body: gz(t, inflated), Signature: sig})
		h := sha256.Sum256(inflated)
		prevKey, prevHash, prevSig = key, hex.EncodeToString(h[:]), sig
	}
	return fx
}

// counts summarises one region of a report.
type counts struct {
	Digests, LogFiles                                                  int
	Missing, Mismatch, Broken, Unsigned, BadSig, UnknownKey, Malformed int
}

func countsOf(g RegionReport) counts {
	return counts{g.Digests, g.LogFiles, len(g.Missing), len(g.HashMismatches), len(g.BrokenChains),
		len(g.Unsigned), len(g.BadSignatures), len(g.UnknownKeys), len(g.Malformed)}
}

func check(t *testing.T, keys PublicKeys, fxs ...fixture) Report {
	t.Helper()
	c, err := New(DefaultConfig(), keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, fx := range fxs {
		for _, d := range fx.digests {
			c.AddDigest(d)
		}
		for bk, body := range fx.logs {
			sum, err := HashLog(body)
			if err != nil {
				t.Fatal(err)
			}
			bucket, key, _ := strings.Cut(bk, "/")
			c.ObserveLog(bucket, key, sum)
		}
	}
	r, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, again) {
		t.Fatal("two checks of the same input differ")
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheck(t *testing.T) {
	otherKey := mustKey(t)
	good := counts{Digests: 4, LogFiles: 8}
	tests := []struct {
		name   string
		mutate func(i int, f *digestFile)
		edit   func(t *testing.T, fx *fixture)
		want   counts
		// detail, if set, checks the single problem's text.
		detail func(t *testing.T, g RegionReport)
	}{
		{name: "all good", want: good},
		{
			name: "missing log file",
			edit: func(t *testing.T, fx *fixture) {
				delete(fx.logs, testBucket+"/"+logKeyOf(t, fx, 2, 1))
			},
			want: counts{Digests: 4, LogFiles: 8, Missing: 1},
			detail: func(t *testing.T, g RegionReport) {
				p := g.Missing[0]
				if p.DigestKey != thirdDigestKey(t, g) || p.Got != "" || p.Want == "" {
					t.Errorf("missing = %+v", p)
				}
			},
		},
		{
			name: "altered log file",
			edit: func(t *testing.T, fx *fixture) {
				k := testBucket + "/" + logKeyOf(t, fx, 1, 0)
				raw := bytes.Replace(gunzip(t, fx.logs[k]), []byte("eventID"), []byte("eventId"), 1)
				fx.logs[k] = gz(t, raw)
			},
			want: counts{Digests: 4, LogFiles: 8, Mismatch: 1},
			detail: func(t *testing.T, g RegionReport) {
				if p := g.HashMismatches[0]; p.Got == p.Want || p.Got == "" {
					t.Errorf("mismatch = %+v", p)
				}
			},
		},
		{
			name: "middle digest removed",
			edit: func(t *testing.T, fx *fixture) {
				fx.digests = append(fx.digests[:1:1], fx.digests[2:]...)
			},
			want: counts{Digests: 3, LogFiles: 6, Broken: 1},
			detail: func(t *testing.T, g RegionReport) {
				if p := g.BrokenChains[0]; !strings.Contains(p.Reason, "names previous digest") {
					t.Errorf("broken = %+v", p)
				}
			},
		},
		{
			name: "previousDigestSignature altered and re-signed",
			mutate: func(i int, f *digestFile) {
				if i == 2 {
					s := strings.Repeat("ab", 256)
					f.PreviousDigestSignature = &s
				}
			},
			want: counts{Digests: 4, LogFiles: 8, Broken: 1},
			detail: func(t *testing.T, g RegionReport) {
				if p := g.BrokenChains[0]; !strings.Contains(p.Reason, "previousDigestSignature") {
					t.Errorf("broken = %+v", p)
				}
			},
		},
		{
			name: "digest edited after signing",
			edit: func(t *testing.T, fx *fixture) {
				// Hide an altered log file by rewriting its hash in the digest.
				d := &fx.digests[1]
				var f digestFile
				if err := json.Unmarshal(gunzip(t, d.Body), &f); err != nil {
					t.Fatal(err)
				}
				k := testBucket + "/" + f.LogFiles[0].S3Object
				raw := append(gunzip(t, fx.logs[k]), ' ')
				fx.logs[k] = gz(t, raw)
				h := sha256.Sum256(raw)
				f.LogFiles[0].HashValue = hex.EncodeToString(h[:])
				b, err := json.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				d.Body = gz(t, b)
			},
			// The log file now matches; the signature and the next link do not.
			want: counts{Digests: 4, LogFiles: 8, BadSig: 1, Broken: 1},
		},
		{
			name: "bad signature",
			edit: func(t *testing.T, fx *fixture) {
				var f digestFile
				if err := json.Unmarshal(gunzip(t, fx.digests[3].Body), &f); err != nil {
					t.Fatal(err)
				}
				fx.digests[3].Signature = sign(t, otherKey, &f, gunzip(t, fx.digests[3].Body))
			},
			want: counts{Digests: 4, LogFiles: 8, BadSig: 1},
		},
		{
			name: "unsigned",
			edit: func(t *testing.T, fx *fixture) { fx.digests[3].Signature = "" },
			want: counts{Digests: 4, LogFiles: 8, Unsigned: 1},
		},
		{
			name: "unknown fingerprint",
			mutate: func(i int, f *digestFile) {
				if i == 0 {
					f.DigestPublicKeyFingerprint = strings.Repeat("0", 32)
				}
			},
			want: counts{Digests: 4, LogFiles: 8, UnknownKey: 1},
		},
		{
			name: "malformed digest",
			edit: func(t *testing.T, fx *fixture) { fx.digests[1].Body = gz(t, []byte("{not json")) },
			// Its log files are listed nowhere else; the next digest's link
			// has nothing to meet.
			want: counts{Digests: 4, LogFiles: 6, Malformed: 1, Broken: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := buildChain(t, testAccount, "us-east-1", 4, tt.mutate)
			if tt.edit != nil {
				tt.edit(t, &fx)
			}
			r := check(t, StaticKeys(publicKeyOf(testKey)), fx)
			if len(r.Regions) != 1 {
				t.Fatalf("%d regions, want 1", len(r.Regions))
			}
			g := r.Regions[0]
			if g.Account != testAccount || g.Region != "us-east-1" {
				t.Errorf("region = %s/%s", g.Account, g.Region)
			}
			if got := countsOf(g); got != tt.want {
				b, _ := json.MarshalIndent(g, "", "  ")
				t.Fatalf("counts = %+v\nwant     %+v\n%s", got, tt.want, b)
			}
			if r.OK() != (tt.want == good) {
				t.Errorf("OK() = %v with %d problems", r.OK(), r.Problems)
			}
			if tt.detail != nil {
				tt.detail(t, g)
			}
		})
	}
}

func logKeyOf(t *testing.T, fx *fixture, digest, file int) string {
	t.Helper()
	var f digestFile
	if err := json.Unmarshal(gunzip(t, fx.digests[digest].Body), &f); err != nil {
		t.Fatal(err)
	}
	return f.LogFiles[file].S3Object
}

// thirdDigestKey returns the key of the third digest of the region's chain, taken from
// the reported problem's own listing order (keys sort by end time).
func thirdDigestKey(t *testing.T, g RegionReport) string {
	t.Helper()
	if len(g.Missing) == 0 {
		t.Fatal("no missing file")
	}
	if !strings.Contains(g.Missing[0].DigestKey, testStart.Add(3*time.Hour).Format("20060102T150405Z")) {
		t.Fatalf("missing file listed by %s, want the third digest", g.Missing[0].DigestKey)
	}
	return g.Missing[0].DigestKey
}

func TestCheckRegionsOrdered(t *testing.T) {
	a := buildChain(t, "222233334444", "us-east-1", 2, nil)
	b := buildChain(t, testAccount, "us-east-1", 2, nil)
	c := buildChain(t, testAccount, "eu-west-1", 3, nil)
	r := check(t, StaticKeys(publicKeyOf(testKey)), a, b, c)
	var got []string
	for _, g := range r.Regions {
		got = append(got, fmt.Sprintf("%s/%s/%d", g.Account, g.Region, g.Digests))
	}
	want := []string{"111122223333/eu-west-1/3", "111122223333/us-east-1/2", "222233334444/us-east-1/2"}
	if !reflect.DeepEqual(got, want) || !r.OK() {
		t.Fatalf("regions = %v (ok %v), want %v", got, r.OK(), want)
	}
}

func TestCheckKeysError(t *testing.T) {
	fail := func(context.Context, string, time.Time, time.Time) ([]PublicKey, error) {
		return nil, context.DeadlineExceeded
	}
	c, err := New(DefaultConfig(), fail)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range buildChain(t, testAccount, "us-east-1", 1, nil).digests {
		c.AddDigest(d)
	}
	if _, err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("Check error = %v, want the key source's", err)
	}
}

func TestHashLog(t *testing.T) {
	raw := []byte(`{"Records":[]}`)
	want := sha256.Sum256(raw)
	for _, tt := range []struct {
		name string
		body []byte
	}{{"gzip", gz(t, raw)}, {"plain", raw}} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HashLog(tt.body)
			if err != nil || got != want {
				t.Fatalf("HashLog = %x, %v; want %x", got, err, want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{GapTolerance: -1}, StaticKeys()); err == nil {
		t.Fatal("negative gap tolerance accepted")
	}
	if _, err := New(DefaultConfig(), nil); err == nil {
		t.Fatal("nil key source accepted")
	}
}

// TestCheckIngestedLookup: log files ingested before a restart are known to
// the store only; the Ingested lookup answers for them.
func TestCheckIngestedLookup(t *testing.T) {
	fx := buildChain(t, testAccount, "us-east-1", 2, nil)
	stored := map[string][32]byte{}
	for bk, body := range fx.logs {
		sum, err := HashLog(body)
		if err != nil {
			t.Fatal(err)
		}
		stored[bk] = sum
	}
	var lost string
	for bk := range stored {
		lost = bk
		delete(stored, bk)
		break
	}
	lookups := 0
	cfg := DefaultConfig()
	cfg.Ingested = func(bucket, key string) ([32]byte, bool, error) {
		lookups++
		sum, ok := stored[bucket+"/"+key]
		return sum, ok, nil
	}
	c, err := New(cfg, StaticKeys(publicKeyOf(testKey)))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range fx.digests {
		c.AddDigest(d)
	}
	r, err := c.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	g := r.Regions[0]
	if len(g.Missing) != 1 || testBucket+"/"+g.Missing[0].Key != lost || len(g.HashMismatches) != 0 || r.Problems != 1 {
		t.Fatalf("report = %+v, want only %s missing", g, lost)
	}
	if lookups != 4 {
		t.Fatalf("lookups = %d, want 4", lookups)
	}
	// Found hashes are remembered; only the missing file is asked again.
	if _, err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lookups != 5 {
		t.Fatalf("lookups after a second check = %d, want 5", lookups)
	}

	cfg.Ingested = func(string, string) ([32]byte, bool, error) { return [32]byte{}, false, io.ErrUnexpectedEOF }
	c, _ = New(cfg, StaticKeys(publicKeyOf(testKey)))
	c.AddDigest(fx.digests[0])
	if _, err := c.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("Check error = %v, want the lookup's", err)
	}
}

// TestCheckKeysPerRegion: keys are asked per region and cached; a region
// whose keys fail is still checked for files and chains.
func TestCheckKeysPerRegion(t *testing.T) {
	east := buildChain(t, testAccount, "us-east-1", 2, nil)
	west := buildChain(t, testAccount, "eu-west-1", 2, nil)
	delete(west.logs, func() string {
		for k := range west.logs {
			return k
		}
		return ""
	}())
	calls := map[string]int{}
	keys := func(_ context.Context, region string, _, _ time.Time) ([]PublicKey, error) {
		calls[region]++
		if region == "eu-west-1" {
			return nil, fmt.Errorf("AccessDenied: not allowed")
		}
		return []PublicKey{publicKeyOf(testKey)}, nil
	}
	c, err := New(DefaultConfig(), keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, fx := range []fixture{east, west} {
		for _, d := range fx.digests {
			c.AddDigest(d)
		}
		for bk, body := range fx.logs {
			sum, _ := HashLog(body)
			bucket, key, _ := strings.Cut(bk, "/")
			c.ObserveLog(bucket, key, sum)
		}
	}
	for range 2 {
		r, err := c.Check(context.Background())
		if err == nil || !strings.Contains(err.Error(), "eu-west-1") || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("Check error = %v, want eu-west-1's", err)
		}
		if len(r.Regions) != 2 {
			t.Fatalf("regions = %+v", r.Regions)
		}
		w, e := r.Regions[0], r.Regions[1]
		if w.Region != "eu-west-1" || !strings.Contains(w.KeyError, "AccessDenied") || len(w.Missing) != 1 || w.Digests != 2 {
			t.Fatalf("eu-west-1 = %+v", w)
		}
		if e.Region != "us-east-1" || e.KeyError != "" || e.Digests != 2 || len(e.Missing) != 0 || len(e.BadSignatures) != 0 {
			t.Fatalf("us-east-1 = %+v", e)
		}
		if r.Problems != 1 {
			t.Fatalf("problems = %d, want 1", r.Problems)
		}
	}
	// The good region is cached; the failed one is asked again.
	if calls["us-east-1"] != 1 || calls["eu-west-1"] != 2 {
		t.Fatalf("calls = %v", calls)
	}
}
