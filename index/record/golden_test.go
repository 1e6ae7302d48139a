package record

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGolden parses every testdata/{cloudtrail,codecatalyst}/*.json record and
// compares the Event (without Raw) to testdata/golden/<kind>/<name>.json.
// Run with -update to rewrite the golden files.
func TestGolden(t *testing.T) {
	for _, k := range []struct {
		dir  string
		kind Kind
	}{{"cloudtrail", KindCloudTrail}, {"codecatalyst", KindCodeCatalyst}} {
		files, err := filepath.Glob(filepath.Join("testdata", k.dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no records in testdata/%s", k.dir)
		}
		for _, in := range files {
			name := strings.TrimSuffix(filepath.Base(in), ".json")
			t.Run(k.dir+"/"+name, func(t *testing.T) {
				raw, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				ev, err := Parse(k.kind, raw)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !bytes.Equal(ev.Raw, raw) {
					t.Errorf("Raw differs from the input")
				}
				ev.Raw = nil
				got, err := json.MarshalIndent(ev, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				golden := filepath.Join("testdata", "golden", k.dir, name+".json")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("Event differs from %s (run with -update and review the diff):\n%s", golden, got)
				}
			})
		}
	}
}
