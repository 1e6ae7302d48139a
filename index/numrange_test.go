package index

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

func TestParseNumber(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want float64
		ok   bool
	}{
		{"3600", 3600, true},
		{"-5", -5, true},
		{"+2", 2, true},
		{"12.5", 12.5, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"1e4", 10000, true},
		{"2.5E-1", 0.25, true},
		{"007", 7, true},
		{"", 0, false},
		{"abc", 0, false},
		{"0x10", 0, false},
		{"1_000", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1e999", 0, false},
		{"1.2.3", 0, false},
		{"2024-01-15", 0, false},
		{" 5", 0, false},
	} {
		got, ok := parseNumber(tc.s)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", tc.s, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNumericBounds(t *testing.T) {
	for _, tc := range []struct {
		q    string
		ok   bool
		want numRange
	}{
		{"p:>3600", true, numRange{min: 3600, max: math.Inf(1)}},
		{"p:<=10", true, numRange{min: math.Inf(-1), max: 10, maxIncl: true}},
		{"p:[1 TO 1e3}", true, numRange{min: 1, max: 1000, minIncl: true}},
		{"p:[* TO 5]", true, numRange{min: math.Inf(-1), max: 5, maxIncl: true}},
		{"p:[a TO 5]", false, numRange{}},
		{"p:>abc", false, numRange{}},
		{"p:[2024-01-01 TO 2024-02-01]", false, numRange{}},
	} {
		ast, err := query.Parse(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		r, isRange := ast.(query.Range)
		if !isRange {
			t.Fatalf("%s parsed to %T", tc.q, ast)
		}
		got, ok := numericBounds(r)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("numericBounds(%s) = %+v, %v; want %+v, %v", tc.q, got, ok, tc.want, tc.ok)
		}
	}
}

// TestNumericPathRanges: a range whose bounds are numbers compares the
// numbers of a path, in the index (every shard's own dictionary) and in the
// live matcher alike; values that are not numbers are left out; a bound
// that is not a number keeps text order.
func TestNumericPathRanges(t *testing.T) {
	values := map[string]string{
		"d900":   `900`,
		"d3600":  `3600`,
		"d7200":  `"7200"`, // a number written as a string counts too
		"d1e4":   `1e4`,
		"dneg":   `-5`,
		"dfrac":  `12.5`,
		"dtext":  `"abc"`,
		"darray": `[100, 5000]`,
		"dnull":  `null`,
	}
	var events []record.Event
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	}) {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2024-03-01T11:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"durationSeconds":%s}}`, id, values[id])
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	s := openStoreCfg(t, func(c *Config) { c.Shards = 3 })
	// One event a batch: the values spread over the shards and segments.
	for i := range events {
		if _, err := s.Put(context.Background(), events[i:i+1], nil); err != nil {
			t.Fatal(err)
		}
	}
	terms := allTerms(events)
	const p = "requestParameters.durationSeconds"
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{p + ":>3600", []string{"d1e4", "d7200", "darray"}},
		{p + ":>=3600", []string{"d1e4", "d3600", "d7200", "darray"}},
		{p + ":<100", []string{"dfrac", "dneg"}},
		{p + ":<=100", []string{"darray", "dfrac", "dneg"}},
		{p + ":[900 TO 3600]", []string{"d3600", "d900"}},
		{p + ":{900 TO 3600}", []string{}},
		{p + ":[* TO 0}", []string{"dneg"}},
		{p + ":[1e3 TO 1e4]", []string{"d1e4", "d3600", "d7200", "darray"}},
		{p + ":>-10", []string{"d1e4", "d3600", "d7200", "d900", "darray", "dfrac", "dneg"}},
		{p + ":[12.5 TO 12.5]", []string{"dfrac"}},
		// One value of an array in range is enough.
		{"NOT " + p + ":>100", []string{"dfrac", "dneg", "dnull", "dtext"}},
		// A bound that is not a number: text order, as before.
		{p + ":>=a", []string{"dtext"}},
		{p + ":[* TO abc]", []string{"d1e4", "d3600", "d7200", "d900", "darray", "dfrac", "dneg", "dtext"}},
	} {
		t.Run(tc.q, func(t *testing.T) {
			ast, err := query.Parse(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			c := compiler{now: time.Now()}
			m, err := c.matcher(ast)
			if err != nil {
				t.Fatal(err)
			}
			bq, err := c.compile(ast)
			if err != nil {
				t.Fatal(err)
			}
			idx, err := layoutIDs(context.Background(), s, c, ast, bq, len(events))
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tc.want)
			sort.Strings(want)
			if got := matchIDs(m, terms); !slices.Equal(got, want) {
				t.Errorf("matcher: %v, want %v", got, want)
			}
			if !slices.Equal(idx, want) {
				t.Errorf("index: %v, want %v", idx, want)
			}
		})
	}
}

// FuzzParseNumber: parseNumber never panics, agrees with strconv where it
// accepts, and accepts only finite decimals.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"3600", "-5", "+2", ".5", "5.", "1e4", "2.5E-1", "0x10", "NaN", "1e999", "", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := parseNumber(s)
		if !ok {
			return
		}
		if math.IsInf(v, 0) || math.IsNaN(v) || !decimal.MatchString(s) {
			t.Fatalf("parseNumber(%q) = %v: not a finite decimal", s, v)
		}
		if w, err := strconv.ParseFloat(s, 64); err != nil || w != v {
			t.Fatalf("parseNumber(%q) = %v, strconv says %v %v", s, v, w, err)
		}
	})
}
