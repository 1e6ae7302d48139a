package index

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/codetrail/codetrail/index/query"
)

// requiredTerms is a necessary condition: every event a query's matcher
// accepts holds one of the query's required terms. Random queries over
// random events, as in TestMatchPropertyAgainstSearch.
func TestRequiredTermsNecessary(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	events, _ := loadTestEvents(t)
	events = append(events, genEvents(t, rand.New(rand.NewPCG(seed+1, 7)), 300)...)
	for i := range events {
		events[i].Seq = uint64(i + 1)
	}
	terms := allTerms(events)
	g := newQueryGen(rng, events)
	lim := testConfig(t.TempDir()).Query
	n := 3000
	if testing.Short() {
		n = 500
	}
	var keyed, skippedSome int
	for range n {
		q := g.query(4)
		ast, err := query.ParseWithLimits(q, lim)
		if err != nil {
			continue
		}
		c := compiler{now: matchNow, allowLeadingWildcard: true}
		m, err := c.matcher(ast)
		if err != nil {
			continue
		}
		keys, ok := requiredTerms(ast)
		if !ok {
			continue
		}
		keyed++
		p := newPrefilter()
		id, ver := p.add(keys)
		skipped := false
		for _, e := range terms {
			may := p.of(e).has(id, ver)
			if m(e) && !may {
				t.Fatalf("seed %d: query %q matches %s, which holds none of its required terms %v", seed, q, e.id, keys)
			}
			skipped = skipped || !may
		}
		if skipped {
			skippedSome++
		}
	}
	t.Logf("%d queries with required terms, %d of them skip some events", keyed, skippedSome)
	if keyed < n/10 || skippedSome == 0 {
		t.Fatalf("only %d of %d queries had required terms, %d skipped anything: the test is not testing", keyed, n, skippedSome)
	}
}

// The registry: ids are reused, a repeated key is one registration, and a
// subscriber that joined after candidates were made is always a candidate.
func TestPrefilterRegistry(t *testing.T) {
	p := newPrefilter()
	ev := synthetic(t, 1, 0)[0]
	e := newEventTerms(&ev)
	name := termKey{slot: slotOf("eventName"), term: ev.Name}
	other := termKey{slot: slotOf("eventName"), term: "NoSuchName"}

	a, va := p.add([]termKey{name, name})
	b, vb := p.add([]termKey{other})
	c := p.of(e)
	if !c.has(a, va) || c.has(b, vb) {
		t.Fatalf("a (%s) and b (other name): got %v %v", ev.Name, c.has(a, va), c.has(b, vb))
	}
	p.remove(a, []termKey{name, name})
	if len(p.byTerm[name]) != 0 || p.slotUse[name.slot] != 1 {
		t.Fatalf("after remove: %v %v", p.byTerm, p.slotUse)
	}
	// A newcomer reuses a's id; the old candidates must not speak for it.
	d, vd := p.add([]termKey{other})
	if d != a {
		t.Fatalf("id %d not reused (got %d)", a, d)
	}
	if !c.has(d, vd) {
		t.Fatal("candidates made before a subscriber joined exclude it")
	}
	if p.of(e).has(d, vd) {
		t.Fatal("fresh candidates include a subscriber whose term the event lacks")
	}
	p.remove(b, []termKey{other})
	p.remove(d, []termKey{other})
	if len(p.byTerm) != 0 || len(p.slots) != 0 || len(p.slotUse) != 0 {
		t.Fatalf("not empty after all left: %v %v %v", p.byTerm, p.slots, p.slotUse)
	}
}
