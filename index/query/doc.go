// Package query parses codetrail's search language, a Kibana/Lucene-style
// query syntax, into a small AST (Node) that other packages compile to Bleve
// queries or evaluate in memory. It imports nothing but the standard
// library; it knows nothing about the index, the mapping or field types.
//
// Parse is the entry point; Format prints a tree back as canonical query
// text; Walk, Fields and CountClauses inspect a tree; WildcardRegexp and
// WildcardPrefix compile Wildcard patterns.
//
// # Query language
//
// A query is a list of clauses combined with boolean operators. The empty
// query, a query of only whitespace, and "*" match every event.
//
// Bare values search all text of an event:
//
//	AccessDenied                  one word
//	AccessDenied pipeline         both words (see "Default operator" below)
//	"MyFirstPipeline"             a quoted phrase
//	Create*                       wildcards: * any run of characters, ? one character
//	/Create(Pipeline|Project)/    a regular expression
//
// A field name and a colon restrict a value to one field:
//
//	eventName:CreatePipeline
//	user:"Jane Doe"                                   phrase in a field
//	userIdentity.arn:*JaneDoe*                        wildcard in a field
//	ip:10.0.0.*
//	userAgent:/aws-cli\/2\..*/                        regexp; write / as \/
//	requestParameters.pipeline.name:MyFirstPipeline   nested fields use dots
//	@timestamp:>2020-01-01
//
// Field names are made of letters, digits, '_', '.', '@' and '-', do not
// start with '-', and keep their case as typed. No whitespace is allowed
// between the field name, the colon and the value: "name: x" is an error.
//
// Once a field is given, colons inside its value are literal, so ARNs and
// times need no escaping: userIdentity.arn:arn:aws:iam::123456789012:user/Jane
// and resource:arn\:aws\:codecommit\:us-east-1\:123456789012\:repo both
// work. A bare value (no field) must escape its colons, or be quoted,
// because "a:b" means field a, value b.
//
// Existence:
//
//	errorCode:*              the event has an errorCode
//	_exists_:errorCode       the same
//	NOT errorCode:*          the event has no errorCode
//
// Ranges (the field is required):
//
//	eventTime:[2024-01-01 TO 2024-02-01]    both ends included
//	eventTime:{2024-01-01 TO 2024-02-01}    both ends excluded
//	eventTime:[2024-01-01 TO 2024-02-01}    mixed: the bracket decides each end
//	eventTime:[2024-01-01 TO *]             * is an open end
//	eventTime:{* TO 2024-01-01}
//	eventTime:>now-1h                       also >=, < and <=
//	eventTime:>=2024-01-01T10:00:00Z
//	requestParameters.durationSeconds:>3600  numbers, on a record path
//
// TO must be uppercase. A bound is an unquoted word or a quoted phrase;
// inside a bound '*' and '?' are not wildcards ("*" alone is the open end),
// and colons are literal. field:[* TO *] is the same as field:*. Whether the
// bounds are dates (including date math such as now-1h), numbers or strings
// depends on the field and is decided when the query is compiled, not here.
//
// A field group applies one field to several values:
//
//	name:(CreatePipeline OR UpdatePipeline)
//	name:(Create* AND NOT CreateTags)
//	eventTime:(>2024-01-01 AND <2024-02-01)
//
// Inside a group, values combine with the operators below; a value cannot
// name another field (in name:(a:b) the value is "a:b").
//
// # Operators
//
//	a AND b,  a && b,  a b     both
//	a OR b,   a || b           either
//	NOT a,    !a,      -a      not
//	+a                         required: the same as a
//	( ... )                    grouping
//
// AND, OR, NOT (and TO) are operators only when written in uppercase and
// as whole words; "and", "or" and "not" are ordinary words. "&&", "||" and
// "!" are operators at the start of a clause ("a&&b" is one word). "-" and
// "+" are operators only at the start of a clause and must touch it ("-a",
// not "- a"); inside a word they are literal ("now-1h"), and so they are
// directly after "field:" (eventName:-x looks for "-x"). NOT NOT a is a.
//
// Precedence, highest first: NOT (and !, -, +), AND (and juxtaposition), OR.
// So "a OR b AND c" is "a OR (b AND c)", "a b OR c" is "(a AND b) OR c" and
// "NOT a AND b" is "(NOT a) AND b".
//
// # Default operator
//
// Clauses written side by side without an operator must all match: "a b" is
// "a AND b". This differs from Lucene's query_string default of OR and
// matches Kibana KQL, because narrowing a search is what people mean when
// they add a word. For the same reason "+a" adds nothing; "-a" and NOT
// exclude.
//
// # Escaping
//
// In an unquoted value, a backslash makes the next character literal: \:
// \* \? \( \) \" \\ and "\ " (an escaped space) and also \- \+ \! at the
// start of a clause, \AND for the word AND, \[ \{ \> \< \/ at the start of a
// value. An escaped * or ? is a literal character, not a wildcard:
// name:a\*b matches the value "a*b" exactly. A double quote may only start a
// phrase; inside a word it must be escaped.
//
// In a quoted phrase, \" is a quote and \\ a backslash (a backslash before
// any other character makes that character literal). Wildcards in phrases
// are literal.
//
// In a regular expression, \/ is a slash; every other backslash sequence is
// passed to the regexp unchanged (\. is a literal dot). The regexp uses Go
// RE2 syntax and must match the whole value, as in Lucene and Kibana.
//
// # Errors and limits
//
// A query that cannot be parsed gives an *Error with the 0-based byte offset
// of the problem and a message saying what was expected, e.g.
//
//	at 23: expected ')' to close '(' at 5, found end of query
//
// ParseWithLimits bounds query length, parenthesis nesting and the number of
// clauses (Limits, DefaultLimits): 4096 bytes, 32 levels and 1024 clauses by
// default, e.g. "query has 2000 clauses; the limit is 1024".
//
// # AST
//
// The tree uses And, Or and Not for the operators and one leaf type per kind
// of match: Term (word or phrase), Wildcard, Regexp, Range, Exists and
// MatchAll. A field group is distributed over its values, so
// name:(a OR b) parses to Or{Term{name, a}, Term{name, b}}. Nested And and
// Or are flattened, and an And or Or of one clause is that clause. See each
// type for the exact meaning of its fields and how escapes are represented.
package query
