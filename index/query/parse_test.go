package query

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func term(field, value string, pos int) Term { return Term{Field: field, Value: value, Pos: pos} }

func TestParseAST(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  Node
	}{
		{"pipeline example",
			`eventSource:codepipeline.amazonaws.com AND (eventName:UpdatePipeline OR eventName:DeletePipeline) AND NOT errorCode:*`,
			And{Clauses: []Node{
				term("eventSource", "codepipeline.amazonaws.com", 0),
				Or{Clauses: []Node{term("eventName", "UpdatePipeline", 44), term("eventName", "DeletePipeline", 72)}},
				Not{Clause: Exists{Field: "errorCode", Pos: 106}},
			}}},
		{"bare phrase", `"MyFirstPipeline"`, Term{Value: "MyFirstPipeline", Phrase: true}},
		{"field wildcard", `userIdentity.arn:*JaneDoe*`, Wildcard{Field: "userIdentity.arn", Pattern: "*JaneDoe*"}},
		{"inclusive range", `eventTime:[2024-01-01 TO 2024-02-01]`,
			Range{Field: "eventTime", Min: "2024-01-01", Max: "2024-02-01", MinInclusive: true, MaxInclusive: true}},
		{"greater than date math", `eventTime:>now-1h`, Range{Field: "eventTime", Min: "now-1h"}},
		{"greater or equal time", `eventTime:>=2024-01-01T10:00:00Z`,
			Range{Field: "eventTime", Min: "2024-01-01T10:00:00Z", MinInclusive: true}},
		{"less than", `n:<5`, Range{Field: "n", Max: "5"}},
		{"less or equal", `n:<=5`, Range{Field: "n", Max: "5", MaxInclusive: true}},
		{"_exists_", `_exists_:errorCode`, Exists{Field: "errorCode"}},
		{"bare words are AND", `AccessDenied pipeline`, And{Clauses: []Node{term("", "AccessDenied", 0), term("", "pipeline", 13)}}},
		{"field group", `name:(CreatePipeline OR UpdatePipeline)`,
			Or{Clauses: []Node{term("name", "CreatePipeline", 6), term("name", "UpdatePipeline", 24)}}},
		{"field group nested", `name:(a (b OR -c))`,
			And{Clauses: []Node{term("name", "a", 6), Or{Clauses: []Node{term("name", "b", 9), Not{Clause: term("name", "c", 15)}}}}}},
		{"field group ranges", `t:(>1 AND <=2)`,
			And{Clauses: []Node{Range{Field: "t", Min: "1", Pos: 3}, Range{Field: "t", Max: "2", MaxInclusive: true, Pos: 10}}}},
		{"field group colon is literal", `f:(a:b)`, Term{Field: "f", Value: "a:b", Pos: 3}},
		{"field phrase", `user:"Jane Doe"`, Term{Field: "user", Value: "Jane Doe", Phrase: true}},
		{"minus", `-errorCode:*`, Not{Clause: Exists{Field: "errorCode", Pos: 1}}},
		{"plus", `+eventName:StartBuild`, term("eventName", "StartBuild", 1)},
		{"plus and minus", `+a -b`, And{Clauses: []Node{term("", "a", 1), Not{Clause: term("", "b", 4)}}}},
		{"bang", `!readOnly:true`, Not{Clause: term("readOnly", "true", 1)}},
		{"bang with space", `! a`, Not{Clause: term("", "a", 2)}},
		{"symbols precedence", `a && b || c`,
			Or{Clauses: []Node{And{Clauses: []Node{term("", "a", 0), term("", "b", 5)}}, term("", "c", 10)}}},
		{"AND binds tighter than OR", `a OR b AND c`,
			Or{Clauses: []Node{term("", "a", 0), And{Clauses: []Node{term("", "b", 5), term("", "c", 11)}}}}},
		{"juxtaposition binds like AND", `a b OR c`,
			Or{Clauses: []Node{And{Clauses: []Node{term("", "a", 0), term("", "b", 2)}}, term("", "c", 7)}}},
		{"NOT binds tightest", `NOT a AND b`, And{Clauses: []Node{Not{Clause: term("", "a", 4)}, term("", "b", 10)}}},
		{"NOT group", `NOT (a OR b)`, Not{Clause: Or{Clauses: []Node{term("", "a", 5), term("", "b", 10)}}}},
		{"NOT NOT collapses", `NOT NOT a`, term("", "a", 8)},
		{"NOT before paren without space", `NOT(a)`, Not{Clause: term("", "a", 4)}},
		{"lowercase operators are words", `a and b or not c`, And{Clauses: []Node{
			term("", "a", 0), term("", "and", 2), term("", "b", 6), term("", "or", 8), term("", "not", 11), term("", "c", 15)}}},
		{"operator glued in word", `a&&b`, term("", "a&&b", 0)},
		{"ANDROID is a word", `ANDROID`, term("", "ANDROID", 0)},
		{"nested field", `requestParameters.pipeline.name:MyFirstPipeline`, term("requestParameters.pipeline.name", "MyFirstPipeline", 0)},
		{"at field", `@timestamp:>2020-01-01`, Range{Field: "@timestamp", Min: "2020-01-01"}},
		{"dash in field", `x-amz-id:1`, term("x-amz-id", "1", 0)},
		{"ip wildcard", `ip:10.0.0.*`, Wildcard{Field: "ip", Pattern: "10.0.0.*"}},
		{"question wildcard", `n:a?c`, Wildcard{Field: "n", Pattern: "a?c"}},
		{"regexp", `userAgent:/aws-cli\/2\..*/`, Regexp{Field: "userAgent", Pattern: `aws-cli/2\..*`}},
		{"bare regexp", `/a\\b/`, Regexp{Pattern: `a\\b`}},
		{"escaped colons", `resource:arn\:aws\:codecommit\:us-east-1\:123456789012\:repo`,
			term("resource", "arn:aws:codecommit:us-east-1:123456789012:repo", 0)},
		{"unescaped colons in value", `arn:arn:aws:iam::1:user/x`, term("arn", "arn:aws:iam::1:user/x", 0)},
		{"open min", `eventTime:{* TO 2024-01-01}`, Range{Field: "eventTime", Max: "2024-01-01"}},
		{"open max", `eventTime:[2024-01-01 TO *]`, Range{Field: "eventTime", Min: "2024-01-01", MinInclusive: true}},
		{"mixed range", `n:[1 TO 5}`, Range{Field: "n", Min: "1", Max: "5", MinInclusive: true}},
		{"quoted bounds", `n:{"a b" TO "c\"d"]`, Range{Field: "n", Min: "a b", Max: `c"d`, MaxInclusive: true}},
		{"literal star bound", `n:[\* TO a*]`, Range{Field: "n", Min: "*", Max: "a*", MinInclusive: true, MaxInclusive: true}},
		{"both open is exists", `n:[* TO *]`, Exists{Field: "n"}},
		{"empty", ``, MatchAll{}},
		{"whitespace", " \t\r\n\u3000", MatchAll{}},
		{"star", `*`, MatchAll{}},
		{"star in parens", `( * )`, MatchAll{}},
		{"field star", `f:*`, Exists{Field: "f"}},
		{"escaped star is literal", `f:a\*b`, term("f", "a*b", 0)},
		{"escaped star beside wildcard", `f:a\*b*`, Wildcard{Field: "f", Pattern: `a\*b*`}},
		{"escaped backslash in wildcard", `f:a\\*`, Wildcard{Field: "f", Pattern: `a\\*`}},
		{"escaped space", `a\ b`, term("", "a b", 0)},
		{"escaped operators", `\-a \AND \&&`, And{Clauses: []Node{term("", "-a", 0), term("", "AND", 4), term("", "&&", 9)}}},
		{"dash inside word", `now-1h`, term("", "now-1h", 0)},
		{"dash right after field", `n:-5`, term("n", "-5", 0)},
		{"keyword right after field", `n:NOT`, term("n", "NOT", 0)},
		{"phrase escapes", `"a \"b\" \\ c"`, Term{Value: `a "b" \ c`, Phrase: true}},
		{"phrase wildcard literal", `"a*"`, Term{Value: "a*", Phrase: true}},
		{"empty phrase", `f:""`, Term{Field: "f", Phrase: true}},
		{"flatten and", `a AND (b AND c) AND d`, And{Clauses: []Node{term("", "a", 0), term("", "b", 7), term("", "c", 13), term("", "d", 20)}}},
		{"flatten or", `(a OR b) OR (c OR d)`, Or{Clauses: []Node{term("", "a", 1), term("", "b", 6), term("", "c", 13), term("", "d", 18)}}},
		{"phrase then word", `"a"b`, And{Clauses: []Node{Term{Value: "a", Phrase: true}, term("", "b", 3)}}},
		{"unicode", `name:Müller`, term("name", "Müller", 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.query, err)
			}
			if !Equal(got, tt.want) || !samePos(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tt.query, got, tt.want)
			}
		})
	}
}

// samePos compares the Pos of the leaves of two Equal trees.
func samePos(a, b Node) bool {
	var pa, pb []int
	collect := func(out *[]int) func(Node) bool {
		return func(n Node) bool {
			switch n := n.(type) {
			case Term:
				*out = append(*out, n.Pos)
			case Wildcard:
				*out = append(*out, n.Pos)
			case Regexp:
				*out = append(*out, n.Pos)
			case Range:
				*out = append(*out, n.Pos)
			case Exists:
				*out = append(*out, n.Pos)
			}
			return true
		}
	}
	Walk(a, collect(&pa))
	Walk(b, collect(&pb))
	return fmt.Sprint(pa) == fmt.Sprint(pb)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		query string
		pos   int
		msg   string // the whole message
	}{
		{"unclosed paren", `a AND (b OR c`, 13, "expected ')' to close '(' at 6, found end of query"},
		{"unclosed paren before word", `(a OR (b) c`, 11, "expected ')' to close '(' at 0, found end of query"},
		{"stray close paren", `a)`, 1, "expected end of query, found ')' with no matching '('"},
		{"leading close paren", `) a`, 0, "expected a clause, found ')' with no matching '('"},
		{"empty parens", `()`, 1, "expected a clause after '(', found ')'"},
		{"dangling AND", `a AND`, 5, "expected a clause after 'AND', found end of query"},
		{"dangling &&", `a &&`, 4, "expected a clause after '&&', found end of query"},
		{"dangling OR", `a OR `, 5, "expected a clause after 'OR', found end of query"},
		{"leading OR", `OR b`, 0, "expected a clause before 'OR'"},
		{"leading ||", `|| b`, 0, "expected a clause before '||'"},
		{"AND OR", `a AND OR b`, 6, "expected a clause after 'AND', found 'OR'"},
		{"dangling NOT", `NOT`, 3, "expected a clause after 'NOT', found end of query"},
		{"dangling bang", `a !`, 3, "expected a clause after '!', found end of query"},
		{"NOT before close", `(NOT)`, 4, "expected a clause after 'NOT', found ')'"},
		{"minus then space", `- a`, 1, "expected a clause right after '-', found whitespace"},
		{"plus at end", `a +`, 3, "expected a clause right after '+', found end of query"},
		{"empty field value", `name:`, 5, "expected a value right after 'name:', found end of query"},
		{"space after colon", `name: x`, 5, "expected a value right after 'name:', found whitespace"},
		{"close paren as value", `(name:)`, 6, "expected a value for field 'name', found ')'"},
		{"double colon", `a::b`, 2, "expected a value for field 'a', found ':'"},
		{"empty field group", `name:()`, 6, "expected a value after '(', found ')'"},
		{"unclosed field group", `name:(a OR b`, 12, "expected ')' to close '(' at 5, found end of query"},
		{"range missing upper", `f:[a TO]`, 7, "expected a range end after 'TO', found ']'"},
		{"range missing TO", `f:[a b]`, 5, "expected 'TO' after the range start, found 'b'"},
		{"range lowercase to", `f:[a to b]`, 5, "expected 'TO' after the range start, found 'to'"},
		{"range missing lower", `f:[ TO b]`, 4, "expected a range start between '[' and 'TO'"},
		{"range empty", `f:[]`, 3, "expected a range start after '[', found ']'"},
		{"range unclosed", `f:[a TO b`, 9, "expected ']' or '}' to close range '[' at 2, found end of query"},
		{"range extra bound", `f:{a TO b c}`, 10, "expected ']' or '}' to close range '{' at 2, found 'c'"},
		{"range empty phrase bound", `f:["" TO b]`, 3, "expected a range start after '[', found an empty phrase"},
		{"range without field", `[a TO b]`, 0, "expected a field name before range '[' (write field:[...)"},
		{"comparison without field", `>5`, 0, "expected a field name before '>' (write field:>...)"},
		{"comparison without value", `f:>=`, 4, "expected a value right after '>=', found end of query"},
		{"comparison with space", `f:< 5`, 3, "expected a value right after '<', found whitespace"},
		{"comparison with star", `f:>*`, 3, "expected a value after '>', found '*' (use f:* to test that the field exists)"},
		{"unterminated phrase", `a "b c`, 6, `expected '"' to close the phrase at 2, found end of query`},
		{"unterminated phrase escape", `"b\"`, 4, `expected '"' to close the phrase at 0, found end of query`},
		{"quote inside word", `ab"c"`, 2, `expected '"' only at the start of a phrase, found it inside 'ab' (escape it as \" or quote the whole value)`},
		{"unterminated regexp", `f:/a\/b`, 7, "expected '/' to close the regular expression at 2, found end of query"},
		{"empty regexp", `//`, 0, "expected a regular expression between '/' and '/', found an empty one"},
		{"bad regexp", `f:/a(b/`, 2, "expected a valid regular expression: missing closing )"},
		{"lone colon", `:`, 0, "expected a field name before ':'"},
		{"colon after space", `a :b`, 2, "expected a field name before ':'"},
		{"bad field name", `a*b:c`, 0, "expected a field name before ':', found 'a*b' (field names use letters, digits and _ . @ -, and do not start with -)"},
		{"escaped field name", `a\.b:c`, 0, "expected a field name before ':', found 'a\\.b'"},
		{"trailing backslash", `a\`, 2, `expected a character after '\' at 1, found end of query`},
		{"exists without field", `_exists_:`, 9, "expected a field name after '_exists_:', found end of query"},
		{"exists with wildcard", `_exists_:a*`, 9, "expected a field name after '_exists_:', found 'a*'"},
		{"NOT as field", `NOT:a`, 3, "expected a field name before ':'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := Parse(tt.query)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.query, n)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error is %T, want *Error", tt.query, err)
			}
			if pe.Pos != tt.pos || !strings.HasPrefix(pe.Msg, tt.msg) {
				t.Fatalf("Parse(%q) error\n got at %d: %s\nwant at %d: %s", tt.query, pe.Pos, pe.Msg, tt.pos, tt.msg)
			}
			if want := fmt.Sprintf("at %d: %s", pe.Pos, pe.Msg); err.Error() != want {
				t.Fatalf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	many := strings.TrimSuffix(strings.Repeat("a OR ", 2000), " OR ")
	deep := strings.Repeat("(", 100000) + "a" + strings.Repeat(")", 100000)
	tests := []struct {
		name  string
		query string
		lim   Limits
		pos   int
		msg   string
	}{
		{"length", strings.Repeat("a", 5000), DefaultLimits(), 4096, "query is 5000 bytes long; the limit is 4096"},
		{"length zero means default", strings.Repeat("a ", 2049), Limits{}, 4096, "query is 4098 bytes long; the limit is 4096"},
		{"clauses", many, Limits{MaxLength: -1}, 1024 * 5, "query has 2000 clauses; the limit is 1024"},
		{"clauses custom", "a b c", Limits{MaxClauses: 2}, 4, "query has 3 clauses; the limit is 2"},
		{"field group clauses", "f:(a b c)", Limits{MaxClauses: 2}, 7, "query has 3 clauses; the limit is 2"},
		{"depth", "((((a))))", Limits{MaxDepth: 3}, 3, "query nests parentheses 4 levels deep; the limit is 3"},
		{"depth counts field groups", "((f:(a)))", Limits{MaxDepth: 2}, 4, "query nests parentheses 3 levels deep; the limit is 2"},
		{"deep nesting", deep, Limits{MaxLength: -1}, 32, "query nests parentheses 100000 levels deep; the limit is 32"},
		{"deep unbalanced", strings.Repeat("(", 100000), Limits{MaxLength: -1}, 32, "query nests parentheses 100000 levels deep; the limit is 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWithLimits(tt.query, tt.lim)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v, want *Error", err)
			}
			if pe.Pos != tt.pos || pe.Msg != tt.msg {
				t.Fatalf("error\n got at %d: %s\nwant at %d: %s", pe.Pos, pe.Msg, tt.pos, tt.msg)
			}
		})
	}

	t.Run("within limits", func(t *testing.T) {
		q := strings.Repeat("(", 32) + "a" + strings.Repeat(")", 32)
		if _, err := Parse(q); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseWithLimits(strings.TrimSuffix(strings.Repeat("a OR ", 1024), " OR "), Limits{MaxLength: -1}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no limits", func(t *testing.T) {
		n, err := ParseWithLimits(many+" OR "+strings.Repeat("(", 100)+"b"+strings.Repeat(")", 100),
			Limits{MaxLength: -1, MaxDepth: -1, MaxClauses: -1})
		if err != nil {
			t.Fatal(err)
		}
		if got := CountClauses(n); got != 2001 {
			t.Fatalf("CountClauses = %d, want 2001", got)
		}
	})
	t.Run("long NOT chain", func(t *testing.T) {
		n, err := ParseWithLimits(strings.Repeat("NOT ", 100001)+"a", Limits{MaxLength: -1})
		if err != nil {
			t.Fatal(err)
		}
		if !Equal(n, Not{Clause: Term{Value: "a"}}) {
			t.Fatalf("got %#v", n)
		}
	})
}

func TestErrorColumn(t *testing.T) {
	_, err := Parse(`name:"Müller`)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatal(err)
	}
	if pe.Pos != 13 || pe.Column() != 13 {
		t.Fatalf("Pos %d Column %d, want 13 and 13", pe.Pos, pe.Column())
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		node Node
		want string
	}{
		{"match all", MatchAll{}, "*"},
		{"nil", nil, ""},
		{"term escapes", Term{Value: `a b(c)"d:e*f?g\`}, `a\ b\(c\)\"d\:e\*f\?g\\`},
		{"field term keeps colons", Term{Field: "f", Value: "a:b"}, `f:a:b`},
		{"field term leading colon", Term{Field: "f", Value: ":b"}, `f:\:b`},
		{"bare leading operators", And{Clauses: []Node{Term{Value: "-a"}, Term{Value: "OR"}, Term{Value: "&&x"}, Term{Value: "/x"}}},
			`\-a AND \OR AND \&&x AND \/x`},
		{"field leading operators", Term{Field: "f", Value: "-a"}, `f:-a`},
		{"phrase", Term{Field: "f", Value: `a "b" \`, Phrase: true}, `f:"a \"b\" \\"`},
		{"wildcard", Wildcard{Field: "f", Pattern: `a\*b c*`}, `f:a\*b\ c*`},
		{"regexp slash", Regexp{Pattern: `a/b\.c`}, `/a\/b\.c/`},
		{"range", Range{Field: "t", Min: "a b", Max: "c]", MinInclusive: true}, `t:["a b" TO "c]"}`},
		{"range gt", Range{Field: "t", Min: "=5"}, `t:>"=5"`},
		{"range le", Range{Field: "t", Max: "5", MaxInclusive: true}, `t:<=5`},
		{"exists", Exists{Field: "f"}, `f:*`},
		{"precedence", Or{Clauses: []Node{And{Clauses: []Node{Term{Value: "a"}, Not{Clause: Or{Clauses: []Node{Term{Value: "b"}, Term{Value: "c"}}}}}}, Term{Value: "d"}}},
			`(a AND NOT (b OR c)) OR d`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.node); got != tt.want {
				t.Fatalf("Format = %q, want %q", got, tt.want)
			}
			if tt.node == nil {
				return
			}
			if got := tt.node.String(); got != tt.want {
				t.Fatalf("String = %q, want %q", got, tt.want)
			}
			back, err := Parse(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(back, tt.node) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tt.want, back, tt.node)
			}
		})
	}
}

func TestWildcardHelpers(t *testing.T) {
	tests := []struct {
		pattern string
		regexp  string
		prefix  string
	}{
		{"Create*", `^Create(?s:.*)$`, "Create"},
		{"*JaneDoe*", `^(?s:.*)JaneDoe(?s:.*)$`, ""},
		{"10.0.0.?", `^10\.0\.0\.(?s:.)$`, "10.0.0."},
		{`a\*b\?c\\d*`, `^a\*b\?c\\d(?s:.*)$`, `a*b?c\d`},
		{`a\`, `^a\\$`, `a\`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			if got := WildcardRegexp(tt.pattern); got != tt.regexp {
				t.Errorf("WildcardRegexp = %q, want %q", got, tt.regexp)
			}
			if got := WildcardPrefix(tt.pattern); got != tt.prefix {
				t.Errorf("WildcardPrefix = %q, want %q", got, tt.prefix)
			}
		})
	}
}

func TestInspect(t *testing.T) {
	n, err := Parse(`a:1 (b:2 OR NOT c:* OR "x") a:[1 TO 2] /r/ d:/r/ e:x*`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(Fields(n)), "[a b c d e]"; got != want {
		t.Errorf("Fields = %s, want %s", got, want)
	}
	if got := CountClauses(n); got != 8 {
		t.Errorf("CountClauses = %d, want 8", got)
	}
	if Fields(MatchAll{}) != nil {
		t.Error("Fields(MatchAll) is not nil")
	}
	// Returning false skips the children.
	visited := 0
	Walk(n, func(n Node) bool {
		visited++
		_, isOr := n.(Or)
		return !isOr
	})
	if visited != 7 {
		t.Errorf("Walk visited %d nodes, want 7 (the And and its 6 clauses)", visited)
	}
}

func BenchmarkParse(b *testing.B) {
	queries := map[string]string{
		"simple":  `eventName:CreatePipeline`,
		"typical": exampleQueries[0],
		"mixed":   `userIdentity.arn:*JaneDoe* eventTime:[now-7d TO now] -errorCode:* name:(Create* OR "Update Pipeline" OR /Delete.*/)`,
		"large":   strings.TrimSuffix(strings.Repeat(`eventName:"x y" OR `, 200), " OR "),
	}
	for name, q := range queries {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(q)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
