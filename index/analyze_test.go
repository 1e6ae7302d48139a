package index

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/token/length"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/character"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/document"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/record"
)

// tokenAnalyzer is a tokenizer as a Bleve analyzer, for tests and the
// experiments that build Bleve's own fields; the index itself analyses with
// indexedField.
type tokenAnalyzer tokenizer

func (a tokenAnalyzer) Analyze(input []byte) analysis.TokenStream {
	toks := tokenizer(a).tokens(input, nil)
	out := make(analysis.TokenStream, len(toks))
	for i, t := range toks {
		out[i] = &analysis.Token{Term: t.term, Start: t.start, End: t.end, Position: t.pos, Type: analysis.AlphaNumeric}
	}
	return out
}

var (
	textAnalyzer    analysis.Analyzer = tokenAnalyzer(words)
	keywordAnalyzer analysis.Analyzer = tokenAnalyzer(wholeValue)
	listAnalyzer    analysis.Analyzer = tokenAnalyzer(eachLine)
)

// bleveAnalyzers are the Bleve pipelines the index used before it analysed
// its fields itself (analyze.go); its terms, counts and positions must stay
// what they gave, or a search on older segments would mean something else.
var bleveAnalyzers = map[tokenizer]analysis.Analyzer{
	wholeValue: &analysis.DefaultAnalyzer{Tokenizer: single.NewSingleTokenTokenizer()},
	eachLine:   &analysis.DefaultAnalyzer{Tokenizer: oldLineTokenizer{}},
	words: &analysis.DefaultAnalyzer{
		Tokenizer: character.NewCharacterTokenizer(func(r rune) bool {
			return unicode.IsLetter(r) || unicode.IsDigit(r)
		}),
		TokenFilters: []analysis.TokenFilter{
			lowercase.NewLowerCaseFilter(),
			length.NewLengthFilter(1, maxTokenLen),
			zeroOffsets{},
		},
	},
}

// oldLineTokenizer is the index's line tokenizer as it was.
type oldLineTokenizer struct{}

func (oldLineTokenizer) Tokenize(input []byte) analysis.TokenStream {
	var out analysis.TokenStream
	start, pos := 0, 1
	for i := 0; i <= len(input); i++ {
		if i < len(input) && input[i] != '\n' {
			continue
		}
		if i > start {
			out = append(out, &analysis.Token{Term: input[start:i], Start: start, End: i, Position: pos, Type: analysis.AlphaNumeric})
			pos++
		}
		start = i + 1
	}
	return out
}

type zeroOffsets struct{}

func (zeroOffsets) Filter(in analysis.TokenStream) analysis.TokenStream {
	for _, t := range in {
		t.Start, t.End = 0, 0
	}
	return in
}

// viaBleve analyses a field as Bleve's TextField does with the old pipeline.
func viaBleve(k tokenizer, name string, value []byte, opts bindex.FieldIndexingOptions) (int, bindex.TokenFrequencies) {
	f := document.NewTextFieldCustom(name, nil, bytes.Clone(value), opts, bleveAnalyzers[k])
	f.Analyze()
	return f.AnalyzedLength(), f.AnalyzedTokenFrequencies()
}

// sameAnalysis reports how two analyses of a field differ, or "".
func sameAnalysis(gotLen int, got bindex.TokenFrequencies, wantLen int, want bindex.TokenFrequencies) string {
	if gotLen != wantLen {
		return fmt.Sprintf("length %d, want %d", gotLen, wantLen)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		return fmt.Sprintf("terms %q, want %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for term, w := range want {
		g := got[term]
		if string(g.Term) != term || g.Frequency() != w.Frequency() || len(g.Locations) != len(w.Locations) {
			return fmt.Sprintf("term %q: %q ×%d at %d places, want ×%d at %d", term, g.Term, g.Frequency(), len(g.Locations), w.Frequency(), len(w.Locations))
		}
		for i, l := range w.Locations {
			if gl := g.Locations[i]; gl.Field != l.Field || gl.Start != l.Start || gl.End != l.End || gl.Position != l.Position || !slices.Equal(gl.ArrayPositions, l.ArrayPositions) {
				return fmt.Sprintf("term %q, location %d: %+v, want %+v", term, i, *gl, *l)
			}
		}
	}
	return ""
}

// TestFieldAnalysisAsBleve: every indexed field of generated events, and
// values chosen for the corners of tokenizing and lowercasing, get the
// same terms, counts and positions from indexedField as from Bleve's
// pipeline, whatever the options.
func TestFieldAnalysisAsBleve(t *testing.T) {
	long := strings.Repeat("y", maxTokenLen)
	corners := []string{
		"", "x", "--", "arn:aws:CodeBuild:us-east-1:123456789012:project/Build-App",
		"deploy\nfailed\n\nagain\n", "a a A a b", long + " " + long + "z end",
		"Über-Straße ΣΑΣ ΟΔΟΣ", "Ⱥ Ⱦ aȺb", "İstanbul", "ǅ ǈ", "x²³ ٣ 九", "tab\tand\r\nnewline",
		strings.Repeat("é", maxTokenLen+1) + " " + strings.Repeat("é", maxTokenLen),
	}
	opts := []bindex.FieldIndexingOptions{optKeyword, optFacet, optText, optSortKey, optText | bindex.StoreField}
	check := func(t *testing.T, k tokenizer, name string, value []byte, o bindex.FieldIndexingOptions) {
		t.Helper()
		f := newIndexedField(name, bytes.Clone(value), o, k)
		f.Analyze()
		wantLen, want := viaBleve(k, name, value, o)
		if d := sameAnalysis(f.AnalyzedLength(), f.AnalyzedTokenFrequencies(), wantLen, want); d != "" {
			t.Errorf("%s (tokenizer %d, options %v) of %q: %s", name, k, o, value, d)
		}
		if o.IsStored() && !bytes.Equal(f.Value(), value) {
			t.Errorf("%s: stored value %q changed to %q", name, value, f.Value())
		}
	}
	for _, v := range corners {
		for _, k := range []tokenizer{wholeValue, eachLine, words} {
			for _, o := range opts {
				check(t, k, "f", []byte(v), o)
			}
		}
	}
	events := generated(t, 500)
	fields := 0
	for i := range events {
		events[i].Seq = uint64(i + 1)
		doc := buildDocument(&events[i], false)
		for _, df := range doc.Fields {
			f, ok := df.(*indexedField)
			if !ok {
				continue
			}
			fields++
			check(t, f.tok, f.name, f.value, f.opts)
		}
	}
	if fields < 500*10 {
		t.Fatalf("%d indexed fields in 500 documents", fields)
	}
}

// TestWordsPastBadBytes: Bleve's character tokenizer stopped at the first
// byte that is not UTF-8 (or a U+FFFD, which JSON decoding puts in their
// place), leaving the rest of an event's text unsearchable; here both
// separate words.
func TestWordsPastBadBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"before\xffafter more", []string{"before@1", "after@2", "more@3"}},
		{"bad \uFFFD Value", []string{"bad@1", "value@2"}},
		{"\xc3", nil},
		{"ok\xc3", []string{"ok@1"}},
	} {
		var got []string
		for _, tok := range textAnalyzer.Analyze([]byte(tc.in)) {
			got = append(got, fmt.Sprintf("%s@%d", tok.Term, tok.Position))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzFieldAnalysis: on any value Bleve's pipeline reads to its end (valid
// UTF-8 without U+FFFD), each tokenizer gives what it gave; on any other,
// the words are still lowercased runs of letters and digits in order.
func FuzzFieldAnalysis(f *testing.F) {
	for _, s := range []string{"arn:aws:x", "A\nB\n", "ΣΑΣ Ⱥx", "a\xffB", strings.Repeat("k", 101)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		clean := utf8.Valid(in) && !bytes.ContainsRune(in, utf8.RuneError)
		for _, k := range []tokenizer{wholeValue, eachLine, words} {
			fl := newIndexedField("f", bytes.Clone(in), optText, k)
			fl.Analyze()
			if clean {
				wantLen, want := viaBleve(k, "f", in, optText)
				if d := sameAnalysis(fl.AnalyzedLength(), fl.AnalyzedTokenFrequencies(), wantLen, want); d != "" {
					t.Fatalf("tokenizer %d of %q: %s", k, in, d)
				}
			}
		}
		last := 0
		for _, tok := range wordTokens(bytes.Clone(in), nil) {
			if tok.pos <= last || len(tok.term) == 0 || utf8.RuneCount(tok.term) > maxTokenLen {
				t.Fatalf("%q: token %q at %d after %d", in, tok.term, tok.pos, last)
			}
			last = tok.pos
			for _, r := range string(tok.term) {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) || unicode.IsUpper(r) && unicode.ToLower(r) != r {
					t.Fatalf("%q: token %q holds %q", in, tok.term, r)
				}
			}
		}
	})
}

// TestSearchPastReplacementCharacter: the words after a value holding a
// replacement character (or a byte that is not UTF-8) are found by a
// search, by a phrase at their positions, and by the live matcher.
func TestSearchPastReplacementCharacter(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	var events []record.Event
	for i, note := range []string{"bad \uFFFD here", "bad \xff here"} {
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"r%d","eventTime":"2024-03-01T00:00:0%dZ","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","requestParameters":{"note":"%s","after":"zanzibar quay"}}`, i, i, note)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	if _, err := s.Put(context.Background(), events, nil); err != nil {
		t.Fatal(err)
	}
	terms := allTerms(events)
	for _, q := range []string{"zanzibar", `"here zanzibar quay"`, "here AND bad", "codebuild"} {
		res, err := s.Search(context.Background(), SearchRequest{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 2 {
			t.Errorf("search %q: %d events, want 2", q, res.Total)
		}
		_, m := mustMatcher(t, q)
		if got := matchIDs(m, terms); !slices.Equal(got, []string{"r0", "r1"}) {
			t.Errorf("live match %q: %v, want both", q, got)
		}
	}
}
