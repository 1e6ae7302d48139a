package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"

	"github.com/klauspost/compress/s2"
)

// A block's event index (the block layout, docs/blocks.md): for every term
// any of the block's events holds, which of them hold it, and each event's
// sort key. A search finds candidate blocks through Bleve and then reads the
// events matching inside each one from this index, without decompressing
// and parsing the block's records.
//
// Layout, little-endian:
//
//	version byte (eventIndexV1)
//	n uint32 (distinct term hashes), events uint32
//	events × (eventTime in Unix nanoseconds int64, noTime without one;
//	  sequence number uint64), in block order
//	n term hashes uint32, ascending
//	n+1 posting ends uint32 (offsets into the postings; the top bit of
//	  the first n marks a hash shared by two different terms)
//	postings: one of eventIndexBitset bytes is a bitset of the block's
//	  events, a shorter one lists their ordinals, ascending
//
// A term's hash is CRC-32C over its field's name and the term (termHash).
// Two different terms of a block can share one: the builder sees it through
// a second hash (CRC-32 IEEE, another polynomial, so not linearly tied to
// the first) kept beside the first while sorting, and marks the posting, so
// that a search confirms its events on their records instead of trusting it.
const (
	eventIndexV1     = 1
	eventIndexBitset = blockSize / 8
	eventIndexHead   = 9
	// noTime is the time of an event without an indexed eventTime: Bleve
	// cannot represent MinInt64 nanoseconds, so no indexed time is it.
	noTime = math.MinInt64
	// postingShared marks a posting end whose hash two terms share.
	postingShared = 1 << 31
)

// blockSize is the most events a block holds: an ordinal is a byte.
const blockSize = 256

// errEventIndex reports an event index that does not decode: a damaged
// stored field.
var errEventIndex = errors.New("index: damaged block event index")

var (
	crcTable  = crc32.MakeTable(crc32.Castagnoli)
	ieeeTable = crc32.MakeTable(crc32.IEEE)
)

// termHash is the hash of term in the field name.
func termHash(name string, term []byte) uint32 {
	return hashFrom(fieldSeed(name), term)
}

// hashFrom is termHash from a field's seed (fieldSeed).
func hashFrom(seed uint32, term []byte) uint32 { return crc32.Update(seed, crcTable, term) }

// fieldSeed is where termHash starts for the terms of the field name.
func fieldSeed(name string) uint32 {
	return crc32.Update(crc32.Update(0, crcTable, []byte(name)), crcTable, []byte{0})
}

// termCheck is the second hash of a term, for telling apart two terms with
// one termHash while a block is built (only whether a hash is shared is
// stored, so it may change from one process to the next); seed is
// checkSeed of the term's field. maphash, not CRC-32 IEEE, whose table
// went a byte at a time on words: 4% of the builder's CPU.
func termCheck(seed uint32, term []byte) uint32 {
	return uint32(maphash.Bytes(checkHashSeed, term)) ^ seed
}

// checkHashSeed seeds termCheck for the process.
var checkHashSeed = maphash.MakeSeed()

// checkSeed is what termCheck mixes in for the terms of the field name.
func checkSeed(name string) uint32 {
	return crc32.Update(crc32.Update(0, ieeeTable, []byte(name)), ieeeTable, []byte{0})
}

// termPair packs a term of the event ord for sorting: its hash, then the
// ordinal, then 24 bits of its check (left out of the sort).
func termPair(hash, check uint32, ord int) uint64 {
	return uint64(hash)<<32 | uint64(ord)<<24 | uint64(check&0xffffff)
}

// eventKey is what the event index keeps of each event of its block.
type eventKey struct {
	nanos int64 // noTime without an indexed eventTime
	seq   uint64
}

// encodeEventIndex appends the event index of the pairs (termPair) of a
// block's events to out; pairs is sorted in place, with spare as radix
// sort's other buffer. It returns the index and the buffers for reuse.
func encodeEventIndex(out []byte, pairs, spare []uint64, keys []eventKey) (ix []byte, sorted, other []uint64) {
	pairs, spare = radixSort(pairs, spare, 24, 64)
	n := 0
	for i := range pairs {
		if i == 0 || pairs[i]>>32 != pairs[i-1]>>32 {
			n++
		}
	}
	out = append(out, eventIndexV1)
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(keys)))
	for _, k := range keys {
		out = binary.LittleEndian.AppendUint64(out, uint64(k.nanos))
		out = binary.LittleEndian.AppendUint64(out, k.seq)
	}
	hashes := len(out)
	ends := hashes + 4*n
	postings := ends + 4*(n+1)
	out = slices.Grow(out, postings-len(out)+2*n)[:postings]
	binary.LittleEndian.PutUint32(out[ends:], 0)
	ords := make([]byte, 0, blockSize)
	k := 0
	for i := 0; i < len(pairs); {
		h := pairs[i] >> 32
		shared := false
		ords = ords[:0]
		j := i
		for ; j < len(pairs) && pairs[j]>>32 == h; j++ {
			shared = shared || pairs[j]&0xffffff != pairs[i]&0xffffff
			if o := byte(pairs[j] >> 24); len(ords) == 0 || ords[len(ords)-1] != o {
				ords = append(ords, o)
			}
		}
		binary.LittleEndian.PutUint32(out[hashes+4*k:], uint32(h))
		if len(ords) >= eventIndexBitset {
			var set [eventIndexBitset]byte
			for _, o := range ords {
				set[o/8] |= 1 << (o % 8)
			}
			out = append(out, set[:]...)
		} else {
			out = append(out, ords...)
		}
		end := uint32(len(out) - postings)
		if shared {
			end |= postingShared
		}
		binary.LittleEndian.PutUint32(out[ends+4*(k+1):], end)
		k++
		i = j
	}
	// The ends are stored after the posting they close; the first posting
	// starts at 0, and the top bit is read from the end of each.
	return out, pairs, spare
}

// eventIndex is a decoded view of a block's event index.
type eventIndex struct {
	b        []byte
	n        int // distinct hashes
	events   int
	hashes   int // offsets in b
	ends     int
	postings int
}

// parseEventIndex checks the sizes of an event index and returns its view;
// b is aliased.
func parseEventIndex(b []byte) (eventIndex, error) {
	if len(b) < eventIndexHead || b[0] != eventIndexV1 {
		return eventIndex{}, fmt.Errorf("%w: header", errEventIndex)
	}
	x := eventIndex{b: b, n: int(binary.LittleEndian.Uint32(b[1:])), events: int(binary.LittleEndian.Uint32(b[5:]))}
	if x.events < 1 || x.events > blockSize || x.n > len(b)/8 {
		return eventIndex{}, fmt.Errorf("%w: %d terms, %d events", errEventIndex, x.n, x.events)
	}
	x.hashes = eventIndexHead + 16*x.events
	x.ends = x.hashes + 4*x.n
	x.postings = x.ends + 4*(x.n+1)
	if x.postings > len(b) || x.postings+int(x.end(x.n)) != len(b) {
		return eventIndex{}, fmt.Errorf("%w: %d bytes", errEventIndex, len(b))
	}
	return x, nil
}

// decodeEventIndex decompresses a stored event index and returns its view.
func decodeEventIndex(stored []byte) (eventIndex, error) {
	raw, err := s2Decode(nil, stored)
	if err != nil {
		return eventIndex{}, err
	}
	return parseEventIndex(raw)
}

// maxBlockPart bounds what a block's s2-compressed parts (event index,
// columns) may decompress to, so that a damaged one cannot make a read
// allocate without bound: a block of 256 generated events has an event
// index of about 77 KB.
const maxBlockPart = 16 << 20

// s2Decode decompresses a block's part into dst, refusing one that claims
// more than maxBlockPart bytes.
func s2Decode(dst, src []byte) ([]byte, error) {
	if n, err := s2.DecodedLen(src); err != nil || n > maxBlockPart {
		return nil, fmt.Errorf("%w: %d bytes compressed to %d (%v)", errEventIndex, len(src), n, err)
	}
	out, err := s2.Decode(dst, src)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errEventIndex, err)
	}
	return out, nil
}

// end is where the posting i ends, without its shared mark (0 for i = 0).
func (x eventIndex) end(i int) uint32 {
	return binary.LittleEndian.Uint32(x.b[x.ends+4*i:]) &^ postingShared
}

// key is the sort key of the event ord.
func (x eventIndex) key(ord int) eventKey {
	p := eventIndexHead + 16*ord
	return eventKey{int64(binary.LittleEndian.Uint64(x.b[p:])), binary.LittleEndian.Uint64(x.b[p+8:])}
}

// lookup returns the events of the block holding the term with hash h;
// shared says the hash is also another term's, so some of them may not.
func (x eventIndex) lookup(h uint32) (set eventSet, shared bool, err error) {
	lo, hi, found := 0, x.n, false
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch v := binary.LittleEndian.Uint32(x.b[x.hashes+4*m:]); {
		case v < h:
			lo = m + 1
		case v > h:
			hi = m
		default:
			lo, hi, found = m, m, true
		}
	}
	if !found {
		return set, false, nil
	}
	start, stop := x.end(lo), x.end(lo+1)
	shared = binary.LittleEndian.Uint32(x.b[x.ends+4*(lo+1):])&postingShared != 0
	if start > stop || x.postings+int(stop) > len(x.b) {
		return set, false, fmt.Errorf("%w: posting %d", errEventIndex, lo)
	}
	p := x.b[x.postings+int(start) : x.postings+int(stop)]
	if len(p) == eventIndexBitset {
		for w := range set {
			set[w] = binary.LittleEndian.Uint64(p[8*w:])
		}
	} else {
		if len(p) > eventIndexBitset {
			return set, false, fmt.Errorf("%w: posting %d of %d bytes", errEventIndex, lo, len(p))
		}
		for _, o := range p {
			set.add(int(o))
		}
	}
	if set.and(x.all()) != set {
		return set, false, fmt.Errorf("%w: posting %d names events past %d", errEventIndex, lo, x.events)
	}
	return set, shared, nil
}

// all is the set of the block's events.
func (x eventIndex) all() eventSet { return firstEvents(x.events) }

// eventSet is a set of a block's event ordinals.
type eventSet [blockSize / 64]uint64

func (s *eventSet) add(o int)     { s[o/64] |= 1 << (o % 64) }
func (s eventSet) has(o int) bool { return s[o/64]&(1<<(o%64)) != 0 }
func (s eventSet) empty() bool    { return s == eventSet{} }
func (s eventSet) and(o eventSet) eventSet {
	for i := range s {
		s[i] &= o[i]
	}
	return s
}
func (s eventSet) or(o eventSet) eventSet {
	for i := range s {
		s[i] |= o[i]
	}
	return s
}
func (s eventSet) andNot(o eventSet) eventSet {
	for i := range s {
		s[i] &^= o[i]
	}
	return s
}

// count is the number of events in s.
func (s eventSet) count() int {
	n := 0
	for _, w := range s {
		n += bits.OnesCount64(w)
	}
	return n
}

// each calls fn with each event of s, in order.
func (s eventSet) each(fn func(o int)) {
	for w, v := range s {
		for ; v != 0; v &= v - 1 {
			fn(64*w + bits.TrailingZeros64(v))
		}
	}
}

// firstEvents is the set of the events 0 to n-1.
func firstEvents(n int) eventSet {
	var s eventSet
	for w := range s {
		switch {
		case n >= 64*(w+1):
			s[w] = math.MaxUint64
		case n > 64*w:
			s[w] = 1<<(n-64*w) - 1
		}
	}
	return s
}

// radixSort sorts v by the bits from lo to hi of its values, a byte at a
// time, least significant first (stable), with spare as the other buffer:
// about 8 times faster than slices.Sort on a block's 40,000 term pairs. It
// returns the sorted slice and the other buffer, for reuse.
func radixSort(v, spare []uint64, lo, hi uint) (sorted, other []uint64) {
	spare = slices.Grow(spare[:0], len(v))[:len(v)]
	for shift := lo; shift < hi; shift += 8 {
		var count [257]int
		for _, x := range v {
			count[(x>>shift)&0xff+1]++
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for _, x := range v {
			d := (x >> shift) & 0xff
			spare[count[d]] = x
			count[d]++
		}
		v, spare = spare, v
	}
	return v, spare
}
