package decode

import (
	"bytes"
	"fmt"
)

// maxDepth bounds nesting. CloudTrail records nest fewer than 20 levels;
// deeper input is reported as a syntax error, which also keeps fastjson's
// recursive validator (run only on well-formed spans) shallow.
const maxDepth = 512

// synErr is a syntax error at a byte offset of the current buffer; msg is
// empty when there is none.
type synErr struct {
	pos int
	msg string
}

func (e synErr) ok() bool { return e.msg == "" }

// scanner states of the innermost open container.
const (
	stValue        = iota // a value (top level, after ':', after ',' in an array)
	stValueOrClose        // just after '[': a value or ']'
	stKeyOrClose          // just after '{': a key or '}'
	stKey                 // after ',' in an object
	stColon               // after a key
	stCommaOrClose        // after a member or element
)

// scanValue finds the end of the JSON value starting at p (a non-space byte
// of d.b). It checks structure only: brackets, strings (which may not hold a
// raw newline, so one bad quote cannot swallow the rest of a pretty-printed
// file), commas, colons and literal spelling; fastjson validates the rest.
//
// On a syntax error it returns the first error and goes on leniently (see
// lenient) to find where the damaged value ends. resync reports that scanning
// stopped at end because b[end] looks like the start of the next value ('{'
// or '[' where an object needs a key, ':' or ','), the usual sign of a
// missing closing brace: the caller starts a new value there. Each byte is
// looked at once, so recovery is linear.
func (d *decoder) scanValue(p int) (end int, e synErr, resync bool) {
	b := d.b
	st := d.stack[:0]
	state := stValue
	for p < len(b) {
		c := b[p]
		switch c {
		case ' ', '\t', '\r', '\n':
			p++
			continue
		case '"':
			q, bad := skipString(b, p)
			if bad >= 0 {
				return d.lenient(q, st, stringErr(b, bad))
			}
			switch state {
			case stKeyOrClose, stKey:
				state = stColon
				p = q
				continue
			case stValue, stValueOrClose:
				p = q
			default:
				return d.lenient(q, st, synErr{p, "unexpected string"})
			}
		case '{', '[':
			switch state {
			case stValue, stValueOrClose:
				if len(st) >= maxDepth {
					return d.lenient(p, st, synErr{p, fmt.Sprintf("nested deeper than %d", maxDepth)})
				}
				st = append(st, c)
				if c == '{' {
					state = stKeyOrClose
				} else {
					state = stValueOrClose
				}
				p++
				continue
			}
			e := synErr{p, fmt.Sprintf("unexpected %q", c)}
			if st[len(st)-1] == '{' {
				d.stack = st
				return p, e, true
			}
			return d.lenient(p, st, e)
		case '}', ']':
			open := byte('{')
			if c == ']' {
				open = '['
			}
			if len(st) == 0 || st[len(st)-1] != open || !(state == stCommaOrClose || (c == '}' && state == stKeyOrClose) || (c == ']' && state == stValueOrClose)) {
				return d.lenient(p, st, synErr{p, fmt.Sprintf("unexpected %q", c)})
			}
			st = st[:len(st)-1]
			p++
		case ',':
			if state != stCommaOrClose {
				return d.lenient(p, st, synErr{p, "unexpected ','"})
			}
			if st[len(st)-1] == '{' {
				state = stKey
			} else {
				state = stValue
			}
			p++
			continue
		case ':':
			if state != stColon {
				return d.lenient(p, st, synErr{p, "unexpected ':'"})
			}
			state = stValue
			p++
			continue
		default:
			q := skipLiteral(b, p)
			if state != stValue && state != stValueOrClose {
				return d.lenient(p, st, synErr{p, fmt.Sprintf("unexpected %q", b[p:min(q, p+20)])})
			}
			if !validLiteral(b[p:q]) {
				return d.lenient(q, st, synErr{p, fmt.Sprintf("invalid literal %q", b[p:min(q, p+20)])})
			}
			p = q
		}
		// A value just ended.
		if len(st) == 0 {
			d.stack = st
			return p, synErr{}, false
		}
		state = stCommaOrClose
	}
	d.stack = st
	return len(b), synErr{len(b), "unexpected end of input"}, false
}

// lenient goes on after a syntax error e found at p, tracking only strings
// and brackets, until the containers open in st are closed. A closing bracket
// that matches no open container ends the value without being consumed (it
// belongs to an enclosing container); '{' or '[' right after ',' inside an
// object resyncs as in scanValue.
func (d *decoder) lenient(p int, st []byte, e synErr) (int, synErr, bool) {
	defer func() { d.stack = st[:0] }()
	if len(st) == 0 {
		return p, e, false // the damaged value was a lone literal or string
	}
	b := d.b
	extra := 0 // containers open beyond maxDepth
	afterComma := false
	for p < len(b) {
		c := b[p]
		switch c {
		case ' ', '\t', '\r', '\n':
			p++
			continue
		case '"':
			p, _ = skipString(b, p)
		case ',':
			afterComma = true
			p++
			continue
		case '{', '[':
			if afterComma && extra == 0 && len(st) > 0 && st[len(st)-1] == '{' {
				return p, e, true
			}
			if len(st) >= maxDepth {
				extra++
			} else {
				st = append(st, c)
			}
			p++
		case '}', ']':
			if extra > 0 {
				extra--
				p++
				break
			}
			open := byte('{')
			if c == ']' {
				open = '['
			}
			i := bytes.LastIndexByte(st, open)
			if i < 0 {
				return p, e, false
			}
			st = st[:i]
			p++
			if len(st) == 0 {
				return p, e, false
			}
		default: // a literal, or ':'
			q := skipLiteral(b, p)
			if q == p {
				q++
			}
			p = q
		}
		afterComma = false
	}
	return len(b), e, false
}

// skipString returns the offset after the string starting at b[p] == '"'.
// A string may not hold a raw newline (JSON forbids control characters in
// strings): if it does, or the input ends first, bad is the offset of the
// newline (or len(b)), and the string is taken to end there.
func skipString(b []byte, p int) (end, bad int) {
	i := p + 1
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			if nl := bytes.IndexByte(b[p+1:], '\n'); nl >= 0 {
				return p + 1 + nl, p + 1 + nl
			}
			return len(b), len(b)
		}
		q := i + j
		k := q - 1
		for k > p && b[k] == '\\' {
			k--
		}
		if (q-1-k)%2 == 1 { // an odd run of backslashes escapes the quote
			i = q + 1
			continue
		}
		if nl := bytes.IndexByte(b[p+1:q], '\n'); nl >= 0 {
			return p + 1 + nl, p + 1 + nl
		}
		return q + 1, -1
	}
}

func stringErr(b []byte, bad int) synErr {
	if bad == len(b) {
		return synErr{bad, "unexpected end of input in a string"}
	}
	return synErr{bad, "unterminated string (raw newline in a string)"}
}

// isDelim reports the bytes that end a literal.
var isDelim = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, ',': true, ':': true,
	'[': true, ']': true, '{': true, '}': true, '"': true}

func skipLiteral(b []byte, p int) int {
	for p < len(b) && !isDelim[b[p]] {
		p++
	}
	return p
}

func validLiteral(s []byte) bool {
	switch string(s) {
	case "true", "false", "null":
		return true
	}
	if len(s) == 0 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return s[0] == '-' || s[0] >= '0' && s[0] <= '9'
}

func skipWS(b []byte, p int) int {
	for p < len(b) {
		switch b[p] {
		case ' ', '\t', '\r', '\n':
			p++
		default:
			return p
		}
	}
	return p
}
