package record

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir holds public CloudTrail samples shared outside the repository;
// tests that read it skip when it is absent.
const corpusDir = "../../../shared/corpus"

func corpusPath(t testing.TB, elem ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{corpusDir}, elem...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not available: %v", err)
	}
	return dir
}

// corpusRecords reads the invictus-aws_dataset trail files: each is
// {"Records":[...]}. It returns the raw records and the file of each.
func corpusRecords(t testing.TB) (records []json.RawMessage, files int) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(corpusPath(t, "invictus-aws_dataset", "CloudTrail"), "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var file struct{ Records []json.RawMessage }
		if err := json.Unmarshal(b, &file); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		records = append(records, file.Records...)
	}
	return records, len(names)
}

func TestCorpusInvictus(t *testing.T) {
	records, files := corpusRecords(t)
	if files != 55 || len(records) != 2900 {
		t.Errorf("read %d records from %d files, the corpus README says 2900 from 55", len(records), files)
	}
	ids := map[string]int{}
	var problems, errs, noResources, pretty, noUserType int
	noUserName := map[string]int{}
	sources := map[string]int{}
	services := map[string]int{}
	for i, raw := range records {
		ev, err := Parse(KindCloudTrail, raw)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(ev.Raw, raw) {
			t.Fatalf("record %d: Raw differs", i)
		}
		if strings.HasPrefix(ev.ID, "h-") {
			t.Errorf("record %d has no eventID", i)
		}
		ids[ev.ID]++
		if ev.Time.IsZero() || ev.Time.Year() != 2023 {
			t.Errorf("record %s: Time %v, problems %q", ev.ID, ev.Time, ev.Problems)
		}
		if ev.Region != "us-east-1" || ev.Account == "" || ev.Source == "" || ev.Name == "" || ev.EventType == "" {
			t.Errorf("record %s: missing typed field: %s %s %s %s %s", ev.ID, ev.Region, ev.Account, ev.Source, ev.Name, ev.EventType)
		}
		if ev.UserType == "" {
			noUserType++
		}
		if ev.UserName == "" {
			noUserName[ev.UserType]++
		}
		if ev.Leaves.Len() == 0 {
			t.Errorf("record %s has no leaves", ev.ID)
		}
		problems += len(ev.Problems)
		if ev.ErrorCode != "" {
			errs++
		}
		if len(ev.Resources) == 0 {
			noResources++
		}
		sources[ev.Source]++
		services[ev.Service]++

		// The same record pretty-printed, without its eventID, gets the
		// same content id as the compact form.
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			a, _ := Parse(KindCloudTrail, bytes.Replace(raw, []byte(`"eventID":"`+ev.ID+`"`), []byte(`"eventID":""`), 1))
			b, _ := Parse(KindCloudTrail, bytes.Replace(buf.Bytes(), []byte(`"eventID": "`+ev.ID+`"`), []byte(`"eventID": ""`), 1))
			if !strings.HasPrefix(a.ID, "h-") || a.ID != b.ID {
				t.Errorf("record %s: content ids %q (compact) and %q (indented)", ev.ID, a.ID, b.ID)
			}
			pretty++
		}
	}
	var dups int
	for id, n := range ids {
		if n > 1 {
			dups++
			t.Logf("eventID %s appears %d times", id, n)
		}
	}
	if len(ids) < len(records)-dups {
		t.Errorf("%d distinct ids for %d records", len(ids), len(records))
	}
	if problems != 0 {
		t.Errorf("%d problems on real records", problems)
	}
	if errs != 300 {
		t.Errorf("%d records with errorCode, the corpus README says 300", errs)
	}
	if len(sources) != 29 {
		t.Errorf("%d event sources, the corpus README says 29", len(sources))
	}
	t.Logf("%d records, %d distinct ids, %d event sources, services %v, %d without resources, %d content-id checks, %d without userIdentity.type, without a user name by type %v",
		len(records), len(ids), len(sources), services, noResources, pretty, noUserType, noUserName)
}

// TestCorpusOthers parses the other corpus folders: logstash JSON lines,
// processing-library fixtures and the fenced blocks of the AWS guides.
func TestCorpusOthers(t *testing.T) {
	t.Run("otrf logstash lines", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(corpusPath(t, "otrf-security-datasets"), "ec2_proxy_s3_exfiltration_2020-09-14011940.json"))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			ev, err := Parse(KindCloudTrail, line)
			if err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
			if ev.Time.IsZero() {
				t.Errorf("line %d: no time, problems %q", n, ev.Problems)
			}
			n++
		}
		if n != 103 {
			t.Errorf("%d lines, the corpus README says 103", n)
		}
	})
	t.Run("processing library fixtures", func(t *testing.T) {
		names, _ := filepath.Glob(filepath.Join(corpusPath(t, "processing-library-fixtures"), "*.json"))
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var file struct{ Records []json.RawMessage }
			if err := json.Unmarshal(b, &file); err != nil {
				if _, perr := Parse(KindCloudTrail, b); perr == nil {
					t.Errorf("%s: invalid JSON accepted", filepath.Base(name))
				}
				continue
			}
			for i, raw := range file.Records {
				ev, err := Parse(KindCloudTrail, raw)
				if err != nil {
					t.Errorf("%s record %d: %v", filepath.Base(name), i, err)
					continue
				}
				if len(ev.Problems) > 0 {
					t.Logf("%s record %d: problems %q", filepath.Base(name), i, ev.Problems)
				}
			}
		}
	})
	t.Run("aws guides blocks", func(t *testing.T) {
		names, _ := filepath.Glob(filepath.Join(corpusPath(t, "awsdocs-samples"), "*", "doc_source", "*.blocks.json"))
		var accepted, rejected, validRejected int
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var file struct {
				Blocks []struct {
					Raw string `json:"raw"`
				} `json:"blocks"`
			}
			if err := json.Unmarshal(b, &file); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, blk := range file.Blocks {
				_, err := Parse(KindCloudTrail, []byte(blk.Raw))
				isObject := json.Valid([]byte(blk.Raw)) && strings.HasPrefix(strings.TrimSpace(blk.Raw), "{")
				switch {
				case err == nil && !isObject:
					t.Errorf("%s: accepted a block encoding/json rejects: %.80q", filepath.Base(name), blk.Raw)
				case err != nil && isObject:
					validRejected++
					t.Errorf("%s: rejected a valid object: %v", filepath.Base(name), err)
				case err == nil:
					accepted++
				default:
					rejected++
				}
			}
		}
		t.Logf("%d blocks accepted, %d rejected (not JSON objects)", accepted, rejected)
	})
}
