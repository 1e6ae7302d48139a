package index

import (
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2/numeric"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	vregexp "github.com/blevesearch/vellum/regexp"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// The in-memory matcher decides whether one event matches a query exactly as
// a search of the index would, so live subscriptions can test each new event
// without a Bleve search. It mirrors compile.go case by case and takes its
// terms from documentFields through each field's own analyzer, so both sides
// see byte-identical terms.
//
// Where Bleve's behaviour is not what compile.go intends, the matcher follows
// Bleve (what a search returns), not the intent:
//
//   - Patterns (wildcards and regexps) run on vellum's automaton, the one the
//     index uses: '.' does not match '\n', a leading '^' is dropped, and
//     patterns vellum rejects (other anchors, \b, lazy quantifiers, more
//     than 10000 DFA states) fail. compile accepts those and the search
//     fails; the matcher fails when it is built.
//   - A date bound outside 1677-12-01..2262-04-11 fails the search; the
//     matcher fails when it is built.
//   - An open date bound is ±Inf as a float64, whose bits as an int64 stop
//     about 52 days short of the int64 nanosecond range: events in the first
//     or last 52 days Bleve can index (Sep-Nov 1677, Feb-Apr 2262) are outside
//     every range open at that end, though _exists_:eventTime matches them.
//   - A term range with an upper bound hi reads the dictionary up to
//     hi+"\x00" inclusive, so terms starting with hi+"\x00" are in range.
//
// One case cannot be mirrored, as it depends on other documents: an exclusive
// upper bound hi of a term range (keyword or kv) drops the term hi only when
// it is the last term in range in the whole index. When another document has
// a term starting with hi+"\x00" (values holding a NUL character), the index
// returns events whose term is exactly hi; the matcher does not.

// termSlots numbers the fields documentFields can emit, so that a matcher
// finds an event's terms by index rather than by name.
var termSlots = func() map[string]int {
	m := map[string]int{fieldText: 0, fieldKV: 1, fieldExists: 2, multiResource: 3}
	for _, f := range keywordFields {
		m[f.name] = len(m)
	}
	return m
}()

// smallTermSet is the size up to which a termSet is searched linearly.
// Typed keyword fields have one term; a map costs more than a few compares.
const smallTermSet = 8

// termSet is the terms of one field of one event. It holds no map: the
// hub keeps one per field of every recent event, and a binary search costs
// little next to a map's memory.
type termSet struct {
	sorted []string  // distinct terms in byte order, as Bleve's dictionary
	pos    [][]int32 // positions of sorted[i], ascending; fields with term vectors only
}

// find returns the position of t in s.sorted or -1.
func (s *termSet) find(t string) int {
	if len(s.sorted) > smallTermSet {
		if i, ok := slices.BinarySearch(s.sorted, t); ok {
			return i
		}
		return -1
	}
	for i, x := range s.sorted {
		if x == t {
			return i
		}
	}
	return -1
}

func (s *termSet) has(t string) bool { return s.find(t) >= 0 }

// eventTerms is what the index holds of one event, shared by all matchers
// and safe for concurrent use. The terms of a field are analysed the first
// time a matcher asks for them: most live queries test a few keyword
// fields, and analysing the whole record's text and paths for every new
// event would cost more than all their matching.
type eventTerms struct {
	id      string // document id
	nanos   int64  // indexed eventTime, as Bleve's numeric field holds it
	hasTime bool
	slots   []lazyTerms         // by termSlots
	other   map[string]*termSet // fields not in termSlots (none today)
}

// lazyTerms is the terms of one field, analysed once on first use.
type lazyTerms struct {
	once  sync.Once
	src   []docField     // the field's instances, until analysed
	build func() termSet // or this, for fields made only when asked for
	set   termSet
}

var emptyTerms termSet

// field returns the terms of a field; never nil.
func (e *eventTerms) field(slot int, name string) *termSet {
	if slot >= 0 {
		l := &e.slots[slot]
		l.once.Do(func() {
			if l.build != nil {
				l.set = l.build()
			} else {
				l.set = analyzeFields(l.src)
			}
			l.src, l.build = nil, nil
		})
		return &l.set
	}
	if s := e.other[name]; s != nil {
		return s
	}
	return &emptyTerms
}

// newEventTerms takes the document of ev as Bleve indexes it; each field is
// analysed when first asked for, and the costly ones (text, path=value,
// _exists) are only built then. ev must not change afterwards.
func newEventTerms(ev *record.Event) *eventTerms {
	e := &eventTerms{id: ev.ID, slots: make([]lazyTerms, len(termSlots))}
	if t, ok := indexedTime(ev); ok {
		e.nanos, e.hasTime = t.UnixNano(), true
	}
	leaves := sync.OnceValue(func() []docField { return leafDocFields(ev, nil) })
	for _, name := range []string{fieldText, fieldKV} {
		e.slots[termSlots[name]].build = func() termSet {
			var fs []docField
			for _, f := range leaves() {
				if f.name == name {
					fs = append(fs, f)
				}
			}
			return analyzeFields(fs)
		}
	}
	e.slots[termSlots[fieldExists]].build = func() termSet { return existsTerms(ev) }
	var others map[string][]docField
	for _, f := range keywordDocFields(ev, nil) {
		if slot, ok := termSlots[f.name]; ok {
			e.slots[slot].src = append(e.slots[slot].src, f)
			continue
		}
		if others == nil {
			others = map[string][]docField{}
		}
		others[f.name] = append(others[f.name], f)
	}
	for name, fs := range others {
		if e.other == nil {
			e.other = map[string]*termSet{}
		}
		s := analyzeFields(fs)
		e.other[name] = &s
	}
	return e
}

// existsTerms returns the terms of the _exists field of ev as the list
// analyzer makes them from the lines documentFields joins: a path holding a
// newline becomes the lines in it.
func existsTerms(ev *record.Event) termSet {
	paths := existsPaths(ev)
	s := termSet{sorted: make([]string, 0, len(paths))}
	for p := range paths {
		if !strings.Contains(p, "\n") {
			s.sorted = append(s.sorted, p)
			continue
		}
		for _, line := range strings.Split(p, "\n") {
			if line != "" {
				s.sorted = append(s.sorted, line)
			}
		}
	}
	sort.Strings(s.sorted)
	s.sorted = slices.Compact(s.sorted) // lines of different paths may repeat
	return s
}

// analyzeFields returns the terms of the instances of one field, with
// positions when the field keeps term vectors.
func analyzeFields(fs []docField) termSet {
	if len(fs) == 0 {
		return termSet{}
	}
	pos := map[string][]int32{}
	vectors := false
	for _, f := range fs {
		vectors = vectors || f.opts.IncludeTermVectors()
		for _, tok := range f.tok.tokens(f.value, nil) {
			t := string(tok.term)
			pos[t] = append(pos[t], int32(tok.pos))
		}
	}
	s := termSet{sorted: make([]string, 0, len(pos))}
	for t := range pos {
		s.sorted = append(s.sorted, t)
	}
	sort.Strings(s.sorted)
	if vectors {
		s.pos = make([][]int32, len(s.sorted))
		for i, t := range s.sorted {
			p := pos[t]
			if !slices.IsSorted(p) { // several instances of the field
				slices.Sort(p)
			}
			s.pos[i] = p
		}
	}
	return s
}

// matcher reports whether an event matches; safe for concurrent use.
type matcher func(*eventTerms) bool

func matchAll(*eventTerms) bool  { return true }
func matchNone(*eventTerms) bool { return false }

// slotOf returns the slot of a Bleve field name, or -1.
func slotOf(name string) int {
	if s, ok := termSlots[name]; ok {
		return s
	}
	return -1
}

// matcher compiles the AST like compile does: same field resolution, same
// date math with c.now, same value handling, same errors for the same bad
// input. It also fails, with a *query.Error, where compile succeeds but the
// search would fail (see the top of this file).
func (c *compiler) matcher(n query.Node) (matcher, error) {
	b := matchBuilder{c: c}
	m, err := b.build(n)
	if err != nil {
		return nil, err
	}
	if b.searchErr != nil {
		return nil, b.searchErr
	}
	return m, nil
}

// matchBuilder builds a matcher. Errors compile reports are returned at
// once, so the first one is the one compile returns; errors only the search
// would report (searchErr) are kept until the whole tree compiled.
type matchBuilder struct {
	c         *compiler
	searchErr error
}

func (b *matchBuilder) searchFails(err error) {
	if b.searchErr == nil {
		b.searchErr = err
	}
}

func (b *matchBuilder) build(n query.Node) (matcher, error) {
	switch n := n.(type) {
	case nil, query.MatchAll:
		return matchAll, nil
	case query.And:
		var must, mustNot []matcher
		for _, cl := range n.Clauses {
			if not, ok := cl.(query.Not); ok {
				m, err := b.build(not.Clause)
				if err != nil {
					return nil, err
				}
				mustNot = append(mustNot, m)
				continue
			}
			m, err := b.build(cl)
			if err != nil {
				return nil, err
			}
			must = append(must, m)
		}
		// With only Not clauses, must stays empty: Bleve starts from all
		// documents, and so does the loop below.
		return func(e *eventTerms) bool {
			for _, m := range must {
				if !m(e) {
					return false
				}
			}
			for _, m := range mustNot {
				if m(e) {
					return false
				}
			}
			return true
		}, nil
	case query.Or:
		ms := make([]matcher, 0, len(n.Clauses))
		for _, cl := range n.Clauses {
			m, err := b.build(cl)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
		return func(e *eventTerms) bool {
			for _, m := range ms {
				if m(e) {
					return true
				}
			}
			return false
		}, nil
	case query.Not:
		m, err := b.build(n.Clause)
		if err != nil {
			return nil, err
		}
		return func(e *eventTerms) bool { return !m(e) }, nil
	case query.Term:
		return b.termMatcher(n)
	case query.Wildcard:
		return b.patternMatcher(n.Field, wildcardToRegexp(n.Pattern), n.Pos, n.Pattern)
	case query.Regexp:
		if _, err := regexp.Compile(n.Pattern); err != nil {
			return nil, errAt(n.Pos, "bad regular expression /%s/: %v", n.Pattern, err)
		}
		return b.patternMatcher(n.Field, n.Pattern, n.Pos, n.Pattern)
	case query.Range:
		return b.rangeMatcher(n)
	case query.Exists:
		return b.existsMatcher(n.Field, n.Pos)
	}
	return nil, fmt.Errorf("%w: unknown query node %T", ErrInvalid, n)
}

// hasTerm mirrors termOn.
func hasTerm(field, value string) matcher {
	slot := slotOf(field)
	return func(e *eventTerms) bool { return e.field(slot, field).has(value) }
}

func (b *matchBuilder) termMatcher(n query.Term) (matcher, error) {
	spec := resolveField(n.Field)
	switch spec.kind {
	case kindText:
		toks := analyzeText(n.Value)
		switch {
		case len(toks) == 0:
			return matchNone, nil
		case len(toks) == 1:
			return hasTerm(fieldText, toks[0]), nil
		case n.Phrase:
			return phraseMatcher(fieldText, toks), nil
		}
		return func(e *eventTerms) bool {
			s := e.field(slotOf(fieldText), fieldText)
			for _, t := range toks {
				if !s.has(t) {
					return false
				}
			}
			return true
		}, nil
	case kindID:
		id := n.Value
		return func(e *eventTerms) bool { return e.id == id }, nil
	case kindTime:
		lo, hi, err := parseDate(n.Value, b.c.now)
		if err != nil {
			return nil, errAt(n.Pos, "%s: %v", n.Field, err)
		}
		return b.timeMatcher(lo, hi, n.Pos), nil
	case kindKV:
		return hasTerm(fieldKV, spec.name+kvSep+n.Value), nil
	}
	v := n.Value
	if spec.name == "readOnly" {
		v = strings.ToLower(v)
	}
	return hasTerm(spec.name, v), nil
}

// phraseMatcher mirrors Bleve's phrase search: the terms at consecutive
// positions of one field.
func phraseMatcher(field string, toks []string) matcher {
	slot := slotOf(field)
	return func(e *eventTerms) bool {
		s := e.field(slot, field)
		if s.pos == nil {
			return false
		}
		first := s.find(toks[0])
		if first < 0 {
			return false
		}
		rest := make([][]int32, 0, 8)
		for _, t := range toks[1:] {
			i := s.find(t)
			if i < 0 {
				return false
			}
			rest = append(rest, s.pos[i])
		}
	next:
		for _, p := range s.pos[first] {
			for k, ps := range rest {
				want := p + int32(k) + 1
				j := sort.Search(len(ps), func(j int) bool { return ps[j] >= want })
				if j == len(ps) || ps[j] != want {
					continue next
				}
			}
			return true
		}
		return false
	}
}

// patternMatcher mirrors compiler.wildcard and Bleve's regexp search.
func (b *matchBuilder) patternMatcher(field, re string, pos int, shown string) (matcher, error) {
	spec := resolveField(field)
	var name, pattern string
	switch spec.kind {
	case kindText:
		name, pattern = fieldText, lowerRegexp(re)
	case kindKV:
		name, pattern = fieldKV, regexp.QuoteMeta(spec.name+kvSep)+"(?:"+re+")"
	case kindKeyword:
		name, pattern = spec.name, re
	default:
		return nil, errAt(pos, "%s does not take patterns like %q: give an exact value or a range", field, shown)
	}
	return b.regexpMatcher(name, pattern, pos, shown), nil
}

// regexpMatcher matches the terms of a field against a pattern as Bleve's
// RegexpQuery does: a leading '^' is dropped and the rest is compiled by
// vellum (the automaton scorch runs over its term dictionary), which
// matches whole terms.
func (b *matchBuilder) regexpMatcher(field, pattern string, pos int, shown string) matcher {
	pattern = strings.TrimPrefix(pattern, "^")
	a, prefix, err := compiledRegexp(pattern)
	if err != nil {
		b.searchFails(errAt(pos, "the index cannot search /%s/: %v", shown, err))
		return matchNone
	}
	slot := slotOf(field)
	return func(e *eventTerms) bool {
		s := e.field(slot, field)
		i := 0
		if prefix != "" {
			i = sort.SearchStrings(s.sorted, prefix)
		}
		for ; i < len(s.sorted); i++ {
			t := s.sorted[i]
			if !strings.HasPrefix(t, prefix) {
				return false
			}
			if a.MatchesRegex(t) {
				return true
			}
		}
		return false
	}
}

// automata keeps the automata of recent patterns: building one took a
// wildcard query 1.7 ms, and a query on blocks builds its matcher twice
// (the query's and, to expand it, the pattern's alone). An automaton is
// read-only once built, so searches share it.
var automata = struct {
	sync.Mutex
	m map[string]automaton
}{m: map[string]automaton{}}

// maxAutomata bounds automata; past it, it starts again empty.
const maxAutomata = 256

type automaton struct {
	a      *vregexp.Regexp
	prefix string // literalPrefix
}

// compiledRegexp returns the automaton of pattern (a regular expression,
// Perl syntax) and the literal text every match starts with.
func compiledRegexp(pattern string) (*vregexp.Regexp, string, error) {
	automata.Lock()
	c, ok := automata.m[pattern]
	automata.Unlock()
	if ok {
		return c.a, c.prefix, nil
	}
	parsed, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, "", err
	}
	a, err := vregexp.NewParsedWithLimit(pattern, parsed, vregexp.DefaultLimit)
	if err != nil {
		return nil, "", err
	}
	c = automaton{a: a, prefix: literalPrefix(parsed)}
	automata.Lock()
	if len(automata.m) >= maxAutomata {
		clear(automata.m)
	}
	automata.m[pattern] = c
	automata.Unlock()
	return c.a, c.prefix, nil
}

// literalPrefix returns the literal text every match of a parsed regexp
// starts with, as scorch computes it to narrow its dictionary scan.
func literalPrefix(s *syntax.Regexp) string {
	for s != nil && s.Op == syntax.OpConcat {
		if len(s.Sub) < 1 {
			return ""
		}
		s = s.Sub[0]
	}
	if s != nil && s.Op == syntax.OpLiteral && s.Flags&syntax.FoldCase == 0 {
		return string(s.Rune)
	}
	return ""
}

// timeMatcher mirrors dateRange(lo, hi, true, false) as Bleve's numeric
// range search runs it: a zero bound is open (±Inf), the bounds become
// int64 nanoseconds through Bleve's float encoding, the end is exclusive.
func (b *matchBuilder) timeMatcher(lo, hi time.Time, pos int) matcher {
	for _, t := range []time.Time{lo, hi} {
		if !t.IsZero() && (t.Before(bquery.MinRFC3339CompatibleTime) || t.After(bquery.MaxRFC3339CompatibleTime)) {
			b.searchFails(errAt(pos, "date %s is out of the range the index can search (%s to %s)",
				t.Format(time.RFC3339Nano), bquery.MinRFC3339CompatibleTime.Format(time.RFC3339), bquery.MaxRFC3339CompatibleTime.Format(time.RFC3339)))
			return matchNone
		}
	}
	minNs, maxNs := nanosBounds(lo, hi)
	return func(e *eventTerms) bool {
		return e.hasTime && e.nanos >= minNs && e.nanos <= maxNs
	}
}

// nanosBounds is the range of int64 nanoseconds Bleve's numeric range
// search of dateRange(lo, hi, true, false) matches, both ends included:
// a zero bound is open (±Inf), the bounds go through Bleve's float
// encoding, the end is exclusive. lo and hi must be in the range Bleve
// can search (timeMatcher checks).
func nanosBounds(lo, hi time.Time) (minNs, maxNs int64) {
	fmin, fmax := math.Inf(-1), math.Inf(1)
	if !lo.IsZero() {
		fmin = numeric.Int64ToFloat64(lo.UnixNano())
	}
	if !hi.IsZero() {
		fmax = numeric.Int64ToFloat64(hi.UnixNano())
	}
	minNs, maxNs = numeric.Float64ToInt64(fmin), numeric.Float64ToInt64(fmax)
	if maxNs != math.MinInt64 {
		maxNs--
	}
	return minNs, maxNs
}

// rangeMatcher mirrors compiler.rangeQuery.
func (b *matchBuilder) rangeMatcher(n query.Range) (matcher, error) {
	spec := resolveField(n.Field)
	minIncl, maxIncl := n.MinInclusive, n.MaxInclusive
	switch spec.kind {
	case kindTime:
		var lo, hi time.Time
		if n.Min != "" {
			l, h, err := parseDate(n.Min, b.c.now)
			if err != nil {
				return nil, errAt(n.Pos, "%s: %v", n.Field, err)
			}
			lo = l
			if !minIncl {
				lo = h
			}
		}
		if n.Max != "" {
			l, h, err := parseDate(n.Max, b.c.now)
			if err != nil {
				return nil, errAt(n.Pos, "%s: %v", n.Field, err)
			}
			hi = l
			if maxIncl {
				hi = h
			}
		}
		if lo.IsZero() && hi.IsZero() {
			return b.existsMatcher(n.Field, n.Pos)
		}
		return b.timeMatcher(lo, hi, n.Pos), nil
	case kindKeyword:
		return termRangeMatcher(spec.name, n.Min, n.Max, minIncl, maxIncl), nil
	case kindKV:
		if nr, ok := numericBounds(n); ok {
			return nr.matcher(spec.name), nil
		}
		lo, hi := spec.name+kvSep, spec.name+">"
		if n.Min != "" {
			lo += n.Min
		} else {
			minIncl = true
		}
		if n.Max != "" {
			hi = spec.name + kvSep + n.Max
		} else {
			maxIncl = false
		}
		return termRangeMatcher(fieldKV, lo, hi, minIncl, maxIncl), nil
	}
	return nil, errAt(n.Pos, "a range needs a field such as eventTime or eventName, not %q", n.Field)
}

// termRangeMatcher mirrors Bleve's term range search: terms from lo (or
// the start) to hi+"\x00" inclusive (or the end) in byte order, lo left out
// when exclusive, hi left out when exclusive (see the top of this file for
// the one case this cannot follow).
func termRangeMatcher(field, lo, hi string, loIncl, hiIncl bool) matcher {
	slot := slotOf(field)
	hiNul := hi + "\x00"
	return func(e *eventTerms) bool {
		s := e.field(slot, field).sorted
		for i := sort.SearchStrings(s, lo); i < len(s); i++ {
			t := s[i]
			switch {
			case t == lo && !loIncl:
				continue
			case hi == "" || t < hi:
				return true
			case t == hi:
				if hiIncl {
					return true
				}
				continue
			}
			// The first term above hi: in range only if it starts with
			// hi+"\x00"; every later term is above hi+"\x01".
			return strings.HasPrefix(t, hiNul)
		}
		return false
	}
}

// existsMatcher mirrors compiler.exists.
func (b *matchBuilder) existsMatcher(field string, pos int) (matcher, error) {
	spec := resolveField(field)
	if spec.kind == kindText {
		return nil, errAt(pos, "_exists_ needs a field name")
	}
	return hasTerm(fieldExists, spec.name), nil
}
