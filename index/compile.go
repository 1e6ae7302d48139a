package index

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
	"unicode"

	bquery "github.com/blevesearch/bleve/v2/search/query"

	"github.com/codetrail/codetrail/index/query"
)

// compiler turns a parsed query into a Bleve query. now anchors date math so
// that one request sees one "now".
type compiler struct {
	now time.Time
	// allowLeadingWildcard is Config.AllowLeadingWildcard.
	allowLeadingWildcard bool
}

func errAt(pos int, format string, args ...any) error {
	return &query.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) compile(n query.Node) (bquery.Query, error) {
	switch n := n.(type) {
	case nil, query.MatchAll:
		return bquery.NewMatchAllQuery(), nil
	case query.And:
		var must, mustNot []bquery.Query
		for _, cl := range n.Clauses {
			if not, ok := cl.(query.Not); ok {
				q, err := c.compile(not.Clause)
				if err != nil {
					return nil, err
				}
				mustNot = append(mustNot, q)
				continue
			}
			q, err := c.compile(cl)
			if err != nil {
				return nil, err
			}
			must = append(must, q)
		}
		if len(mustNot) == 0 {
			return bquery.NewConjunctionQuery(must), nil
		}
		if len(must) == 0 {
			must = []bquery.Query{bquery.NewMatchAllQuery()}
		}
		return bquery.NewBooleanQuery(must, nil, mustNot), nil
	case query.Or:
		qs := make([]bquery.Query, 0, len(n.Clauses))
		for _, cl := range n.Clauses {
			q, err := c.compile(cl)
			if err != nil {
				return nil, err
			}
			qs = append(qs, q)
		}
		return bquery.NewDisjunctionQuery(qs), nil
	case query.Not:
		q, err := c.compile(n.Clause)
		if err != nil {
			return nil, err
		}
		return bquery.NewBooleanQuery([]bquery.Query{bquery.NewMatchAllQuery()}, nil, []bquery.Query{q}), nil
	case query.Term:
		return c.term(n)
	case query.Wildcard:
		return c.wildcard(n.Field, wildcardToRegexp(n.Pattern), n.Pos, n.Pattern, n.Pattern)
	case query.Regexp:
		if _, err := regexp.Compile(n.Pattern); err != nil {
			return nil, errAt(n.Pos, "bad regular expression /%s/: %v", n.Pattern, err)
		}
		return c.wildcard(n.Field, n.Pattern, n.Pos, n.Pattern, "/"+n.Pattern+"/")
	case query.Range:
		return c.rangeQuery(n)
	case query.Exists:
		return c.exists(n.Field, n.Pos)
	}
	return nil, fmt.Errorf("%w: unknown query node %T", ErrInvalid, n)
}

func termOn(field, value string) bquery.Query {
	q := bquery.NewTermQuery(value)
	q.SetField(field)
	return q
}

func (c *compiler) term(n query.Term) (bquery.Query, error) {
	spec := resolveField(n.Field)
	switch spec.kind {
	case kindText:
		toks := analyzeText(n.Value)
		switch {
		case len(toks) == 0:
			return bquery.NewMatchNoneQuery(), nil
		case len(toks) == 1:
			return termOn(fieldText, toks[0]), nil
		case n.Phrase:
			return bquery.NewPhraseQuery(toks, fieldText), nil
		}
		qs := make([]bquery.Query, len(toks))
		for i, t := range toks {
			qs[i] = termOn(fieldText, t)
		}
		return bquery.NewConjunctionQuery(qs), nil
	case kindID:
		return bquery.NewDocIDQuery([]string{n.Value}), nil
	case kindTime:
		lo, hi, err := parseDate(n.Value, c.now)
		if err != nil {
			return nil, errAt(n.Pos, "%s: %v", n.Field, err)
		}
		return dateRange(lo, hi, true, false), nil
	case kindKV:
		return termOn(fieldKV, spec.name+kvSep+n.Value), nil
	}
	v := n.Value
	if spec.name == "readOnly" {
		v = strings.ToLower(v)
	}
	return termOn(spec.name, v), nil
}

// wildcard compiles a regexp (already converted from a wildcard pattern, not
// anchored: Bleve matches whole terms) on a field. shown is the pattern as
// errors quote it, written as the query wrote it (regexps in slashes).
func (c *compiler) wildcard(field, re string, pos int, shown, written string) (bquery.Query, error) {
	spec := resolveField(field)
	var q *bquery.RegexpQuery
	switch spec.kind {
	case kindText:
		lre := lowerRegexp(re)
		if !c.allowLeadingWildcard && !hasLiteralPrefix(lre) {
			return nil, errAt(pos, "%s does not start with text, so it would read every word of every event; "+
				"start it with text or put it on a field (name:%s), or allow leading wildcards on the server", written, written)
		}
		q = bquery.NewRegexpQuery(lre)
		q.SetField(fieldText)
	case kindKV:
		q = bquery.NewRegexpQuery(regexp.QuoteMeta(spec.name+kvSep) + "(?:" + re + ")")
		q.SetField(fieldKV)
	case kindKeyword:
		q = bquery.NewRegexpQuery(re)
		q.SetField(spec.name)
	default:
		return nil, errAt(pos, "%s does not take patterns like %q: give an exact value or a range", field, shown)
	}
	return q, nil
}

// hasLiteralPrefix says whether scorch can narrow its dictionary scan for re
// to the terms with a literal prefix (see literalPrefix). A pattern that
// does not parse counts as having one: the caller reports it.
func hasLiteralPrefix(re string) bool {
	p, err := syntax.Parse(re, syntax.Perl)
	return err != nil || literalPrefix(p) != ""
}

// wildcardToRegexp converts a wildcard pattern (* and ? wild, backslash
// escapes a literal) to an unanchored regexp.
func wildcardToRegexp(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch ch := p[i]; ch {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			} else {
				b.WriteString(`\\`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return b.String()
}

func dateRange(lo, hi time.Time, loIncl, hiIncl bool) bquery.Query {
	q := bquery.NewDateRangeInclusiveQuery(lo, hi, &loIncl, &hiIncl)
	q.SetField(fieldTime)
	return &timeRangeQuery{date: q}
}

func (c *compiler) rangeQuery(n query.Range) (bquery.Query, error) {
	spec := resolveField(n.Field)
	minIncl, maxIncl := n.MinInclusive, n.MaxInclusive
	switch spec.kind {
	case kindTime:
		var lo, hi time.Time
		if n.Min != "" {
			l, h, err := parseDate(n.Min, c.now)
			if err != nil {
				return nil, errAt(n.Pos, "%s: %v", n.Field, err)
			}
			lo = l
			if !minIncl {
				lo = h // after the whole span the bound names
			}
		}
		if n.Max != "" {
			l, h, err := parseDate(n.Max, c.now)
			if err != nil {
				return nil, errAt(n.Pos, "%s: %v", n.Field, err)
			}
			hi = l
			if maxIncl {
				hi = h // through the end of the span the bound names
			}
		}
		if lo.IsZero() && hi.IsZero() {
			return c.exists(n.Field, n.Pos)
		}
		return dateRange(lo, hi, true, false), nil
	case kindKeyword:
		return termRange(spec.name, n.Min, n.Max, minIncl, maxIncl), nil
	case kindKV:
		if nr, ok := numericBounds(n); ok {
			return &kvNumberQuery{path: spec.name, r: nr}, nil
		}
		lo, hi := spec.name+kvSep, spec.name+">" // '>' sorts right after '=': every value of the path
		if n.Min != "" {
			lo += n.Min
		} else {
			minIncl = true
		}
		if n.Max != "" {
			hi = spec.name + kvSep + n.Max
		} else {
			maxIncl = false
		}
		return termRange(fieldKV, lo, hi, minIncl, maxIncl), nil
	}
	return nil, errAt(n.Pos, "a range needs a field such as eventTime or eventName, not %q", n.Field)
}

func (c *compiler) exists(field string, pos int) (bquery.Query, error) {
	spec := resolveField(field)
	switch spec.kind {
	case kindText:
		return nil, errAt(pos, "_exists_ needs a field name")
	}
	return termOn(fieldExists, spec.name), nil
}

func termRange(field, lo, hi string, loIncl, hiIncl bool) bquery.Query {
	q := bquery.NewTermRangeInclusiveQuery(lo, hi, &loIncl, &hiIncl)
	q.SetField(field)
	return q
}

// lowerRegexp adapts a regexp on the analysed text, whose terms are lower
// case: literal letters become lower case and classes also take the lower
// case of the letters they hold. Escapes (\S, \W, \p{Lu}, ...) keep their
// meaning, which lower-casing the pattern's text would change. A pattern
// that does not parse is returned as it is, for the caller to report.
func lowerRegexp(re string) string {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return re
	}
	var walk func(*syntax.Regexp)
	walk = func(n *syntax.Regexp) {
		switch n.Op {
		case syntax.OpLiteral:
			for i, r := range n.Rune {
				n.Rune[i] = unicode.ToLower(r)
			}
		case syntax.OpCharClass:
			if len(n.Rune) > 64 {
				break // a Unicode class (\p{Lu}): left as written
			}
			var extra []rune
			for i := 0; i+1 < len(n.Rune); i += 2 {
				lo, hi := n.Rune[i], n.Rune[i+1]
				if hi-lo > 0x3000 {
					continue // a wide class already holds its lower case
				}
				for r := lo; r <= hi; r++ {
					if l := unicode.ToLower(r); l != r {
						extra = append(extra, l, l)
					}
				}
			}
			n.Rune = append(n.Rune, extra...)
		}
		for _, s := range n.Sub {
			walk(s)
		}
	}
	walk(t)
	return t.String()
}
