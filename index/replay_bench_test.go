package index

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

var errDone = errors.New("caught up")

// BenchmarkReplay measures a Subscribe replaying all stored history (from
// the start, until caught up): every match and, for a query matching one
// event in four, the stretches in between.
func BenchmarkReplay(b *testing.B) {
	const n = 40000
	s := openStoreCfg(b, func(*Config) {})
	ctx := context.Background()
	for i := 0; i < n; i += 5000 {
		if _, err := s.Put(ctx, synthetic(b, 5000, i), nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []string{"", "eventName:GitPush"} {
		b.Run(fmt.Sprintf("query=%q", q), func(b *testing.B) {
			hits := 0
			for b.Loop() {
				hits = 0
				err := s.Subscribe(ctx, SubscribeRequest{Query: q, FromStart: true}, func(m Message) error {
					if m.Hit != nil {
						hits++
					}
					if m.CaughtUp != "" {
						return errDone
					}
					return nil
				})
				if !errors.Is(err, errDone) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(hits)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
