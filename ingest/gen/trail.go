package gen

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
)

// TrailSummary says what WriteTrail wrote.
type TrailSummary struct {
	Files       int   // log files
	DigestFiles int   // digest files
	Events      int64 // records written, duplicates included
	Bytes       int64 // compressed bytes of all files
	// Signatures holds the hex signature of each digest file by key, when
	// Config.DigestKey is set.
	Signatures map[string]string
}

// gzipLevel trades size for speed: BestSpeed keeps gzip at about a third of
// WriteTrail's time while files stay within ~15% of the default level.
const gzipLevel = gzip.BestSpeed

type trailFile struct {
	buf            []byte
	n              int
	oldest, newest time.Time
}

type digestLog struct {
	object         string
	hash           string
	oldest, newest time.Time
}

type digestState struct {
	hour              time.Time // start of the hour being collected
	logs              []digestLog
	prevObject, prevH string
	prevSig           string
}

type trailWriter struct {
	dir   string
	cfg   Config
	r     *rand.Rand
	gz    *gzip.Writer
	zbuf  bytes.Buffer
	sum   TrailSummary
	files []trailFile // [account*len(regions)+region]
	dig   []digestState
	dirs  map[string]bool
	names []string // account ids
}

// WriteTrail writes cfg's events under dir as gzip CloudTrail log files in
// the S3 key layout of a trail:
//
//	dir/AWSLogs/[<org>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 alnum>.json.gz
//
// one file per account, region and 5-minute window (split above
// cfg.MaxFileRecords), named after the end of the window as CloudTrail names
// files after delivery. With cfg.Digests it also writes hourly digest files
// under CloudTrail-Digest, chained as CloudTrail chains them, one every hour
// from the first log file on (also for hours without log files), signed with
// cfg.DigestKey or carrying made-up signatures. It streams: memory is one window of
// records. About 150k events/s on one core.
func WriteTrail(dir string, cfg Config) (TrailSummary, error) {
	g, err := New(cfg)
	if err != nil {
		return TrailSummary{}, err
	}
	gz, err := gzip.NewWriterLevel(io.Discard, gzipLevel)
	if err != nil {
		return TrailSummary{}, fmt.Errorf("gzip: %w", err)
	}
	tw := &trailWriter{
		dir: dir, cfg: cfg, gz: gz, dirs: make(map[string]bool),
		r:     rand.New(rand.NewPCG(cfg.Seed^0xa5a5a5a5, 0x243f6a8885a308d3)),
		files: make([]trailFile, len(cfg.Accounts)*len(cfg.Regions)),
		dig:   make([]digestState, len(cfg.Accounts)*len(cfg.Regions)),
		names: cfg.Accounts,
	}
	var (
		buf    []byte
		window time.Time
		have   bool
	)
	for {
		rec, m, ok := g.Next(buf[:0])
		if !ok {
			break
		}
		buf = rec
		if !have || !m.Window.Equal(window) {
			if have {
				if err := tw.flushAll(window); err != nil {
					return tw.sum, err
				}
			}
			window, have = m.Window, true
		}
		i := g.lastAcct*len(cfg.Regions) + g.lastRegion
		f := &tw.files[i]
		if f.n == 0 {
			f.buf = append(f.buf[:0], `{"Records":[`...)
			f.oldest, f.newest = m.Time, m.Time
		} else {
			f.buf = append(f.buf, ',')
		}
		f.buf = append(f.buf, rec...)
		f.n++
		if m.Time.Before(f.oldest) {
			f.oldest = m.Time
		}
		if m.Time.After(f.newest) {
			f.newest = m.Time
		}
		tw.sum.Events++
		if f.n >= cfg.MaxFileRecords {
			if err := tw.flush(i, window); err != nil {
				return tw.sum, err
			}
		}
	}
	if have {
		if err := tw.flushAll(window); err != nil {
			return tw.sum, err
		}
	}
	if cfg.Digests {
		for i := range tw.dig {
			if err := tw.digest(i); err != nil {
				return tw.sum, err
			}
		}
	}
	return tw.sum, nil
}

func (tw *trailWriter) flushAll(window time.Time) error {
	for i := range tw.files {
		if tw.files[i].n > 0 {
			if err := tw.flush(i, window); err != nil {
				return err
			}
		}
	}
	return nil
}

func (tw *trailWriter) prefix(acct string) string {
	if tw.cfg.Organization != "" {
		return "AWSLogs/" + tw.cfg.Organization + "/" + acct
	}
	return "AWSLogs/" + acct
}

func (tw *trailWriter) flush(i int, window time.Time) error {
	f := &tw.files[i]
	acct, region := tw.names[i/len(tw.cfg.Regions)], tw.cfg.Regions[i%len(tw.cfg.Regions)]
	f.buf = append(f.buf, "]}"...)
	delivered := window.Add(DeliveryWindow).UTC()
	key := tw.prefix(acct) + "/CloudTrail/" + region + "/" + delivered.Format("2006/01/02") + "/" +
		acct + "_CloudTrail_" + region + "_" + delivered.Format("20060102T1504Z") + "_" + tw.token(16) + ".json.gz"
	if err := tw.writeGzip(key, f.buf); err != nil {
		return err
	}
	tw.sum.Files++
	if tw.cfg.Digests {
		d := &tw.dig[i]
		hour := delivered.Truncate(time.Hour)
		// CloudTrail delivers a digest every hour once a chain has
		// started, also for hours without log files.
		for !d.hour.IsZero() && d.hour.Before(hour) {
			if err := tw.digest(i); err != nil {
				return err
			}
			d.hour = d.hour.Add(time.Hour)
		}
		d.hour = hour
		sum := sha256.Sum256(f.buf)
		d.logs = append(d.logs, digestLog{object: tw.s3Key(key), hash: hex.EncodeToString(sum[:]), oldest: f.oldest, newest: f.newest})
	}
	f.n = 0
	f.buf = f.buf[:0]
	return nil
}

// s3Key is the object key of the file written at key under dir.
func (tw *trailWriter) s3Key(key string) string {
	if tw.cfg.KeyPrefix == "" {
		return key
	}
	return tw.cfg.KeyPrefix + "/" + key
}

func (tw *trailWriter) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[tw.r.IntN(len(alnum))]
	}
	return string(b)
}

func (tw *trailWriter) writeGzip(key string, data []byte) error {
	path := filepath.Join(tw.dir, filepath.FromSlash(key))
	d := filepath.Dir(path)
	if !tw.dirs[d] {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
		tw.dirs[d] = true
	}
	// Compress in memory and write the file in one call: gzip's many small
	// writes would each be a syscall.
	tw.zbuf.Reset()
	tw.gz.Reset(&tw.zbuf)
	if _, err := tw.gz.Write(data); err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := tw.gz.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := os.WriteFile(path, tw.zbuf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tw.sum.Bytes += int64(tw.zbuf.Len())
	return nil
}

// digest writes the digest file of the hour collected for files[i].
func (tw *trailWriter) digest(i int) error {
	d := &tw.dig[i]
	if d.hour.IsZero() {
		return nil
	}
	acct, region := tw.names[i/len(tw.cfg.Regions)], tw.cfg.Regions[i%len(tw.cfg.Regions)]
	// CloudTrail delivers the digest of an hour a little after it ends, at
	// an offset fixed per trail.
	offset := time.Duration(60+(i*37)%240) * time.Second
	end := d.hour.Add(time.Hour + offset)
	start := end.Add(-time.Hour)
	key := tw.prefix(acct) + "/CloudTrail-Digest/" + region + "/" + end.Format("2006/01/02") + "/" +
		acct + "_CloudTrail-Digest_" + region + "_" + tw.cfg.TrailName + "_" + region + "_" + end.Format("20060102T150405Z") + ".json.gz"
	var oldest, newest time.Time
	for j, l := range d.logs {
		if j == 0 {
			oldest, newest = l.oldest, l.newest
		}
		oldest, newest = minTime(oldest, l.oldest), maxTime(newest, l.newest)
	}
	var w jw
	w.reset(make([]byte, 0, 1024+300*len(d.logs)))
	w.O()
	w.str("awsAccountId", acct)
	w.tm("digestStartTime", start)
	w.tm("digestEndTime", end)
	w.str("digestS3Bucket", tw.cfg.Bucket)
	w.str("digestS3Object", tw.s3Key(key))
	fingerprint := tw.hex(32)
	if k := tw.cfg.DigestKey; k != nil {
		sum := md5.Sum(x509.MarshalPKCS1PublicKey(&k.PublicKey))
		fingerprint = hex.EncodeToString(sum[:])
	}
	w.str("digestPublicKeyFingerprint", fingerprint)
	w.str("digestSignatureAlgorithm", "SHA256withRSA")
	if len(d.logs) == 0 {
		w.null("newestEventTime")
		w.null("oldestEventTime")
	} else {
		w.tm("newestEventTime", newest)
		w.tm("oldestEventTime", oldest)
	}
	if d.prevObject == "" {
		w.null("previousDigestS3Bucket")
		w.null("previousDigestS3Object")
		w.null("previousDigestHashValue")
		w.null("previousDigestHashAlgorithm")
		w.null("previousDigestSignature")
	} else {
		w.str("previousDigestS3Bucket", tw.cfg.Bucket)
		w.str("previousDigestS3Object", d.prevObject)
		w.str("previousDigestHashValue", d.prevH)
		w.str("previousDigestHashAlgorithm", "SHA-256")
		w.str("previousDigestSignature", d.prevSig)
	}
	w.arr("logFiles")
	for _, l := range d.logs {
		w.O()
		w.str("s3Bucket", tw.cfg.Bucket)
		w.str("s3Object", l.object)
		w.str("hashValue", l.hash)
		w.str("hashAlgorithm", "SHA-256")
		w.tm("newestEventTime", l.newest)
		w.tm("oldestEventTime", l.oldest)
		w.E()
	}
	w.EA()
	w.E()
	if err := tw.writeGzip(key, w.b); err != nil {
		return err
	}
	sum := sha256.Sum256(w.b)
	sig := tw.hex(512)
	if k := tw.cfg.DigestKey; k != nil {
		// The data signing string CloudTrail signs: end time, location,
		// hash of the inflated digest, the previous signature or "null".
		prev := cmp.Or(d.prevSig, "null")
		signed := sha256.Sum256([]byte(string(appendTime(nil, end)) + "\n" + tw.cfg.Bucket + "/" + tw.s3Key(key) + "\n" + hex.EncodeToString(sum[:]) + "\n" + prev))
		b, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, signed[:])
		if err != nil {
			return fmt.Errorf("sign digest %s: %w", key, err)
		}
		sig = hex.EncodeToString(b)
		if tw.sum.Signatures == nil {
			tw.sum.Signatures = map[string]string{}
		}
		tw.sum.Signatures[key] = sig
	}
	d.prevObject, d.prevH, d.prevSig = tw.s3Key(key), hex.EncodeToString(sum[:]), sig
	d.logs = d.logs[:0]
	tw.sum.DigestFiles++
	return nil
}

func (tw *trailWriter) hex(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[tw.r.IntN(16)]
	}
	return string(b)
}

// WriteJSONLines writes cfg's events to w, one compact JSON record a line, in
// stream order. It returns the number of records written.
func WriteJSONLines(w io.Writer, cfg Config) (int64, error) {
	g, err := New(cfg)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	var (
		buf []byte
		n   int64
	)
	for {
		rec, _, ok := g.Next(buf[:0])
		if !ok {
			break
		}
		rec = append(rec, '\n')
		buf = rec
		if _, err := bw.Write(rec); err != nil {
			return n, fmt.Errorf("write json lines: %w", err)
		}
		n++
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write json lines: %w", err)
	}
	return n, nil
}
