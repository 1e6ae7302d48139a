package index

import (
	"bytes"
	"fmt"
	"testing"
)

func TestFrameCache(t *testing.T) {
	frame := func(i, n int) []byte { return bytes.Repeat([]byte(fmt.Sprintf("%04d", i)), n/4) }
	recs := func(dec []byte) []blockRecord { return []blockRecord{{raw: dec[:4]}, {raw: dec[4:8]}} }
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, c *frameCache)
	}{
		{"miss then hit", func(t *testing.T, c *frameCache) {
			comp := frame(1, 400)
			if got := c.get(comp); got != nil {
				t.Fatalf("empty cache: %v", got)
			}
			dec := []byte("abcdefgh")
			c.put(comp, dec, recs(dec))
			got := c.get(bytes.Clone(comp)) // by content, not by address
			if len(got) != 2 || string(got[0].raw) != "abcd" || string(got[1].raw) != "efgh" {
				t.Fatalf("hit: %q", got)
			}
		}},
		{"same ends and length, other middle", func(t *testing.T, c *frameCache) {
			a := frame(2, 400)
			b := bytes.Clone(a)
			b[200] ^= 1 // frameKey hashes the ends: same slot
			if c.frameKey(a) != c.frameKey(b) {
				t.Fatal("test assumes one slot for both")
			}
			dec := []byte("abcdefgh")
			c.put(a, dec, recs(dec))
			if got := c.get(b); got != nil {
				t.Fatalf("another frame's records: %q", got)
			}
			other := []byte("ijklmnop")
			c.put(b, other, recs(other))
			if got := c.get(b); len(got) != 2 || string(got[0].raw) != "ijkl" {
				t.Fatalf("after put: %q", got)
			}
			if got := c.get(a); got != nil {
				t.Fatalf("replaced entry still found: %q", got)
			}
		}},
		{"least recently used go first", func(t *testing.T, c *frameCache) {
			dec := bytes.Repeat([]byte("x"), 200)
			var comps [][]byte
			for i := range 200 { // some 600 bytes each: twice what it holds
				comps = append(comps, frame(i, 200))
				c.put(comps[i], dec, recs(dec))
				c.get(comps[0]) // kept in use
			}
			if c.entries.size > c.entries.max {
				t.Fatalf("holds %d bytes, max %d", c.entries.size, c.entries.max)
			}
			if c.get(comps[0]) == nil {
				t.Error("the entry read after each put was dropped")
			}
			if c.get(comps[1]) != nil {
				t.Error("the least recently used entry was kept")
			}
			if c.get(comps[199]) == nil {
				t.Error("the newest entry was dropped")
			}
		}},
		{"too large to keep", func(t *testing.T, c *frameCache) {
			comp := frame(3, 64<<10/8)
			dec := make([]byte, 8)
			c.put(comp, dec, recs(dec))
			if c.get(comp) != nil || c.entries.size != 0 {
				t.Errorf("kept an entry of an 8th of the cache (size %d)", c.entries.size)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newFrameCache(64<<10)) })
	}
}
