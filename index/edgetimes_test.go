package index

import (
	"testing"

	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// fakeSeg stands for a segment as a map key: edgeTimes only compares them.
type fakeSeg struct {
	segment.Segment
	n int
}

func TestEdgeTimesBudget(t *testing.T) {
	times := func(n int) *hourTimes {
		h := &hourTimes{docs: make([]uint32, n), times: make([]uint64, n)}
		for i := range n {
			h.docs[i], h.times[i] = uint32(i), uint64(1000+i)
		}
		return h
	}
	a, b := &fakeSeg{n: 1}, &fakeSeg{n: 2}
	one := times(10).bytes()
	e := newEdgeTimes(3 * one)
	e.put(edgeKey{a, "h1"}, times(10))
	e.put(edgeKey{a, "h2"}, times(10))
	e.put(edgeKey{b, "h1"}, times(10))
	if e.get(edgeKey{a, "h1"}) == nil { // now the most recently used
		t.Fatal("a/h1 not kept")
	}
	e.put(edgeKey{b, "h2"}, times(10)) // over budget: drops a/h2
	if e.get(edgeKey{a, "h2"}) != nil {
		t.Error("a/h2 kept past the budget; the least recently used should go")
	}
	for _, k := range []edgeKey{{a, "h1"}, {b, "h1"}, {b, "h2"}} {
		if e.get(k) == nil {
			t.Errorf("%v/%s dropped", k.seg.(*fakeSeg).n, k.hour)
		}
	}
	if got := e.size(); got != 3*one {
		t.Errorf("size %d, want %d", got, 3*one)
	}
	e.put(edgeKey{a, "big"}, times(100)) // more than the whole budget
	if e.get(edgeKey{a, "big"}) != nil || e.size() != 3*one {
		t.Error("an entry larger than the budget was kept")
	}
	e.sweep(map[segment.Segment]struct{}{b: {}})
	if e.get(edgeKey{a, "h1"}) != nil || e.get(edgeKey{b, "h1"}) == nil || e.size() != 2*one {
		t.Errorf("after the sweep of a: size %d, want %d with b's kept", e.size(), 2*one)
	}
	var none *edgeTimes // no store: nothing kept, nothing found
	none.put(edgeKey{a, "h1"}, times(1))
	if none.get(edgeKey{a, "h1"}) != nil {
		t.Error("nil edgeTimes found an entry")
	}
}

func TestKeyTime(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want uint64
		ok   bool
	}{
		{"0000000000000000", 0, true},
		{"80000000000000ff00000000000000a1", 0x80000000000000ff, true},
		{nanosKey(-1), 0x7fffffffffffffff, true},
		{"ffffffffffffffff", ^uint64(0), true},
		{"800000000000000", 0, false},  // 15 digits
		{"80000000000000FF", 0, false}, // keys are lower case
		{"80000000000000g0", 0, false},
	} {
		got, ok := keyTime([]byte(tc.key))
		if got != tc.want || ok != tc.ok {
			t.Errorf("keyTime(%q) = %x, %v; want %x, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}
