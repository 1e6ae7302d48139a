package query

// Node is one node of a parsed query. The concrete types are MatchAll, And,
// Or, Not, Term, Wildcard, Regexp, Range and Exists; the set is closed (the
// interface has an unexported method), so a type switch over them is
// exhaustive. Parse returns these as values, never as pointers.
//
// Nodes are plain data and are never modified after Parse returns; the caller
// owns them.
type Node interface {
	// String returns the canonical query text of the node; see Format.
	String() string
	node()
}

// MatchAll matches every event. It is what an empty or all-blank query and a
// bare "*" parse to.
type MatchAll struct{}

// And matches events that match every clause. Parse never nests an And
// directly inside an And and never returns an And with fewer than two
// clauses. Required clauses ("+x") are ordinary clauses of an And.
type And struct {
	Clauses []Node
}

// Or matches events that match at least one clause. Parse never nests an Or
// directly inside an Or and never returns an Or with fewer than two clauses.
type Or struct {
	Clauses []Node
}

// Not matches events that do not match Clause. "NOT x", "!x" and "-x" all
// parse to Not. Parse never nests a Not directly inside a Not (NOT NOT x is
// x). A Not that is the whole query, or all clauses of an And, has to be
// evaluated against all events (Bleve: a boolean query with a match-all
// must clause).
type Not struct {
	Clause Node
}

// Term matches a single value.
//
// Field is the field path as typed (case kept, e.g. "userIdentity.arn"); ""
// means any text of the event. Value is the literal value with all query
// escapes removed: it contains no escape sequences, and a "*" or "?" in it is
// a literal character, never a wildcard (unquoted values with wildcards parse
// to Wildcard). Value may contain spaces ("a\ b" gives "a b").
//
// Phrase is true when the value was quoted ("Jane Doe"): for analysed text
// it is a phrase search; for keyword fields it is the same as an unquoted
// value. Value is "" only for the quoted empty phrase ("").
type Term struct {
	Field  string
	Value  string
	Phrase bool
	// Pos is the byte offset of the clause in the query: of the field name
	// when there is one, else of the value. Inside a field group
	// (name:(a OR b)) it is the offset of the value.
	Pos int
}

// Wildcard matches values against a pattern with wildcards.
//
// Pattern uses this syntax: "*" matches any sequence of characters (including
// none), "?" matches exactly one character (one UTF-8 encoded rune), "\*",
// "\?" and "\\" match a literal "*", "?" and "\"; every other character,
// including every other byte after a backslash, matches itself. Parse emits
// no other backslash sequences, and every Pattern it returns has at least one
// unescaped wildcard. Use WildcardRegexp and WildcardPrefix to compile it.
//
// Field is as in Term ("" for any text). Pos is as in Term.
type Wildcard struct {
	Field   string
	Pattern string
	Pos     int
}

// Regexp matches values against a regular expression.
//
// Pattern is in Go's RE2 syntax (regexp/syntax with syntax.Perl flags, the
// syntax Bleve uses) and has already been checked to compile. It is
// implicitly anchored: it must match the whole value (Bleve and Lucene
// regexp queries are anchored; an in-memory evaluator must add ^(?: and )$).
// The "\/" of the query text has been replaced by "/"; every other backslash
// sequence is kept as written, since it means something to the regexp.
//
// Field is as in Term ("" for any text). Pos is as in Term.
type Regexp struct {
	Field   string
	Pattern string
	Pos     int
}

// Range matches values between Min and Max. Min and Max are literal (no
// escapes, "*" and "?" have no special meaning) and "" marks an open end;
// the inclusive flag of an open end is always false. Parse never returns a
// Range with both ends open (that is Exists) and does not compare Min with
// Max: whether values are dates ("now-1h" included), numbers or strings is
// for the compiler to decide from the field.
//
// field:>v gives Min v, field:>=v Min v inclusive, field:<v and field:<=v
// likewise for Max. Field is never "". Pos is as in Term.
type Range struct {
	Field        string
	Min, Max     string
	MinInclusive bool
	MaxInclusive bool
	Pos          int
}

// Exists matches events that have Field with any value: field:*,
// _exists_:field and field:[* TO *] parse to it. Pos is as in Term.
type Exists struct {
	Field string
	Pos   int
}

func (MatchAll) node() {}
func (And) node()      {}
func (Or) node()       {}
func (Not) node()      {}
func (Term) node()     {}
func (Wildcard) node() {}
func (Regexp) node()   {}
func (Range) node()    {}
func (Exists) node()   {}

// Walk calls fn for n and then, if fn returned true, for each of n's
// children in order, depth first. A nil n is skipped.
func Walk(n Node, fn func(Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	switch n := n.(type) {
	case And:
		for _, c := range n.Clauses {
			Walk(c, fn)
		}
	case Or:
		for _, c := range n.Clauses {
			Walk(c, fn)
		}
	case Not:
		Walk(n.Clause, fn)
	}
}

// Fields returns the field names n refers to, each once, in order of first
// appearance. Clauses on any text (Field "") add nothing. The result is nil
// when there are none.
func Fields(n Node) []string {
	var out []string
	seen := map[string]bool{}
	Walk(n, func(n Node) bool {
		var f string
		switch n := n.(type) {
		case Term:
			f = n.Field
		case Wildcard:
			f = n.Field
		case Regexp:
			f = n.Field
		case Range:
			f = n.Field
		case Exists:
			f = n.Field
		}
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
		return true
	})
	return out
}

// CountClauses returns the number of leaf clauses in n (MatchAll, Term,
// Wildcard, Regexp, Range, Exists): the number Limits.MaxClauses bounds. A
// field group counts one clause per value: name:(a OR b) is two.
func CountClauses(n Node) int {
	count := 0
	Walk(n, func(n Node) bool {
		switch n.(type) {
		case And, Or, Not:
		default:
			count++
		}
		return true
	})
	return count
}

// Equal reports whether a and b are the same query: the same node types with
// the same fields and clauses in the same order, ignoring Pos. Nil equals
// only nil.
func Equal(a, b Node) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case MatchAll:
		_, ok := b.(MatchAll)
		return ok
	case And:
		b, ok := b.(And)
		return ok && equalClauses(a.Clauses, b.Clauses)
	case Or:
		b, ok := b.(Or)
		return ok && equalClauses(a.Clauses, b.Clauses)
	case Not:
		b, ok := b.(Not)
		return ok && Equal(a.Clause, b.Clause)
	case Term:
		b, ok := b.(Term)
		return ok && a.Field == b.Field && a.Value == b.Value && a.Phrase == b.Phrase
	case Wildcard:
		b, ok := b.(Wildcard)
		return ok && a.Field == b.Field && a.Pattern == b.Pattern
	case Regexp:
		b, ok := b.(Regexp)
		return ok && a.Field == b.Field && a.Pattern == b.Pattern
	case Range:
		b, ok := b.(Range)
		return ok && a.Field == b.Field && a.Min == b.Min && a.Max == b.Max &&
			a.MinInclusive == b.MinInclusive && a.MaxInclusive == b.MaxInclusive
	case Exists:
		b, ok := b.(Exists)
		return ok && a.Field == b.Field
	}
	return false
}

func equalClauses(a, b []Node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
