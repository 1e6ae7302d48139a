package index

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/codetrail/codetrail/index/record"
)

// summaryEvents returns events of every shape a summary must carry: the
// record testdata of both kinds, generated events, and variedEvents (no
// time, a time Bleve cannot index and its problem, no resources).
func summaryEvents(t testing.TB) []record.Event {
	t.Helper()
	var out []record.Event
	for _, dir := range []struct {
		name string
		kind record.Kind
	}{{"cloudtrail", record.KindCloudTrail}, {"codecatalyst", record.KindCodeCatalyst}} {
		names, err := filepath.Glob(filepath.Join("record", "testdata", dir.name, "*.json"))
		if err != nil || len(names) == 0 {
			t.Fatalf("no %s testdata: %v", dir.name, err)
		}
		for _, n := range names {
			raw, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, parseKind(t, dir.kind, raw))
		}
	}
	out = append(out, generated(t, 200)...)
	out = append(out, variedEvents(t, 200)...)
	for _, raw := range []string{
		`{"eventID":"edge-1","eventTime":"9999-12-31T23:59:59.999999999Z","eventName":"Ünïcödé ✓","sourceIPAddress":"AWS Internal","readOnly":false}`,
		`{"eventID":"edge-2","eventTime":"0001-01-01T00:00:01Z","eventName":"","userAgent":"a\u0000b"}`,
	} {
		out = append(out, parseKind(t, record.KindCloudTrail, []byte(raw)))
	}
	for i := range out {
		out[i].Seq = uint64(i*7 + 1)
	}
	return out
}

func parseKind(t testing.TB, kind record.Kind, raw []byte) record.Event {
	t.Helper()
	ev, err := record.Parse(kind, raw)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return ev
}

// sameSummary fails unless got holds the typed fields of want, and no
// record or leaves.
func sameSummary(t *testing.T, got, want record.Event) {
	t.Helper()
	if !got.Time.Equal(want.Time) || got.Time.IsZero() != want.Time.IsZero() || got.Time.Location() != time.UTC {
		t.Fatalf("%s: time %v (%v), want %v", want.ID, got.Time, got.Time.Location(), want.Time)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	want.Raw, want.Leaves = nil, record.Leaves{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summary of %s:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

// packSummary compresses a summary payload as version v writes it:
// version 1 is no longer written, but the summaries of stores written
// before version 2 are still read.
func packSummary(t testing.TB, v byte, payload []byte) []byte {
	t.Helper()
	switch v {
	case summaryV1:
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithNoEntropyCompression(true), zstd.WithEncoderDict(blobDictV1))
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		return enc.EncodeAll(payload, []byte{summaryV1})
	case summaryV2:
		return compressSummary(payload)
	}
	t.Fatalf("no summary version %d", v)
	return nil
}

func TestSummaryRoundTrip(t *testing.T) {
	for _, ev := range summaryEvents(t) {
		sum := encodeSummary(&ev)
		if sum == nil || sum[0] != summaryV2 {
			t.Fatalf("summary %x: want version %d", sum[:min(len(sum), 1)], summaryV2)
		}
		got, err := decodeSummary(sum)
		if err != nil {
			t.Fatalf("%s: %v", ev.ID, err)
		}
		sameSummary(t, got, ev)
		// What stores hold from before version 2 reads the same.
		if got, err = decodeSummary(packSummary(t, summaryV1, summaryPayload(&ev))); err != nil {
			t.Fatalf("%s, version 1: %v", ev.ID, err)
		}
		sameSummary(t, got, ev)
	}
}

var update = flag.Bool("update", false, "rewrite testdata/summary-v2.bin")

// TestSummaryGolden: summaries of each version, written by the build that
// introduced it, still decode, whatever the compression libraries do now.
// -update writes the current version's file again.
func TestSummaryGolden(t *testing.T) {
	want, err := os.ReadFile("testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []byte{summaryV1, summaryV2} {
		path := fmt.Sprintf("testdata/summary-v%d.bin", v)
		if *update && v == summaryV2 {
			var ev record.Event
			if err := json.Unmarshal(want, &ev); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, encodeSummary(&ev), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != v {
			t.Fatalf("%s: version %d", path, b[0])
		}
		ev, err := decodeSummary(b)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		got, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if string(got)+"\n" != string(want) {
			t.Fatalf("%s decodes to\n%s\nwant\n%s", path, got, want)
		}
	}
}

// TestSummaryDamage: a summary that is cut, of another version or whose
// content is inconsistent is refused as errSummary, never half read.
func TestSummaryDamage(t *testing.T) {
	evs := summaryEvents(t)
	for _, v := range []byte{summaryV1, summaryV2} {
		sum := packSummary(t, v, summaryPayload(&evs[len(evs)/2]))
		for n := range len(sum) {
			if _, err := decodeSummary(sum[:n]); err == nil {
				t.Fatalf("version %d summary cut to %d of %d bytes decoded", v, n, len(sum))
			}
		}
	}
	sum := encodeSummary(&evs[len(evs)/2])
	other := append([]byte{summaryV2 + 1}, sum[1:]...)
	if _, err := decodeSummary(other); !errors.Is(err, errSummary) {
		t.Fatalf("version %d: %v", other[0], err)
	}
	// An s2 block whose header claims more than a record may hold.
	huge := append([]byte{summaryV2}, binary.AppendUvarint(nil, maxBlobRecord+1)...)
	if _, err := decodeSummary(append(huge, 0, 0, 0, 0)); !errors.Is(err, errSummary) {
		t.Fatalf("oversized: %v", err)
	}
	strings := func(n int) []byte {
		var b []byte
		for range n {
			b = appendString(b, "x")
		}
		return b
	}
	valid := append([]byte{byte(record.KindCloudTrail), 5, 0}, strings(22)...)
	valid = append(valid, 0, 0)
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"left over", append(append([]byte{}, valid...), 0)},
		{"list count beyond the data", append(append(append([]byte{}, valid[:len(valid)-2]...), 0), binary.AppendUvarint(nil, 1<<40)...)},
		{"string beyond the data", append([]byte{byte(record.KindCloudTrail), 5, 0, 200}, "short"...)},
		{"bad time", append(append([]byte{byte(record.KindCloudTrail), 5, 3}, "abc"...), strings(22)...)},
		{"endless number", append([]byte{byte(record.KindCloudTrail)}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
	} {
		for _, v := range []byte{summaryV1, summaryV2} {
			t.Run(fmt.Sprintf("%s/v%d", tc.name, v), func(t *testing.T) {
				if _, err := decodeSummary(packSummary(t, v, valid)); err != nil {
					t.Fatalf("the valid payload: %v", err)
				}
				if _, err := decodeSummary(packSummary(t, v, tc.payload)); !errors.Is(err, errSummary) {
					t.Fatalf("got %v, want errSummary", err)
				}
			})
		}
	}
}

func FuzzDecodeSummary(f *testing.F) {
	evs := summaryEvents(f)
	for i := 0; i < len(evs); i += 50 {
		f.Add(encodeSummary(&evs[i]))
		f.Add(packSummary(f, summaryV1, summaryPayload(&evs[i])))
	}
	f.Add([]byte{summaryV1})
	f.Add([]byte{summaryV2})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := decodeSummary(b)
		if err != nil {
			if !errors.Is(err, errSummary) {
				t.Fatalf("error %v is not errSummary", err)
			}
			return
		}
		// What decodes encodes to a summary that decodes the same.
		again, err := decodeSummary(encodeSummary(&ev))
		if err != nil {
			t.Fatal(err)
		}
		sameSummary(t, again, ev)
	})
}

// TestSearchSummary: pages in the summary view hold the same events, in
// the same order and with the same tokens, as full pages, their typed
// fields alike; from bitmaps and from Bleve, over shards and partitions;
// and events stored before summaries existed are read from their record.
func TestSearchSummary(t *testing.T) {
	ctx := context.Background()
	evs := summaryEvents(t)
	t.Cleanup(func() { writeSummaries = true })
	for _, withSummaries := range []bool{true, false} {
		if !withSummaries && testLayout != LayoutEvents {
			continue // per-event documents from before summaries
		}
		writeSummaries = withSummaries
		s := openStoreCfg(t, func(c *Config) { c.Shards = 2; c.PartitionMaxEvents = 200 })
		for i := 0; i < len(evs); i += 150 {
			if _, err := s.Put(ctx, evs[i:min(i+150, len(evs))], nil); err != nil {
				t.Fatal(err)
			}
		}
		writeSummaries = true
		for _, noBitmaps := range []bool{false, true} {
			s.noBitmaps.Store(noBitmaps)
			for _, req := range []SearchRequest{
				{},
				{Query: "eventName:StartBuild", PageSize: 7},
				{Query: "service:codebuild AND NOT errorCode:*", PageSize: 20},
				{Query: "u3 OR pipeline"},
				{Query: "*", Order: OrderOldest, PageSize: 30},
				{Query: "eventName:GetPipeline", Start: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 6, 4, 12, 30, 0, 0, time.UTC)},
				{Query: "codebuild", Order: OrderRelevance, PageSize: 100},
			} {
				full, sum := req, req
				sum.Summary = true
				for page := 0; ; page++ {
					fr, err := s.Search(ctx, full)
					if err != nil {
						t.Fatal(err)
					}
					sr, err := s.Search(ctx, sum)
					if err != nil {
						t.Fatal(err)
					}
					if len(fr.Hits) != len(sr.Hits) || fr.NextPageToken != sr.NextPageToken || fr.Total != sr.Total {
						t.Fatalf("summaries %v, bitmaps off %v, %+v page %d: %d hits (total %d, next %q), full view %d (%d, %q)",
							withSummaries, noBitmaps, req, page, len(sr.Hits), sr.Total, sr.NextPageToken, len(fr.Hits), fr.Total, fr.NextPageToken)
					}
					for i, h := range sr.Hits {
						f := fr.Hits[i]
						if h.Cursor != f.Cursor || h.Event.Seq != f.Event.Seq {
							t.Fatalf("%+v page %d hit %d: cursor %s seq %d, full view %s %d", req, page, i, h.Cursor, h.Event.Seq, f.Cursor, f.Event.Seq)
						}
						if !withSummaries {
							// Read from the record: the full event.
							if string(h.Event.Raw) != string(f.Event.Raw) {
								t.Fatalf("%s without summary: no record", f.Event.ID)
							}
							continue
						}
						sameSummary(t, h.Event, f.Event)
					}
					if fr.NextPageToken == "" {
						break
					}
					full.PageToken, sum.PageToken = fr.NextPageToken, sr.NextPageToken
				}
			}
		}
	}
}
