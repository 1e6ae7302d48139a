package index

import (
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
