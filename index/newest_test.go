package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/codetrail/codetrail/index/record"
)

// Newest-first pages taken from eventTime windows are exactly the pages of
// the sorted whole: the reverse of oldest-first order (which sorts every
// match), with events without eventTime last, at every page size, for
// queries of every density, with and without a time range, also where
// a page ends amid events of the same time.
func TestNewestPagesFromWindows(t *testing.T) {
	s := openStoreCfg(t, func(*Config) {})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	end := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	names := []string{"StartBuild", "GetPipeline", "CreateDeployment", "GitPush", "RareCall"}
	for batch := range 4 {
		var evs []record.Event
		for i := range 300 {
			n := batch*300 + i
			name := names[rng.IntN(4)]
			if rng.IntN(100) == 0 {
				name = "RareCall"
			}
			when := ""
			switch r := rng.IntN(100); {
			case r < 5: // no eventTime: sorts oldest
			case r < 40: // a burst of events sharing their times, so that pages end amid ties
				when = fmt.Sprintf(`"eventTime":%q,`, end.Add(-time.Duration(rng.Int64N(int64(24*time.Hour)))).Truncate(10*time.Minute).Format(time.RFC3339))
			case r < 75: // a burst in the last day
				when = fmt.Sprintf(`"eventTime":%q,`, end.Add(-time.Duration(rng.Int64N(int64(24*time.Hour)))).Format(time.RFC3339))
			default: // spread over 60 days
				when = fmt.Sprintf(`"eventTime":%q,`, end.Add(-time.Duration(rng.Int64N(int64(60*24*time.Hour)))).Format(time.RFC3339))
			}
			raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"w-%05d",%s"eventSource":"codebuild.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"111122223333"}`, n, when, name)
			ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		if _, err := s.Put(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
	}
	all := func(r SearchRequest) ([]string, uint64) {
		t.Helper()
		var ids []string
		var total uint64
		for {
			res, err := s.Search(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			total = res.Total
			for _, h := range res.Hits {
				ids = append(ids, h.Event.ID)
			}
			if res.NextPageToken == "" {
				return ids, total
			}
			r.PageToken = res.NextPageToken
		}
	}
	windowPages := func() float64 {
		var m dto.Metric
		if err := metricNewestWindows.WithLabelValues("page").Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	before := windowPages()
	for _, q := range []string{"", "name:StartBuild", "name:RareCall", "name:NoSuchCall", "NOT name:GitPush"} {
		for _, rng := range [][2]time.Time{{}, {end.Add(-30 * 24 * time.Hour), {}}, {end.Add(-40 * 24 * time.Hour), end.Add(-2 * time.Hour)}} {
			oldest, ototal := all(SearchRequest{Query: q, Start: rng[0], End: rng[1], Order: OrderOldest, PageSize: 1000})
			slices.Reverse(oldest)
			for _, size := range []int{1, 7, 50} {
				got, total := all(SearchRequest{Query: q, Start: rng[0], End: rng[1], PageSize: size})
				if total != ototal || !slices.Equal(got, oldest) {
					t.Fatalf("query %q range %v page size %d: %d events (total %d), want %d (total %d)\ngot  %v\nwant %v",
						q, rng, size, len(got), total, len(oldest), ototal, head(got), head(oldest))
				}
			}
		}
	}
	if windowPages() == before {
		t.Fatal("no page came from a window: the test does not test them")
	}
}

func head(ids []string) []string { return ids[:min(len(ids), 12)] }
