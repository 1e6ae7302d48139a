package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/codetrail/codetrail/ingest/gen"
)

// genTrail returns generated events as trail files of per events each.
func genTrail(b *testing.B, n, per int) [][]byte {
	b.Helper()
	cfg := gen.DefaultConfig()
	cfg.Events = n
	recs, err := gen.Events(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var files [][]byte
	for i := 0; i < len(recs); i += per {
		var sb strings.Builder
		sb.WriteString(`{"Records":[`)
		for j := i; j < min(i+per, len(recs)); j++ {
			if j > i {
				sb.WriteByte(',')
			}
			sb.Write(recs[j])
		}
		sb.WriteString("]}")
		files = append(files, []byte(sb.String()))
	}
	return files
}

// BenchmarkInput measures decode + parse + index of generated trail files
// through the group committer (ingest to durable and searchable).
func BenchmarkInput(b *testing.B) {
	for _, per := range []int{10, 1000} {
		b.Run(fmt.Sprintf("records_per_file=%d", per), func(b *testing.B) {
			files := genTrail(b, 20000, per)
			for b.Loop() {
				b.StopTimer()
				in, _ := newIngesterB(b)
				b.StartTimer()
				ctx := context.Background()
				sem := make(chan struct{}, 256)
				done := make(chan struct{}, len(files))
				for i, f := range files {
					sem <- struct{}{}
					go func() {
						defer func() { <-sem; done <- struct{}{} }()
						if _, err := in.Input(ctx, "bench", fmt.Sprint(i), f, nil); err != nil {
							b.Error(err)
						}
					}()
				}
				for range files {
					<-done
				}
				b.StopTimer()
				in.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
