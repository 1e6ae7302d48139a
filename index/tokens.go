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
// sealed under a key kept in the index. Opaque matters: a cursor holds a
// sequence number and a page token the sort key of a hit, and either in the
// clear would tell a caller limited to some accounts how many events others
// stored. A modified token fails to open and is rejected instead of
// silently reading something else. Page tokens and replay cursors are
// sealed with AES-GCM, the nonce derived from the content (an HMAC, as in
// SIV constructions). A plain cursor, one for each hit of a page, is one
// AES block, its sequence number and eight bytes that must open as they
// were sealed (encode-then-encipher): a modified cursor opens to another
// block, whose eight bytes match by a chance of 2^-64. Both give one
// position the same cursor every time (replay cursors, which also carry a
// start time, aside).
const (
	cursorVersion      = 'c' // AES-GCM: replay cursors, and cursors made before 'b'
	cursorBlockVersion = 'b' // one AES block
	tokenVersion       = 't'
	nonceLen           = 12
)

var b64 = base64.RawURLEncoding

// b64Strict refuses the unused low bits of a last character set: a
// cursor of one AES block opens from its one spelling only.
var b64Strict = b64.Strict()

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
	if s.cursorKey, err = aes.NewCipher(derive("codetrail cursor block")[:16]); err != nil {
		return fmt.Errorf("cursor cipher: %w", err)
	}
	// Every page gets a token: a new HMAC would hash its key each time, a
	// third of what sealing costs.
	s.nonceMAC.New = func() any { return &sealer{mac: hmac.New(sha256.New, s.nonceKey)} }
	return nil
}

// sealer is what seal reuses: the HMAC and the buffers of its sum and its
// sealed bytes (when cursors were sealed so too, a page's 50 made eight
// allocations each, half of what a search in the summary view allocated
// by count).
type sealer struct {
	mac hash.Hash // HMAC-SHA256 under nonceKey
	sum [sha256.Size]byte
	out []byte
	enc []byte
}

// seal encrypts payload (its first byte, the version, stays readable and
// is authenticated).
func (s *Store) seal(payload []byte) string {
	z := s.nonceMAC.Get().(*sealer)
	defer s.nonceMAC.Put(z)
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

// cursorLen is the length of a cursor of cursorBlockVersion: its version
// byte and one AES block, in base64.
var cursorLen = b64.EncodedLen(1 + aes.BlockSize)

// cursorCheck is the second half of a cursor's block before it is sealed:
// what a forged or altered cursor must open to.
var cursorCheck = [8]byte{cursorBlockVersion}

// Cursor returns the opaque cursor of a sequence number: one AES block
// (cursorBlockVersion), not AES-GCM and its HMAC nonce, which were a
// quarter of a page's time in process (0.34 µs a cursor, 50 a page); it is
// also 23 characters instead of 43.
func (s *Store) Cursor(seq uint64) string {
	var b [1 + aes.BlockSize]byte
	b[0] = cursorBlockVersion
	binary.BigEndian.PutUint64(b[1:9], seq)
	copy(b[9:], cursorCheck[:])
	s.cursorKey.Encrypt(b[1:], b[1:])
	var enc [32]byte
	b64.Encode(enc[:], b[:])
	return string(enc[:cursorLen])
}

// openCursorBlock returns the sequence number of a cursor of
// cursorBlockVersion; ok is false for anything else.
func (s *Store) openCursorBlock(c string) (seq uint64, ok bool) {
	if len(c) != cursorLen {
		return 0, false
	}
	var b [1 + aes.BlockSize]byte
	if n, err := b64Strict.Decode(b[:], []byte(c)); err != nil || n != len(b) || b[0] != cursorBlockVersion {
		return 0, false
	}
	s.cursorKey.Decrypt(b[1:], b[1:])
	if [8]byte(b[9:]) != cursorCheck {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[1:9]), true
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
	if seq, ok := s.openCursorBlock(c); ok {
		return seq, time.Time{}, nil
	}
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
