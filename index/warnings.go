package index

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/codetrail/codetrail/index/query"
)

// fieldWarnings explains an empty result. Any path is a valid field (records
// differ per API), so a misspelled one is not an error: it matches nothing.
// For each field of the query that no event the caller may see has, it
// returns a warning, with the typed field the name is closest to, if any.
// It runs only for empty results, where its extra reads cost little.
func (s *Store) fieldWarnings(ctx context.Context, ast query.Node, scope Scope) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range query.Fields(ast) {
		if seen[f] || resolveField(f).kind != kindKV {
			continue
		}
		seen[f] = true
		// Scoped, so that a caller learns nothing of the fields of events
		// it may not see.
		q, err := s.compileAST(query.Exists{Field: f}, scope, time.Now())
		if err != nil {
			return nil, err
		}
		req := bleve.NewSearchRequestOptions(q, 0, 0, false)
		req.Score = "none"
		res, err := s.search(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f, err)
		}
		if res.Total > 0 {
			continue
		}
		if has, err := s.blockAny(ctx, query.Exists{Field: f}, scope); err != nil {
			return nil, fmt.Errorf("field %q: %w", f, err)
		} else if has {
			continue
		}
		w := fmt.Sprintf("no stored event has the field %q", f)
		if near := nearestField(f); near != "" {
			w += fmt.Sprintf("; did you mean %q?", near)
		}
		out = append(out, w)
	}
	return out, nil
}

// nearestField returns the typed field name (or alias) closest to name, by
// edit distance ignoring case, when it is close enough to be a slip.
func nearestField(name string) string {
	names := []string{"eventID", "eventTime", multiResource}
	for n := range fieldByName {
		names = append(names, n)
	}
	sort.Strings(names) // ties go the same way every time
	lower := strings.ToLower(name)
	best, bestD := "", 0
	for _, n := range names {
		d := editDistance(lower, strings.ToLower(n))
		// A quarter of the name, at least one edit and at most three.
		if limit := min(max(len(n)/4, 1), 3); d > limit {
			continue
		}
		if best == "" || d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b, in
// bytes: insertions, deletions, substitutions and swaps of neighbours, the
// slips of typing.
func editDistance(a, b string) int {
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		pp, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], pp[j-2]+1)
			}
		}
		rows[0], rows[1], rows[2] = prev, cur, pp
	}
	return rows[1][len(b)]
}
