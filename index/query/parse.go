package query

import (
	"fmt"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default limits; see DefaultLimits.
const (
	// DefaultMaxLength bounds the query text. 4 KiB holds any query a person
	// types or a saved search stores, and keeps parse and compile cheap.
	DefaultMaxLength = 4096
	// DefaultMaxDepth bounds parenthesis nesting, and with it the depth of
	// the AST and of every recursive walk over it.
	DefaultMaxDepth = 32
	// DefaultMaxClauses matches Bleve's and Lucene's traditional maximum
	// number of clauses in one boolean query.
	DefaultMaxClauses = 1024
)

// Limits bounds the work a query can cause. A zero field means the default
// (DefaultLimits); a negative field means no limit.
type Limits struct {
	// MaxLength is the longest query accepted, in bytes.
	MaxLength int
	// MaxDepth is the deepest parenthesis nesting accepted; a field group
	// name:(...) counts as one level. "a" and "(a)" nest 0 and 1 deep.
	MaxDepth int
	// MaxClauses is the largest number of leaf clauses accepted, as counted
	// by CountClauses.
	MaxClauses int
}

// DefaultLimits returns the limits Parse applies.
func DefaultLimits() Limits {
	return Limits{
		MaxLength:  DefaultMaxLength,
		MaxDepth:   DefaultMaxDepth,
		MaxClauses: DefaultMaxClauses,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLength == 0 {
		l.MaxLength = d.MaxLength
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxClauses == 0 {
		l.MaxClauses = d.MaxClauses
	}
	return l
}

// Error is a query that cannot be parsed. Parse and ParseWithLimits return
// no other error type.
type Error struct {
	// Pos is the 0-based byte offset in the query where the problem was
	// found; len(query) means the end of the query.
	Pos int
	// Msg says what was expected and what was found, e.g.
	// "expected ')' to close '(' at 5, found end of query".
	Msg string

	query string
}

// Error returns "at <Pos>: <Msg>".
func (e *Error) Error() string {
	return fmt.Sprintf("at %d: %s", e.Pos, e.Msg)
}

// Column returns the 1-based column of Pos in the query, counted in
// characters (runes) rather than bytes, for pointing at the problem in a UI.
func (e *Error) Column() int {
	if e.Pos > len(e.query) {
		return e.Pos + 1
	}
	return utf8.RuneCountInString(e.query[:e.Pos]) + 1
}

// Parse parses a query with DefaultLimits. See the package documentation for
// the language. The error, if any, is an *Error.
func Parse(s string) (Node, error) {
	return ParseWithLimits(s, DefaultLimits())
}

// ParseWithLimits parses a query, rejecting it with an *Error when it
// exceeds lim. It runs in time linear in len(s) and recursion bounded by
// lim.MaxDepth.
func ParseWithLimits(s string, lim Limits) (Node, error) {
	lim = lim.withDefaults()
	p := &parser{s: s, lim: lim, overPos: -1}
	if lim.MaxLength >= 0 && len(s) > lim.MaxLength {
		return nil, p.errorf(lim.MaxLength, "query is %d bytes long; the limit is %d", len(s), lim.MaxLength)
	}
	p.skipSpace()
	if p.eof() {
		return MatchAll{}, nil
	}
	n, err := p.parseOr(nil, "")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		// parseAnd stops only at the end, at ')' or at OR, and parseOr
		// consumes every OR, so this is a ')'.
		return nil, p.errorf(p.pos, "expected end of query, found ')' with no matching '('")
	}
	if lim.MaxClauses >= 0 && p.clauses > lim.MaxClauses {
		return nil, p.errorf(p.overPos, "query has %d clauses; the limit is %d", p.clauses, lim.MaxClauses)
	}
	return n, nil
}

type parser struct {
	s       string
	pos     int
	lim     Limits
	depth   int // current parenthesis nesting
	clauses int // leaf clauses so far
	overPos int // Pos of the first leaf beyond lim.MaxClauses, or -1
}

// group is the field group a value belongs to: name:( ... ).
type group struct {
	field string
	open  int // offset of the '(' after "field:"
}

func (p *parser) errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), query: p.s}
}

func (p *parser) eof() bool { return p.pos >= len(p.s) }

// spaceAt returns the width of the whitespace character at i, or 0.
func (p *parser) spaceAt(i int) int {
	if i >= len(p.s) {
		return 0
	}
	c := p.s[i]
	if c < utf8.RuneSelf {
		switch c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			return 1
		}
		return 0
	}
	r, w := utf8.DecodeRuneInString(p.s[i:])
	if unicode.IsSpace(r) {
		return w
	}
	return 0
}

func (p *parser) skipSpace() {
	for {
		w := p.spaceAt(p.pos)
		if w == 0 {
			return
		}
		p.pos += w
	}
}

// keywordAt returns the length of the operator keyword kw at i, or 0. A
// keyword is a whole word: it must be followed by the end, whitespace, a
// parenthesis, a quote or a colon.
func (p *parser) keywordAt(i int, kw string) int {
	if !strings.HasPrefix(p.s[i:], kw) {
		return 0
	}
	j := i + len(kw)
	if j == len(p.s) || p.spaceAt(j) > 0 {
		return len(kw)
	}
	switch p.s[j] {
	case '(', ')', '"', ':':
		return len(kw)
	}
	return 0
}

// andAt and orAt return the length of an AND or OR operator at i, or 0.
func (p *parser) andAt(i int) int {
	if strings.HasPrefix(p.s[i:], "&&") {
		return 2
	}
	return p.keywordAt(i, "AND")
}

func (p *parser) orAt(i int) int {
	if strings.HasPrefix(p.s[i:], "||") {
		return 2
	}
	return p.keywordAt(i, "OR")
}

// describe names what is at i for "found ..." in messages.
func (p *parser) describe(i int) string {
	if i >= len(p.s) {
		return "end of query"
	}
	if p.spaceAt(i) > 0 {
		return "whitespace"
	}
	if n := p.andAt(i); n > 0 {
		return "'" + p.s[i:i+n] + "'"
	}
	if n := p.orAt(i); n > 0 {
		return "'" + p.s[i:i+n] + "'"
	}
	if n := p.keywordAt(i, "NOT"); n > 0 {
		return "'NOT'"
	}
	if strings.IndexByte(`()[]{}:"/<>`, p.s[i]) >= 0 {
		return "'" + p.s[i:i+1] + "'"
	}
	const maxShown = 24
	j := i
	for j < len(p.s) && p.spaceAt(j) == 0 && strings.IndexByte(`()[]{}":`, p.s[j]) < 0 {
		if j-i >= maxShown {
			return "'" + p.s[i:j] + "...'"
		}
		_, w := utf8.DecodeRuneInString(p.s[j:])
		j += w
	}
	return "'" + p.s[i:j] + "'"
}

// noun is what a clause is called in messages inside g.
func noun(g *group) string {
	if g != nil {
		return "a value"
	}
	return "a clause"
}

func afterText(after string) string {
	if after == "" {
		return ""
	}
	return " after '" + after + "'"
}

// parseOr parses clauses joined by OR. after names the token before it, for
// messages.
func (p *parser) parseOr(g *group, after string) (Node, error) {
	first, err := p.parseAnd(g, after)
	if err != nil {
		return nil, err
	}
	var clauses []Node
	for {
		p.skipSpace()
		n := p.orAt(p.pos)
		if n == 0 {
			break
		}
		op := p.s[p.pos : p.pos+n]
		p.pos += n
		c, err := p.parseAnd(g, op)
		if err != nil {
			return nil, err
		}
		if clauses == nil {
			clauses = appendOr(nil, first)
		}
		clauses = appendOr(clauses, c)
	}
	if clauses == nil {
		return first, nil
	}
	return Or{Clauses: clauses}, nil
}

// parseAnd parses clauses joined by AND, && or nothing.
func (p *parser) parseAnd(g *group, after string) (Node, error) {
	first, err := p.parseUnary(g, after)
	if err != nil {
		return nil, err
	}
	var clauses []Node
	for {
		p.skipSpace()
		if p.eof() || p.s[p.pos] == ')' || p.orAt(p.pos) > 0 {
			break
		}
		op := ""
		if n := p.andAt(p.pos); n > 0 {
			op = p.s[p.pos : p.pos+n]
			p.pos += n
		}
		c, err := p.parseUnary(g, op)
		if err != nil {
			return nil, err
		}
		if clauses == nil {
			clauses = appendAnd(nil, first)
		}
		clauses = appendAnd(clauses, c)
	}
	if clauses == nil {
		return first, nil
	}
	return And{Clauses: clauses}, nil
}

// appendAnd appends n to clauses, splicing in n's clauses when n is an And.
func appendAnd(clauses []Node, n Node) []Node {
	if a, ok := n.(And); ok {
		return append(clauses, a.Clauses...)
	}
	return append(clauses, n)
}

// appendOr appends n to clauses, splicing in n's clauses when n is an Or.
func appendOr(clauses []Node, n Node) []Node {
	if o, ok := n.(Or); ok {
		return append(clauses, o.Clauses...)
	}
	return append(clauses, n)
}

// parseUnary parses any number of NOT, !, - and + followed by a primary.
// It loops rather than recursing, so long operator chains cost no stack.
func (p *parser) parseUnary(g *group, after string) (Node, error) {
	negate := false
	p.skipSpace()
	for !p.eof() {
		c := p.s[p.pos]
		if c == '-' || c == '+' {
			if p.pos+1 >= len(p.s) || p.spaceAt(p.pos+1) > 0 {
				return nil, p.errorf(p.pos+1, "expected %s right after '%c', found %s", noun(g), c, p.describe(p.pos+1))
			}
			negate = negate != (c == '-')
			after = string(c)
			p.pos++
			continue
		}
		n := 0
		if c == '!' {
			n = 1
		} else {
			n = p.keywordAt(p.pos, "NOT")
		}
		if n == 0 {
			break
		}
		negate = !negate
		after = p.s[p.pos : p.pos+n]
		p.pos += n
		p.skipSpace()
	}
	if p.eof() {
		return nil, p.errorf(p.pos, "expected %s%s, found end of query", noun(g), afterText(after))
	}
	if n := p.andAt(p.pos) + p.orAt(p.pos); n > 0 {
		if after == "" {
			return nil, p.errorf(p.pos, "expected %s before '%s'", noun(g), p.s[p.pos:p.pos+n])
		}
		return nil, p.errorf(p.pos, "expected %s%s, found '%s'", noun(g), afterText(after), p.s[p.pos:p.pos+n])
	}
	node, err := p.parsePrimary(g, after)
	if err != nil {
		return nil, err
	}
	if negate {
		if n, ok := node.(Not); ok {
			return n.Clause, nil
		}
		return Not{Clause: node}, nil
	}
	return node, nil
}

// parsePrimary parses a parenthesised group or a single clause (a value
// inside a field group g).
func (p *parser) parsePrimary(g *group, after string) (Node, error) {
	start := p.pos
	switch p.s[start] {
	case '(':
		return p.parseParens(g)
	case ')':
		if p.depth == 0 {
			return nil, p.errorf(start, "expected %s%s, found ')' with no matching '('", noun(g), afterText(after))
		}
		return nil, p.errorf(start, "expected %s%s, found ')'", noun(g), afterText(after))
	}
	if g != nil {
		return p.parseValue(g.field, start)
	}
	switch p.s[start] {
	case '"':
		v, err := p.scanPhrase()
		if err != nil {
			return nil, err
		}
		return p.leaf(Term{Value: v, Phrase: true, Pos: start}, start), nil
	case '/':
		re, err := p.scanRegexp()
		if err != nil {
			return nil, err
		}
		return p.leaf(Regexp{Pattern: re, Pos: start}, start), nil
	case ':':
		return nil, p.errorf(start, "expected a field name before ':'")
	case '[', '{':
		return nil, p.errorf(start, "expected a field name before range '%c' (write field:%c...)", p.s[start], p.s[start])
	case '>', '<':
		return nil, p.errorf(start, "expected a field name before '%c' (write field:%c...)", p.s[start], p.s[start])
	}
	w, err := p.scanWord(modeClause)
	if err != nil {
		return nil, err
	}
	if p.eof() || p.s[p.pos] != ':' {
		return p.wordLeaf("", w, start), nil
	}
	// field:value
	field := p.s[start:p.pos]
	if w.escaped || w.wild || !validField(field) {
		return nil, p.errorf(start, "expected a field name before ':', found '%s' (field names use letters, digits and _ . @ -, and do not start with -)", field)
	}
	p.pos++ // ':'
	if field == "_exists_" {
		return p.parseExists(start)
	}
	return p.parseValue(field, start)
}

// parseParens parses "(" or ")" with the nesting limit applied.
func (p *parser) parseParens(g *group) (Node, error) {
	open := p.pos
	if p.lim.MaxDepth >= 0 && p.depth >= p.lim.MaxDepth {
		actual := max(parenDepth(p.s), p.lim.MaxDepth+1)
		return nil, p.errorf(open, "query nests parentheses %d levels deep; the limit is %d", actual, p.lim.MaxDepth)
	}
	p.depth++
	p.pos++
	n, err := p.parseOr(g, "(")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || p.s[p.pos] != ')' {
		return nil, p.errorf(p.pos, "expected ')' to close '(' at %d, found %s", open, p.describe(p.pos))
	}
	p.pos++
	p.depth--
	return n, nil
}

// parseExists parses the field name after "_exists_:".
func (p *parser) parseExists(start int) (Node, error) {
	nameStart := p.pos
	if p.eof() || p.spaceAt(p.pos) > 0 || strings.IndexByte(`()":`, p.s[p.pos]) >= 0 {
		return nil, p.errorf(p.pos, "expected a field name after '_exists_:', found %s", p.describe(p.pos))
	}
	w, err := p.scanWord(modeClause)
	if err != nil {
		return nil, err
	}
	field := p.s[nameStart:p.pos]
	if w.escaped || w.wild || !validField(field) || (!p.eof() && p.s[p.pos] == ':') {
		return nil, p.errorf(nameStart, "expected a field name after '_exists_:', found %s", p.describe(nameStart))
	}
	return p.leaf(Exists{Field: field, Pos: start}, start), nil
}

// parseValue parses the value of field at p.pos: the direct value after
// "field:" (pos is the offset of the field) or a value in a field group (pos
// is the offset of the value).
func (p *parser) parseValue(field string, pos int) (Node, error) {
	if p.eof() || p.spaceAt(p.pos) > 0 {
		return nil, p.errorf(p.pos, "expected a value right after '%s:', found %s", field, p.describe(p.pos))
	}
	switch c := p.s[p.pos]; c {
	case '(':
		return p.parseParens(&group{field: field, open: p.pos})
	case ')', ':':
		return nil, p.errorf(p.pos, "expected a value for field '%s', found '%c'", field, c)
	case '"':
		v, err := p.scanPhrase()
		if err != nil {
			return nil, err
		}
		return p.leaf(Term{Field: field, Value: v, Phrase: true, Pos: pos}, pos), nil
	case '/':
		re, err := p.scanRegexp()
		if err != nil {
			return nil, err
		}
		return p.leaf(Regexp{Field: field, Pattern: re, Pos: pos}, pos), nil
	case '[', '{':
		return p.parseRange(field, pos)
	case '>', '<':
		return p.parseComparison(field, pos)
	}
	w, err := p.scanWord(modeValue)
	if err != nil {
		return nil, err
	}
	return p.wordLeaf(field, w, pos), nil
}

// wordLeaf turns an unquoted word into MatchAll/Exists ("*"), Wildcard or
// Term.
func (p *parser) wordLeaf(field string, w word, pos int) Node {
	switch {
	case w.star:
		if field == "" {
			return p.leaf(MatchAll{}, pos)
		}
		return p.leaf(Exists{Field: field, Pos: pos}, pos)
	case w.wild:
		return p.leaf(Wildcard{Field: field, Pattern: w.pattern, Pos: pos}, pos)
	}
	return p.leaf(Term{Field: field, Value: w.value, Pos: pos}, pos)
}

// leaf counts a leaf clause against the clause limit.
func (p *parser) leaf(n Node, pos int) Node {
	p.clauses++
	if p.overPos < 0 && p.lim.MaxClauses >= 0 && p.clauses > p.lim.MaxClauses {
		p.overPos = pos
	}
	return n
}

// parseRange parses [min TO max], {min TO max} and the mixed forms.
func (p *parser) parseRange(field string, pos int) (Node, error) {
	open := p.pos
	openCh := p.s[open]
	p.pos++
	p.skipSpace()
	minStart := p.pos
	min, err := p.parseBound(modeBound, "a range start after '"+string(openCh)+"'")
	if err != nil {
		return nil, err
	}
	minEnd := p.pos
	p.skipSpace()
	if p.eof() || p.keywordAt(p.pos, "TO") == 0 && !p.toAt(p.pos) {
		if p.s[minStart:minEnd] == "TO" {
			return nil, p.errorf(minStart, "expected a range start between '%c' and 'TO'", openCh)
		}
		return nil, p.errorf(p.pos, "expected 'TO' after the range start, found %s", p.describe(p.pos))
	}
	p.pos += 2
	p.skipSpace()
	max, err := p.parseBound(modeBound, "a range end after 'TO'")
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || (p.s[p.pos] != ']' && p.s[p.pos] != '}') {
		return nil, p.errorf(p.pos, "expected ']' or '}' to close range '%c' at %d, found %s", openCh, open, p.describe(p.pos))
	}
	closeCh := p.s[p.pos]
	p.pos++
	r := Range{Field: field, Pos: pos, Min: min, Max: max}
	r.MinInclusive = min != "" && openCh == '['
	r.MaxInclusive = max != "" && closeCh == ']'
	if min == "" && max == "" {
		return p.leaf(Exists{Field: field, Pos: pos}, pos), nil
	}
	return p.leaf(r, pos), nil
}

// toAt reports whether "TO" at i is followed by the end of a range.
func (p *parser) toAt(i int) bool {
	return strings.HasPrefix(p.s[i:], "TO") && i+2 < len(p.s) && (p.s[i+2] == ']' || p.s[i+2] == '}')
}

// parseComparison parses >v, >=v, <v and <=v.
func (p *parser) parseComparison(field string, pos int) (Node, error) {
	op := p.s[p.pos : p.pos+1]
	if p.pos+1 < len(p.s) && p.s[p.pos+1] == '=' {
		op = p.s[p.pos : p.pos+2]
	}
	p.pos += len(op)
	if p.eof() || p.spaceAt(p.pos) > 0 {
		return nil, p.errorf(p.pos, "expected a value right after '%s', found %s", op, p.describe(p.pos))
	}
	boundPos := p.pos
	v, err := p.parseBound(modeCompare, "a value after '"+op+"'")
	if err != nil {
		return nil, err
	}
	if v == "" {
		return nil, p.errorf(boundPos, "expected a value after '%s', found '*' (use %s:* to test that the field exists)", op, field)
	}
	r := Range{Field: field, Pos: pos}
	switch op {
	case ">":
		r.Min = v
	case ">=":
		r.Min, r.MinInclusive = v, true
	case "<":
		r.Max = v
	case "<=":
		r.Max, r.MaxInclusive = v, true
	}
	return p.leaf(r, pos), nil
}

// parseBound parses one range bound; "" means an open end ("*").
func (p *parser) parseBound(mode wordMode, what string) (string, error) {
	if p.eof() || mode == modeBound && (p.s[p.pos] == ']' || p.s[p.pos] == '}') ||
		mode == modeCompare && (p.s[p.pos] == '(' || p.s[p.pos] == ')') {
		return "", p.errorf(p.pos, "expected %s, found %s", what, p.describe(p.pos))
	}
	start := p.pos
	if p.s[p.pos] == '"' {
		v, err := p.scanPhrase()
		if err != nil {
			return "", err
		}
		if v == "" {
			return "", p.errorf(start, "expected %s, found an empty phrase", what)
		}
		return v, nil
	}
	w, err := p.scanWord(mode)
	if err != nil {
		return "", err
	}
	if w.star {
		return "", nil
	}
	return w.value, nil
}

// wordMode selects where an unquoted word ends and what is special in it.
type wordMode uint8

const (
	modeClause  wordMode = iota // bare word or field name: ends at ':'; wildcards
	modeValue                   // value of a field: ':' is literal; wildcards
	modeBound                   // range bound: ends at ']' or '}'; no wildcards
	modeCompare                 // value after > etc.: ':' literal; no wildcards
)

type word struct {
	value   string // literal text, escapes removed
	pattern string // Wildcard pattern, when wild
	wild    bool   // has an unescaped '*' or '?' (modeClause, modeValue)
	star    bool   // is exactly an unescaped "*"
	escaped bool   // had a backslash escape
}

// scanWord scans an unquoted word at p.pos, which is not at the end, at
// whitespace or at a character that cannot start a word in mode.
func (p *parser) scanWord(mode wordMode) (word, error) {
	start := p.pos
	var w word
	i := start
scan:
	for i < len(p.s) {
		if p.spaceAt(i) > 0 {
			break
		}
		switch c := p.s[i]; c {
		case '\\':
			if i+1 >= len(p.s) {
				return word{}, p.errorf(i+1, "expected a character after '\\' at %d, found end of query", i)
			}
			w.escaped = true
			_, n := utf8.DecodeRuneInString(p.s[i+1:])
			i += 1 + n
			continue
		case '"':
			return word{}, p.errorf(i, "expected '\"' only at the start of a phrase, found it inside '%s' (escape it as \\\" or quote the whole value)", p.s[start:i])
		case '(', ')':
			if mode != modeBound {
				break scan
			}
		case ']', '}':
			if mode == modeBound {
				break scan
			}
		case ':':
			if mode == modeClause {
				break scan
			}
		case '*', '?':
			if mode == modeClause || mode == modeValue {
				w.wild = true
			}
		}
		i++
	}
	p.pos = i
	raw := p.s[start:i]
	if raw == "*" {
		w.star = true
		w.wild = false
		return w, nil
	}
	if !w.escaped {
		w.value = raw
		if w.wild {
			w.pattern = raw
		}
		return w, nil
	}
	// Remove escapes; build the pattern alongside when there are wildcards.
	var v, pat strings.Builder
	v.Grow(len(raw))
	for j := 0; j < len(raw); j++ {
		c := raw[j]
		if c == '\\' {
			_, n := utf8.DecodeRuneInString(raw[j+1:])
			lit := raw[j+1 : j+1+n]
			v.WriteString(lit)
			if w.wild {
				escapeWildcardLiteral(&pat, lit)
			}
			j += n
			continue
		}
		v.WriteByte(c)
		if w.wild {
			if c == '*' || c == '?' {
				pat.WriteByte(c)
			} else {
				escapeWildcardLiteral(&pat, raw[j:j+1])
			}
		}
	}
	w.value = v.String()
	w.pattern = pat.String()
	return w, nil
}

// scanPhrase scans a quoted phrase at p.pos and returns it unescaped: a
// backslash makes the next character literal.
func (p *parser) scanPhrase() (string, error) {
	open := p.pos
	var b strings.Builder
	escaped := false
	lit := open + 1 // start of the text not yet copied to b
	for i := open + 1; i < len(p.s); {
		switch p.s[i] {
		case '"':
			p.pos = i + 1
			if !escaped {
				return p.s[open+1 : i], nil
			}
			b.WriteString(p.s[lit:i])
			return b.String(), nil
		case '\\':
			if i+1 >= len(p.s) {
				return "", p.errorf(i+1, "expected a character after '\\' at %d, found end of query", i)
			}
			escaped = true
			b.WriteString(p.s[lit:i])
			_, n := utf8.DecodeRuneInString(p.s[i+1:])
			b.WriteString(p.s[i+1 : i+1+n])
			i += 1 + n
			lit = i
			continue
		}
		i++
	}
	return "", p.errorf(len(p.s), "expected '\"' to close the phrase at %d, found end of query", open)
}

// scanRegexp scans /pattern/ at p.pos, replacing "\/" by "/", and checks
// that the pattern compiles.
func (p *parser) scanRegexp() (string, error) {
	open := p.pos
	var b strings.Builder
	i := open + 1
	for i < len(p.s) {
		switch c := p.s[i]; c {
		case '/':
			p.pos = i + 1
			re := b.String()
			if re == "" {
				return "", p.errorf(open, "expected a regular expression between '/' and '/', found an empty one")
			}
			if _, err := syntax.Parse(re, syntax.Perl); err != nil {
				return "", p.errorf(open, "expected a valid regular expression: %s", regexpReason(err))
			}
			return re, nil
		case '\\':
			if i+1 >= len(p.s) {
				return "", p.errorf(i+1, "expected a character after '\\' at %d, found end of query", i)
			}
			if p.s[i+1] != '/' {
				b.WriteByte('\\')
			}
			_, n := utf8.DecodeRuneInString(p.s[i+1:])
			b.WriteString(p.s[i+1 : i+1+n])
			i += 1 + n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	return "", p.errorf(len(p.s), "expected '/' to close the regular expression at %d, found end of query", open)
}

func regexpReason(err error) string {
	if se, ok := err.(*syntax.Error); ok {
		return se.Code.String()
	}
	return err.Error()
}

// validField reports whether s is a field name: letters, digits, '_', '.',
// '@' and '-', not starting with '-'.
func validField(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		switch {
		case r == '_' || r == '.' || r == '@' || r == '-':
		case unicode.IsLetter(r) || unicode.IsDigit(r):
		default:
			return false
		}
	}
	return true
}

// parenDepth returns the deepest parenthesis nesting in s, skipping quoted
// phrases, regular expressions and escapes. It only sizes the depth-limit
// message, so it does not have to agree with the parser on odd input.
func parenDepth(s string) int {
	depth, deepest := 0, 0
	tokenStart := true
	skipTo := func(i int, end byte) int {
		for i++; i < len(s); i++ {
			if s[i] == '\\' {
				i++
			} else if s[i] == end {
				return i
			}
		}
		return i
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
			tokenStart = false
		case c == '"':
			i = skipTo(i, '"')
			tokenStart = false
		case c == '/' && tokenStart:
			i = skipTo(i, '/')
			tokenStart = false
		case c == '(':
			depth++
			deepest = max(deepest, depth)
			tokenStart = true
		case c == ')':
			depth = max(depth-1, 0)
			tokenStart = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':':
			tokenStart = true
		case (c == '-' || c == '+' || c == '!') && tokenStart:
		default:
			tokenStart = false
		}
	}
	return deepest
}
