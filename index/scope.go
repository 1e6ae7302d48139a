package index

import (
	"slices"
	"strings"

	"github.com/codetrail/codetrail/index/query"
)

// Scope limits the events a caller may see to some accounts, regions and
// services; an empty list leaves that dimension open, and the zero Scope
// sees everything. It is applied inside the index query (and the live
// matcher, from the same query tree), so totals, facets, histograms, Get and
// Subscribe are limited exactly as hits are: nothing outside the scope can
// be counted, found or inferred.
type Scope struct {
	Accounts []string // recipientAccountId
	Regions  []string // awsRegion
	Services []string // service (codepipeline, codebuild, ...)
}

// IsZero reports whether s limits nothing.
func (s Scope) IsZero() bool {
	return len(s.Accounts) == 0 && len(s.Regions) == 0 && len(s.Services) == 0
}

// apply returns n limited to the scope.
func (s Scope) apply(n query.Node) query.Node {
	if s.IsZero() {
		return n
	}
	var clauses []query.Node
	if and, ok := n.(query.And); ok {
		clauses = append(clauses, and.Clauses...)
	} else if _, all := n.(query.MatchAll); !all {
		clauses = append(clauses, n)
	}
	for _, dim := range []struct {
		field  string
		values []string
	}{{"account", s.Accounts}, {"awsRegion", s.Regions}, {"service", s.Services}} {
		switch len(dim.values) {
		case 0:
		case 1:
			clauses = append(clauses, query.Term{Field: dim.field, Value: dim.values[0], Phrase: true})
		default:
			var or query.Or
			for _, v := range dim.values {
				or.Clauses = append(or.Clauses, query.Term{Field: dim.field, Value: v, Phrase: true})
			}
			clauses = append(clauses, or)
		}
	}
	if len(clauses) == 1 {
		return clauses[0]
	}
	return query.And{Clauses: clauses}
}

// key is a canonical form of the scope for page token fingerprints: a token
// made under one scope is refused under another.
func (s Scope) key() string {
	var b strings.Builder
	for _, l := range [][]string{s.Accounts, s.Regions, s.Services} {
		v := slices.Clone(l)
		slices.Sort(v)
		b.WriteString(strings.Join(v, ","))
		b.WriteByte(';')
	}
	return b.String()
}
