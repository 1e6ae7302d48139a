package index

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/codetrail/codetrail/index/record"
)

// TestPhrase: phrases hold their words in order, next to each other;
// events holding the same words otherwise are not found. Over several
// shards, with the events of each case spread across them.
func TestPhrase(t *testing.T) {
	s := openStoreCfg(t, func(c *Config) { c.Shards = 3 })
	params := map[string]string{
		"in-order":  `{"message":"deploy failed for pipeline alpha"}`,
		"reordered": `{"message":"pipeline failed deploy alpha"}`,
		"gap":       `{"message":"deploy has failed"}`,
		"split":     `{"first":"deploy","second":"failed"}`, // values are one text, one after the other
		"partial":   `{"message":"deploy"}`,
		"case":      `{"message":"DEPLOY-Failed"}`,
	}
	var evs []record.Event
	for i := range 12 { // each case 12 times, spread over the shards
		for name, p := range params {
			raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"%s-%d","eventTime":"2024-03-01T00:00:%02dZ","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","awsRegion":"us-east-1","recipientAccountId":"111122223333","requestParameters":%s}`, name, i, i, p)
			ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
	}
	if _, err := s.Put(context.Background(), evs, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{`"deploy failed"`, []string{"case", "in-order", "split"}},
		{`deploy failed`, []string{"case", "gap", "in-order", "reordered", "split"}},
		{`"failed deploy"`, []string{"reordered"}},
		{`"pipeline alpha"`, []string{"in-order"}},
		{`"deploy failed" AND NOT requestParameters.second:failed`, []string{"case", "in-order"}},
		{`"deploy failed" OR "failed deploy"`, []string{"case", "in-order", "reordered", "split"}},
		{`"alpha pipeline"`, nil},
	} {
		kinds := map[string]int{}
		for _, id := range searchIDs(t, s, tc.q) {
			kinds[id[:strings.LastIndexByte(id, '-')]]++
		}
		var got []string
		for k, n := range kinds {
			if n != 12 {
				t.Errorf("%s: %d of the 12 %s events", tc.q, n, k)
			}
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: found %v, want %v", tc.q, got, tc.want)
		}
	}
}
