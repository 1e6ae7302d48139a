package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMedianMeasure(t *testing.T) {
	ms := time.Millisecond
	// run builds a measure whose every figure is a multiple of k, so that
	// each field's median is easy to see.
	run := func(k int64, qs ...timing) measure {
		return measure{
			Engine: "codetrail", Events: 1000, Ingest: time.Duration(k) * time.Second,
			Queries: qs,
			Page1:   time.Duration(k) * ms, Page100: time.Duration(2*k) * ms,
			Disk: 100 * k, PeakRSS: 1000 * k, PeakAnon: 10 * k,
			MemLimit: 1e4 * k, CgroupPeak: 1e5 * k,
		}
	}
	q := func(name string, p50, p99, max time.Duration, hits int64) timing {
		return timing{Name: name, P50: p50, P99: p99, Max: max, Hits: hits}
	}
	tests := []struct {
		name    string
		runs    []measure
		want    measure
		wantErr string // a substring of the error; empty for none
	}{
		{
			name: "one run is itself, Runs unset",
			runs: []measure{run(3, q("a", ms, 2*ms, 3*ms, 7))},
			want: run(3, q("a", ms, 2*ms, 3*ms, 7)),
		},
		{
			name: "faults and bytes read are medians too, the mean of the middle two for an even count",
			runs: []measure{
				run(1, timing{Name: "a", P50: ms, P99: ms, Max: ms, Hits: 7, MajFaults: 4, ReadBytes: 100}),
				run(1, timing{Name: "a", P50: ms, P99: ms, Max: ms, Hits: 7, MajFaults: 0.5, ReadBytes: 0}),
				run(1, timing{Name: "a", P50: ms, P99: ms, Max: ms, Hits: 7, MajFaults: 1, ReadBytes: 4096}),
				run(1, timing{Name: "a", P50: ms, P99: ms, Max: ms, Hits: 7, MajFaults: 30, ReadBytes: 50}),
			},
			want: func() measure {
				m := run(1, timing{Name: "a", P50: ms, P99: ms, Max: ms, Hits: 7, MajFaults: 2.5, ReadBytes: 75})
				m.Runs = 4
				return m
			}(),
		},
		{
			name: "one run's queries timed before the server settled mark the medians",
			runs: func() []measure {
				a, b := run(1, q("a", ms, ms, ms, 7)), run(1, q("a", ms, ms, ms, 7))
				b.Unsettled = true
				return []measure{a, b}
			}(),
			want: func() measure {
				m := run(1, q("a", ms, ms, ms, 7))
				m.Runs, m.Unsettled = 2, true
				return m
			}(),
		},
		{
			// Each field on its own: P99's median comes from another run
			// than P50's.
			name: "odd count takes the middle of each field",
			runs: []measure{
				run(5, q("a", 1*ms, 9*ms, 9*ms, 7)),
				run(1, q("a", 3*ms, 2*ms, 8*ms, 7)),
				run(3, q("a", 2*ms, 4*ms, 20*ms, 7)),
			},
			want: func() measure {
				m := run(3, q("a", 2*ms, 4*ms, 9*ms, 7))
				m.Runs = 3
				return m
			}(),
		},
		{
			name: "even count takes the mean of the two middle values",
			runs: []measure{
				run(2, q("a", 1*ms, 2*ms, 3*ms, 7)),
				run(4, q("a", 3*ms, 4*ms, 5*ms, 7)),
			},
			want: func() measure {
				m := run(3, q("a", 2*ms, 3*ms, 4*ms, 7))
				m.Runs = 2
				return m
			}(),
		},
		{
			name: "queries matched by name, in the first run's order",
			runs: []measure{
				run(1, q("a", 1*ms, 1*ms, 1*ms, 7), q("b", 10*ms, 10*ms, 10*ms, 8)),
				run(1, q("b", 30*ms, 30*ms, 30*ms, 8), q("a", 3*ms, 3*ms, 3*ms, 7)),
				run(1, q("a", 2*ms, 2*ms, 2*ms, 7), q("b", 20*ms, 20*ms, 20*ms, 8)),
			},
			want: func() measure {
				m := run(1, q("a", 2*ms, 2*ms, 2*ms, 7), q("b", 20*ms, 20*ms, 20*ms, 8))
				m.Runs = 3
				return m
			}(),
		},
		{
			name:    "hits must agree",
			runs:    []measure{run(1, q("a", ms, ms, ms, 7)), run(1, q("a", ms, ms, ms, 6))},
			wantErr: `query "a" has 6 hits in run 2, 7 in run 1`,
		},
		{
			name:    "a query missing from a run",
			runs:    []measure{run(1, q("a", ms, ms, ms, 7)), run(1, q("b", ms, ms, ms, 7))},
			wantErr: `query "a" is missing from run 2`,
		},
		{
			name:    "a query more in a run",
			runs:    []measure{run(1, q("a", ms, ms, ms, 7)), run(1, q("a", ms, ms, ms, 7), q("b", ms, ms, ms, 7))},
			wantErr: "run 2 has 2 queries, run 1 has 1",
		},
		{
			name:    "another trail",
			runs:    []measure{run(1), {Engine: "codetrail", Events: 2000}},
			wantErr: "run 2 is codetrail on 2000 events",
		},
		{
			name:    "no runs",
			wantErr: "median of no runs",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := medianMeasure(tt.runs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
