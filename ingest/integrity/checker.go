package integrity

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxDigestBytes bounds an uncompressed digest file. Real ones list one
// hour of log files of one region: tens to hundreds of KiB.
const maxDigestBytes = 64 << 20

// signatureAlgorithm is the only digestSignatureAlgorithm CloudTrail uses.
const signatureAlgorithm = "SHA256withRSA"

// Config tunes a Checker.
type Config struct {
	// GapTolerance is how far a digest's digestStartTime may be from the
	// digestEndTime of the digest before it before the chain counts as
	// broken. CloudTrail makes them equal.
	GapTolerance time.Duration
	// Ingested, when set, is asked for the hash of a log file no
	// ObserveLog call reported: files ingested before a restart are known to
	// the store, not to this process. ok false means never ingested.
	Ingested func(bucket, key string) (sum [sha256.Size]byte, ok bool, err error)
}

// DefaultConfig returns the defaults: a one second gap tolerance.
func DefaultConfig() Config {
	return Config{GapTolerance: time.Second}
}

// Validate reports the first invalid field of c.
func (c Config) Validate() error {
	if c.GapTolerance < 0 {
		return errors.New("gap tolerance must not be negative")
	}
	return nil
}

// Digest is one digest file as read from S3.
type Digest struct {
	Bucket string
	Key    string
	// Account and Region group the result; empty means: take them from the
	// key (AWSLogs/[o-id/]account/CloudTrail-Digest/region/...).
	Account string
	Region  string
	// Body is the object as stored (gzip) or already inflated. AddDigest
	// does not keep it.
	Body []byte
	// Signature is the hex x-amz-meta-signature metadata; empty if absent.
	Signature string
}

// Checker collects digests and ingested log file hashes and checks one
// against the other. Its methods may be called concurrently: ingest feeds it
// while Check runs.
type Checker struct {
	cfg  Config
	keys PublicKeys

	mu      sync.Mutex          // guards digests, logs and keyCache
	digests map[string]*digest  // by bucket/key
	logs    map[string][32]byte // SHA-256 of the inflated log file, by bucket/key
	// keyCache holds each region's keys with the span they were asked
	// for, so that repeated checks call ListPublicKeys only when newer
	// digests widen the span.
	keyCache map[string]cachedKeys
}

type cachedKeys struct {
	start, end time.Time
	byFP       map[string][]PublicKey
}

// New returns a Checker that gets signing keys from keys.
func New(cfg Config, keys PublicKeys) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("integrity config: %w", err)
	}
	if keys == nil {
		return nil, errors.New("integrity: no public key source")
	}
	return &Checker{cfg: cfg, keys: keys, digests: map[string]*digest{}, logs: map[string][32]byte{}, keyCache: map[string]cachedKeys{}}, nil
}

// ObserveLog records that the log file bucket/key was ingested with sum, the
// SHA-256 of its inflated content (see HashLog). A later call replaces it.
func (c *Checker) ObserveLog(bucket, key string, sum [sha256.Size]byte) {
	c.mu.Lock()
	c.logs[bucket+"/"+key] = sum
	c.mu.Unlock()
}

// HashLog returns the SHA-256 a digest records for a log file with body, the
// object as downloaded: gzip is inflated first, plain JSON hashed as is.
func HashLog(body []byte) ([sha256.Size]byte, error) {
	if !isGzip(body) {
		return sha256.Sum256(body), nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return [32]byte{}, fmt.Errorf("hash log file: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, zr); err != nil {
		return [32]byte{}, fmt.Errorf("hash log file: %w", err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// digestFile is the JSON of a digest file; the fields that may be null are
// pointers.
type digestFile struct {
	AWSAccountID                string    `json:"awsAccountId"`
	DigestStartTime             string    `json:"digestStartTime"`
	DigestEndTime               string    `json:"digestEndTime"`
	DigestS3Bucket              string    `json:"digestS3Bucket"`
	DigestS3Object              string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []logFile `json:"logFiles"`
}

type logFile struct {
	S3Bucket      string `json:"s3Bucket"`
	S3Object      string `json:"s3Object"`
	HashValue     string `json:"hashValue"`
	HashAlgorithm string `json:"hashAlgorithm"`
}

// digest is a digest file as held by the Checker.
type digest struct {
	bucket, key     string
	account, region string
	malformed       string // reason; the fields below are unset if not empty
	f               digestFile
	start, end      time.Time
	hash            string // hex SHA-256 of the inflated file
	sig             string // lower-case hex
	chain           string // trail the digest belongs to
	backfill        bool
}

// AddDigest parses d and holds it for the next Check. A digest that cannot
// be decoded is held too and reported as malformed. Adding the same
// bucket/key again replaces it.
func (c *Checker) AddDigest(d Digest) {
	dg := parseDigest(d)
	c.mu.Lock()
	c.digests[d.Bucket+"/"+d.Key] = dg
	c.mu.Unlock()
}

func parseDigest(d Digest) *digest {
	dg := &digest{bucket: d.Bucket, key: d.Key, account: d.Account, region: d.Region, sig: strings.ToLower(strings.TrimSpace(d.Signature))}
	acct, region := keyAccountRegion(d.Key)
	dg.account, dg.region = cmp.Or(dg.account, acct), cmp.Or(dg.region, region)
	dg.chain, dg.backfill = chainOf(d.Bucket, d.Key)
	raw := d.Body
	if isGzip(raw) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			dg.malformed = "gunzip: " + err.Error()
			return dg
		}
		raw, err = io.ReadAll(io.LimitReader(zr, maxDigestBytes+1))
		if err != nil {
			dg.malformed = "gunzip: " + err.Error()
			return dg
		}
		if len(raw) > maxDigestBytes {
			dg.malformed = fmt.Sprintf("larger than %d bytes inflated", maxDigestBytes)
			return dg
		}
	}
	if err := json.Unmarshal(raw, &dg.f); err != nil {
		dg.malformed = "decode JSON: " + err.Error()
		return dg
	}
	dg.account = cmp.Or(dg.account, dg.f.AWSAccountID)
	var err error
	if dg.start, err = time.Parse(time.RFC3339, dg.f.DigestStartTime); err != nil {
		dg.malformed = "digestStartTime: " + err.Error()
		return dg
	}
	if dg.end, err = time.Parse(time.RFC3339, dg.f.DigestEndTime); err != nil {
		dg.malformed = "digestEndTime: " + err.Error()
		return dg
	}
	sum := sha256.Sum256(raw)
	dg.hash = hex.EncodeToString(sum[:])
	return dg
}

// keyAccountRegion takes account and region from a digest key laid out as
// [prefix/]AWSLogs/[o-id/]account/CloudTrail-Digest/region/YYYY/MM/DD/name.
func keyAccountRegion(key string) (account, region string) {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		if p == "CloudTrail-Digest" && i > 0 && i+1 < len(parts) {
			return parts[i-1], parts[i+1]
		}
	}
	return "", ""
}

// chainOf names the trail a digest belongs to: its folder up to the region
// plus its file name without the end timestamp. Several trails may deliver
// to one bucket, account and region, each with its own chain.
func chainOf(bucket, key string) (chain string, backfill bool) {
	dir, name := path.Split(key)
	if i := strings.Index(dir, "/CloudTrail-Digest/"); i >= 0 {
		rest := dir[i+len("/CloudTrail-Digest/"):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			dir = dir[:i+len("/CloudTrail-Digest/")+j+1]
		}
	}
	name = strings.TrimSuffix(name, ".json.gz")
	if n, ok := strings.CutSuffix(name, "_backfill"); ok {
		name, backfill = n, true
	}
	if i := strings.LastIndexByte(name, '_'); i >= 0 {
		name = name[:i]
	}
	return bucket + "/" + dir + name, backfill
}

// Check verifies every digest held so far and returns the report. Keys
// come from the PublicKeys once per region and span. A region whose keys
// cannot be had is still checked for missing files, altered files and
// broken chains; its signatures are left unchecked, its report carries the
// error, and Check returns the errors joined beside the full report. Check
// sets the package's problem gauges.
func (c *Checker) Check(ctx context.Context) (Report, error) {
	c.mu.Lock()
	all := make([]*digest, 0, len(c.digests))
	for _, d := range c.digests {
		all = append(all, d)
	}
	c.mu.Unlock()
	slices.SortFunc(all, func(a, b *digest) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), cmp.Compare(a.key, b.key))
	})

	regions := map[[2]string]*RegionReport{}
	regionOf := func(d *digest) *RegionReport {
		k := [2]string{d.account, d.region}
		g := regions[k]
		if g == nil {
			g = &RegionReport{Account: d.account, Region: d.region}
			regions[k] = g
		}
		return g
	}
	keys, keyErrs := c.loadKeys(ctx, all)
	var errs []error
	chains := map[string][]*digest{}
	for _, d := range all {
		g := regionOf(d)
		g.Digests++
		if d.malformed != "" {
			g.Malformed = append(g.Malformed, DigestProblem{Bucket: d.bucket, Key: d.key, Reason: d.malformed})
			continue
		}
		if err := keyErrs[d.region]; err != nil {
			g.KeyError = err.Error()
		} else {
			checkSignature(g, d, keys[d.region])
		}
		if err := c.checkLogs(g, d); err != nil {
			errs = append(errs, err)
		}
		if !d.backfill {
			chains[d.chain] = append(chains[d.chain], d)
		}
	}
	for _, ch := range chains {
		c.checkChain(regionOf(ch[0]), ch)
	}

	var r Report
	for _, g := range regions {
		g.sort()
		r.Problems += g.ProblemCount()
		r.Regions = append(r.Regions, *g)
	}
	slices.SortFunc(r.Regions, func(a, b RegionReport) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region))
	})
	observe(r)
	for _, region := range slices.Sorted(maps.Keys(keyErrs)) {
		errs = append(errs, keyErrs[region])
	}
	return r, errors.Join(errs...)
}

// loadKeys returns the public keys for the span of each region's
// well-formed digests, by region and lower-case fingerprint, and the error of
// each region whose keys could not be had.
func (c *Checker) loadKeys(ctx context.Context, all []*digest) (map[string]map[string][]PublicKey, map[string]error) {
	spans := map[string][2]time.Time{}
	for _, d := range all {
		if d.malformed != "" {
			continue
		}
		sp, ok := spans[d.region]
		if !ok || d.start.Before(sp[0]) {
			sp[0] = d.start
		}
		if d.end.After(sp[1]) {
			sp[1] = d.end
		}
		spans[d.region] = sp
	}
	keys := map[string]map[string][]PublicKey{}
	errs := map[string]error{}
	for region, sp := range spans {
		c.mu.Lock()
		cached, ok := c.keyCache[region]
		c.mu.Unlock()
		if ok && !sp[0].Before(cached.start) && !sp[1].After(cached.end) {
			keys[region] = cached.byFP
			continue
		}
		list, err := c.keys(ctx, region, sp[0], sp[1])
		if err != nil {
			errs[region] = fmt.Errorf("integrity check of %s: %w", region, err)
			continue
		}
		byFP := map[string][]PublicKey{}
		for _, k := range list {
			fp := k.fingerprint()
			byFP[fp] = append(byFP[fp], k)
		}
		keys[region] = byFP
		c.mu.Lock()
		c.keyCache[region] = cachedKeys{start: sp[0], end: sp[1], byFP: byFP}
		c.mu.Unlock()
	}
	return keys, errs
}

// checkSignature verifies d's signature as aws-cli validate-logs does.
func checkSignature(g *RegionReport, d *digest, keys map[string][]PublicKey) {
	bad := func(reason string) {
		g.BadSignatures = append(g.BadSignatures, DigestProblem{Bucket: d.bucket, Key: d.key, Reason: reason})
	}
	if d.sig == "" {
		g.Unsigned = append(g.Unsigned, DigestProblem{Bucket: d.bucket, Key: d.key, Reason: "no x-amz-meta-signature"})
		return
	}
	if d.f.DigestSignatureAlgorithm != signatureAlgorithm {
		bad(fmt.Sprintf("unsupported signature algorithm %q", d.f.DigestSignatureAlgorithm))
		return
	}
	if d.f.DigestS3Bucket != d.bucket || d.f.DigestS3Object != d.key {
		bad(fmt.Sprintf("moved from its original location s3://%s/%s", d.f.DigestS3Bucket, d.f.DigestS3Object))
		return
	}
	fp := strings.ToLower(d.f.DigestPublicKeyFingerprint)
	candidates := keys[fp]
	if len(candidates) == 0 {
		g.UnknownKeys = append(g.UnknownKeys, DigestProblem{Bucket: d.bucket, Key: d.key, Reason: "no public key with fingerprint " + fp})
		return
	}
	sig, err := hex.DecodeString(d.sig)
	if err != nil {
		bad("signature is not hex")
		return
	}
	sum := sha256.Sum256(stringToSign(d))
	reason := "signature does not verify"
	for _, k := range candidates {
		pub, err := parseRSAKey(k.DER)
		if err != nil {
			reason = "public key " + fp + ": " + err.Error()
			continue
		}
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil {
			return
		}
	}
	bad(reason)
}

// stringToSign is the "data signing string" of a digest:
//
//	digestEndTime \n digestS3Bucket/digestS3Object \n hex SHA-256 of the
//	inflated digest \n previousDigestSignature (or "null")
func stringToSign(d *digest) []byte {
	prev := "null"
	if d.f.PreviousDigestSignature != nil {
		prev = *d.f.PreviousDigestSignature
	}
	return []byte(d.f.DigestEndTime + "\n" + d.f.DigestS3Bucket + "/" + d.f.DigestS3Object + "\n" + d.hash + "\n" + prev)
}

func parseRSAKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return strongRSA(k)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("not a DER RSA public key")
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA public key")
	}
	return strongRSA(rk)
}

// minRSABits is the smallest modulus accepted; CloudTrail signs digests
// with 2048-bit keys.
const minRSABits = 2048

// strongRSA refuses keys no signer would use, under which a forged
// signature could verify (e = 1 makes every signature its own message).
func strongRSA(k *rsa.PublicKey) (*rsa.PublicKey, error) {
	if k.N.BitLen() < minRSABits || k.E < 3 || k.E%2 == 0 {
		return nil, fmt.Errorf("weak RSA key (%d bits, exponent %d)", k.N.BitLen(), k.E)
	}
	return k, nil
}

// checkLogs compares the log files d lists with those ingested. The listing
// of a digest whose signature failed is checked too: it is what the bucket
// claims, and its problems are worth seeing next to the bad signature.
func (c *Checker) checkLogs(g *RegionReport, d *digest) error {
	for _, l := range d.f.LogFiles {
		g.LogFiles++
		p := FileProblem{Bucket: l.S3Bucket, Key: l.S3Object, DigestKey: d.key, Want: strings.ToLower(l.HashValue)}
		sum, ok, err := c.ingested(l.S3Bucket, l.S3Object)
		if err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if !ok {
			g.Missing = append(g.Missing, p)
			continue
		}
		p.Got = hex.EncodeToString(sum[:])
		if !strings.EqualFold(l.HashAlgorithm, "SHA-256") || p.Got != p.Want {
			g.HashMismatches = append(g.HashMismatches, p)
		}
	}
	return nil
}

// ingested returns the hash of an ingested log file: observed by this
// process, else as the store knows it.
func (c *Checker) ingested(bucket, key string) ([sha256.Size]byte, bool, error) {
	c.mu.Lock()
	sum, ok := c.logs[bucket+"/"+key]
	c.mu.Unlock()
	if ok || c.cfg.Ingested == nil {
		return sum, ok, nil
	}
	sum, ok, err := c.cfg.Ingested(bucket, key)
	if err != nil {
		return sum, false, fmt.Errorf("look up s3://%s/%s: %w", bucket, key, err)
	}
	if ok {
		c.mu.Lock()
		c.logs[bucket+"/"+key] = sum
		c.mu.Unlock()
	}
	return sum, ok, nil
}

// checkChain follows the previousDigest* links of one trail's digests. The
// first digest held is the start: what precedes it is outside what was
// listed, not a break.
func (c *Checker) checkChain(g *RegionReport, ch []*digest) {
	slices.SortFunc(ch, func(a, b *digest) int {
		return cmp.Or(a.end.Compare(b.end), cmp.Compare(a.key, b.key))
	})
	for i := 1; i < len(ch); i++ {
		prev, cur := ch[i-1], ch[i]
		if reason := c.link(prev, cur); reason != "" {
			g.BrokenChains = append(g.BrokenChains, ChainProblem{Bucket: cur.bucket, Key: cur.key, PrecedingKey: prev.key, Reason: reason})
		}
	}
}

// link returns why cur does not follow prev, or "".
func (c *Checker) link(prev, cur *digest) string {
	f := cur.f
	if f.PreviousDigestS3Object == nil || f.PreviousDigestS3Bucket == nil {
		return "chain restarts (no previous digest): digests were off or a digest is missing"
	}
	if *f.PreviousDigestS3Bucket != prev.bucket || *f.PreviousDigestS3Object != prev.key {
		return fmt.Sprintf("names previous digest s3://%s/%s, but the digest before it is s3://%s/%s (one missing or replaced)",
			*f.PreviousDigestS3Bucket, *f.PreviousDigestS3Object, prev.bucket, prev.key)
	}
	if f.PreviousDigestSignature == nil || !strings.EqualFold(*f.PreviousDigestSignature, prev.sig) {
		return "previousDigestSignature differs from the previous digest's signature"
	}
	if f.PreviousDigestHashValue == nil || !strings.EqualFold(*f.PreviousDigestHashValue, prev.hash) {
		return "previousDigestHashValue differs from the SHA-256 of the previous digest"
	}
	if gap := cur.start.Sub(prev.end).Abs(); gap > c.cfg.GapTolerance {
		return fmt.Sprintf("digestStartTime %s does not meet the previous digestEndTime %s",
			cur.f.DigestStartTime, prev.f.DigestEndTime)
	}
	return ""
}

// StoreKey is the checkpoint key under which a source stores the hash of an
// ingested log file with the file's events, so that checks after a restart
// find it (Config.Ingested).
func StoreKey(bucket, key string) string { return "logsum:" + bucket + "/" + key }
