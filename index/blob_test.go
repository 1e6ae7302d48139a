package index

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/codetrail/codetrail/index/record"
)

// TestBlobDictPinned: records stored with blob version 2 can be read only
// with the dictionary they were written with, so it must never change.
func TestBlobDictPinned(t *testing.T) {
	const want = "c3d10256bf0119459b36b0bab6ae92bc0d574ba6a9ae64b27ed68c2727fd9927"
	sum := sha256.Sum256(blobDictV1)
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("blobdict/v1.dict changed (sha256 %s, want %s): events stored with it would be unreadable; add a new dictionary and blob version instead", got, want)
	}
}

func TestBlobRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test events: %v", err)
	}
	real, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"eventID":"big","requestParameters":{"x":"` + strings.Repeat("abc", 1<<20) + `"}}`)
	tests := []struct {
		name string
		kind record.Kind
		seq  uint64
		raw  []byte
	}{
		{"testdata event", record.KindCloudTrail, 1, real},
		{"largest sequence", record.KindCloudTrail, ^uint64(0), real},
		{"other kind", record.Kind(3), 42, []byte(`{"eventName":"createProject"}`)},
		{"empty record", record.KindCloudTrail, 7, nil},
		{"3 MiB record", record.KindCloudTrail, 9, big},
		{"not JSON", record.KindCloudTrail, 10, []byte{0, 1, 2, 0xff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeBlob(tc.kind, tc.seq, tc.raw)
			if b[0] != blobZstd {
				t.Fatalf("blob version %d, want %d", b[0], blobZstd)
			}
			kind, seq, raw, err := decodeBlob(b)
			if err != nil {
				t.Fatal(err)
			}
			if kind != tc.kind || seq != tc.seq || !bytes.Equal(raw, tc.raw) {
				t.Fatalf("got kind %d seq %d raw %d bytes, want kind %d seq %d raw %d bytes", kind, seq, len(raw), tc.kind, tc.seq, len(tc.raw))
			}
		})
	}
}

// TestBlobCompresses: a CloudTrail record shrinks to well under half, which
// only the dictionary achieves on records this short.
func TestBlobCompresses(t *testing.T) {
	files, _ := filepath.Glob("testdata/events/e*.json")
	var raw, stored int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.TrimSpace(b)
		raw += len(b)
		stored += len(encodeBlob(record.KindCloudTrail, 1, b))
	}
	if raw == 0 {
		t.Fatal("no test events")
	}
	if stored*100 > raw*45 {
		t.Fatalf("%d files: %d bytes stored for %d raw (%d%%), want at most 45%%", len(files), stored, raw, stored*100/raw)
	}
}

// TestBlobVersion1: blobs written before compression still read.
func TestBlobVersion1(t *testing.T) {
	raw := []byte(`{"eventID":"old"}`)
	b := append([]byte{blobRaw, byte(record.KindCloudTrail)}, binary.AppendUvarint(nil, 300)...)
	b = append(b, raw...)
	kind, seq, got, err := decodeBlob(b)
	if err != nil || kind != record.KindCloudTrail || seq != 300 || !bytes.Equal(got, raw) {
		t.Fatalf("got %d %d %q %v", kind, seq, got, err)
	}
}

func TestBlobDecodeErrors(t *testing.T) {
	good := encodeBlob(record.KindCloudTrail, 5, []byte(`{"eventID":"x","eventName":"StartBuild"}`))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-6] ^= 0xff // inside the frame, checked by its checksum
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "unknown blob version"},
		{"unknown version", []byte{9, 0, 1, 'x'}, "unknown blob version"},
		{"bad sequence", []byte{blobZstd, 0, 0x80}, "bad sequence"},
		{"truncated frame", good[:len(good)-3], "decode stored event 5"},
		{"corrupt frame", corrupt, "decode stored event 5"},
		{"not zstd", []byte{blobZstd, 0, 1, 'h', 'i'}, "decode stored event 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := decodeBlob(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzBlob: any record round-trips, and any bytes decode or fail without
// panicking.
func FuzzBlob(f *testing.F) {
	f.Add([]byte(`{"eventVersion":"1.08","eventID":"a","eventName":"StartBuild"}`), uint64(1))
	f.Add([]byte{}, uint64(0))
	f.Add(encodeBlob(record.KindCloudTrail, 3, []byte(`{"a":1}`)), uint64(3))
	f.Fuzz(func(t *testing.T, b []byte, seq uint64) {
		_, _, _, _ = decodeBlob(b)
		kind, gotSeq, raw, err := decodeBlob(encodeBlob(record.KindCloudTrail, seq, b))
		if err != nil || kind != record.KindCloudTrail || gotSeq != seq || !bytes.Equal(raw, b) {
			t.Fatalf("round trip of %d bytes: kind %d seq %d (want %d) equal %v err %v", len(b), kind, gotSeq, seq, bytes.Equal(raw, b), err)
		}
	})
}
