package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"
	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/index/record"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// result is what one decode produced, as stored in a golden file.
type result struct {
	Summary  Summary     `json:"summary"`
	Error    string      `json:"error,omitempty"`
	Records  []goldenRec `json:"records"`
	Problems []Problem   `json:"problems"`
}

type goldenRec struct {
	Kind record.Kind `json:"kind"`
	Pos  string      `json:"pos"`
	Raw  string      `json:"raw"`
}

// collect returns fn and problem callbacks that record into r, checking
// the invariants every yielded record must meet.
func collect(t testing.TB, r *result, opt Options) (func(Record) error, func(Problem)) {
	return func(rec Record) error {
			checkRecord(t, rec, opt)
			r.Records = append(r.Records, goldenRec{rec.Kind, rec.Pos, string(rec.Raw)})
			return nil
		}, func(p Problem) {
			r.Problems = append(r.Problems, p)
		}
}

// checkRecord checks that rec is a valid JSON object, or with
// opt.CallerValidates one that record.Parse, the caller it is meant for,
// refuses.
func checkRecord(t testing.TB, rec Record, opt Options) {
	t.Helper()
	raw := bytes.TrimSpace(rec.Raw)
	if len(raw) == 0 || raw[0] != '{' {
		t.Fatalf("%s: Raw is not an object: %.80q", rec.Pos, rec.Raw)
	}
	if err := fastjson.ValidateBytes(rec.Raw); err != nil {
		if !opt.CallerValidates {
			t.Fatalf("%s: Raw is not valid JSON: %v", rec.Pos, err)
		}
		if _, perr := record.Parse(rec.Kind, rec.Raw); perr == nil {
			t.Fatalf("%s: record.Parse accepts what is not valid JSON (%v)", rec.Pos, err)
		}
	}
	if rec.Kind != record.KindCloudTrail && rec.Kind != record.KindCodeCatalyst {
		t.Fatalf("%s: bad kind %d", rec.Pos, rec.Kind)
	}
}

func decodeBytes(t testing.TB, name string, data []byte, opt Options) result {
	var r result
	fn, pr := collect(t, &r, opt)
	s, err := Decode(name, data, opt, fn, pr)
	r.Summary = s
	if err != nil {
		r.Error = err.Error()
	}
	if s.Records != len(r.Records) || s.Invalid != len(r.Problems) {
		t.Fatalf("summary %+v does not match %d records, %d problems", s, len(r.Records), len(r.Problems))
	}
	return r
}

func decodeReader(t testing.TB, name string, rd io.Reader, opt Options) result {
	var r result
	fn, pr := collect(t, &r, opt)
	s, err := DecodeReader(name, rd, opt, fn, pr)
	r.Summary = s
	if err != nil {
		r.Error = err.Error()
	}
	if s.Records != len(r.Records) || s.Invalid != len(r.Problems) {
		t.Fatalf("summary %+v does not match %d records, %d problems", s, len(r.Records), len(r.Problems))
	}
	return r
}

func gz(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jsonText(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b) + "\n"
}

// TestDecode decodes each input of testdata/in and compares with its golden
// file; the same input gzipped, and read through DecodeReader in small
// chunks, must give the same result.
func TestDecode(t *testing.T) {
	small := Options{MaxRecordBytes: 950}
	tests := []struct {
		name string
		file string
		opt  Options
	}{
		{"cloudtrail pretty", "trail.json", Options{}},
		{"cloudtrail compact", "trail-compact.json", Options{}},
		{"cloudtrail insights", "insights.json", Options{}},
		{"cloudtrail missing brace", "trail-missing-brace.json", Options{}},
		{"cloudtrail truncated", "trail-truncated.json", Options{}},
		{"cloudtrail damaged records", "trail-damaged.json", Options{}},
		// The records fastjson refuses reach fn, for the caller to refuse.
		{"cloudtrail damaged records caller validates", "trail-damaged.json", Options{CallerValidates: true}},
		{"cloudtrail record too large", "trail-compact.json", small},
		{"digest", "digest.json", Options{}},
		{"single event", "event.json", Options{}},
		{"eventbridge", "eventbridge.json", Options{}},
		{"eventbridge other detail-type", "eventbridge-other.json", Options{}},
		{"eventbridge pattern", "pattern.json", Options{}},
		{"lookup-events", "lookup-events.json", Options{}},
		{"lookup-events entry", "lookup-entry.json", Options{}},
		{"codecatalyst list-event-logs", "codecatalyst.json", Options{}},
		{"codecatalyst entry", "codecatalyst-entry.json", Options{}},
		{"jsonlines mixed", "events.jsonl", Options{}},
		{"jsonlines crlf bom", "events-crlf-bom.jsonl", Options{}},
		{"concatenated pretty", "concatenated.json", Options{}},
		{"array", "array.json", Options{}},
		{"nested containers", "nested-records.json", Options{}},
		{"sns notification", "sns.json", Options{}},
		{"unknown object", "unknown.json", Options{}},
		{"scalar", "scalar.json", Options{}},
		{"too deep", "deep.json", Options{}},
		{"empty", "empty.json", Options{}},
		{"blank", "blank.json", Options{}},
		{"not json", "notjson.txt", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "in", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := decodeBytes(t, tt.file, data, tt.opt)
			golden := filepath.Join("testdata", "golden", strings.ReplaceAll(tt.name, " ", "-")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(jsonText(got)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if g := jsonText(got); g != string(want) {
				t.Errorf("got:\n%s\nwant (%s):\n%s", g, golden, want)
			}

			// The same through gzip and through DecodeReader, in chunks.
			zipped := gz(t, data)
			variants := map[string]result{
				"gzip":          decodeBytes(t, tt.file, zipped, tt.opt),
				"reader":        decodeReader(t, tt.file, iotest.HalfReader(bytes.NewReader(data)), tt.opt),
				"reader 1 byte": decodeReader(t, tt.file, iotest.OneByteReader(bytes.NewReader(data)), tt.opt),
				"reader gzip":   decodeReader(t, tt.file, bytes.NewReader(zipped), tt.opt),
			}
			for name, v := range variants {
				if g, w := jsonText(v), jsonText(got); g != w {
					t.Errorf("%s differs from Decode:\n%s\nwant:\n%s", name, g, w)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	trail, err := os.ReadFile(filepath.Join("testdata", "in", "trail.json"))
	if err != nil {
		t.Fatal(err)
	}
	zipped := gz(t, trail)
	corrupt := bytes.Clone(zipped)
	corrupt[len(corrupt)/2] ^= 0xff
	tests := []struct {
		name string
		data []byte
		opt  Options
		want error
	}{
		{"gzip magic only", []byte{0x1f, 0x8b, 0, 1, 2}, Options{}, ErrGzip},
		{"gzip corrupt", corrupt, Options{}, ErrGzip},
		{"gzip truncated", zipped[:len(zipped)-10], Options{}, ErrGzip},
		{"too large", trail, Options{MaxDecompressedBytes: 100}, ErrTooLarge},
		{"gzip too large", zipped, Options{MaxDecompressedBytes: 100}, ErrTooLarge},
		{"not json", []byte("<html><body>Access Denied</body></html>"), Options{}, ErrNotJSON},
		{"not json literal", []byte("nothing to see"), Options{}, ErrNotJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.name, tt.data, tt.opt, nil, nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode: got %v, want %v", err, tt.want)
			}
			_, err = DecodeReader(tt.name, bytes.NewReader(tt.data), tt.opt, nil, nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeReader: got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDecodeStop checks that fn's error ends decoding and is returned.
func TestDecodeStop(t *testing.T) {
	stop := errors.New("stop here")
	for _, file := range []string{"trail.json", "events.jsonl", "array.json"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "in", file))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			fn := func(Record) error {
				n++
				if n == 2 {
					return stop
				}
				return nil
			}
			s, err := Decode(file, data, Options{}, fn, nil)
			if !errors.Is(err, stop) || n != 2 || s.Records != 1 {
				t.Errorf("Decode: err %v after %d calls, summary %+v", err, n, s)
			}
			n = 0
			s, err = DecodeReader(file, bytes.NewReader(data), Options{}, fn, nil)
			if !errors.Is(err, stop) || n != 2 || s.Records != 1 {
				t.Errorf("DecodeReader: err %v after %d calls, summary %+v", err, n, s)
			}
		})
	}
}

// TestDecodeLinear feeds inputs built to make a careless recovery quadratic
// or endless: they must decode quickly.
func TestDecodeLinear(t *testing.T) {
	const n = 200000
	tests := []struct {
		name string
		data []byte
	}{
		{"open braces lines", bytes.Repeat([]byte("{\"a\":\n"), n)},
		{"open brackets", bytes.Repeat([]byte("["), n)},
		{"records of open objects", append([]byte(`{"Records":[`), bytes.Repeat([]byte(`{"a":{"b":`), n)...)},
		{"records of missing braces", append([]byte(`{"Records":[`), bytes.Repeat([]byte(`{"eventName":"x","u":{"a":1,`), n)...)},
		{"stray closers", append([]byte(`{"Records":[{"eventName":"x"}`), bytes.Repeat([]byte(`}]`), n)...)},
		{"quotes", bytes.Repeat([]byte(`{"a":"`), n)},
		{"commas", append([]byte(`[`), bytes.Repeat([]byte(`,`), n)...)},
		{"lines of junk", bytes.Repeat([]byte("{\"eventName\":\"x\"}\n}{[\n"), n/4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r result
			fn, pr := collect(t, &r, Options{})
			if _, err := Decode(tt.name, tt.data, Options{}, fn, pr); err != nil {
				t.Log(err)
			}
			if _, err := DecodeReader(tt.name, bytes.NewReader(tt.data), Options{}, fn, pr); err != nil {
				t.Log(err)
			}
		})
	}
}

func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "in", "*"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Records":[{"a":1},{"b":{"c":[1,2,{"d":"\"}"}]}},{"eventName":"x"}]}`))
	f.Add([]byte("{\"eventName\":\"x\"}\n{\"eventName\":\"y\"\n{\"Events\":[{\"CloudTrailEvent\":\"{}\"}]}\n"))
}

// fuzzOpt keeps fuzz inputs cheap while still hitting the limits.
var fuzzOpt = Options{MaxDecompressedBytes: 1 << 20, MaxRecordBytes: 4096}

func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := decodeBytes(t, "fuzz", data, fuzzOpt)
		if r.Error == "" && r.Summary.Format == "" {
			t.Fatalf("no format: %+v", r.Summary)
		}
	})
}

func FuzzDecodeReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		got := decodeReader(t, "fuzz", iotest.HalfReader(bytes.NewReader(data)), fuzzOpt)
		want := decodeBytes(t, "fuzz", data, fuzzOpt)
		if got.Error == "" && want.Error == "" {
			if g, w := jsonText(got), jsonText(want); g != w {
				t.Fatalf("DecodeReader:\n%s\nDecode:\n%s", g, w)
			}
		}
	})
}

// benchRecords returns n distinct CloudTrail records of about 1.5 KB.
func benchRecords(b *testing.B, n int) [][]byte {
	data, err := os.ReadFile(filepath.Join("testdata", "in", "trail.json"))
	if err != nil {
		b.Fatal(err)
	}
	var trail struct{ Records []map[string]any }
	if err := json.Unmarshal(data, &trail); err != nil {
		b.Fatal(err)
	}
	out := make([][]byte, n)
	for i := range out {
		rec := trail.Records[i%len(trail.Records)]
		rec["eventID"] = fmt.Sprintf("e1f2a3b4-0000-4000-8000-%012d", i)
		rec["requestParameters"] = map[string]any{"name": fmt.Sprintf("pipeline-%d", i),
			"policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::artifacts/*"}]}`}
		out[i], _ = json.Marshal(rec)
	}
	return out
}

func benchmarkDecode(b *testing.B, data []byte, n int, reader bool) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var s Summary
		var err error
		if reader {
			s, err = DecodeReader("bench", bytes.NewReader(data), Options{}, func(Record) error { return nil }, nil)
		} else {
			s, err = Decode("bench", data, Options{}, func(Record) error { return nil }, nil)
		}
		if err != nil || s.Records != n {
			b.Fatalf("%v %+v", err, s)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

const benchN = 20000

func trailFile(recs [][]byte) []byte {
	return append(append([]byte(`{"Records":[`), bytes.Join(recs, []byte(","))...), "]}"...)
}

func BenchmarkDecodeCloudTrail(b *testing.B) {
	recs := benchRecords(b, benchN)
	benchmarkDecode(b, trailFile(recs), benchN, false)
}

func BenchmarkDecodeCloudTrailGzip(b *testing.B) {
	recs := benchRecords(b, benchN)
	benchmarkDecode(b, gz(b, trailFile(recs)), benchN, false)
}

func BenchmarkDecodeJSONLines(b *testing.B) {
	recs := benchRecords(b, benchN)
	benchmarkDecode(b, append(bytes.Join(recs, []byte("\n")), '\n'), benchN, false)
}

func BenchmarkDecodeReaderJSONLines(b *testing.B) {
	recs := benchRecords(b, benchN)
	benchmarkDecode(b, append(bytes.Join(recs, []byte("\n")), '\n'), benchN, true)
}
