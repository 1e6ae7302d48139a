package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format returns the canonical text of n: a query that Parse turns back into
// a tree Equal to n, for every n that Parse returned. It writes operators as
// AND, OR and NOT, puts parentheses around an Or inside an And or Not and
// around an And inside an Or or Not, writes field groups out per value
// (name:(a OR b) becomes name:a OR name:b), one-sided ranges as field:>v,
// field:>=v, field:<v or field:<=v, Exists as field:*, quotes range bounds
// that would need escaping, and otherwise escapes only what needs escaping.
// Format(nil) is "".
func Format(n Node) string {
	var b strings.Builder
	format(&b, n)
	return b.String()
}

func (n MatchAll) String() string { return Format(n) }
func (n And) String() string      { return Format(n) }
func (n Or) String() string       { return Format(n) }
func (n Not) String() string      { return Format(n) }
func (n Term) String() string     { return Format(n) }
func (n Wildcard) String() string { return Format(n) }
func (n Regexp) String() string   { return Format(n) }
func (n Range) String() string    { return Format(n) }
func (n Exists) String() string   { return Format(n) }

func format(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case MatchAll:
		b.WriteByte('*')
	case And:
		for i, c := range n.Clauses {
			if i > 0 {
				b.WriteString(" AND ")
			}
			formatOperand(b, c)
		}
	case Or:
		for i, c := range n.Clauses {
			if i > 0 {
				b.WriteString(" OR ")
			}
			formatOperand(b, c)
		}
	case Not:
		b.WriteString("NOT ")
		formatOperand(b, n.Clause)
	case Term:
		writeField(b, n.Field)
		if n.Phrase || n.Value == "" {
			writePhrase(b, n.Value)
		} else {
			writeWord(b, n.Value, false, n.Field != "")
		}
	case Wildcard:
		writeField(b, n.Field)
		writeWord(b, n.Pattern, true, n.Field != "")
	case Regexp:
		writeField(b, n.Field)
		writeRegexp(b, n.Pattern)
	case Range:
		writeField(b, n.Field)
		writeRange(b, n)
	case Exists:
		writeField(b, n.Field)
		b.WriteByte('*')
	}
}

// formatOperand writes an operand of And, Or or Not, in parentheses when it
// is itself an And, Or or Not chain that would otherwise read differently.
func formatOperand(b *strings.Builder, n Node) {
	switch n.(type) {
	case And, Or:
		b.WriteByte('(')
		format(b, n)
		b.WriteByte(')')
	default:
		format(b, n)
	}
}

func writeField(b *strings.Builder, field string) {
	if field != "" {
		b.WriteString(field)
		b.WriteByte(':')
	}
}

func writePhrase(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// writeWord writes an unquoted value: a Term value (wild false) or a
// Wildcard pattern (wild true, whose escapes are decoded here). direct is
// true after "field:", where ':' (after the first character), a leading
// '-', '+', '!' and the words AND, OR, NOT are literal.
func writeWord(b *strings.Builder, s string, wild, direct bool) {
	lit := s
	if wild {
		lit = WildcardPrefix(s)
	}
	escapeFirst := !direct && (strings.HasPrefix(lit, "&&") || strings.HasPrefix(lit, "||") ||
		!wild && (s == "AND" || s == "OR" || s == "NOT"))
	first := true
	for i := 0; i < len(s); {
		c := s[i]
		if wild && (c == '*' || c == '?') {
			b.WriteByte(c)
			i++
			first = false
			continue
		}
		if wild && c == '\\' && i+1 < len(s) {
			i++
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		ch := s[i : i+n]
		i += n
		esc := escapeFirst && first
		switch r {
		case '\\', '(', ')', '"', '*', '?':
			esc = true
		case ':':
			esc = esc || !direct || first
		case '[', '{', '>', '<', '/':
			esc = esc || first
		case '-', '+', '!':
			esc = esc || (first && !direct)
		default:
			esc = esc || unicode.IsSpace(r)
		}
		if esc {
			b.WriteByte('\\')
		}
		b.WriteString(ch)
		first = false
	}
}

func writeRegexp(b *strings.Builder, pattern string) {
	b.WriteByte('/')
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '/':
			b.WriteString(`\/`)
		case '\\':
			b.WriteByte(c)
			if i+1 < len(pattern) {
				i++
				b.WriteByte(pattern[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('/')
}

func writeRange(b *strings.Builder, r Range) {
	switch {
	case r.Min != "" && r.Max == "":
		b.WriteByte('>')
		if r.MinInclusive {
			b.WriteByte('=')
		}
		writeBound(b, r.Min, false)
	case r.Min == "" && r.Max != "":
		b.WriteByte('<')
		if r.MaxInclusive {
			b.WriteByte('=')
		}
		writeBound(b, r.Max, false)
	default:
		if r.MinInclusive {
			b.WriteByte('[')
		} else {
			b.WriteByte('{')
		}
		writeBound(b, r.Min, true)
		b.WriteString(" TO ")
		writeBound(b, r.Max, true)
		if r.MaxInclusive {
			b.WriteByte(']')
		} else {
			b.WriteByte('}')
		}
	}
}

// writeBound writes a range bound, "" as the open end "*". bracket selects
// the [a TO b] form; otherwise the bound follows '>' or '<'. A bound with
// any character that would need escaping is quoted instead, which reads
// better and means the same in a bound.
func writeBound(b *strings.Builder, s string, bracket bool) {
	if s == "" {
		b.WriteByte('*')
		return
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		quote := false
		switch r {
		case '\\', '"', '*', '?':
			quote = true
		case ']', '}':
			quote = bracket
		case '(', ')':
			quote = !bracket
		case '=':
			quote = i == 0 && !bracket
		default:
			quote = unicode.IsSpace(r)
		}
		if quote {
			writePhrase(b, s)
			return
		}
		i += n
	}
	b.WriteString(s)
}
