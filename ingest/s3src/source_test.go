package s3src

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/gen"
	"github.com/codetrail/codetrail/ingest/integrity"
)

// trail is a generated dataset uploaded to the fake.
type trail struct {
	logs    []string       // log file keys, sorted
	records map[string]int // records per log file key
	total   int
	digests int
}

// uploadTrail writes cfg with gen.WriteTrail and uploads it under prefix.
func uploadTrail(t *testing.T, f *fakeS3, prefix string, cfg gen.Config) trail {
	t.Helper()
	dir := t.TempDir()
	if cfg.Digests {
		cfg.DigestKey, cfg.KeyPrefix = digestKey, prefix
	}
	sum, err := gen.WriteTrail(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := trail{records: map[string]int{}, digests: sum.DigestFiles}
	tr.logs = f.putDir(dir, prefix, sum.Signatures)
	slices.Sort(tr.logs)
	for _, k := range tr.logs {
		n := countRecords(t, filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(k, prefix+"/"))))
		tr.records[k] = n
		tr.total += n
	}
	if int64(tr.total) != sum.Events || len(tr.logs) != sum.Files {
		t.Fatalf("uploaded %d files with %d records, WriteTrail says %d and %d", len(tr.logs), tr.total, sum.Files, sum.Events)
	}
	return tr
}

func countRecords(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var v struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return len(v.Records)
}

// genConfig is a small dataset: span hours ending at gen.DefaultEnd.
func genConfig(seed uint64, events int, span time.Duration, accounts, regions []string) gen.Config {
	c := gen.DefaultConfig()
	c.Seed, c.Events = seed, events
	c.Span = span
	c.Start = gen.DefaultEnd.Add(-span)
	c.Accounts, c.Regions = accounts, regions
	c.Bucket = testBucket
	return c
}

var keyRE = regexp.MustCompile(`AWSLogs/(?:o-[a-z0-9]+/)?(\d{12})/CloudTrail(?:-Insight)?/([a-z0-9-]+)/(\d{4}/\d{2}/\d{2})/`)

func TestTrailBucket(t *testing.T) {
	awsEnv(t)
	f := newFakeS3(t)
	base := genConfig(1, 1600, 48*time.Hour, []string{"111122223333", "444455556666"}, []string{"us-east-1", "eu-west-1"})
	base.Digests = true
	plain := uploadTrail(t, f, "logs", base)
	orgCfg := genConfig(2, 400, 48*time.Hour, []string{"123456789012", "111122223333"}, []string{"us-east-1", "us-west-2"})
	orgCfg.Digests, orgCfg.Organization = true, "o-abc123def4"
	org := uploadTrail(t, f, "logs", orgCfg)
	// An Insights file beside the trail files, and objects that are not
	// part of any stream.
	insightKey := "logs/AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/10/31/111122223333_CloudTrail-Insight_us-east-1_20261031T1000Z_0123456789abcdef.json.gz"
	f.put(insightKey, gz([]byte(`{"Records":[{"eventVersion":"1.08","eventTime":"2026-10-31T09:55:00Z","awsRegion":"us-east-1","eventID":"55555555-6666-7777-8888-999999999999","eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","sharedEventID":"12121212-3434-5656-7878-909090909090","insightDetails":{"state":"Start","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":0.5},"insight":{"average":12.25},"insightDuration":5}}},"eventCategory":"Insight"}]}`)))
	f.put("logs/AWSLogs/111122223333/CloudTrail/us-east-1/README.txt", []byte("not a day folder"))
	f.put("logs/AWSLogs/not-an-account/CloudTrail/us-east-1/2026/10/31/x.json.gz", []byte("ignored"))
	f.put("other/AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/31/x.json.gz", []byte("other prefix"))

	all := map[string]int{insightKey: 1}
	for _, tr := range []trail{plain, org} {
		for k, n := range tr.records {
			all[k] = n
		}
	}
	want := plain.total + org.total + 1

	t.Run("all", func(t *testing.T) {
		st := openStore(t, t.TempDir())
		in := newIngester(t, st)
		src, err := New(f.testConfig("logs"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if src.Name() != "s3://trail/logs" {
			t.Errorf("Name() = %q", src.Name())
		}
		gets0 := f.gets.Load()
		stop := start(t, src, in)
		waitEvents(t, st, uint64(want))
		// The check runs after the poll that lists the digests.
		waitIntegrity(t, in, func(ig *ingest.Integrity) bool {
			n := 0
			for _, g := range ig.Report.Regions {
				n += g.Digests
			}
			return n == plain.digests+org.digests
		})
		time.Sleep(3 * f.testConfig("").Interval) // a few more polls read nothing
		stop()

		if got := f.gets.Load() - gets0; got != int64(len(all)) {
			t.Errorf("%d object GETs, want one per log file: %d", got, len(all))
		}
		for k := range all {
			if n := f.getsOf(k); n != 1 {
				t.Errorf("%s read %d times", k, n)
			}
		}
		ds := src.Digests()
		if len(ds) != plain.digests+org.digests {
			t.Fatalf("Digests() has %d, want %d", len(ds), plain.digests+org.digests)
		}
		orgs := 0
		for _, d := range ds {
			if !strings.Contains(d.Key, "/CloudTrail-Digest/"+d.Region+"/") || !strings.Contains(d.Key, "/"+d.Account+"/") || d.Bucket != testBucket {
				t.Errorf("bad digest ref %+v", d)
			}
			if f.getsOf(d.Key) != 1 {
				t.Errorf("digest %s was downloaded %d times, want once", d.Key, f.getsOf(d.Key))
			}
			if d.Org == "o-abc123def4" {
				orgs++
			}
		}
		if orgs != org.digests {
			t.Errorf("%d digests of the organization trail, want %d", orgs, org.digests)
		}
		// Every file each digest lists was stored unaltered, the chains
		// hold and the signatures verify.
		ig := integrityOf(t, in, src.Name())
		checkedDigests, logFiles := 0, 0
		for _, g := range ig.Report.Regions {
			checkedDigests += g.Digests
			logFiles += g.LogFiles
		}
		if !ig.Report.OK() || ig.Err != "" || checkedDigests != len(ds) || logFiles != len(all)-1 {
			t.Errorf("integrity: %d digests, %d log files (want %d, %d), err %q, report %+v",
				checkedDigests, logFiles, len(ds), len(all)-1, ig.Err, ig.Report)
		}
		total, _, probs := in.Stats()
		if len(probs) > 0 || total.InvalidFiles > 0 || total.InvalidRecords > 0 || total.SkippedFiles > 0 {
			t.Errorf("counts %+v, problems %+v", total, probs)
		}
		if total.Stored != int64(want) {
			t.Errorf("stored %d, want %d", total.Stored, want)
		}
	})

	// Filters, each on its own store, through Parse.
	for _, tc := range []struct {
		name  string
		query string
		match func(acct, region, day string) bool
	}{
		{"accounts", "accounts=123456789012,999999999999", func(a, _, _ string) bool { return a == "123456789012" }},
		{"regions", "regions=us-west-2", func(_, r, _ string) bool { return r == "us-west-2" }},
		{"start", "start=2026-10-31", func(_, _, d string) bool { return d >= "2026/10/31" }},
		{"all three", "accounts=111122223333&regions=us-east-1&start=2026-11-01", func(a, r, d string) bool {
			return a == "111122223333" && r == "us-east-1" && d >= "2026/11/01"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := 0
			for k, n := range all {
				m := keyRE.FindStringSubmatch(k)
				if m == nil {
					t.Fatalf("key %s does not match", k)
				}
				if tc.match(m[1], m[2], m[3]) {
					want += n
				}
			}
			if want == 0 || want == plain.total+org.total+1 {
				t.Fatalf("filter selects %d events: not a useful test", want)
			}
			cfg, err := Parse("s3://trail/logs?endpoint=" + f.srv.URL + "&path_style=true&interval=50ms&" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Keys = testKeys
			st := openStore(t, t.TempDir())
			in := newIngester(t, st)
			src, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			stop := start(t, src, in)
			waitEvents(t, st, uint64(want))
			time.Sleep(3 * cfg.Interval)
			stop()
			if n := st.Stats().Events; n != uint64(want) {
				t.Errorf("store holds %d events, want %d", n, want)
			}
			for _, d := range src.Digests() {
				m := keyRE.FindStringSubmatch(strings.Replace(d.Key, "CloudTrail-Digest", "CloudTrail", 1))
				if m == nil || !tc.match(m[1], m[2], m[3]) {
					t.Errorf("digest %s listed despite the filter", d.Key)
				}
			}
		})
	}
}

func TestNewFilesAppear(t *testing.T) {
	awsEnv(t)
	f := newFakeS3(t)
	accts, regions := []string{"111122223333", "444455556666"}, []string{"us-east-1", "eu-west-1"}
	first := uploadTrail(t, f, "logs", genConfig(1, 500, 24*time.Hour, accts, regions))
	st := openStore(t, t.TempDir())
	in := newIngester(t, st)
	src, err := New(f.testConfig("logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, src, in)
	waitEvents(t, st, uint64(first.total))

	// Newer files, and one that arrives late: its key sorts before the
	// files already stored, inside the re-listed trailing window.
	later := genConfig(3, 200, time.Hour, accts, regions)
	later.Start = gen.DefaultEnd
	second := uploadTrail(t, f, "logs", later)
	lateKey := "logs/AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/31/111122223333_CloudTrail_us-east-1_20261031T1203Z_LATE0000000000000.json.gz"
	f.put(lateKey, trailFile("111122223333", "us-east-1", "late-1", "late-2", "late-3"))
	waitEvents(t, st, uint64(first.total+second.total+3))
	for _, k := range append(append([]string{lateKey}, first.logs...), second.logs...) {
		if n := f.getsOf(k); n != 1 {
			t.Errorf("%s read %d times", k, n)
		}
	}
}

func TestRestart(t *testing.T) {
	awsEnv(t)
	f := newFakeS3(t)
	accts, regions := []string{"111122223333", "444455556666"}, []string{"us-east-1", "eu-west-1"}
	cfg := genConfig(1, 800, 24*time.Hour, accts, regions)
	cfg.Digests = true
	first := uploadTrail(t, f, "logs", cfg)
	dir := t.TempDir()

	st := openStore(t, dir)
	in := newIngester(t, st)
	src, err := New(f.testConfig("logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, src, in)
	waitEvents(t, st, uint64(first.total))
	time.Sleep(3 * f.testConfig("").Interval) // the poll ends, its last checkpoints stored
	stop()
	in.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	gets := f.gets.Load()
	if gets != int64(len(first.logs)) {
		t.Fatalf("first run made %d GETs for %d files", gets, len(first.logs))
	}

	// While it is down: newer files and a late one behind the watermark.
	time.Sleep(5 * time.Millisecond) // LastModified has millisecond resolution
	later := genConfig(4, 150, time.Hour, accts, regions)
	later.Start = gen.DefaultEnd
	second := uploadTrail(t, f, "logs", later)
	lateKey := "logs/AWSLogs/444455556666/CloudTrail/eu-west-1/2026/10/31/444455556666_CloudTrail_eu-west-1_20261031T2300Z_LATE0000000000000.json.gz"
	f.put(lateKey, trailFile("444455556666", "eu-west-1", "late-a", "late-b"))

	st = openStore(t, dir)
	in = newIngester(t, st)
	src, err = New(f.testConfig("logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop = start(t, src, in)
	waitEvents(t, st, uint64(first.total+second.total+2))
	time.Sleep(3 * f.testConfig("").Interval)
	stop()
	if got, want := f.gets.Load()-gets, int64(len(second.logs)+1); got != want {
		t.Errorf("restarted source made %d GETs, want %d (the new files only)", got, want)
	}
	for _, k := range first.logs {
		if n := f.getsOf(k); n != 1 {
			t.Errorf("%s read %d times", k, n)
		}
	}
	total, _, _ := in.Stats()
	if total.Duplicates != 0 {
		t.Errorf("%d duplicates after restart", total.Duplicates)
	}
}

func TestBadObjects(t *testing.T) {
	awsEnv(t)
	f := newFakeS3(t)
	tr := uploadTrail(t, f, "logs", genConfig(1, 400, 24*time.Hour, []string{"111122223333"}, []string{"us-east-1", "eu-west-1"}))
	var east []string
	for _, k := range tr.logs {
		if strings.Contains(k, "/us-east-1/") {
			east = append(east, k)
		}
	}
	deleted, denied := east[len(east)/3], east[len(east)/2]
	f.deleteOn[deleted] = true
	f.deny[denied] = true
	corrupt := strings.Replace(east[len(east)/2+1], ".json.gz", "x.json.gz", 1)
	f.put(corrupt, []byte("this is neither gzip nor JSON"))
	f.slowDown.Store(3)
	want := tr.total - tr.records[deleted] - tr.records[denied]

	dir := t.TempDir()
	st := openStore(t, dir)
	in := newIngester(t, st)
	src, err := New(f.testConfig("logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, src, in)
	waitEvents(t, st, uint64(want))
	time.Sleep(3 * f.testConfig("").Interval)
	stop()

	if n := f.slowed.Load(); n != 3 {
		t.Errorf("%d GETs throttled, want 3", n)
	}
	_, _, probs := in.Stats()
	reasons := map[string]string{}
	for _, p := range probs {
		reasons[p.Name] = p.Reason
	}
	for key, want := range map[string]string{deleted: "NoSuchKey", denied: "AccessDenied", corrupt: "decode"} {
		if !strings.Contains(reasons[key], want) {
			t.Errorf("problem of %s = %q, want it to mention %s", key, reasons[key], want)
		}
	}
	if len(probs) != 3 {
		t.Errorf("problems %+v, want 3", probs)
	}
	for _, k := range []string{deleted, denied, corrupt} {
		if n := f.getsOf(k); n != 1 {
			t.Errorf("%s tried %d times, want once", k, n)
		}
	}

	// The watermark moved past the skipped objects: a restart reads nothing.
	in.Close()
	gets := f.gets.Load()
	in = newIngester(t, st)
	src, err = New(f.testConfig("logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop = start(t, src, in)
	time.Sleep(5 * f.testConfig("").Interval)
	stop()
	if n := f.gets.Load() - gets; n != 0 {
		t.Errorf("restart made %d GETs, want none", n)
	}
}

func TestEndpointFromEnvironment(t *testing.T) {
	awsEnv(t)
	f := newFakeS3(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", f.srv.URL)
	tr := uploadTrail(t, f, "logs", genConfig(1, 200, 6*time.Hour, []string{"111122223333"}, []string{"us-east-1"}))
	cfg, err := Parse("s3://trail/logs?path_style=true&interval=50ms")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Endpoint != "" {
		t.Fatalf("endpoint %q", cfg.Endpoint)
	}
	cfg.Keys = testKeys
	st := openStore(t, t.TempDir())
	in := newIngester(t, st)
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, src, in)
	waitEvents(t, st, uint64(tr.total))
}

// corpusTS is the delivery time in a CloudTrail file name.
var corpusTS = regexp.MustCompile(`_(\d{8}T\d{4}Z)_`)

func TestCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "invictus-aws_dataset", "CloudTrail")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skipf("no corpus in %s", dir)
	}
	awsEnv(t)
	f := newFakeS3(t)
	accounts := []string{"218007301253", "111122223333", "444455556666"}
	regions := []string{"us-east-1", "eu-west-1"}
	ids := map[string]bool{}
	for i, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Records []struct{ EventID string } }
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, r := range v.Records {
			ids[r.EventID] = true
		}
		m := corpusTS.FindStringSubmatch(filepath.Base(path))
		if m == nil {
			t.Fatalf("no timestamp in %s", path)
		}
		ts, err := time.Parse("20060102T1504Z", m[1])
		if err != nil {
			t.Fatal(err)
		}
		acct, region := accounts[i%len(accounts)], regions[(i/len(accounts))%len(regions)]
		tail := filepath.Base(path)[strings.LastIndexByte(filepath.Base(path), '_'):] // _<token>.json
		key := "trail/AWSLogs/" + acct + "/CloudTrail/" + region + "/" + ts.Format("2006/01/02") + "/" +
			acct + "_CloudTrail_" + region + "_" + m[1] + tail + ".gz"
		f.put(key, gz(data))
	}
	if len(ids) != 2900 {
		t.Logf("corpus has %d distinct events (expected 2,900)", len(ids))
	}
	st := openStore(t, t.TempDir())
	in := newIngester(t, st)
	src, err := New(f.testConfig("trail"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, src, in)
	waitEvents(t, st, uint64(len(ids)))
	stop() // every Input has returned and been counted
	total, _, probs := in.Stats()
	if total.Records != int64(len(ids)) || total.InvalidFiles != 0 || total.InvalidRecords != 0 {
		t.Errorf("counts %+v, problems %+v", total, probs)
	}
}

var _ ingest.Source = (*Source)(nil)

// waitIntegrity waits for the first source's integrity result to satisfy
// ok and returns it.
func waitIntegrity(t *testing.T, in *ingest.Ingester, ok func(*ingest.Integrity) bool) ingest.Integrity {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, srcs, _ := in.Stats()
		if len(srcs) > 0 && srcs[0].Integrity != nil && ok(srcs[0].Integrity) {
			return *srcs[0].Integrity
		}
		if time.Now().After(deadline) {
			if len(srcs) > 0 {
				t.Fatalf("no integrity result as wanted; last %+v", srcs[0].Integrity)
			}
			t.Fatal("no source stats")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// integrityOf returns the last integrity result in.Stats shows for source.
func integrityOf(t *testing.T, in *ingest.Ingester, source string) ingest.Integrity {
	t.Helper()
	_, srcs, _ := in.Stats()
	for _, s := range srcs {
		if s.Name == source {
			if s.Integrity == nil {
				t.Fatalf("source %s has no integrity result; last error %q", source, s.LastError)
			}
			return *s.Integrity
		}
	}
	t.Fatalf("no stats for source %s", source)
	return ingest.Integrity{}
}

// TestIntegrity: a deleted log file, an altered one and an altered digest
// are each reported; after a restart, files stored before are still known
// (no GET) and a file deleted after storing is not reported missing.
func TestIntegrity(t *testing.T) {
	awsEnv(t)
	f := newFakeS3(t)
	cfg := genConfig(5, 300, 6*time.Hour, []string{"111122223333"}, []string{"us-east-1", "eu-west-1"})
	cfg.Digests = true
	tr := uploadTrail(t, f, "logs", cfg)
	east := []string{}
	for _, k := range tr.logs {
		if strings.Contains(k, "/us-east-1/") {
			east = append(east, k)
		}
	}
	if len(east) < 6 {
		t.Fatalf("only %d east files", len(east))
	}
	// Deleted before ingest: missing. Replaced by other content: altered.
	missing, altered := east[1], east[3]
	if _, err := f.be.DeleteObject(testBucket, missing); err != nil {
		t.Fatal(err)
	}
	f.put(altered, trailFile("111122223333", "us-east-1", "forged-1"))
	// A digest of eu-west-1 rewritten with its signature kept.
	var euDigests []string
	objs, err := f.be.ListBucket(testBucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs.Contents {
		if strings.Contains(o.Key, "/CloudTrail-Digest/eu-west-1/") {
			euDigests = append(euDigests, o.Key)
		}
	}
	slices.Sort(euDigests)
	if len(euDigests) < 3 {
		t.Fatalf("only %d eu-west-1 digests", len(euDigests))
	}
	tampered := euDigests[1]
	obj, err := f.be.GetObject(testBucket, tampered, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Contents)
	_ = obj.Contents.Close()
	sig := obj.Metadata["X-Amz-Meta-Signature"]
	zr, _ := gzip.NewReader(bytes.NewReader(body))
	inflated, _ := io.ReadAll(zr)
	forged := bytes.Replace(inflated, []byte(`"oldestEventTime"`), []byte(`"oldestEventTime" `), 1)
	f.putMeta(tampered, gz(forged), map[string]string{"X-Amz-Meta-Signature": sig})

	dir := t.TempDir()
	st := openStore(t, dir)
	in := newIngester(t, st)
	src, err := New(f.testConfig("logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, src, in)
	want := tr.total - tr.records[missing] - tr.records[altered] + 1
	waitEvents(t, st, uint64(want))
	ig := waitIntegrity(t, in, func(ig *ingest.Integrity) bool { return ig.Report.Problems >= 4 })
	stop()
	byRegion := map[string]integrity.RegionReport{}
	for _, g := range ig.Report.Regions {
		byRegion[g.Region] = g
	}
	e, w := byRegion["us-east-1"], byRegion["eu-west-1"]
	if len(e.Missing) != 1 || e.Missing[0].Key != missing || len(e.HashMismatches) != 1 || e.HashMismatches[0].Key != altered ||
		len(e.BrokenChains)+len(e.BadSignatures)+len(e.Unsigned)+len(e.UnknownKeys)+len(e.Malformed) != 0 {
		t.Errorf("us-east-1 = %+v", e)
	}
	// The altered digest fails its signature, and the next one's
	// previousDigestHashValue no longer matches it.
	if len(w.BadSignatures) != 1 || w.BadSignatures[0].Key != tampered || len(w.BrokenChains) != 1 || w.BrokenChains[0].Key != euDigests[2] ||
		len(w.Missing)+len(w.HashMismatches) != 0 {
		t.Errorf("eu-west-1 = %+v", w)
	}
	if ig.Report.Problems != 4 {
		t.Errorf("problems = %d, want 4", ig.Report.Problems)
	}
	in.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: a stored file deleted meanwhile is still known from the
	// hash stored with its events; nothing is read again.
	if _, err := f.be.DeleteObject(testBucket, east[0]); err != nil {
		t.Fatal(err)
	}
	gets := f.gets.Load()
	st = openStore(t, dir)
	in = newIngester(t, st)
	src, err = New(f.testConfig("logs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop = start(t, src, in)
	ig = waitIntegrity(t, in, func(*ingest.Integrity) bool { return true })
	stop()
	if ig.Report.Problems != 4 {
		t.Errorf("after restart: problems = %d, want the same 4: %+v", ig.Report.Problems, ig.Report)
	}
	if n := f.gets.Load() - gets; n != 0 {
		t.Errorf("restart read %d log files again", n)
	}
}
