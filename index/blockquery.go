package index

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/numeric"
	bquery "github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/codetrail/codetrail/index/query"
	"github.com/codetrail/codetrail/index/record"
)

// A query on the block layout (docs/blocks.md, "The read path") is compiled
// twice: to a Bleve query finding the candidate blocks (every block holding
// a match is one; some are not) with a test of their Bloom filters, and to
// a test of the events inside a candidate block on its event index. The
// index decides exact terms, _exists and time ranges; patterns, phrases,
// ranges of terms and hashes two terms share it cannot, and their events
// are confirmed on their records by the in-memory matcher, which decides a
// query as a search of the per-event layout does. So a block search
// returns what a search of today's documents returns.

// blockPlan is a query compiled for block documents.
type blockPlan struct {
	// candidates is the Bleve query that every block holding a match
	// meets, and no document but blocks.
	candidates bquery.Query
	root       blockNode
	match      matcher
}

// Kinds of blockNode.
const (
	bnAll   = iota // every event
	bnNone         // no event
	bnTerm         // the events holding a term (hash)
	bnTime         // the events whose time is in [lo, hi]
	bnAnd          // every kid
	bnOr           // any kid
	bnNot          // not kids[0]
	bnMaybe        // undecided: the events of kids[0] (or all) may match
)

// blockNode is a query's test on a block's event index.
type blockNode struct {
	op    int
	hash  uint32 // bnTerm
	bloom bool   // bnTerm: a rare term (rareField): in the Bloom filter and the rare terms' index, not in a list
	// bnTerm: its field and term, which the sidecar looks up by value
	// and the word counts by word (empty where the hash alone is known).
	field, term string
	lo, hi      int64 // bnTime, nanoseconds, both included
	kids        []blockNode
}

// termSource lists the distinct terms of a field in the blocks a plan
// searches (a partition's term dictionaries).
type termSource func(field string) ([]string, error)

// maxExpandedTerms bounds how many terms a pattern or range on a typed
// field is expanded to; past it, its events are decided on their records.
// Typed fields hold few distinct values (ARNs, names, agents), so a
// pattern usually names a handful.
const maxExpandedTerms = 1024

// blockPlan compiles n for block documents, expanding patterns and ranges
// on typed fields against terms. It fails as compile and the search would
// on the per-event layout.
func (c *compiler) blockPlan(n query.Node, terms termSource) (*blockPlan, error) {
	if _, err := c.compile(n); err != nil {
		return nil, err
	}
	m, err := c.matcher(n)
	if err != nil {
		return nil, err
	}
	p := &blockPlan{match: m}
	var cand bquery.Query
	p.root, cand, err = c.blockNode(n, terms)
	if err != nil {
		return nil, err
	}
	if cand == nil {
		// Every block, and none of the other documents of a partition
		// (a batch's word counts).
		cand = termOn(fieldDoc, blockDoc)
	}
	p.candidates = cand
	return p, nil
}

// blockNode returns the event test of n and the Bleve query its blocks
// meet, nil when any block may hold a match.
func (c *compiler) blockNode(n query.Node, terms termSource) (blockNode, bquery.Query, error) {
	switch n := n.(type) {
	case nil, query.MatchAll:
		return blockNode{op: bnAll}, nil, nil
	case query.And, query.Or:
		clauses, op := []query.Node(nil), bnAnd
		if a, ok := n.(query.And); ok {
			clauses = a.Clauses
		} else {
			clauses, op = n.(query.Or).Clauses, bnOr
		}
		node := blockNode{op: op}
		var qs []bquery.Query
		open := false // an Or clause any block may meet
		for _, cl := range clauses {
			k, q, err := c.blockNode(cl, terms)
			if err != nil {
				return blockNode{}, nil, err
			}
			node.kids = append(node.kids, k)
			if q == nil {
				open = true
			} else {
				qs = append(qs, q)
			}
		}
		switch {
		case op == bnOr && (open || len(qs) == 0):
			return node, nil, nil
		case op == bnOr:
			return node, bquery.NewDisjunctionQuery(qs), nil
		case len(qs) == 0:
			return node, nil, nil
		}
		return node, bquery.NewConjunctionQuery(qs), nil
	case query.Not:
		k, _, err := c.blockNode(n.Clause, terms)
		// A block holding the clause's matches may hold other events.
		return blockNode{op: bnNot, kids: []blockNode{k}}, nil, err
	case query.Term:
		return c.blockTerm(n)
	case query.Wildcard, query.Regexp:
		field := ""
		if w, ok := n.(query.Wildcard); ok {
			field = w.Field
		} else {
			field = n.(query.Regexp).Field
		}
		return c.blockPattern(n, field, terms)
	case query.Range:
		spec := resolveField(n.Field)
		switch spec.kind {
		case kindTime:
			lo, hi, err := c.rangeTimes(n)
			if err != nil {
				return blockNode{}, nil, err
			}
			if lo.IsZero() && hi.IsZero() {
				return c.blockNode(query.Exists{Field: n.Field, Pos: n.Pos}, terms)
			}
			return blockTime(lo, hi)
		case kindKeyword:
			return c.blockPattern(n, n.Field, terms)
		}
		return blockNode{op: bnMaybe}, nil, nil
	case query.Exists:
		spec := resolveField(n.Field)
		return blockListTerm(fieldExists, spec.name)
	}
	return blockNode{}, nil, fmt.Errorf("%w: unknown query node %T", ErrInvalid, n)
}

// blockTerm mirrors termMatcher.
func (c *compiler) blockTerm(n query.Term) (blockNode, bquery.Query, error) {
	spec := resolveField(n.Field)
	switch spec.kind {
	case kindText:
		toks := analyzeText(n.Value)
		if len(toks) == 0 {
			return blockNode{op: bnNone}, nil, nil
		}
		and := blockNode{op: bnAnd}
		for _, t := range toks {
			and.kids = append(and.kids, blockBloomTerm(fieldText, t))
		}
		if n.Phrase && len(toks) > 1 {
			// The index holds no positions: the events holding every word
			// are confirmed on their records.
			return blockNode{op: bnMaybe, kids: []blockNode{and}}, nil, nil
		}
		return and, nil, nil
	case kindID:
		return blockBloomTerm("eventID", n.Value), nil, nil
	case kindTime:
		lo, hi, err := parseDate(n.Value, c.now)
		if err != nil {
			return blockNode{}, nil, errAt(n.Pos, "%s: %v", n.Field, err)
		}
		return blockTime(lo, hi)
	case kindKV:
		return blockBloomTerm(fieldKV, spec.name+kvSep+n.Value), nil, nil
	}
	v := n.Value
	if spec.name == "readOnly" {
		v = strings.ToLower(v)
	}
	if spec.name == "requestID" {
		return blockBloomTerm(spec.name, v), nil, nil
	}
	return blockListTerm(spec.name, v)
}

// blockBloomTerm is the test of a near-unique term, which blocks keep in
// their Bloom filters.
func blockBloomTerm(field, term string) blockNode {
	return blockNode{op: bnTerm, hash: termHash(field, []byte(term)), bloom: true, field: field, term: term}
}

// blockListTerm is the test of a term blocks list in the field: those
// listing it are the candidates. A value holding a newline is left out of
// the lists, and any block may hold it.
func blockListTerm(field, term string) (blockNode, bquery.Query, error) {
	node := blockNode{op: bnTerm, hash: termHash(field, []byte(term)), field: field, term: term}
	if strings.IndexByte(term, '\n') >= 0 {
		return node, nil, nil
	}
	return node, termOn(field, term), nil
}

// blockPattern is the test of a pattern or a range on field. On a typed
// keyword field, the blocks are those whose list holds a term it matches
// (the per-event query run on the lists), or that left a value out of it
// (_nl); and the terms of the field it matches, taken from terms and
// tested one by one with the matcher of n, make it an OR of exact terms
// (an event matches if one of its terms does, for patterns and for Bleve's
// term ranges alike). Elsewhere, or with a value left out of a list
// somewhere, or too many terms, it is undecided on the index.
func (c *compiler) blockPattern(n query.Node, field string, terms termSource) (blockNode, bquery.Query, error) {
	spec := resolveField(field)
	if spec.kind != kindKeyword || spec.name == "requestID" {
		// requestID is near-unique: blocks keep it in their Bloom filters,
		// not in a list a pattern could be expanded against.
		return blockNode{op: bnMaybe}, nil, nil
	}
	q, err := c.compile(n)
	if err != nil {
		return blockNode{}, nil, err
	}
	cand := bquery.NewDisjunctionQuery([]bquery.Query{q, termOn(fieldNewline, spec.name)})
	node, err := c.expand(n, spec.name, terms)
	return node, cand, err
}

// expand returns the OR of the terms of field that n matches, or an
// undecided test.
func (c *compiler) expand(n query.Node, field string, terms termSource) (blockNode, error) {
	maybe := blockNode{op: bnMaybe}
	if terms == nil {
		return maybe, nil
	}
	left, err := terms(fieldNewline)
	if err != nil || slices.Contains(left, field) {
		return maybe, err
	}
	m, err := c.matcher(n)
	if err != nil {
		return blockNode{}, err
	}
	all, err := terms(field)
	if err != nil {
		return blockNode{}, err
	}
	or := blockNode{op: bnOr}
	slot := slotOf(field)
	for _, t := range all {
		one := &eventTerms{slots: make([]lazyTerms, len(termSlots))}
		one.slots[slot].set = termSet{sorted: []string{t}}
		one.slots[slot].once.Do(func() {})
		if !m(one) {
			continue
		}
		if len(or.kids) == maxExpandedTerms {
			return maybe, nil
		}
		or.kids = append(or.kids, blockNode{op: bnTerm, hash: termHash(field, []byte(t)), field: field, term: t})
	}
	return or, nil
}

// indexTerms is the termSource of a Bleve index: its dictionary of each
// field.
func indexTerms(idx interface {
	FieldDict(field string) (bindex.FieldDict, error)
}) termSource {
	return func(field string) (out []string, err error) {
		d, err := idx.FieldDict(field)
		if err != nil {
			return nil, fmt.Errorf("read the terms of %s: %w", field, err)
		}
		defer func() {
			if cerr := d.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("read the terms of %s: %w", field, cerr)
			}
		}()
		for {
			e, err := d.Next()
			if err != nil {
				return nil, fmt.Errorf("read the terms of %s: %w", field, err)
			}
			if e == nil {
				return out, nil
			}
			out = append(out, e.Term)
		}
	}
}

// rangeTimes is the time span a range on eventTime means, as rangeMatcher
// reads it.
func (c *compiler) rangeTimes(n query.Range) (lo, hi time.Time, err error) {
	if n.Min != "" {
		l, h, err := parseDate(n.Min, c.now)
		if err != nil {
			return lo, hi, errAt(n.Pos, "%s: %v", n.Field, err)
		}
		lo = l
		if !n.MinInclusive {
			lo = h
		}
	}
	if n.Max != "" {
		l, h, err := parseDate(n.Max, c.now)
		if err != nil {
			return lo, hi, errAt(n.Pos, "%s: %v", n.Field, err)
		}
		hi = l
		if n.MaxInclusive {
			hi = h
		}
	}
	return lo, hi, nil
}

// blockTime is the test of events in [lo, hi) (zero: open) and the blocks
// whose span meets it: their newest time at or after the start, their
// oldest at or before the end. blockPlan has checked the bounds with the
// matcher.
func blockTime(lo, hi time.Time) (blockNode, bquery.Query, error) {
	minNs, maxNs := nanosBounds(lo, hi)
	node := blockNode{op: bnTime, lo: minNs, hi: maxNs}
	incl := true
	var qs []bquery.Query
	// Both bounds of each range explicit: an open one is Bleve's +-Inf,
	// which stops short of the last (first) times it indexes, and a block
	// whose newest event is past it would be left out.
	top, bottom := numeric.Int64ToFloat64(math.MaxInt64), numeric.Int64ToFloat64(math.MinInt64)
	if !lo.IsZero() {
		f := numeric.Int64ToFloat64(minNs)
		q := bquery.NewNumericRangeInclusiveQuery(&f, &top, &incl, &incl)
		q.SetField(fieldTime)
		qs = append(qs, q)
	}
	if !hi.IsZero() {
		f := numeric.Int64ToFloat64(maxNs)
		q := bquery.NewNumericRangeInclusiveQuery(&bottom, &f, &incl, &incl)
		q.SetField(fieldTime)
		qs = append(qs, q)
	}
	if len(qs) == 0 {
		// Open at both ends: the blocks with an event with a time.
		return node, termOn(fieldExists, fieldTime), nil
	}
	return node, bquery.NewConjunctionQuery(qs), nil
}

// oneWord returns the word of a plan that is one word alone, whose total
// the word counts may hold.
func (p *blockPlan) oneWord() (string, bool) {
	n := &p.root
	if n.op == bnAnd && len(n.kids) == 1 {
		n = &n.kids[0]
	}
	return n.term, n.op == bnTerm && n.bloom && n.field == fieldText
}

// before returns p with its candidates the blocks whose first event's
// sequence number is under seq.
func (p *blockPlan) before(seq uint64) *blockPlan {
	incl, excl := true, false
	r := bquery.NewTermRangeInclusiveQuery("", seqKey(seq), &incl, &excl)
	r.SetField(fieldSeq)
	q := *p
	q.candidates = bquery.NewConjunctionQuery([]bquery.Query{p.candidates, r})
	return &q
}

// mayHold reports whether a block with the Bloom filter f may hold a match.
func (p *blockPlan) mayHold(f blockBloom) bool { return p.root.mayHold(f) }

func (n *blockNode) mayHold(f blockBloom) bool {
	switch n.op {
	case bnNone:
		return false
	case bnTerm:
		return !n.bloom || f.hasHash(n.hash)
	case bnAnd:
		for i := range n.kids {
			if !n.kids[i].mayHold(f) {
				return false
			}
		}
	case bnOr:
		for i := range n.kids {
			if n.kids[i].mayHold(f) {
				return true
			}
		}
		return false
	case bnMaybe:
		return len(n.kids) == 0 || n.kids[0].mayHold(f)
	}
	return true
}

// test returns the events of the block with the event index x that match.
// records gives the block's records, called only when the index cannot
// decide some event; parsed is the number of records it tested.
func (p *blockPlan) test(x blockIndexes, records func() (*blockRecords, error)) (match eventSet, parsed int, err error) {
	yes, maybe, err := p.root.eval(x)
	if err != nil || maybe.empty() {
		return yes, 0, err
	}
	recs, err := records()
	if err != nil {
		return yes, 0, err
	}
	if recs.len() != x.events {
		return yes, 0, fmt.Errorf("%w: %d records for %d events", errEventIndex, recs.len(), x.events)
	}
	var pr record.Parser
	maybe.each(func(o int) {
		if err != nil {
			return
		}
		var rec blockRecord
		if rec, err = recs.get(o); err != nil {
			return
		}
		var ev record.Event
		if ev, err = pr.Parse(rec.kind, rec.raw); err != nil {
			err = fmt.Errorf("block event %d: %w", x.key(o).seq, err)
			return
		}
		ev.Seq = x.key(o).seq
		parsed++
		if p.match(newEventTerms(&ev)) {
			yes.add(o)
		}
	})
	return yes, parsed, err
}

// eval returns the events of x that match n (yes) and those the index
// cannot decide (maybe): the matches are yes and some of maybe.
func (n *blockNode) eval(x blockIndexes) (yes, maybe eventSet, err error) {
	all := x.all()
	switch n.op {
	case bnAll:
		return all, maybe, nil
	case bnNone:
		return yes, maybe, nil
	case bnTerm:
		ix := x.eventIndex
		if n.bloom && x.rare != nil {
			if ix, err = x.rare(); err != nil {
				return yes, maybe, err
			}
		}
		set, shared, err := ix.lookup(n.hash)
		if shared {
			return yes, set, err
		}
		return set, maybe, err
	case bnTime:
		for o := range x.events {
			if k := x.key(o); k.nanos != noTime && k.nanos >= n.lo && k.nanos <= n.hi {
				yes.add(o)
			}
		}
		return yes, maybe, nil
	case bnAnd:
		yes, upper := all, all
		for i := range n.kids {
			y, m, err := n.kids[i].eval(x)
			if err != nil {
				return yes, maybe, err
			}
			yes, upper = yes.and(y), upper.and(y.or(m))
		}
		return yes, upper.andNot(yes), nil
	case bnOr:
		for i := range n.kids {
			y, m, err := n.kids[i].eval(x)
			if err != nil {
				return yes, maybe, err
			}
			yes, maybe = yes.or(y), maybe.or(m)
		}
		return yes, maybe.andNot(yes), nil
	case bnNot:
		y, m, err := n.kids[0].eval(x)
		return all.andNot(y.or(m)), m, err
	case bnMaybe:
		if len(n.kids) == 0 {
			return yes, all, nil
		}
		y, m, err := n.kids[0].eval(x)
		return yes, y.or(m), err
	}
	return yes, maybe, fmt.Errorf("index: unknown block test %d", n.op)
}
