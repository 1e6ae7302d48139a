package integrity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzParseDigest checks the digest file decoder: any body gives a digest,
// malformed or not, keeping its location and signature; a well-formed one
// carries the SHA-256 of its inflated JSON and the times it names; gzip is
// transparent; and the decoded fields re-encoded decode the same.
func FuzzParseDigest(f *testing.F) {
	key := "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240501T110131Z.json.gz"
	prev := "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240501T100131Z.json.gz"
	b, h, a, s := testBucket, prev, strings.Repeat("ab", 32), "SHA-256"
	good, err := json.Marshal(digestFile{
		AWSAccountID: testAccount, DigestStartTime: "2024-05-01T10:01:31Z", DigestEndTime: "2024-05-01T11:01:31Z",
		DigestS3Bucket: testBucket, DigestS3Object: key, DigestPublicKeyFingerprint: strings.Repeat("0f", 16),
		DigestSignatureAlgorithm: signatureAlgorithm, PreviousDigestS3Bucket: &b, PreviousDigestS3Object: &h,
		PreviousDigestHashValue: &a, PreviousDigestHashAlgorithm: &s, PreviousDigestSignature: &a,
		LogFiles: []logFile{{S3Bucket: testBucket, S3Object: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/x.json.gz", HashValue: a, HashAlgorithm: s}},
	})
	if err != nil {
		f.Fatal(err)
	}
	sig := strings.Repeat("9A", 256)
	f.Add(good, key, sig)
	f.Add(gz(f, good), key, " "+sig+"\n")
	f.Add(good, strings.Replace(key, ".json.gz", "_backfill.json.gz", 1), "")
	f.Add([]byte(`{"digestStartTime":"2024-05-01T10:01:31Z","digestEndTime":"2024-05-01T11:01:31+02:00","previousDigestSignature":null,"logFiles":[]}`), "k", "")
	f.Add([]byte(`{"digestStartTime":"yesterday","digestEndTime":"2024-05-01T11:01:31Z"}`), "k", "")
	f.Add([]byte(`{"digestStartTime":"2024-05-01T10:01:31Z"}`), "AWSLogs/o-abc/1/CloudTrail-Digest/r", "")
	f.Add([]byte(`{"logFiles":{}}`), "/CloudTrail-Digest/", "")
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0}, "", "")
	f.Add(gz(f, []byte("not json")), "", "")
	f.Add([]byte{}, "", "")
	f.Fuzz(func(t *testing.T, body []byte, key, sig string) {
		in := Digest{Bucket: testBucket, Key: key, Body: body, Signature: sig}
		d := parseDigest(in)
		if d.bucket != in.Bucket || d.key != key || d.sig != strings.ToLower(strings.TrimSpace(sig)) {
			t.Fatalf("parseDigest(%q, %q, %q) kept %q %q %q", body, key, sig, d.bucket, d.key, d.sig)
		}
		if !reflect.DeepEqual(d, parseDigest(in)) {
			t.Fatalf("parseDigest(%q) is not deterministic", body)
		}
		// Account and region given with the digest win over the key's.
		if named := parseDigest(Digest{Bucket: testBucket, Key: key, Body: body, Account: "A", Region: "R"}); named.account != "A" || named.region != "R" {
			t.Fatalf("given account and region replaced by %q %q", named.account, named.region)
		}
		if !isGzip(body) {
			z := parseDigest(Digest{Bucket: testBucket, Key: key, Body: gz(t, body), Signature: sig})
			if !reflect.DeepEqual(d, z) {
				t.Fatalf("parseDigest(%q) differs when gzipped:\n%+v\n%+v", body, d, z)
			}
		}
		if d.malformed != "" {
			if d.hash != "" {
				t.Fatalf("malformed digest %q has a hash", d.malformed)
			}
			return
		}
		raw := body
		if isGzip(body) {
			raw = gunzip(t, body)
		}
		if sum := sha256.Sum256(raw); d.hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("hash %s is not the SHA-256 of the inflated digest", d.hash)
		}
		start, err1 := time.Parse(time.RFC3339, d.f.DigestStartTime)
		end, err2 := time.Parse(time.RFC3339, d.f.DigestEndTime)
		if err1 != nil || err2 != nil || !start.Equal(d.start) || !end.Equal(d.end) {
			t.Fatalf("times %v %v, fields %q %q", d.start, d.end, d.f.DigestStartTime, d.f.DigestEndTime)
		}
		re, err := json.Marshal(d.f)
		if err != nil {
			t.Fatal(err)
		}
		if again := parseDigest(Digest{Bucket: testBucket, Key: key, Body: re}); again.malformed != "" || !reflect.DeepEqual(again.f, d.f) {
			t.Fatalf("re-encoded digest %s decodes to %+v (%s), want %+v", re, again.f, again.malformed, d.f)
		}
	})
}

// FuzzParseRSAKey checks the signing key decoder: a key or an error, never
// both; what it accepts is an RSA key that survives a PKCS#1 round trip; and
// a PKCS#1 key is always read as such.
func FuzzParseRSAKey(f *testing.F) {
	f.Add(x509.MarshalPKCS1PublicKey(&testKey.PublicKey))
	pkix, err := x509.MarshalPKIXPublicKey(&testKey.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pkix)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	if der, err := x509.MarshalPKIXPublicKey(&ec.PublicKey); err == nil {
		f.Add(der) // not RSA
	}
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03}) // N=5, E=3: well-formed but weak
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte("MIIBCgKCAQEA"))
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := parseRSAKey(der)
		if (k == nil) == (err == nil) {
			t.Fatalf("parseRSAKey(%x) = %v, %v: want exactly one", der, k, err)
		}
		strong := func(k *rsa.PublicKey) bool { return k.N.BitLen() >= minRSABits && k.E >= 3 && k.E%2 == 1 }
		if pk, perr := x509.ParsePKCS1PublicKey(der); perr == nil && strong(pk) && (k == nil || !pk.Equal(k)) {
			t.Fatalf("parseRSAKey(%x) = %v, %v; the PKCS#1 reading is %v", der, k, err, pk)
		}
		if err != nil {
			return
		}
		if k.N == nil || !strong(k) {
			t.Fatalf("parseRSAKey(%x) accepted a weak key: %d bits, E %d", der, k.N.BitLen(), k.E)
		}
		again, err := parseRSAKey(x509.MarshalPKCS1PublicKey(k))
		if err != nil || !again.Equal(k) {
			t.Fatalf("parseRSAKey(%x) = %v does not round-trip: %v, %v", der, k, again, err)
		}
		if fp := Fingerprint(der); len(fp) != 32 || fp != strings.ToLower(fp) {
			t.Fatalf("Fingerprint(%x) = %q", der, fp)
		}
	})
}
