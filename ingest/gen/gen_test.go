package gen

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testConfig(n int) Config {
	c := DefaultConfig()
	c.Events = n
	return c
}

type rec struct {
	EventVersion string `json:"eventVersion"`
	UserIdentity struct {
		Type      string `json:"type"`
		ARN       string `json:"arn"`
		UserName  string `json:"userName"`
		InvokedBy string `json:"invokedBy"`
	} `json:"userIdentity"`
	EventTime          string          `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress"`
	UserAgent          string          `json:"userAgent"`
	ErrorCode          string          `json:"errorCode"`
	RequestParameters  json.RawMessage `json:"requestParameters"`
	ResponseElements   json.RawMessage `json:"responseElements"`
	RequestID          string          `json:"requestID"`
	EventID            string          `json:"eventID"`
	ReadOnly           *bool           `json:"readOnly"`
	EventType          string          `json:"eventType"`
	ManagementEvent    *bool           `json:"managementEvent"`
	RecipientAccountID string          `json:"recipientAccountId"`
	EventCategory      string          `json:"eventCategory"`
}

func decodeAll(t *testing.T, evs [][]byte) []rec {
	t.Helper()
	out := make([]rec, len(evs))
	for i, e := range evs {
		if !json.Valid(e) {
			t.Fatalf("record %d is not valid JSON: %s", i, e)
		}
		if err := json.Unmarshal(e, &out[i]); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		ok     bool
	}{
		{"default", func(*Config) {}, true},
		{"demo", func(c *Config) { *c = DemoConfig() }, true},
		{"negative events", func(c *Config) { c.Events = -1 }, false},
		{"no start", func(c *Config) { c.Start = time.Time{} }, false},
		{"short span", func(c *Config) { c.Span = time.Minute }, false},
		{"bad account", func(c *Config) { c.Accounts = []string{"1234"} }, false},
		{"duplicate account", func(c *Config) { c.Accounts = []string{"111122223333", "111122223333"} }, false},
		{"bad region", func(c *Config) { c.Regions = []string{"Mars"} }, false},
		{"no regions", func(c *Config) { c.Regions = nil }, false},
		{"duplicate rate", func(c *Config) { c.DuplicateRate = 0.5 }, false},
		{"oddity rate", func(c *Config) { c.OddityRate = -0.1 }, false},
		{"bad org", func(c *Config) { c.Organization = "org-1" }, false},
		{"org", func(c *Config) { c.Organization = "o-a1b2c3d4e5" }, true},
		{"file cap", func(c *Config) { c.MaxFileRecords = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if _, nerr := New(c); (nerr == nil) != tt.ok {
				t.Fatalf("New() = %v, want ok=%v", nerr, tt.ok)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	for _, cfg := range []Config{testConfig(3000), func() Config { c := DemoConfig(); c.Events = 3000; return c }()} {
		a, err := Events(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Events(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(a, b, bytes.Equal) {
			t.Fatal("two runs of the same config differ")
		}
		cfg.Seed++
		c, _ := Events(cfg)
		if slices.EqualFunc(a, c, bytes.Equal) {
			t.Fatal("a different seed gave the same stream")
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRecordsWellFormed(t *testing.T) {
	cfg := testConfig(20000)
	evs, err := Events(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != cfg.Events {
		t.Fatalf("got %d events, want %d", len(evs), cfg.Events)
	}
	recs := decodeAll(t, evs)
	end := cfg.Start.Add(cfg.Span)
	ids := make(map[string]bool, len(recs))
	var size, errs, ro, nullResp, roTotal int
	var prev time.Time
	outOfOrder := 0
	for i, r := range recs {
		size += len(evs[i])
		if r.EventVersion < "1.08" || r.EventVersion > "1.11" || r.EventSource == "" || r.EventName == "" ||
			r.AWSRegion == "" || r.SourceIPAddress == "" || r.UserAgent == "" || (r.UserIdentity.Type == "") != (r.EventType == "AwsServiceEvent") || r.ReadOnly == nil ||
			r.ManagementEvent == nil || r.EventCategory == "" || r.EventType == "" || len(r.RecipientAccountID) != 12 {
			t.Fatalf("record %d misses a mandatory field: %s", i, evs[i])
		}
		if !uuidRE.MatchString(r.EventID) || ids[r.EventID] {
			t.Fatalf("record %d: bad or repeated eventID %q", i, r.EventID)
		}
		ids[r.EventID] = true
		ts, err := time.Parse(time.RFC3339, r.EventTime)
		if err != nil || ts.Before(cfg.Start) || !ts.Before(end) {
			t.Fatalf("record %d: eventTime %q outside the window (%v)", i, r.EventTime, err)
		}
		if ts.Before(prev.Add(-DeliveryWindow)) {
			outOfOrder++
		}
		prev = ts
		if r.ErrorCode != "" {
			errs++
		}
		if *r.ReadOnly {
			roTotal++
			if string(r.ResponseElements) == "null" {
				nullResp++
			}
			ro++
		}
	}
	if outOfOrder > 0 {
		t.Errorf("%d records are more than one window older than the previous one", outOfOrder)
	}
	if avg := size / len(evs); avg < 900 || avg > 2500 {
		t.Errorf("average record size %d bytes, want 900-2500", avg)
	}
	if rate := float64(errs) / float64(len(recs)); rate < 0.03 || rate > 0.08 {
		t.Errorf("error rate %.3f, want 0.03-0.08", rate)
	}
	if share := float64(ro) / float64(len(recs)); share < 0.5 {
		t.Errorf("read-only share %.2f, want a majority", share)
	}
	if float64(nullResp) < 0.9*float64(roTotal) {
		t.Errorf("only %d of %d read-only calls have null responseElements", nullResp, roTotal)
	}
}

// service maps an eventSource to the developer tool it belongs to.
func service(src string) string {
	switch src {
	case "events.amazonaws.com":
		return "codestar-notifications"
	case "codestar-connections.amazonaws.com", "codeconnections.amazonaws.com":
		return "codeconnections"
	case "s3.amazonaws.com", "sts.amazonaws.com", "kms.amazonaws.com":
		return "other"
	}
	return strings.TrimSuffix(src, ".amazonaws.com")
}

// serviceShares are the documented bands (percent of all records, N=20000).
var serviceShares = []struct {
	service string
	lo, hi  float64
}{
	{"codepipeline", 17, 27},
	{"codebuild", 14, 24},
	{"codecommit", 11, 19},
	{"codedeploy", 8, 15},
	{"codeartifact", 8, 15},
	{"codestar-notifications", 3, 7},
	{"codeconnections", 3.5, 8},
	{"codestar", 1.5, 4.5},
	{"codecatalyst", 1.5, 4.5},
	{"other", 3, 12},
}

func TestServiceShares(t *testing.T) {
	evs, err := Events(testConfig(20000))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, r := range decodeAll(t, evs) {
		counts[service(r.EventSource)]++
	}
	for _, s := range serviceShares {
		t.Run(s.service, func(t *testing.T) {
			pct := 100 * float64(counts[s.service]) / float64(len(evs))
			t.Logf("%s %.1f%%", s.service, pct)
			if pct < s.lo || pct > s.hi {
				t.Errorf("%s has %.1f%% of events, want %.1f-%.1f", s.service, pct, s.lo, s.hi)
			}
		})
	}
}

func TestAnchors(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
		seed uint64
	}{{"1000", 1000, 1}, {"1000 seed 7", 1000, 7}, {"20000", 20000, 3}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(tt.n)
			cfg.Seed = tt.seed
			evs, err := Events(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var create, update, start, janeCalls, janeDenied, rule int
			createAt := -1
			for i, r := range decodeAll(t, evs) {
				var p struct {
					Name     string `json:"name"`
					Pipeline struct {
						Name string `json:"name"`
					} `json:"pipeline"`
				}
				_ = json.Unmarshal(r.RequestParameters, &p)
				mine := r.RecipientAccountID == "111122223333" && r.AWSRegion == "us-east-1" &&
					(p.Name == "MyFirstPipeline" || p.Pipeline.Name == "MyFirstPipeline")
				switch {
				case mine && r.EventName == "CreatePipeline" && r.ErrorCode == "":
					create++
					createAt = i
				case mine && r.EventName == "UpdatePipeline" && r.ErrorCode == "":
					update++
				case mine && r.EventName == "StartPipelineExecution" && r.ErrorCode == "":
					start++
				}
				if mine && createAt < 0 {
					t.Errorf("record %d uses MyFirstPipeline before CreatePipeline", i)
				}
				if r.UserIdentity.ARN == "arn:aws:iam::111122223333:user/JaneDoe" {
					janeCalls++
					if r.ErrorCode == "AccessDenied" {
						janeDenied++
					}
				}
				if r.EventSource == "events.amazonaws.com" && r.UserIdentity.InvokedBy == "codestar-notifications.amazonaws.com" &&
					r.SourceIPAddress == "codestar-notifications.amazonaws.com" && r.UserAgent == "codestar-notifications.amazonaws.com" {
					rule++
				}
			}
			if create != 1 || update < 1 || start < 3 || janeCalls < 5 || janeDenied < 1 || rule < 1 {
				t.Fatalf("anchors: create=%d update=%d start=%d jane=%d janeDenied=%d rule=%d", create, update, start, janeCalls, janeDenied, rule)
			}
		})
	}
}

func TestOddities(t *testing.T) {
	cfg := testConfig(20000)
	cfg.DuplicateRate, cfg.OddityRate = 0.01, 0.01
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]time.Time{}
	var dups, internal, nullParams, filterString, filterObject, total int
	for rec, m := range g.All() {
		total++
		var r rec2
		if err := json.Unmarshal(rec, &r); err != nil {
			t.Fatal(err)
		}
		if w, ok := seen[r.EventID]; ok {
			if !m.Duplicate || !m.Window.After(w) {
				t.Fatalf("eventID %s repeated without a later delivery window", r.EventID)
			}
			dups++
		} else if m.Duplicate {
			t.Fatalf("duplicate %s has no first copy", r.EventID)
		}
		seen[r.EventID] = m.Window
		if r.SourceIPAddress == "AWS Internal" {
			internal++
		}
		if string(r.RequestParameters) == "null" && r.EventName == "ListPipelineExecutions" {
			nullParams++
		}
		var f struct {
			Filter json.RawMessage `json:"filter"`
		}
		_ = json.Unmarshal(r.RequestParameters, &f)
		if r.EventName == "ListPipelineExecutions" && len(f.Filter) > 0 {
			if f.Filter[0] == '"' {
				filterString++
			} else {
				filterObject++
			}
		}
	}
	if total <= cfg.Events || dups != total-cfg.Events {
		t.Fatalf("total %d, duplicates %d for %d events", total, dups, cfg.Events)
	}
	if dups < 100 || internal < 20 || filterString < 20 || filterObject < 20 {
		t.Fatalf("dups=%d internal=%d filterString=%d filterObject=%d", dups, internal, filterString, filterObject)
	}
	_ = nullParams
}

type rec2 struct {
	EventID           string          `json:"eventID"`
	EventName         string          `json:"eventName"`
	SourceIPAddress   string          `json:"sourceIPAddress"`
	RequestParameters json.RawMessage `json:"requestParameters"`
}

var keyRE = regexp.MustCompile(`^AWSLogs/(o-[a-z0-9]{10,32}/)?\d{12}/CloudTrail/[a-z0-9-]+/\d{4}/\d{2}/\d{2}/\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$`)
var digestRE = regexp.MustCompile(`^AWSLogs/(o-[a-z0-9]{10,32}/)?\d{12}/CloudTrail-Digest/[a-z0-9-]+/\d{4}/\d{2}/\d{2}/\d{12}_CloudTrail-Digest_[a-z0-9-]+_[A-Za-z0-9._-]+_[a-z0-9-]+_\d{8}T\d{6}Z\.json\.gz$`)

func readGzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteTrail(t *testing.T) {
	for _, tt := range []struct {
		name string
		org  string
	}{{"account trail", ""}, {"organization trail", "o-a1b2c3d4e5"}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := DemoConfig()
			cfg.Events = 20000
			cfg.Span = 2 * 24 * time.Hour
			cfg.Start = DefaultEnd.Add(-cfg.Span)
			cfg.MaxFileRecords = 50
			cfg.Organization = tt.org
			sum, err := WriteTrail(dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var files, digests, records, unsorted int
			ids := map[string]int{}
			err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				key, _ := filepath.Rel(dir, path)
				key = filepath.ToSlash(key)
				data := readGzip(t, path)
				if strings.Contains(key, "CloudTrail-Digest") {
					if !digestRE.MatchString(key) {
						t.Errorf("digest key %s does not match", key)
					}
					var dg struct {
						DigestS3Object string `json:"digestS3Object"`
						LogFiles       []struct {
							S3Object string `json:"s3Object"`
						} `json:"logFiles"`
					}
					if err := json.Unmarshal(data, &dg); err != nil || dg.DigestS3Object != key {
						t.Errorf("digest %s: %v %+v", key, err, dg.DigestS3Object)
					}
					digests++
					return nil
				}
				if !keyRE.MatchString(key) {
					t.Errorf("key %s does not match the CloudTrail layout", key)
				}
				files++
				var f struct {
					Records []rec `json:"Records"`
				}
				if err := json.Unmarshal(data, &f); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				if len(f.Records) == 0 || len(f.Records) > cfg.MaxFileRecords {
					t.Errorf("%s has %d records", key, len(f.Records))
				}
				parts := strings.Split(key, "/")
				acct := parts[len(parts)-7]
				if !slices.IsSortedFunc(f.Records, func(a, b rec) int { return strings.Compare(a.EventTime, b.EventTime) }) {
					unsorted++
				}
				for _, r := range f.Records {
					if r.RecipientAccountID != acct {
						t.Errorf("%s holds a record of account %s", key, r.RecipientAccountID)
					}
					ids[r.EventID]++
				}
				records += len(f.Records)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if files != sum.Files || digests != sum.DigestFiles || int64(records) != sum.Events || digests == 0 {
				t.Fatalf("summary %+v, found files=%d digests=%d records=%d", sum, files, digests, records)
			}
			twice := 0
			for _, n := range ids {
				if n > 1 {
					twice++
				}
			}
			if len(ids) != cfg.Events || twice == 0 {
				t.Fatalf("%d distinct events (want %d), %d delivered twice", len(ids), cfg.Events, twice)
			}
			if unsorted < files/4 {
				t.Errorf("only %d of %d files are not sorted by eventTime", unsorted, files)
			}
		})
	}
}

func TestWriteJSONLines(t *testing.T) {
	var buf bytes.Buffer
	cfg := testConfig(1000)
	n, err := WriteJSONLines(&buf, cfg)
	if err != nil || n != 1000 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	evs, _ := Events(cfg)
	if want := append(bytes.Join(evs, []byte("\n")), '\n'); !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("JSON lines differ from Events")
	}
}

func TestWriteCodeCatalyst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.json")
	if err := WriteCodeCatalyst(path, 500, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Items []struct {
			ID             string `json:"id"`
			OrganizationID string `json:"organizationId"`
			EventName      string `json:"eventName"`
			EventTime      string `json:"eventTime"`
			OperationType  string `json:"operationType"`
			UserIdentity   struct {
				UserType, PrincipalID, UserName string
			} `json:"userIdentity"`
			RequestPayload struct {
				ContentType, Data string
			} `json:"requestPayload"`
		} `json:"items"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 500 {
		t.Fatalf("%d items", len(out.Items))
	}
	for _, it := range out.Items {
		if it.ID == "" || it.OrganizationID == "" || it.EventName == "" || it.UserIdentity.UserName == "" ||
			(it.OperationType != "READONLY" && it.OperationType != "MUTATION") || !json.Valid([]byte(it.RequestPayload.Data)) {
			t.Fatalf("bad item %+v", it)
		}
		if it.EventName[0] < 'a' || it.EventName[0] > 'z' {
			t.Fatalf("eventName %q is not lowerCamel", it.EventName)
		}
		if _, err := time.Parse(time.RFC3339Nano, it.EventTime); err != nil {
			t.Fatal(err)
		}
	}
	again := filepath.Join(t.TempDir(), "again.json")
	_ = WriteCodeCatalyst(again, 500, DefaultConfig())
	if b, _ := os.ReadFile(again); !bytes.Equal(b, data) {
		t.Fatal("CodeCatalyst output is not deterministic")
	}
}

func TestAppendStr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`{"a":"b"}`, `"{\"a\":\"b\"}"`},
		{"tab\tnl\n\x01", `"tab\tnl\n\u0001"`},
		{"é", `"é"`},
		{"bad\xff", `"bad\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := string(appendStr(nil, tt.in)); got != tt.want {
				t.Fatalf("appendStr(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkNext(b *testing.B) {
	cfg := testConfig(MaxEvents)
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	var bytes int64
	b.ReportAllocs()
	for b.Loop() {
		rec, _, _ := g.Next(buf[:0])
		bytes += int64(len(rec))
		buf = rec
	}
	b.SetBytes(bytes / int64(max(b.N, 1)))
}

// BenchmarkGenGzip is WriteTrail's CPU work without the file system:
// generate and gzip (BestSpeed) on one goroutine.
func BenchmarkGenGzip(b *testing.B) {
	cfg := testConfig(MaxEvents)
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	zw, _ := kgzip.NewWriterLevel(io.Discard, gzipLevel)
	var buf []byte
	var n int64
	b.ReportAllocs()
	for b.Loop() {
		rec, _, _ := g.Next(buf[:0])
		if _, err := zw.Write(rec); err != nil {
			b.Fatal(err)
		}
		n += int64(len(rec))
		buf = rec
	}
	zw.Close()
	b.SetBytes(n / int64(max(b.N, 1)))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkWriteTrail writes 200k events over one day: ~40 records a file,
// the density of a 10M-event month.
func BenchmarkWriteTrail(b *testing.B) {
	cfg := DemoConfig()
	cfg.Events = 200_000
	cfg.Span = 24 * time.Hour
	cfg.Start = DefaultEnd.Add(-cfg.Span)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WriteTrail(b.TempDir(), cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cfg.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
