package index

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/codetrail/codetrail/index/query"
)

// A pattern over every word of every event must start with a literal unless
// the store allows leading wildcards; patterns on a field always may.
func TestLeadingWildcard(t *testing.T) {
	events, _ := loadTestEvents(t)
	ctx := context.Background()
	for _, allow := range []bool{false, true} {
		s := openStoreCfg(t, func(c *Config) { c.AllowLeadingWildcard = allow })
		if _, err := s.Put(ctx, events, nil); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			q       string
			refused bool
		}{
			{q: "*Pipeline", refused: true},
			{q: "?reatePipeline", refused: true},
			{q: "/.*pipeline/", refused: true},
			{q: "/(create|delete)pipeline/", refused: true},
			{q: "eventName:Create* AND *build", refused: true},
			{q: "createpipe*"},
			{q: "/create.*/"},
			{q: "eventName:*Pipeline"},
			{q: "userIdentity.arn:*JaneDoe*"},
			{q: "requestParameters.pipelineName:*demo*"},
		} {
			_, err := s.Search(ctx, SearchRequest{Query: tc.q})
			if want := tc.refused && !allow; want != (err != nil) {
				t.Fatalf("allow=%v %q: err %v, want refused %v", allow, tc.q, err, want)
			}
			if err == nil {
				continue
			}
			var qe *query.Error
			if !errors.As(err, &qe) || !strings.Contains(err.Error(), "does not start with text, so it would read every word") {
				t.Fatalf("%q: want a positioned query error naming the wildcard, got %v", tc.q, err)
			}
			// Subscribe compiles the same way, so it refuses the same.
			if err := s.Subscribe(ctx, SubscribeRequest{Query: tc.q}, func(Message) error { return nil }); err == nil {
				t.Fatalf("%q: Subscribe accepted what Search refused", tc.q)
			}
		}
		s.Close()
	}
}
