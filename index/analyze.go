package index

import (
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/size"
	bindex "github.com/blevesearch/bleve_index_api"
)

// The index analyses its fields itself instead of through Bleve's analyzer
// pipeline. Bleve's allocates a token for every word, runs each filter over
// the whole stream and then counts the terms in a map: about 700
// allocations and 70 µs of CPU for a generated event, a sixth of the CPU of
// ingest. Here one pass cuts, lowercases and counts, and the terms, their
// counts and positions come from a few slices per field. The in-memory
// matcher of subscriptions and query compilation take their tokens from
// the same functions, so a query means the same on both.

// tokenizer is how a field's value becomes terms.
type tokenizer uint8

const (
	// wholeValue: the value is one term (Bleve's single-token tokenizer).
	wholeValue tokenizer = iota
	// eachLine: each non-empty line is a term. Many terms of one field go
	// into the document as a single field instance this way: Bleve's cost
	// per field instance is far higher than per token. Values holding a
	// newline are not put in such lists.
	eachLine
	// words: lowercased runs of letters and digits of 1 to maxTokenLen
	// characters, so ARNs, paths and hosts break into their parts (the
	// standard Unicode tokenizer keeps "arn:aws:codepipeline" whole). A
	// longer run is left out but keeps its position.
	words
)

// token is a term, its position in the field (from 1) and its byte
// offsets, which words leave zero: the index reads only positions
// (phrases), and zeros take a byte of disk where offsets took up to three.
type token struct {
	term       []byte
	pos        int
	start, end int
}

// tokens appends the tokens of value to out. words lowercases value in
// place, as Bleve's lowercase filter did: callers pass a buffer of their own.
func (k tokenizer) tokens(value []byte, out []token) []token {
	switch k {
	case wholeValue:
		return append(out, token{value, 1, 0, len(value)})
	case eachLine:
		start, pos := 0, 1
		for i := 0; i <= len(value); i++ {
			if i < len(value) && value[i] != '\n' {
				continue
			}
			if i > start {
				out = append(out, token{value[start:i], pos, start, i})
				pos++
			}
			start = i + 1
		}
		return out
	}
	return wordTokens(value, out)
}

// wordTokens splits value into runs of letters and digits. Unlike Bleve's
// character tokenizer, which stops at the first byte that is not UTF-8 (so
// that the rest of the text was never indexed), a bad byte separates words
// like any other character that is not a letter or digit.
func wordTokens(value []byte, out []token) []token {
	pos, start := 0, -1
	ascii := true // the word at start has only ASCII letters and digits so far
	for i := 0; i < len(value); {
		c, size := value[i], 1
		var in bool
		if c < utf8.RuneSelf {
			in = asciiWord[c]
		} else {
			var r rune
			r, size = utf8.DecodeRune(value[i:])
			in = r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
		}
		switch {
		case in:
			if start < 0 {
				start, ascii = i, true
			}
			ascii = ascii && c < utf8.RuneSelf
		case start >= 0:
			pos++
			out = appendWord(out, value[start:i], pos, ascii)
			start = -1
		}
		i += size
	}
	if start >= 0 {
		out = appendWord(out, value[start:], pos+1, ascii)
	}
	return out
}

// asciiWord says which ASCII bytes are letters or digits, asciiLower is
// each byte lowercased (ASCII letters only): tables, the tests they stand
// for being most of wordTokens' time.
var asciiWord, asciiLower = func() (word [utf8.RuneSelf]bool, lower [256]byte) {
	for c := range utf8.RuneSelf {
		word[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	for c := range 256 {
		lower[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			lower[c] = byte(c + 'a' - 'A')
		}
	}
	return word, lower
}()

// appendWord lowercases term and appends it unless it is over maxTokenLen
// characters long.
func appendWord(out []token, term []byte, pos int, ascii bool) []token {
	n := len(term)
	if ascii {
		for i, c := range term {
			term[i] = asciiLower[c]
		}
	} else {
		term = lowerWord(term)
		n = utf8.RuneCount(term)
	}
	if n > maxTokenLen {
		return out
	}
	return append(out, token{term: term, pos: pos})
}

// lowerCase is Bleve's lowercase filter, for words with letters outside
// ASCII, whose rules (final sigma, wider lowercase forms) it keeps.
var lowerCase = lowercase.NewLowerCaseFilter()

func lowerWord(term []byte) []byte {
	return lowerCase.Filter(analysis.TokenStream{{Term: term}})[0].Term
}

// frequencies counts toks as Bleve's analysis.TokenFrequency does, with
// their positions and offsets when opts keeps term vectors, from one slice
// of counts and one of locations instead of an allocation each.
func frequencies(toks []token, opts bindex.FieldIndexingOptions) bindex.TokenFrequencies {
	freqs := make(bindex.TokenFrequencies, len(toks))
	tfs := make([]bindex.TokenFreq, 0, len(toks)) // never grows: freqs points into it
	var locs []bindex.TokenLocation
	var ptrs []*bindex.TokenLocation
	vectors := opts.IncludeTermVectors()
	if vectors {
		locs = make([]bindex.TokenLocation, len(toks))
		ptrs = make([]*bindex.TokenLocation, len(toks))
	}
	count := !opts.SkipFreqNorm()
	for i, t := range toks {
		tf := freqs[string(t.term)]
		if tf == nil {
			tfs = append(tfs, bindex.TokenFreq{Term: t.term})
			tf = &tfs[len(tfs)-1]
			// The key shares the term's bytes, as Term does: nothing
			// writes to a field's value once it is analysed, and a copy
			// was half of the allocations of a document's analysis.
			freqs[unsafe.String(unsafe.SliceData(t.term), len(t.term))] = tf
			if vectors {
				// A capacity of one: a term's second position moves its
				// list out instead of overwriting the next term's.
				tf.Locations = ptrs[i : i : i+1]
			}
		}
		if vectors {
			locs[i] = bindex.TokenLocation{Start: t.start, End: t.end, Position: t.pos}
			tf.Locations = append(tf.Locations, &locs[i])
		}
		if count {
			tf.SetFrequency(tf.Frequency() + 1)
		}
	}
	return freqs
}

// indexedField is a document field analysed by frequencies. Store-only
// fields stay Bleve's TextField, which never analyses them.
type indexedField struct {
	name   string
	value  []byte
	opts   bindex.FieldIndexingOptions
	tok    tokenizer
	length int
	freqs  bindex.TokenFrequencies
}

func newIndexedField(name string, value []byte, opts bindex.FieldIndexingOptions, tok tokenizer) *indexedField {
	return &indexedField{name: name, value: value, opts: opts, tok: tok}
}

func (f *indexedField) Name() string                                      { return f.name }
func (f *indexedField) Value() []byte                                     { return f.value }
func (f *indexedField) ArrayPositions() []uint64                          { return nil }
func (f *indexedField) Options() bindex.FieldIndexingOptions              { return f.opts }
func (f *indexedField) EncodedFieldType() byte                            { return 't' } // as TextField
func (f *indexedField) NumPlainTextBytes() uint64                         { return uint64(len(f.value)) }
func (f *indexedField) AnalyzedLength() int                               { return f.length }
func (f *indexedField) AnalyzedTokenFrequencies() bindex.TokenFrequencies { return f.freqs }

func (f *indexedField) Analyze() {
	value := f.value
	if f.tok == words && f.opts.IsStored() {
		// words lowercases in place; a stored value must stay as given.
		value = append([]byte(nil), value...)
	}
	toks := f.tok.tokens(value, make([]token, 0, tokenGuess(f.tok, len(value))))
	f.length = len(toks)
	f.freqs = frequencies(toks, f.opts)
}

// tokenGuess sizes the token slice: on generated events a word takes 6.7
// bytes of the text with its separator, a line of a list 32.
func tokenGuess(k tokenizer, n int) int {
	switch k {
	case wholeValue:
		return 1
	case words:
		return n/7 + 1
	}
	return n/32 + 1
}

// Size is what Bleve counts for the field in a batch's memory estimate.
func (f *indexedField) Size() int {
	n := 64 + len(f.name) + len(f.value)
	if f.freqs != nil {
		n += f.freqs.Size()
	}
	return n + size.SizeOfPtr
}
