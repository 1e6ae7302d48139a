package gen

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// maxDepth bounds the nesting of generated JSON; the deepest record
// (CreatePipeline: requestParameters.pipeline.stages[].actions[].actionTypeId)
// needs 7 levels.
const maxDepth = 16

// jw appends compact JSON to b without reflection or allocation. It tracks
// whether a comma is due at each depth, so callers only say what to write.
type jw struct {
	b     []byte
	comma [maxDepth]bool
	d     int
	key   bool // a key was just written: the next value needs no comma
}

func (w *jw) reset(b []byte) {
	w.b = b
	w.d = 0
	w.comma[0] = false
	w.key = false
}

// pre writes the separator due before an array element.
func (w *jw) pre() {
	if w.key {
		w.key = false
		return
	}
	if w.comma[w.d] {
		w.b = append(w.b, ',')
	}
	w.comma[w.d] = true
}

// k writes an object key; the next call writes its value.
func (w *jw) k(key string) *jw {
	b := w.b
	if w.comma[w.d] {
		b = append(b, ',', '"')
	} else {
		b = append(b, '"')
	}
	b = append(b, key...)
	w.b = append(b, '"', ':')
	w.comma[w.d] = true
	w.key = true
	return w
}

func (w *jw) open(c byte) {
	w.pre()
	w.b = append(w.b, c)
	w.d++
	w.comma[w.d] = false
}

// O opens an object value (after k or as an array element).
func (w *jw) O() { w.open('{') }

// A opens an array value.
func (w *jw) A() { w.open('[') }

// E closes the innermost object.
func (w *jw) E() { w.b = append(w.b, '}'); w.d-- }

// EA closes the innermost array.
func (w *jw) EA() { w.b = append(w.b, ']'); w.d-- }

// S writes a string value.
func (w *jw) S(v string) { w.pre(); w.b = appendStr(w.b, v) }

// I writes an integer value.
func (w *jw) I(v int64) { w.pre(); w.b = strconv.AppendInt(w.b, v, 10) }

// F writes a float value.
func (w *jw) F(v float64) { w.pre(); w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64) }

// B writes a boolean value.
func (w *jw) B(v bool) { w.pre(); w.b = strconv.AppendBool(w.b, v) }

// N writes null.
func (w *jw) N() { w.pre(); w.b = append(w.b, "null"...) }

// T writes a time as CloudTrail does: "2006-01-02T15:04:05Z".
func (w *jw) T(t time.Time) {
	w.pre()
	w.b = append(w.b, '"')
	w.b = appendTime(w.b, t)
	w.b = append(w.b, '"')
}

// Convenience forms that write a key and its value.
func (w *jw) str(k, v string)          { w.k(k).S(v) }
func (w *jw) num(k string, v int64)    { w.k(k).I(v) }
func (w *jw) flag(k string, v bool)    { w.k(k).B(v) }
func (w *jw) null(k string)            { w.k(k).N() }
func (w *jw) tm(k string, t time.Time) { w.k(k).T(t) }
func (w *jw) obj(k string)             { w.k(k).O() }
func (w *jw) arr(k string)             { w.k(k).A() }

// strs writes an array of strings under k.
func (w *jw) strs(k string, vs ...string) {
	w.arr(k)
	for _, v := range vs {
		w.S(v)
	}
	w.EA()
}

// appendTime appends t in UTC as 2006-01-02T15:04:05Z, faster than
// time.AppendFormat because the layout is fixed.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append4(b, y)
	b = append(b, '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, s)
	return append(b, 'Z')
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

const hexDigits = "0123456789abcdef"

// plain marks the bytes a JSON string may hold as they are: printable ASCII
// but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendStr appends s as a JSON string. Most generated strings need no
// escaping, so the common path is a scan and one append.
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
