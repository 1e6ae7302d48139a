package index

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// Frozen shards. A partition that takes no more events (every one but
// the newest) keeps what its block shards hold in memory for searches, the
// sidecar, the value counts, the common words' totals and the ids' hashes,
// in a file beside each shard, mapped, instead of on the heap. At 10M
// events these were about 700 MB of an 860 MB live heap after opening (the
// sidecars alone some 430 MB), and the process's anonymous memory twice
// the live heap (the collector's headroom), four fifths of it for
// partitions no batch writes to again. Mapped, their pages are the page
// cache's, resident while searches read them and given back under memory
// pressure, and the collector never marks them.
//
// The file holds what grows with the events: the sidecar's times and, for
// each facetable field, its values sorted (looked up by binary search)
// with each value's events, a list of numbers while few, a serialized
// roaring bitmap read in place (roaring's FromBuffer) from fewMax on; each
// field's values over all events with their counts; the common words with
// their totals; the ids' hashes, sorted. The blocks, their orders, the
// bitmaps of the events holding each field (a few containers, mostly runs)
// and the hours' counts stay on the heap. The file is written again each
// time the partition is opened, from what its shard stores: it is never
// read across restarts, so it cannot disagree with the shard. It is about
// 50 bytes an event on disk.
//
// A mapping stays mapped while anything reaches its fileMap: each frozen
// sidecar does, and a search holds the writer, and so the sidecar, while
// it reads values or bitmaps from it (bitmaps derived from frozen ones
// may share their containers until cloned). Strings that outlive the
// search (facet values, a field's terms) are cloned out of it.

// sidecarMagic starts a frozen shard's file; the version after it.
const (
	sidecarMagic   = "ctsidecar"
	sidecarVersion = 1
)

// frozenStrings is a sorted run of strings in a mapping.
type frozenStrings struct {
	offs []uint32 // len+1: string i is strs[offs[i]:offs[i+1]]
	strs []byte
}

// len returns how many strings there are.
func (f *frozenStrings) len() int { return max(len(f.offs)-1, 0) }

// at returns string i, in the mapping: cloned before it is kept past
// the search.
func (f *frozenStrings) at(i int) string {
	b := f.strs[f.offs[i]:f.offs[i+1]]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// copied returns the strings copied out of the mapping, in one copy for
// them all, for results that outlive the search.
func (f *frozenStrings) copied() []string {
	all := string(f.strs)
	out := make([]string, f.len())
	for i := range out {
		out[i] = all[f.offs[i]:f.offs[i+1]]
	}
	return out
}

// find returns the number of v, by binary search.
func (f *frozenStrings) find(v string) (int, bool) {
	n := f.len()
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if f.at(m) < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && f.at(lo) == v
}

// check says whether the offsets are in order and within strs.
func (f *frozenStrings) check() bool {
	if len(f.offs) == 0 || int(f.offs[len(f.offs)-1]) != len(f.strs) {
		return false
	}
	for i := 1; i < len(f.offs); i++ {
		if f.offs[i-1] > f.offs[i] {
			return false
		}
	}
	return true
}

// frozenField is a sidecarField's values and their events in a mapped
// file.
type frozenField struct {
	frozenStrings          // the values
	posts         []uint64 // n+1: value i's events are data[posts[i]&^1:posts[i+1]&^1], a bitmap if posts[i]&1
	data          []byte
}

// events returns value i's events, their numbers or a bitmap in the
// mapping (copied on write).
func (f *frozenField) events(i int) (sidecarValue, error) {
	lo, hi := f.posts[i]&^1, f.posts[i+1]&^1
	if lo > hi || hi > uint64(len(f.data)) {
		return sidecarValue{}, fmt.Errorf("%w: value %d's events at %d to %d of %d", errFrozen, i, lo, hi, len(f.data))
	}
	b := f.data[lo:hi]
	if f.posts[i]&1 == 0 {
		if len(b)%4 != 0 {
			return sidecarValue{}, fmt.Errorf("%w: value %d's events in %d bytes", errFrozen, i, len(b))
		}
		few := u32s(b)
		return sidecarValue{few: few[:len(few):len(few)]}, nil
	}
	bm, err := fromBuffer(b)
	if err != nil {
		return sidecarValue{}, fmt.Errorf("value %d: %w", i, err)
	}
	return sidecarValue{bm: bm}, nil
}

// fromBuffer returns the bitmap serialized in b, read in place. roaring
// trusts what it reads: a damaged one may make it panic, which is
// returned as an error.
func fromBuffer(b []byte) (bm *roaring.Bitmap, err error) {
	defer func() {
		if r := recover(); r != nil {
			bm, err = nil, fmt.Errorf("%w: a bitmap: %v", errFrozen, r)
		}
	}()
	bm = roaring.New()
	if _, err := bm.FromBuffer(b); err != nil {
		return nil, fmt.Errorf("%w: a bitmap: %w", errFrozen, err)
	}
	return bm, nil
}

var errFrozen = errors.New("index: a frozen sidecar is damaged")

// u32s returns b's little-endian 4-byte numbers (nums).
func u32s(b []byte) []uint32 { return nums[uint32](b) }

// u64s returns b's little-endian 8-byte numbers (nums).
func u64s(b []byte) []uint64 { return nums[uint64](b) }

// nums returns b's little-endian numbers, in place where the machine is
// little-endian and b aligned for them (as the file's sections are),
// else decoded.
func nums[T uint32 | uint64](b []byte) []T {
	size := int(unsafe.Sizeof(T(0)))
	if len(b) < size {
		return nil
	}
	if p := unsafe.Pointer(unsafe.SliceData(b)); nativeLittle && uintptr(p)%uintptr(size) == 0 {
		return unsafe.Slice((*T)(p), len(b)/size)
	}
	out := make([]T, len(b)/size)
	for i := range out {
		if size == 4 {
			out[i] = T(binary.LittleEndian.Uint32(b[4*i:]))
		} else {
			out[i] = T(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return out
}

var nativeLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// fileMap is a frozen shard's mapped file, unmapped once nothing holds
// it (see above).
type fileMap struct{ data []byte }

// frozenWriter writes a frozen shard's sections, each 8-aligned, and
// notes where each starts and ends.
type frozenWriter struct {
	w    *bufio.Writer
	off  uint64
	toc  []uint64
	pad  [8]byte
	err  error
	nums []byte
}

func (w *frozenWriter) write(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.w.Write(b)
	w.off += uint64(len(b))
}

// align pads to a multiple of n (a power of two up to 8).
func (w *frozenWriter) align(n uint64) {
	if r := w.off & (n - 1); r != 0 {
		w.write(w.pad[:n-r])
	}
}

// section starts a section.
func (w *frozenWriter) section() { w.align(8); w.toc = append(w.toc, w.off) }

// end ends the section started last.
func (w *frozenWriter) end() { w.toc = append(w.toc, w.off) }

func (w *frozenWriter) u32s(vs []uint32) { writeNums(w, vs) }

func (w *frozenWriter) u64s(vs []uint64) { writeNums(w, vs) }

// writeNums writes vs as a section of little-endian numbers.
func writeNums[T uint32 | uint64](w *frozenWriter, vs []T) {
	w.section()
	for _, v := range vs {
		if unsafe.Sizeof(v) == 4 {
			w.nums = binary.LittleEndian.AppendUint32(w.nums[:0], uint32(v))
		} else {
			w.nums = binary.LittleEndian.AppendUint64(w.nums[:0], uint64(v))
		}
		w.write(w.nums)
	}
	w.end()
}

// shardState is what a block shard keeps in memory for searches: its
// sidecar, its value counts, its common words' totals by word and its ids'
// hashes (blockIDs' sorted run).
type shardState struct {
	side  *sidecar
	all   *allCounts
	words map[string]int // word -> its total in totals
	tots  []wordTotal
	ids   []uint64
	// frozenWords, once frozen, instead of words and tots.
	frozenWords *frozenWords
}

// freeze writes st to a file at path, maps it, and returns the state read
// from the mapping (never to be changed after: the partition takes no more
// events). st is left as it was, for the searches reading it meanwhile;
// the caller keeps the writer from changing it.
func (st *shardState) freeze(path string) (*shardState, error) {
	if err := st.write(path); err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	m := &fileMap{data: data}
	runtime.AddCleanup(m, func(unmap func()) { unmap() }, unmap)
	fz, err := st.read(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fz, nil
}

// write writes the file: the magic, the version and the number of events,
// the sections, and last the sections' table (each one's start and end)
// and the table's offset. The sections: the times; for each field its
// values (their offsets, their strings) and their events (their offsets,
// the events); for each field its values over all events and their counts;
// the common words and their totals (the number and the sequence number it
// counts from); the ids' hashes.
func (st *shardState) write(path string) error {
	s := st.side
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("freeze shard: %w", err)
	}
	w := &frozenWriter{w: bufio.NewWriterSize(f, 1<<20)}
	w.write([]byte(sidecarMagic))
	w.write(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, sidecarVersion), s.next))
	w.u32s(s.times[:s.next])
	for i := range s.fields {
		sf := &s.fields[i]
		vals := slices.Sorted(maps.Keys(sf.values))
		w.strings(vals)
		// The events' offsets, then the events: each value's numbers, or
		// its bitmap 4-aligned.
		posts := make([]uint64, 0, len(vals)+1)
		var at uint64
		for _, v := range vals {
			sv := &sf.vals[sf.values[v]]
			if sv.bm == nil {
				posts = append(posts, at)
				at += 4 * uint64(len(sv.few))
				continue
			}
			posts = append(posts, at|1)
			at += (sv.bm.GetSerializedSizeInBytes() + 3) &^ 3
		}
		w.u64s(append(posts, at))
		w.section()
		for _, v := range vals {
			sv := &sf.vals[sf.values[v]]
			if sv.bm == nil {
				for _, o := range sv.few {
					w.nums = binary.LittleEndian.AppendUint32(w.nums[:0], o)
					w.write(w.nums)
				}
				continue
			}
			if w.err == nil {
				var k int64
				k, w.err = sv.bm.WriteTo(w.w)
				w.off += uint64(k)
			}
			w.align(4)
		}
		w.end()
		if w.err == nil && w.off-w.toc[len(w.toc)-2] != at {
			w.err = fmt.Errorf("%s: %d bytes of events, %d expected", blockColumnFields[i], w.off-w.toc[len(w.toc)-2], at)
		}
	}
	for f := range blockColumnFields {
		vals := slices.Sorted(maps.Keys(st.all.values[f]))
		w.strings(vals)
		counts := make([]uint64, len(vals))
		for i, v := range vals {
			counts[i] = st.all.values[f][v]
		}
		w.u64s(counts)
	}
	words := slices.Sorted(maps.Keys(st.words))
	w.strings(words)
	tots := make([]uint64, 0, 2*len(words))
	for _, v := range words {
		t := st.tots[st.words[v]]
		tots = append(tots, t.n, t.since)
	}
	w.u64s(tots)
	w.u64s(st.ids)
	w.align(8)
	table := w.off
	for _, o := range w.toc {
		w.nums = binary.LittleEndian.AppendUint64(w.nums[:0], o)
		w.write(w.nums)
	}
	w.write(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint32(nil, uint32(len(w.toc))), table))
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if err := f.Close(); w.err == nil {
		w.err = err
	}
	if w.err != nil {
		return fmt.Errorf("freeze shard: %w", w.err)
	}
	return nil
}

// strings writes sorted strings as two sections, their offsets and their
// bytes.
func (w *frozenWriter) strings(vals []string) {
	offs := make([]uint32, 0, len(vals)+1)
	var n uint64
	for _, v := range vals {
		offs = append(offs, uint32(n))
		n += uint64(len(v))
	}
	if n > math.MaxUint32 && w.err == nil {
		w.err = fmt.Errorf("%d bytes of strings", n)
	}
	w.u32s(append(offs, uint32(n)))
	w.section()
	for _, v := range vals {
		w.write(unsafe.Slice(unsafe.StringData(v), len(v)))
	}
	w.end()
}

// frozenSections is the number of sections a file has (see write).
var frozenSections = 1 + 4*len(blockColumnFields) + 3*len(blockColumnFields) + 3 + 1

// read returns the state of the mapping m, written by write from st: the
// sidecar's blocks and orders, the bitmaps of the events holding each
// field, the value counts' events, missing values and hours are st's, on
// the heap; the rest is read in place.
func (st *shardState) read(m *fileMap) (*shardState, error) {
	s := st.side
	d := m.data
	head := len(sidecarMagic) + 8
	if len(d) < head+12 || string(d[:len(sidecarMagic)]) != sidecarMagic {
		return nil, fmt.Errorf("%w: no header", errFrozen)
	}
	if v := binary.LittleEndian.Uint32(d[len(sidecarMagic):]); v != sidecarVersion {
		return nil, fmt.Errorf("%w: version %d", errFrozen, v)
	}
	if n := binary.LittleEndian.Uint32(d[len(sidecarMagic)+4:]); n != s.next {
		return nil, fmt.Errorf("%w: %d events, the sidecar %d", errFrozen, n, s.next)
	}
	tail := d[len(d)-12:]
	n, table := int(binary.LittleEndian.Uint32(tail)), binary.LittleEndian.Uint64(tail[4:])
	if n != 2*frozenSections || table > uint64(len(d)-12) || uint64(len(d)-12)-table != uint64(8*n) {
		return nil, fmt.Errorf("%w: a table of %d at %d", errFrozen, n, table)
	}
	toc := u64s(d[table : table+uint64(8*n)])
	next := 0
	var bad error
	sec := func() []byte {
		i := next
		next++
		lo, hi := toc[2*i], toc[2*i+1]
		if lo > hi || hi > table || lo%8 != 0 {
			if bad == nil {
				bad = fmt.Errorf("%w: section %d at %d to %d", errFrozen, i, lo, hi)
			}
			return nil
		}
		return d[lo:hi]
	}
	strs := func(what string) frozenStrings {
		f := frozenStrings{offs: u32s(sec()), strs: sec()}
		if bad == nil && !f.check() {
			bad = fmt.Errorf("%w: %s", errFrozen, what)
		}
		return f
	}
	fz := &sidecar{unpaged: s.unpaged, next: s.next, blocks: s.blocks, wide: s.wide, byNewest: s.byNewest, byOldest: s.byOldest, mapped: m}
	if fz.times = u32s(sec()); bad == nil && len(fz.times) != int(s.next) {
		bad = fmt.Errorf("%w: %d times", errFrozen, len(fz.times))
	}
	fz.fields = make([]sidecarField, len(s.fields))
	for i := range s.fields {
		ff := &frozenField{frozenStrings: strs(blockColumnFields[i])}
		ff.posts, ff.data = u64s(sec()), sec()
		if n := ff.len(); bad == nil && (len(ff.posts) != n+1 || ff.posts[n]&^1 > uint64(len(ff.data))) {
			bad = fmt.Errorf("%w: field %s", errFrozen, blockColumnFields[i])
		}
		// Mostly runs of events: a few containers once optimized (a copy:
		// searches read s's meanwhile).
		has := s.fields[i].has.Clone()
		has.RunOptimize()
		exists := s.fields[i].exists
		if exists != nil {
			exists = exists.Clone()
			exists.RunOptimize()
		}
		fz.fields[i] = sidecarField{frozen: ff, has: has, exists: exists}
	}
	all := &allCounts{events: st.all.events, missing: st.all.missing, hours: st.all.hours, frozen: make([]frozenCounts, len(blockColumnFields))}
	for f := range blockColumnFields {
		fc := frozenCounts{frozenStrings: strs("counts of " + blockColumnFields[f])}
		if fc.counts = u64s(sec()); bad == nil && len(fc.counts) != fc.len() {
			bad = fmt.Errorf("%w: counts of %s", errFrozen, blockColumnFields[f])
		}
		all.frozen[f] = fc
	}
	words := &frozenWords{frozenStrings: strs("words")}
	if words.tots = u64s(sec()); bad == nil && len(words.tots) != 2*words.len() {
		bad = fmt.Errorf("%w: word totals", errFrozen)
	}
	ids := u64s(sec())
	if bad != nil {
		return nil, bad
	}
	return &shardState{side: fz, all: all, ids: ids, frozenWords: words}, nil
}

// frozenCounts is a field's values over all events and their counts
// (allCounts.values) in a mapping.
type frozenCounts struct {
	frozenStrings
	counts []uint64
}

// frozenWords is the common words and their totals (blockWriter.stored)
// in a mapping.
type frozenWords struct {
	frozenStrings
	tots []uint64 // 2 a word: its count, the sequence number it counts from
}

// total returns word's total; ok is false if it is not common.
func (f *frozenWords) total(word string) (n, since uint64, ok bool) {
	i, ok := f.find(word)
	if !ok {
		return 0, 0, false
	}
	return f.tots[2*i], f.tots[2*i+1], true
}
