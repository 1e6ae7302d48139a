package server

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/protobuf/proto"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// A live event is marshalled once per view and the same bytes go to every
// subscriber of that view (codec.go): each must still get its own view,
// including one whose client compresses, exactly as a fresh replay gives it.
func TestLiveEventSharedAcrossViews(t *testing.T) {
	c, _ := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := pb.NewEventServiceClient(c.Conn())
	type sub struct {
		view pb.EventView
		opts []grpc.CallOption
		st   grpc.ServerStreamingClient[pb.SubscribeResponse]
	}
	var subs []*sub
	for _, v := range []pb.EventView{pb.EventView_EVENT_VIEW_UNSPECIFIED, pb.EventView_EVENT_VIEW_FULL, pb.EventView_EVENT_VIEW_SUMMARY, pb.EventView_EVENT_VIEW_RAW} {
		for _, opts := range [][]grpc.CallOption{nil, {grpc.UseCompressor(gzip.Name)}} {
			for range 2 {
				st, err := events.Subscribe(ctx, &pb.SubscribeRequest{Query: "name:CreateDeployment", View: v}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if m, err := st.Recv(); err != nil || m.GetCaughtUp() == nil {
					t.Fatalf("want caught-up first, got %v %v", m, err)
				}
				subs = append(subs, &sub{view: v, opts: opts, st: st})
			}
		}
	}
	ingestAll(t, c, client.Input{Name: "live.json", Data: []byte(`{"Records":[` + rec(2, "CreateDeployment", "") + `]}`)})
	for _, s := range subs {
		m, err := s.st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got := m.GetEvent()
		replay, err := events.Subscribe(ctx, &pb.SubscribeRequest{Query: "name:CreateDeployment", View: s.view, Start: &pb.SubscribeRequest_FromStart{FromStart: true}}, s.opts...)
		if err != nil {
			t.Fatal(err)
		}
		r, err := replay.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, r.GetEvent()) {
			t.Fatalf("view %v: live %v\nreplay %v", s.view, got, r.GetEvent())
		}
		full := s.view == pb.EventView_EVENT_VIEW_UNSPECIFIED || s.view == pb.EventView_EVENT_VIEW_FULL
		if (got.GetRecord() != nil) != full || (got.GetRecordJson() != "") != (s.view == pb.EventView_EVENT_VIEW_RAW) {
			t.Fatalf("view %v: record %v, record_json %q", s.view, got.GetRecord() != nil, got.GetRecordJson())
		}
	}
}
