package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir holds real public samples (see its README.md); it is not part of
// the repository, so the tests below skip when it is absent.
const corpusDir = "../../../shared/corpus"

func corpus(t *testing.T, glob string) []string {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(corpusDir, glob))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no corpus files match %s", glob)
	}
	return files
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestCorpusInvictus: each real trail file yields as many records as a
// plain encoding/json decode of its Records counts.
func TestCorpusInvictus(t *testing.T) {
	total := 0
	for _, path := range corpus(t, "invictus-aws_dataset/CloudTrail/*.json") {
		data := readFile(t, path)
		var want struct{ Records []json.RawMessage }
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got := decodeBytes(t, path, data, Options{})
		if got.Error != "" || got.Summary.Format != FormatCloudTrail || got.Summary.Records != len(want.Records) || got.Summary.Invalid != 0 {
			t.Errorf("%s: got %+v %s, want %d records", filepath.Base(path), got.Summary, got.Error, len(want.Records))
		}
		for i, r := range got.Records {
			if !bytes.Equal([]byte(r.Raw), want.Records[i]) {
				t.Errorf("%s: %s differs from encoding/json's element", filepath.Base(path), r.Pos)
				break
			}
		}
		total += got.Summary.Records
	}
	t.Logf("%d records", total)
}

func TestCorpusProcessingLibrary(t *testing.T) {
	for _, path := range corpus(t, "processing-library-fixtures/*") {
		name := filepath.Base(path)
		if strings.HasSuffix(name, ".txt") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data := readFile(t, path)
			got := decodeBytes(t, name, data, Options{})
			if got.Error != "" {
				t.Fatalf("error: %s", got.Error)
			}
			t.Logf("%+v", got.Summary)
			for _, p := range got.Problems {
				t.Logf("problem %s: %s", p.Pos, p.Reason)
			}
			switch name {
			case "SerializerTestFileBadJsonFormat.json":
				// Records[0] lacks a '}'; Records[1] is fine.
				if got.Summary.Records != 1 || got.Summary.Invalid != 1 || got.Problems[0].Pos != "Records[0]" || got.Records[0].Pos != "Records[1]" {
					t.Errorf("got %+v", got)
				}
			case "SQSMessageBody":
				if got.Summary.Skipped == "" {
					t.Errorf("SNS notification not recognised: %+v", got.Summary)
				}
			case "SQSMessageBodyWrongFormat":
				if got.Summary.Records != 0 || got.Summary.Invalid != 1 {
					t.Errorf("got %+v", got.Summary)
				}
			default:
				plain := data
				if strings.HasSuffix(name, ".gz") {
					plain = readFile(t, strings.TrimSuffix(path, ".gz"))
				}
				var want struct{ Records []json.RawMessage }
				if err := json.Unmarshal(plain, &want); err != nil {
					t.Fatal(err)
				}
				if got.Summary.Format != FormatCloudTrail || got.Summary.Records != len(want.Records) || got.Summary.Invalid != 0 {
					t.Errorf("got %+v, want %d records", got.Summary, len(want.Records))
				}
			}
		})
	}
}

func TestCorpusOTRF(t *testing.T) {
	for _, path := range corpus(t, "otrf-security-datasets/*.json") {
		data := readFile(t, path)
		lines := 0
		for l := range bytes.Lines(data) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines++
			}
		}
		got := decodeBytes(t, path, data, Options{})
		streamed := decodeReader(t, path, bytes.NewReader(data), Options{})
		if got.Error != "" || got.Summary.Format != FormatJSONLines || got.Summary.Records != lines || got.Summary.Invalid != 0 {
			t.Errorf("%s: got %+v %s, want %d records", filepath.Base(path), got.Summary, got.Error, lines)
		}
		if jsonText(streamed) != jsonText(got) {
			t.Errorf("%s: DecodeReader differs from Decode", filepath.Base(path))
		}
	}
}

// TestCorpusAWSDocs decodes every fenced block of the AWS documentation:
// nothing may panic, every record must be valid, and the digest, Insights
// and EventBridge samples must be recognised.
func TestCorpusAWSDocs(t *testing.T) {
	formats := map[string]int{}
	for _, path := range corpus(t, "awsdocs-samples/*/doc_source/*.blocks.json") {
		var doc struct {
			Blocks []struct {
				Index int             `json:"block_index"`
				Raw   string          `json:"raw"`
				Valid bool            `json:"valid_json"`
				JSON  json.RawMessage `json:"parsed"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(readFile(t, path), &doc); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, b := range doc.Blocks {
			where := fmt.Sprintf("%s block %d", filepath.Base(path), b.Index)
			got := decodeBytes(t, where, []byte(b.Raw), Options{})
			formats[got.Summary.Format]++
			raw := b.Raw
			switch {
			case !b.Valid:
			case strings.Contains(raw, `"digestStartTime"`):
				if got.Summary.Skipped != "CloudTrail digest file" {
					t.Errorf("%s: digest not recognised: %+v", path, got.Summary)
				}
			case strings.Contains(raw, `"AwsCloudTrailInsight"`) && (strings.Contains(raw, `"Records"`) || strings.Contains(raw, `"eventVersion"`)):
				if got.Summary.Records == 0 {
					t.Errorf("%s block %d: Insights sample yielded nothing: %+v %v", path, b.Index, got.Summary, got.Problems)
				}
			case strings.Contains(raw, `"detail-type": "`) && strings.Contains(raw, `via CloudTrail"`):
				if got.Summary.Format != FormatEventBridge || got.Summary.Records != 1 {
					t.Errorf("%s block %d: EventBridge sample: %+v %v", path, b.Index, got.Summary, got.Problems)
				}
			}
		}
	}
	t.Logf("formats: %v", formats)
}
