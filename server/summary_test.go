package server

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// TestSearchSummaryView: the summary view, which the index answers from
// each event's stored summary instead of its record, carries the same
// fields as the full view without the record, problems included, page
// after page.
func TestSearchSummaryView(t *testing.T) {
	c, _ := start(t)
	recs := `{"Records":[` + rec(1, "CreateDeployment", "") + "," + rec(2, "GetDeployment", "AccessDenied") + "," +
		`{"eventID":"odd-1","eventTime":"not a time","eventName":"StartBuild","sourceIPAddress":"AWS Internal","readOnly":true,` +
		`"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/r/s","accountId":"123456789012"},` +
		`"resources":[{"ARN":"arn:aws:codebuild:us-east-1:123456789012:project/p"}]}`
	for i := 3; i < 40; i++ {
		recs += "," + rec(i, "ListApplications", "")
	}
	ingestAll(t, c, client.Input{Name: "a.json", Data: []byte(recs + "]}")})
	ctx := context.Background()
	for _, q := range []string{"", "name:StartBuild", "AccessDenied OR app1", "service:codedeploy"} {
		full := &pb.SearchRequest{Query: q, PageSize: 7, View: pb.EventView_EVENT_VIEW_FULL}
		sum := proto.Clone(full).(*pb.SearchRequest)
		sum.View = pb.EventView_EVENT_VIEW_SUMMARY
		for {
			fr, err := c.Search(ctx, full)
			if err != nil {
				t.Fatal(err)
			}
			sr, err := c.Search(ctx, sum)
			if err != nil {
				t.Fatal(err)
			}
			if len(fr.GetEvents()) == 0 || len(fr.GetEvents()) != len(sr.GetEvents()) || fr.GetNextPageToken() != sr.GetNextPageToken() {
				t.Fatalf("%q: %d events (next %q) in the summary view, %d (%q) in the full view", q, len(sr.GetEvents()), sr.GetNextPageToken(), len(fr.GetEvents()), fr.GetNextPageToken())
			}
			for i, e := range sr.GetEvents() {
				f := proto.Clone(fr.GetEvents()[i]).(*pb.Event)
				if f.GetRecord() == nil {
					t.Fatalf("%s: no record in the full view", f.GetEventId())
				}
				f.Record = nil
				if !proto.Equal(e, f) {
					t.Fatalf("%q: summary view\n%v\nfull view without the record\n%v", q, e, f)
				}
			}
			if fr.GetNextPageToken() == "" {
				break
			}
			full.PageToken, sum.PageToken = fr.GetNextPageToken(), sr.GetNextPageToken()
		}
	}
}
