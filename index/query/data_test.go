package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/parse.json from the parser's output")

// parseCase is one entry of testdata/parse.json: a query and either its
// canonical form (want) or the error it gives (error_pos, error).
type parseCase struct {
	Comment  string `json:"comment,omitempty"`
	Query    string `json:"query"`
	Want     string `json:"want,omitempty"`
	ErrorPos *int   `json:"error_pos,omitempty"`
	Error    string `json:"error,omitempty"`
}

const parseData = "testdata/parse.json"

// TestParseData walks testdata/parse.json. With -update it rewrites want,
// error_pos and error from what the parser does now; review the diff.
func TestParseData(t *testing.T) {
	raw, err := os.ReadFile(parseData)
	if err != nil {
		t.Fatal(err)
	}
	var cases []parseCase
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("%s: %v", parseData, err)
	}
	for i := range cases {
		c := &cases[i]
		name := c.Comment
		if name == "" {
			name = c.Query
		}
		t.Run(name, func(t *testing.T) {
			n, err := Parse(c.Query)
			if *update {
				c.Want, c.ErrorPos, c.Error = "", nil, ""
				var pe *Error
				if errors.As(err, &pe) {
					c.ErrorPos, c.Error = &pe.Pos, pe.Msg
				} else {
					c.Want = Format(n)
				}
				return
			}
			switch {
			case c.ErrorPos != nil || c.Error != "":
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("Parse(%q) = %v, %v; want error at %v: %s", c.Query, n, err, c.ErrorPos, c.Error)
				}
				if c.ErrorPos == nil || pe.Pos != *c.ErrorPos || !strings.Contains(pe.Msg, c.Error) {
					t.Fatalf("Parse(%q) error\n got at %d: %s\nwant at %d: %s", c.Query, pe.Pos, pe.Msg, *c.ErrorPos, c.Error)
				}
			case err != nil:
				t.Fatalf("Parse(%q): %v", c.Query, err)
			default:
				if got := Format(n); got != c.Want {
					t.Fatalf("Format(Parse(%q))\n got %s\nwant %s", c.Query, got, c.Want)
				}
				back, err := Parse(c.Want)
				if err != nil || !Equal(back, n) {
					t.Fatalf("canonical %q parses to %#v, %v; want %#v", c.Want, back, err, n)
				}
			}
		})
	}
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cases); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(parseData, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
