package index

import (
	"bytes"
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
