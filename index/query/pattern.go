package query

import (
	"regexp"
	"strings"
)

// WildcardRegexp converts a Wildcard pattern into a Go regular expression
// that matches the same strings. The result always starts with "^" and ends
// with "$"; the text between them is the same expression unanchored, for
// engines that anchor implicitly (Bleve's RegexpQuery). "*" becomes
// "(?s:.*)" and "?" becomes "(?s:.)" so both also match newlines; literal
// characters are quoted with regexp.QuoteMeta. A trailing lone backslash is
// taken as a literal backslash.
func WildcardRegexp(pattern string) string {
	var b, run strings.Builder
	b.Grow(len(pattern) + 8)
	b.WriteByte('^')
	flush := func() {
		if run.Len() > 0 {
			b.WriteString(regexp.QuoteMeta(run.String()))
			run.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			flush()
			b.WriteString("(?s:.*)")
		case '?':
			flush()
			b.WriteString("(?s:.)")
		case '\\':
			if i+1 < len(pattern) {
				i++
			}
			run.WriteByte(pattern[i])
		default:
			run.WriteByte(c)
		}
	}
	flush()
	b.WriteByte('$')
	return b.String()
}

// WildcardPrefix returns the literal text of a Wildcard pattern before its
// first wildcard, with escapes removed: "Create*" gives "Create", "a\*b?"
// gives "a*b", "*x" gives "". Every value the pattern matches starts with it,
// so it can narrow a term-dictionary scan.
func WildcardPrefix(pattern string) string {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*', '?':
			return b.String()
		case '\\':
			if i+1 < len(pattern) {
				i++
			}
			b.WriteByte(pattern[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeWildcardLiteral appends s to b as literal text of a Wildcard pattern.
func escapeWildcardLiteral(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
}
