package index

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"
	"time"
)

// Cursors and page tokens are opaque to clients and tamper-evident: each is
// sealed with AES-GCM under a key kept in the index. Opaque matters: a
// cursor holds a sequence number and a page token the sort key of a hit,
// and either in the clear would tell a caller limited to some accounts how
// many events others stored. A modified token fails to open and is rejected
// instead of silently reading something else. The nonce is derived from the
// content (an HMAC, as in SIV constructions), so one position always gives
// the same cursor (replay cursors, which also carry a start time, aside).
const (
	cursorVersion = 'c'
	tokenVersion  = 't'
	nonceLen      = 12
)

var b64 = base64.RawURLEncoding

// initSealing derives the sealing keys from the index's token key.
func (s *Store) initSealing() error {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, s.key)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("codetrail token encryption")[:16])
	if err != nil {
		return fmt.Errorf("token cipher: %w", err)
	}
	s.aead, err = cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("token cipher: %w", err)
	}
	s.nonceKey = derive("codetrail token nonce")
	// Every hit of a page gets a cursor: a new HMAC would hash its key
	// each time, a third of what sealing costs.
	s.nonceMAC.New = func() any { return &sealer{mac: hmac.New(sha256.New, s.nonceKey)} }
	return nil
}

// sealer is what seal reuses: the HMAC and the buffers of its sum and its
// sealed bytes. A page's 50 cursors made eight allocations each, half of
// what a search in the summary view allocated by count.
type sealer struct {
	mac hash.Hash // HMAC-SHA256 under nonceKey
	sum [sha256.Size]byte
	pay []byte
	out []byte
	enc []byte
}

// seal encrypts payload (its first byte, the version, stays readable and
// is authenticated).
func (s *Store) seal(payload []byte) string {
	z := s.nonceMAC.Get().(*sealer)
	defer s.nonceMAC.Put(z)
	return s.sealIn(z, payload)
}

// sealIn is seal with z's buffers.
func (s *Store) sealIn(z *sealer, payload []byte) string {
	z.mac.Reset()
	z.mac.Write(payload)
	nonce := z.mac.Sum(z.sum[:0])[:nonceLen]
	out := append(append(z.out[:0], payload[0]), nonce...)
	out = s.aead.Seal(out, nonce, payload[1:], payload[:1])
	z.enc = slices.Grow(z.enc[:0], b64.EncodedLen(len(out)))[:b64.EncodedLen(len(out))]
	b64.Encode(z.enc, out)
	z.out = out
	return string(z.enc)
}

func (s *Store) open(tok string, version byte) ([]byte, error) {
	b, err := b64.DecodeString(tok)
	if err != nil || len(b) < 1+nonceLen+s.aead.Overhead() || b[0] != version {
		return nil, ErrBadToken
	}
	plain, err := s.aead.Open([]byte{version}, b[1:1+nonceLen], b[1+nonceLen:], b[:1])
	if err != nil {
		return nil, ErrBadToken
	}
	return plain, nil
}

// Cursor returns the opaque cursor of a sequence number.
func (s *Store) Cursor(seq uint64) string {
	z := s.nonceMAC.Get().(*sealer)
	defer s.nonceMAC.Put(z)
	z.pay = binary.AppendUvarint(append(z.pay[:0], cursorVersion), seq)
	return s.sealIn(z, z.pay)
}

// replayCursor returns the cursor of an event delivered during the replay of
// a start_time subscription. It also carries that start time, so that a
// stream resumed from it keeps skipping stored events older than it until
// it catches up, as the stream it resumes did: a plain cursor would not
// know the bound, and the resumed replay would deliver them.
func (s *Store) replayCursor(seq uint64, start time.Time) string {
	p := binary.AppendUvarint([]byte{cursorVersion}, seq)
	p = binary.AppendVarint(p, start.UnixNano())
	return s.seal(p)
}

// ParseCursor returns the sequence number of a cursor made by Cursor or
// replayCursor, or ErrBadToken.
func (s *Store) ParseCursor(c string) (uint64, error) {
	seq, _, err := s.parseCursor(c)
	return seq, err
}

// parseCursor returns the sequence number of a cursor and, for a replay
// cursor, the start time of the replay it was delivered in.
func (s *Store) parseCursor(c string) (uint64, time.Time, error) {
	p, err := s.open(c, cursorVersion)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("cursor %q: %w", c, err)
	}
	seq, n := binary.Uvarint(p[1:])
	if n <= 0 {
		return 0, time.Time{}, fmt.Errorf("cursor %q: %w", c, ErrBadToken)
	}
	rest := p[1+n:]
	if len(rest) == 0 {
		return seq, time.Time{}, nil
	}
	ns, m := binary.Varint(rest)
	if m <= 0 || m != len(rest) {
		return 0, time.Time{}, fmt.Errorf("cursor %q: %w", c, ErrBadToken)
	}
	return seq, time.Unix(0, ns).UTC(), nil
}

// pageToken is where the next page starts.
type pageToken struct {
	fingerprint [8]byte // of the query, time range and order it belongs to
	offset      uint64  // relevance order pages by offset
	after       []string
}

func (s *Store) encodePageToken(t pageToken) string {
	p := append([]byte{tokenVersion}, t.fingerprint[:]...)
	p = binary.AppendUvarint(p, t.offset)
	p = binary.AppendUvarint(p, uint64(len(t.after)))
	for _, a := range t.after {
		p = binary.AppendUvarint(p, uint64(len(a)))
		p = append(p, a...)
	}
	return s.seal(p)
}

func (s *Store) decodePageToken(tok string) (pageToken, error) {
	var t pageToken
	p, err := s.open(tok, tokenVersion)
	if err != nil || len(p) < 9 {
		return t, ErrBadToken
	}
	copy(t.fingerprint[:], p[1:9])
	p = p[9:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return v, true
	}
	var ok bool
	if t.offset, ok = next(); !ok {
		return t, ErrBadToken
	}
	n, ok := next()
	if !ok || n > 8 {
		return t, ErrBadToken
	}
	for range n {
		l, ok := next()
		if !ok || l > uint64(len(p)) {
			return t, ErrBadToken
		}
		t.after = append(t.after, string(p[:l]))
		p = p[l:]
	}
	if len(p) != 0 {
		return t, ErrBadToken
	}
	return t, nil
}
