package index

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/query"
)

// A range on a record path whose bounds are numbers compares numbers:
// requestParameters.durationSeconds:>3600 means more than an hour, where
// text order would put "900" above "3600". The path's values are terms
// "path=value" of fieldKV, kept as text; the values that are numbers in
// range are picked from the term dictionary of each index at search time
// (kvNumberQuery) and from an event's terms when matching live
// (numRange.matcher), with one parser for both.

// decimal is the number syntax: JSON's, with an optional sign and leading
// zeros allowed, as people type numbers into queries.
var decimal = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// parseNumber returns the value of s when it is a finite decimal number.
func parseNumber(s string) (float64, bool) {
	if len(s) == 0 || len(s) > 64 || !decimal.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// numRange is a numeric range; a missing bound is infinite.
type numRange struct {
	min, max         float64
	minIncl, maxIncl bool
}

// numericBounds reports whether r compares numbers: every bound it gives
// is a number. A range with a bound that is not (a word, a date) compares
// text as before.
func numericBounds(r query.Range) (numRange, bool) {
	nr := numRange{min: math.Inf(-1), max: math.Inf(1), minIncl: r.MinInclusive, maxIncl: r.MaxInclusive}
	if r.Min == "" && r.Max == "" {
		return nr, false
	}
	if r.Min != "" {
		f, ok := parseNumber(r.Min)
		if !ok {
			return nr, false
		}
		nr.min = f
	}
	if r.Max != "" {
		f, ok := parseNumber(r.Max)
		if !ok {
			return nr, false
		}
		nr.max = f
	}
	return nr, true
}

// holds reports whether the text value is a number in the range.
func (nr numRange) holds(value string) bool {
	f, ok := parseNumber(value)
	if !ok {
		return false
	}
	switch {
	case f < nr.min || f > nr.max:
		return false
	case f == nr.min && !nr.minIncl:
		return false
	case f == nr.max && !nr.maxIncl:
		return false
	}
	return true
}

// matcher mirrors kvNumberQuery for an event: one of its values of path
// is a number in the range.
func (nr numRange) matcher(path string) matcher {
	slot := slotOf(fieldKV)
	prefix := path + kvSep
	return func(e *eventTerms) bool {
		s := e.field(slot, fieldKV).sorted
		for i := sort.SearchStrings(s, prefix); i < len(s) && strings.HasPrefix(s[i], prefix); i++ {
			if nr.holds(s[i][len(prefix):]) {
				return true
			}
		}
		return false
	}
}

// kvNumberQuery is a Bleve query: the events with a value of path that is
// a number in r. Bleve asks each index (shard) for its searcher, so the
// terms come from that index's own dictionary.
type kvNumberQuery struct {
	path string
	r    numRange
}

func (q *kvNumberQuery) Searcher(ctx context.Context, i bindex.IndexReader, _ mapping.IndexMapping, options search.SearcherOptions) (search.Searcher, error) {
	prefix := q.path + kvSep
	fd, err := i.FieldDictPrefix(fieldKV, []byte(prefix))
	if err != nil {
		return nil, fmt.Errorf("values of %s: %w", q.path, err)
	}
	var terms []string
	for {
		e, err := fd.Next()
		if err != nil {
			_ = fd.Close()
			return nil, fmt.Errorf("values of %s: %w", q.path, err)
		}
		if e == nil {
			break
		}
		if q.r.holds(e.Term[len(prefix):]) {
			terms = append(terms, e.Term)
		}
	}
	if err := fd.Close(); err != nil {
		return nil, fmt.Errorf("values of %s: %w", q.path, err)
	}
	if len(terms) == 0 {
		return searcher.NewMatchNoneSearcher(i)
	}
	return searcher.NewMultiTermSearcher(ctx, i, terms, fieldKV, 1, options, true)
}
