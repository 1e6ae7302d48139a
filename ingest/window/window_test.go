package window

import (
	"errors"
	"testing"
	"time"
)

func TestWalk(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	type w struct{ from, to, covered time.Time }
	for _, tc := range []struct {
		name    string
		start   time.Time
		covered time.Time
		want    []w
	}{
		{"first run from start", base, time.Time{}, []w{{base, base.Add(2 * h), base.Add(2 * h)}, {base.Add(2 * h), base.Add(3 * h), base.Add(3 * h)}}},
		{"resume re-reads the overlap", base, base.Add(2 * h), []w{{base.Add(90 * time.Minute), base.Add(3 * h), base.Add(3 * h)}}},
		{"overlap never before start", base.Add(150 * time.Minute), base.Add(160 * time.Minute), []w{{base.Add(150 * time.Minute), base.Add(3 * h), base.Add(3 * h)}}},
		{"checkpoint never moves back", base, base.Add(3 * h), []w{{base.Add(150 * time.Minute), base.Add(3 * h), base.Add(3 * h)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []w
			err := Walk(base.Add(3*h), tc.start, tc.covered, 30*time.Minute, 2*h, func(from, to, covered time.Time) error {
				got = append(got, w{from, to, covered})
				return nil
			})
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %v %v, want %v", got, err, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("window %d: got %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	boom := errors.New("boom")
	if err := Walk(base.Add(3*h), base, time.Time{}, 0, h, func(time.Time, time.Time, time.Time) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("error not returned: %v", err)
	}
}
