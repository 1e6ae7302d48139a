package record

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses the repository's own records (about 1.5 KB each).
func BenchmarkParse(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "cloudtrail", "*.json"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no records: %v", err)
	}
	var records [][]byte
	var size int64
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		records = append(records, raw)
		size += int64(len(raw))
	}
	b.Run("Parse", func(b *testing.B) {
		benchRecords(b, records, size, func(raw []byte) error { _, err := Parse(KindCloudTrail, raw); return err })
	})
	b.Run("Parser", func(b *testing.B) {
		var p Parser
		benchRecords(b, records, size, func(raw []byte) error { _, err := p.Parse(KindCloudTrail, raw); return err })
	})
}

// BenchmarkParseCorpus parses the real invictus records when the shared
// corpus is present.
func BenchmarkParseCorpus(b *testing.B) {
	raws, _ := corpusRecords(b)
	records := make([][]byte, len(raws))
	var size int64
	for i, r := range raws {
		records[i] = r
		size += int64(len(r))
	}
	var p Parser
	benchRecords(b, records, size, func(raw []byte) error { _, err := p.Parse(KindCloudTrail, raw); return err })
}

func benchRecords(b *testing.B, records [][]byte, size int64, parse func([]byte) error) {
	b.SetBytes(size / int64(len(records)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := parse(records[n%len(records)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
