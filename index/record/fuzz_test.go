package record

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, that an accepted record keeps its
// bytes and re-parses to the same Event, and that the Event is well formed.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"cloudtrail", "codecatalyst"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		for _, name := range files {
			raw, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"eventTime":1688989356123}`, `{"eventTime":"2023-07-10 11:42:36"}`,
		`{"a":{"b":[[{"c":"\u0000"}]]}}`, `{"requestParameters":{"ids":["p:1"]},"eventName":"BatchGetBuilds"}`,
		`{"resources":[{"ARN":"arn:aws:s3:::b"}],"userIdentity":"x"}`, `{"eventTime":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Parse accepts exactly the JSON objects encoding/json accepts, up to
		// fastjson's nesting limit.
		object := json.Valid(raw) && bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{"))
		deep := bytes.Count(raw, []byte("{"))+bytes.Count(raw, []byte("[")) > 250
		for _, kind := range []Kind{KindCloudTrail, KindCodeCatalyst} {
			in := bytes.Clone(raw)
			ev, err := Parse(kind, in)
			if (err == nil) != object && !deep {
				t.Fatalf("Parse error %v, but encoding/json says object=%v", err, object)
			}
			if err != nil {
				continue
			}
			if !bytes.Equal(ev.Raw, raw) {
				t.Fatalf("Raw = %q, want %q", ev.Raw, raw)
			}
			for i := range in {
				in[i] = 0 // the caller may reuse its buffer
			}
			again, err := Parse(kind, ev.Raw)
			if err != nil {
				t.Fatalf("re-parse of Raw failed: %v", err)
			}
			if !reflect.DeepEqual(ev, again) {
				t.Fatalf("re-parse differs:\n%+v\n%+v", ev, again)
			}
			if ev.ID == "" || ev.Kind != kind || !contains(Services, ev.Service) {
				t.Fatalf("bad Event header: id %q kind %d service %q", ev.ID, ev.Kind, ev.Service)
			}
			if !ev.Time.IsZero() && (ev.Time.Location().String() != "UTC" || ev.Time.Year() > 9999) {
				t.Fatalf("bad Time %v", ev.Time)
			}
			if ev.Time.IsZero() && len(ev.Problems) == 0 {
				t.Fatalf("zero Time without a Problem")
			}
			seen := map[string]bool{}
			for _, r := range ev.Resources {
				if r == "" || seen[r] {
					t.Fatalf("empty or duplicate resource %q in %q", r, ev.Resources)
				}
				seen[r] = true
			}
			for l := range ev.Leaves.All() {
				if !l.String && !utf8.ValidString(l.Value) {
					t.Fatalf("non-string leaf %q is not text", l.Value)
				}
			}
			if strings.HasPrefix(ev.ID, "h-") && len(ev.ID) != 34 {
				t.Fatalf("content id %q", ev.ID)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
