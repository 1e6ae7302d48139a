package index

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/document"

	"github.com/codetrail/codetrail/index/record"
)

// indexedTime says yes exactly when Bleve can index the time as a date.
func TestIndexedTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    time.Time
		want bool
	}{
		{"none", time.Time{}, false},
		{"ordinary", time.Date(2024, 3, 1, 2, 3, 4, 0, time.UTC), true},
		{"epoch", time.Unix(0, 0), true},
		{"oldest Bleve holds", document.MinTimeRepresentable, true},
		{"newest Bleve holds", document.MaxTimeRepresentable, true},
		{"before that", document.MinTimeRepresentable.Add(-time.Nanosecond), false},
		{"after that", document.MaxTimeRepresentable.Add(time.Nanosecond), false},
		{"year 1500", time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 3000", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := indexedTime(&record.Event{Time: tc.t})
			_, err := document.NewDateTimeFieldWithIndexingOptions(fieldTime, nil, tc.t, "", optFacet)
			if got != tc.want || (tc.want && err != nil) || (!tc.want && !tc.t.IsZero() && err == nil) {
				t.Fatalf("indexedTime %v, want %v (Bleve: %v)", got, tc.want, err)
			}
		})
	}
}

// parseTimeKey reverses timeKey and orderKey's time half, and refuses
// the no-time key and what is not 16 hex digits.
func TestParseTimeKey(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 2, 3, 456789, time.UTC)
	before := time.Date(1960, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		name string
		key  string
		want time.Time
		ok   bool
	}{
		{"time key", timeKey(&record.Event{Time: at}), at, true},
		{"before 1970", timeKey(&record.Event{Time: before}), before, true},
		{"order key", orderKey(eventKey{nanos: at.UnixNano(), seq: 42}), at, true},
		{"no time", timeKey(&record.Event{}), time.Time{}, false},
		{"order key without time", orderKey(eventKey{nanos: noTime, seq: 7}), time.Time{}, false},
		{"short", "8000", time.Time{}, false},
		{"not hex", "80000000zz000000", time.Time{}, false},
		{"signed", "+800000000000000", time.Time{}, false},
		{"empty", "", time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseTimeKey(tc.key)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("parseTimeKey(%q) = %v, %v; want %v, %v", tc.key, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestTextTokens: the text field's tokens are lowercased runs of letters
// and digits at their positions, over-long ones leaving a gap, and carry
// no byte offsets (see dropOffsets).
func TestTextTokens(t *testing.T) {
	long := strings.Repeat("x", maxTokenLen+1)
	for _, tc := range []struct {
		in   string
		want []string // term@position
	}{
		{"arn:aws:CodeBuild:us-east-1", []string{"arn@1", "aws@2", "codebuild@3", "us@4", "east@5", "1@6"}},
		{"deploy\nfailed", []string{"deploy@1", "failed@2"}},
		{"before " + long + " after", []string{"before@1", "after@3"}},
		{"Über-Straße", []string{"über@1", "straße@2"}},
		{"--", nil},
	} {
		var got []string
		for _, tok := range textAnalyzer.Analyze([]byte(tc.in)) {
			if tok.Start != 0 || tok.End != 0 {
				t.Errorf("%q: token %q has offsets %d-%d", tc.in, tok.Term, tok.Start, tok.End)
			}
			got = append(got, fmt.Sprintf("%s@%d", tok.Term, tok.Position))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}
