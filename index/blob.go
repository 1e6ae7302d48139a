package index

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/codetrail/codetrail/index/record"
)

// Blob versions, the first byte of every stored blob. Version 1 holds the
// record as it came; version 2 holds it compressed with zstd and the
// dictionary blobdict/v1.dict. Both are read; only version 2 is written.
const (
	blobRaw  = 1
	blobZstd = 2
)

// blobDictV1 was trained on generated events (cmd/blobdict). It must never
// change: TestBlobDictPinned guards it. On the records of a real trail
// (shared corpus, 2,900 records of 1,261 bytes) zap's per-document snappy
// leaves 978 bytes a record, zstd alone 765, zstd with it 485: one record is
// too short for zstd to learn CloudTrail's repeated keys and values.
//
//go:embed blobdict/v1.dict
var blobDictV1 []byte

// maxBlobRecord bounds what one stored record may decompress to, so that a
// corrupt blob cannot make a read allocate without bound. Records are far
// smaller (ingest refuses records over its own bound).
const maxBlobRecord = 64 << 20

type blobCodec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
	sum *s2.Dict // summaries (summary.go)
}

// codec returns the shared encoder and decoder; both are safe for
// concurrent EncodeAll and DecodeAll.
var codec = sync.OnceValues(func() (*blobCodec, error) {
	// Fastest compresses these records as well as the default level
	// (251 vs 266 bytes a generated record) in less time.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderDict(blobDictV1))
	if err != nil {
		return nil, fmt.Errorf("index: blob encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderDicts(blobDictV1), zstd.WithDecoderMaxMemory(maxBlobRecord))
	if err != nil {
		return nil, fmt.Errorf("index: blob decoder: %w", err)
	}
	// Summaries use the dictionary's content (its strings, without zstd's
	// tables) as an s2 dictionary.
	d, err := zstd.InspectDictionary(blobDictV1)
	if err != nil {
		return nil, fmt.Errorf("index: blob dictionary: %w", err)
	}
	sum := s2.MakeDict(d.Content(), nil)
	if sum == nil {
		return nil, fmt.Errorf("index: summary dictionary: %d bytes of content", len(d.Content()))
	}
	return &blobCodec{enc: enc, dec: dec, sum: sum}, nil
})

// encodeBlob packs what a hit needs to rebuild its Event: kind, sequence and
// the original record, compressed. Open has checked the codec, so an error
// here means the embedded dictionary is broken; the record is then kept
// uncompressed rather than lost.
func encodeBlob(kind record.Kind, seq uint64, raw []byte) []byte {
	c, err := codec()
	if err != nil {
		b := make([]byte, 0, 2+binary.MaxVarintLen64+len(raw))
		b = append(b, blobRaw, byte(kind))
		b = binary.AppendUvarint(b, seq)
		return append(b, raw...)
	}
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(raw)/2)
	b = append(b, blobZstd, byte(kind))
	b = binary.AppendUvarint(b, seq)
	return c.enc.EncodeAll(raw, b)
}

// decodeBlob reverses encodeBlob. The raw record of a version 1 blob
// aliases b; that of a version 2 blob is newly allocated.
func decodeBlob(b []byte) (kind record.Kind, seq uint64, raw []byte, err error) {
	if len(b) < 3 || (b[0] != blobRaw && b[0] != blobZstd) {
		return 0, 0, nil, fmt.Errorf("decode stored event: unknown blob version")
	}
	seq, n := binary.Uvarint(b[2:])
	if n <= 0 {
		return 0, 0, nil, fmt.Errorf("decode stored event: bad sequence")
	}
	kind, body := record.Kind(b[1]), b[2+n:]
	if b[0] == blobRaw {
		return kind, seq, body, nil
	}
	c, err := codec()
	if err != nil {
		return 0, 0, nil, err
	}
	raw, err = c.dec.DecodeAll(body, nil)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("decode stored event %d: %w", seq, err)
	}
	return kind, seq, raw, nil
}
