package query

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that it returns only *Error
// with a position inside the query, and that Format of an accepted query
// parses back to an equal tree whose canonical text is stable.
func FuzzParse(f *testing.F) {
	for _, q := range exampleQueries {
		f.Add(q)
	}
	for _, q := range []string{
		`a AND`, `OR b`, `name:`, `f:[a TO]`, `f:[a b]`, `"abc`, `/abc`, `:`, `a)`, `(a`, `a\`,
		`f:\-5 a\ b \AND x\*y\? \&&x`, `f:a\*b* "x\"y\\"`, `/a\\\/b/`, `f:(a OR (b -c) NOT d:e)`,
		`f:>\=5`, `f:["a b" TO c\]]`, `NOT NOT a`, `- -a`, "a\u3000b", "\xff:x",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		n, err := Parse(q)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not *Error: %v", q, err, err)
			}
			if pe.Pos < 0 || pe.Pos > len(q) || pe.Msg == "" || !strings.HasPrefix(pe.Msg, "expected") && !strings.HasPrefix(pe.Msg, "query ") {
				t.Fatalf("Parse(%q) bad error %+v", q, pe)
			}
			pe.Column()
			return
		}
		if n == nil {
			t.Fatalf("Parse(%q) returned nil node and nil error", q)
		}
		text := Format(n)
		m, err := ParseWithLimits(text, Limits{MaxLength: -1, MaxClauses: -1})
		if err != nil {
			t.Fatalf("Parse(%q) = %#v\nFormat = %q does not parse: %v", q, n, text, err)
		}
		if !Equal(n, m) {
			t.Fatalf("Parse(%q) = %#v\nFormat = %q\nparses to %#v", q, n, text, m)
		}
		if again := Format(m); again != text {
			t.Fatalf("Format not stable for %q: %q then %q", q, text, again)
		}
		checkShape(t, q, n)
	})
}

// checkShape checks the structural promises of the AST documented on the
// node types.
func checkShape(t *testing.T, q string, n Node) {
	t.Helper()
	Walk(n, func(n Node) bool {
		switch n := n.(type) {
		case And:
			if len(n.Clauses) < 2 {
				t.Fatalf("%q: And with %d clauses", q, len(n.Clauses))
			}
			for _, c := range n.Clauses {
				if _, ok := c.(And); ok {
					t.Fatalf("%q: And inside And", q)
				}
			}
		case Or:
			if len(n.Clauses) < 2 {
				t.Fatalf("%q: Or with %d clauses", q, len(n.Clauses))
			}
			for _, c := range n.Clauses {
				if _, ok := c.(Or); ok {
					t.Fatalf("%q: Or inside Or", q)
				}
			}
		case Not:
			if _, ok := n.Clause.(Not); ok {
				t.Fatalf("%q: Not inside Not", q)
			}
		case Term:
			checkPos(t, q, n.Pos)
			if n.Value == "" && !n.Phrase {
				t.Fatalf("%q: empty unquoted term", q)
			}
		case Wildcard:
			checkPos(t, q, n.Pos)
			if !strings.ContainsAny(n.Pattern, "*?") {
				t.Fatalf("%q: wildcard without wildcard %q", q, n.Pattern)
			}
		case Regexp:
			checkPos(t, q, n.Pos)
		case Range:
			checkPos(t, q, n.Pos)
			if n.Field == "" || n.Min == "" && n.Max == "" ||
				n.Min == "" && n.MinInclusive || n.Max == "" && n.MaxInclusive {
				t.Fatalf("%q: bad range %#v", q, n)
			}
		case Exists:
			checkPos(t, q, n.Pos)
			if n.Field == "" {
				t.Fatalf("%q: exists without field", q)
			}
		}
		return true
	})
}

func checkPos(t *testing.T, q string, pos int) {
	t.Helper()
	if pos < 0 || pos >= len(q) {
		t.Fatalf("%q: Pos %d out of range", q, pos)
	}
}
