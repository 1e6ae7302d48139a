package server

import (
	"testing"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest/gen"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// genHits returns n generated events as the index hands them to the server.
func genHits(tb testing.TB, n int) []index.Hit {
	tb.Helper()
	evs, err := gen.Parsed(n)
	if err != nil {
		tb.Fatal(err)
	}
	hits := make([]index.Hit, len(evs))
	for i, ev := range evs {
		hits[i].Event = ev
	}
	return hits
}

// BenchmarkToEvent is the server's share of a search page or of a live
// event, per event and view: the full view renders the record as a Struct.
func BenchmarkToEvent(b *testing.B) {
	hits := genHits(b, 1000)
	for _, view := range []pb.EventView{pb.EventView_EVENT_VIEW_SUMMARY, pb.EventView_EVENT_VIEW_RAW, pb.EventView_EVENT_VIEW_FULL} {
		b.Run(view.String(), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if e := toEvent(hits[i%len(hits)], view); len(e.GetProblems()) > len(hits[i%len(hits)].Event.Problems) {
					b.Fatal(e.GetProblems())
				}
				i++
			}
		})
	}
}
