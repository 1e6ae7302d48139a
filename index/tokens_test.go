package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// FuzzTokens: opening any string as a cursor or page token never panics,
// accepts only what the store sealed, and round-trips what it did.
func FuzzTokens(f *testing.F) {
	s := openStoreCfg(f, func(c *Config) { c.Shards = 1 })
	for _, seq := range []uint64{0, 1, 255, 1 << 40} {
		f.Add(s.Cursor(seq), seq)
	}
	f.Add(s.encodePageToken(pageToken{offset: 7, after: []string{"0000000000000001" + "0000000000000002"}}), uint64(7))
	f.Add("", uint64(0))
	f.Add("Y3Vyc29y", uint64(3))
	f.Fuzz(func(t *testing.T, tok string, seq uint64) {
		if got, err := s.ParseCursor(s.Cursor(seq)); err != nil || got != seq {
			t.Fatalf("cursor of %d gives %d, %v", seq, got, err)
		}
		start := time.Unix(0, int64(seq)).UTC()
		if got, at, err := s.parseCursor(s.replayCursor(seq, start)); err != nil || got != seq || !at.Equal(start) {
			t.Fatalf("replay cursor of %d at %v gives %d at %v, %v", seq, start, got, at, err)
		}
		if _, err := s.ParseCursor(tok); err != nil && !errors.Is(err, ErrBadToken) {
			t.Fatalf("cursor %q: unexpected error %v", tok, err)
		}
		if pt, err := s.decodePageToken(tok); err == nil {
			// Only sealed tokens open; re-encoding gives the same token.
			if again := s.encodePageToken(pt); again != tok {
				t.Fatalf("page token %q opened but encodes back as %q", tok, again)
			}
		} else if !errors.Is(err, ErrBadToken) {
			t.Fatalf("page token %q: unexpected error %v", tok, err)
		}
		after := []string{tok}
		if len(tok) > 200 {
			after = nil
		}
		pt := pageToken{offset: seq, after: after}
		got, err := s.decodePageToken(s.encodePageToken(pt))
		if err != nil || got.offset != seq || len(got.after) != len(after) || (len(after) == 1 && !bytes.Equal([]byte(got.after[0]), []byte(tok))) {
			t.Fatalf("page token round trip: %+v %v", got, err)
		}
	})
}

// TestCursorForms: a cursor is one AES block, opens to its sequence number,
// and fails to open once any character of it is changed; cursors sealed
// with AES-GCM before that (and replay cursors, still so) open as before.
func TestCursorForms(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.Shards = 1 })
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, seq := range []uint64{0, 1, 300, 1 << 32, 1<<64 - 1} {
		c := s.Cursor(seq)
		if len(c) != 23 || c != s.Cursor(seq) {
			t.Fatalf("cursor of %d is %q (%d characters), then %q", seq, c, len(c), s.Cursor(seq))
		}
		if got, err := s.ParseCursor(c); err != nil || got != seq {
			t.Fatalf("cursor of %d opens as %d, %v", seq, got, err)
		}
		for i := range c {
			for _, r := range alphabet {
				if byte(r) == c[i] {
					continue
				}
				bad := c[:i] + string(r) + c[i+1:]
				if got, err := s.ParseCursor(bad); !errors.Is(err, ErrBadToken) {
					t.Fatalf("cursor of %d changed at %d to %q opens as %d, %v", seq, i, bad, got, err)
				}
			}
		}
		legacy := s.seal(binary.AppendUvarint([]byte{cursorVersion}, seq))
		if got, err := s.ParseCursor(legacy); err != nil || got != seq {
			t.Fatalf("AES-GCM cursor of %d opens as %d, %v", seq, got, err)
		}
	}
	// Another index's cursor does not open here.
	other := openStoreCfg(t, func(c *Config) { c.Shards = 1 })
	if got, err := s.ParseCursor(other.Cursor(5)); !errors.Is(err, ErrBadToken) {
		t.Fatalf("another index's cursor opens as %d, %v", got, err)
	}
}
