package index

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// wordCounts keeps exact totals of the common words of a block partition
// beside the index (docs/blocks.md, "Word counts"): Bleve then never holds
// the words' postings and frequencies, most of its merges' work, the
// blocks' Bloom filters find their blocks, and a word's total is its count
// plus its events in the blocks before it became common. A word becomes
// common, for the blocks after it, once it occurs in two events of one
// block; ids and other near-unique values never do (an id an event repeats
// in two values, an id and an ARN ending with it, did when the rule was
// twice in a block). (A word occurring once in each of
// many blocks never becomes common by that rule.) Each batch stores what
// it added (delta) in the Bleve batch of its blocks, so the counts are
// stored with the events they count or not at all, and a partition sums
// the stored deltas at open
// (apply). A delta also holds the words that became common in its batch,
// with the sequence number their counting starts at, so that the moment a
// word became common survives a restart: its total is its count plus its
// events before that. Not safe for concurrent use.
type wordCounts struct {
	index   wordTable // word -> its number
	words   []string
	counts  []uint64
	since   []uint64 // the sequence number the word's count starts at
	deltas  []uint64 // added since the last delta
	stamps  []uint32 // the last event (stamp) counted for the word
	stamp   uint32   // the event being built, counting from 1
	touched []int    // the words added to or made common since the last delta
	refs    []uint64 // this block's words not common yet: hash<<32 | event<<24 | offset in arena
	spare   []uint64
	arena   []byte      // uvarint length and bytes of each word of refs
	strs    stringArena // the words (see sidecarField)
}

func newWordCounts() *wordCounts { return &wordCounts{} }

// textSeeds are the seeds of a word's hashes (the builder's, which the
// word table is keyed by).
var textSeeds = blockSeeds[fieldText]

// wordHash is the hash of word the block builder gives it (hashRare of
// fieldText).
func wordHash(word string) uint32 {
	return hashFrom(textSeeds.hash, unsafe.Slice(unsafe.StringData(word), len(word)))
}

// saw notes the word with hash h (wordHash) in the event being built:
// counted once an event if common, remembered for promote if not.
func (w *wordCounts) saw(h uint32, word []byte) {
	// The word is only compared, not kept: no copy.
	k, ok := w.index.find(h, unsafe.String(unsafe.SliceData(word), len(word)), w.words)
	if !ok {
		if len(w.arena) < 1<<24 { // past it, none of the block's later words is promoted
			w.refs = append(w.refs, uint64(h)<<32|uint64(uint8(w.stamp))<<24|uint64(len(w.arena)))
			w.arena = append(binary.AppendUvarint(w.arena, uint64(len(word))), word...)
		}
		return
	}
	if w.stamps[k] != w.stamp {
		w.stamps[k] = w.stamp
		w.add(k, 1)
	}
}

// add adds n events to the count of the word k.
func (w *wordCounts) add(k int, n uint64) {
	if w.deltas[k] == 0 {
		w.touched = append(w.touched, k)
	}
	w.deltas[k] += n
	w.counts[k] += n
}

// word returns the number of word, making it common from the sequence
// number since if new; fresh says it was.
func (w *wordCounts) word(word string, since uint64) (k int, fresh bool) {
	h := wordHash(word)
	if k, ok := w.index.find(h, word, w.words); ok {
		return k, false
	}
	k = len(w.words)
	w.index.add(h, k)
	w.words = append(w.words, w.strs.intern(word))
	w.counts = append(w.counts, 0)
	w.since = append(w.since, since)
	w.deltas = append(w.deltas, 0)
	w.stamps = append(w.stamps, 0)
	return k, true
}

// promote makes the words of the block just built that occurred in two
// events or more (by their hash: two words sharing one are promoted
// together, which costs a count and changes no total) common from the
// sequence number next (the next block's first) on. A block holds at most
// 256 events, so the low byte of the stamp tells its events apart.
func (w *wordCounts) promote(next uint64) {
	w.refs, w.spare = radixSort(w.refs, w.spare, 0, 64)
	for i := 0; i < len(w.refs); {
		j := i + 1
		for j < len(w.refs) && w.refs[j]>>32 == w.refs[i]>>32 {
			j++
		}
		// Sorted by event within the hash: two events if the first and the
		// last differ.
		if j-i >= 2 && uint8(w.refs[i]>>24) != uint8(w.refs[j-1]>>24) {
			off := int(uint32(w.refs[i]) & (1<<24 - 1))
			n, k := binary.Uvarint(w.arena[off:])
			if kw, fresh := w.word(string(w.arena[off+k:off+k+int(n)]), next); fresh {
				w.touched = append(w.touched, kw)
			}
		}
		i = j
	}
	w.refs, w.arena = w.refs[:0], w.arena[:0]
}

// total returns the events counted for word from the sequence number
// since on; ok is false if it is not common.
func (w *wordCounts) total(word string) (n, since uint64, ok bool) {
	k, ok := w.index.find(wordHash(word), word, w.words)
	if !ok {
		return 0, 0, false
	}
	return w.counts[k], w.since[k], true
}

// delta appends the words counted or made common since the last delta
// (uvarint length, word, uvarint count added, uvarint sequence number its
// count starts at), for a batch to store.
func (w *wordCounts) delta(buf []byte) []byte {
	for _, k := range w.touched {
		buf = binary.AppendUvarint(buf, uint64(len(w.words[k])))
		buf = append(buf, w.words[k]...)
		buf = binary.AppendUvarint(buf, w.deltas[k])
		buf = binary.AppendUvarint(buf, w.since[k])
		w.deltas[k] = 0
	}
	w.touched = w.touched[:0]
	return buf
}

// apply adds a stored delta to the counts, making its words common; the
// counts are left as they were if the delta is damaged.
func (w *wordCounts) apply(delta []byte) error {
	type entry struct {
		word     string
		n, since uint64
	}
	var es []entry
	for b := delta; len(b) > 0; {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return fmt.Errorf("index: damaged word counts at byte %d", len(delta)-len(b))
		}
		e := entry{word: string(b[k : k+int(l)])}
		b = b[k+int(l):]
		for _, v := range []*uint64{&e.n, &e.since} {
			if *v, k = binary.Uvarint(b); k <= 0 {
				return fmt.Errorf("index: damaged word counts at byte %d", len(delta)-len(b))
			}
			b = b[k:]
		}
		es = append(es, e)
	}
	for _, e := range es {
		k, _ := w.word(e.word, e.since)
		w.counts[k] += e.n
	}
	return nil
}

// wordTable finds a common word's number by its hash: open addressing with
// linear probing over slots of hash<<32 | number+1 (0: empty), at most half
// full. The builder has hashed each word already, and a Go map hashing it
// again with its string was 9% of the CPU of block ingest; a slot is also
// a third of a map entry's memory.
type wordTable struct {
	slots []uint64
	shift uint // 64 - log2(len(slots))
	n     int
}

// slot is where the probe for hash h starts.
func (t *wordTable) slot(h uint32) int { return int(spread(h) >> t.shift) }

// find returns the number of word, whose hash is h, among words.
func (t *wordTable) find(h uint32, word string, words []string) (int, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := len(t.slots) - 1
	for i := t.slot(h); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if uint32(s>>32) == h {
			if k := int(uint32(s)) - 1; words[k] == word {
				return k, true
			}
		}
	}
}

// add notes word number k with hash h (not in the table yet).
func (t *wordTable) add(h uint32, k int) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots = make([]uint64, max(1024, 2*len(old)))
		t.shift = 64
		for n := len(t.slots); n > 1; n >>= 1 {
			t.shift--
		}
		for _, s := range old {
			if s != 0 {
				t.put(s)
			}
		}
	}
	t.put(uint64(h)<<32 | uint64(k+1))
	t.n++
}

func (t *wordTable) put(s uint64) {
	mask := len(t.slots) - 1
	i := t.slot(uint32(s >> 32))
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// len is the number of words.
func (t *wordTable) len() int { return t.n }
