package index

import (
	"slices"
	"testing"
)

// values returns c's values, the most recently used first.
func (c *lru[K, V]) values() []V {
	var out []V
	for el := c.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*lruItem[K, V]).val)
	}
	return out
}

func TestLRU(t *testing.T) {
	// Past max the least recently used go first; a value of more than a
	// 16th of max is not kept.
	c := newLRU[string](32, func(v string) int { return len(v) })
	for _, v := range []string{"a", "bb", "c", "dd", "e", "ff", "g", "hh", "i", "jj", "k", "ll", "m", "nn", "o", "pp", "q", "rr", "s", "tt", "u", "vv", "w", "xx"} {
		c.put(v, v)
		c.get("a")
	}
	c.put("too long", "too long")
	got := c.values()
	if c.size > 32 || got[0] != "a" || got[1] != "xx" || slices.Contains(got, "bb") || slices.Contains(got, "too long") {
		t.Fatalf("kept %v (%d bytes)", got, c.size)
	}
	total := 0
	for _, v := range got {
		total += len(v)
	}
	if total != c.size || len(c.m) != len(got) {
		t.Fatalf("size %d, values' %d; %d in the map, %d listed", c.size, total, len(c.m), len(got))
	}
	c.put("a", "a") // again: replaced, not counted twice
	if c.values()[0] != "a" || len(c.values()) != len(got) {
		t.Fatalf("after putting a again: %v", c.values())
	}
	c.reset()
	if _, ok := c.get("a"); ok || c.size != 0 || len(c.values()) != 0 {
		t.Fatal("reset kept values")
	}
}
