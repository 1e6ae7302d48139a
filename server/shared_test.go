package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
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

// A shutdown ends an Ingest stream whose client has gone quiet: what was
// received is stored, and the client is told to send the rest again.
func TestIngestEndsOnShutdown(t *testing.T) {
	c, srv := start(t)
	st, err := pb.NewIngestServiceClient(c.Conn()).Ingest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&pb.IngestRequest{Name: "one.json", Data: []byte(`{"Records":[` + rec(1, "CreateDeployment", "") + `]}`)}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if s, err := c.Stats(context.Background()); err == nil && s.GetEvents() == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the input was not stored")
		}
	}
	srv.Shutdown() // the client sends nothing more and does not close
	_, err = st.CloseAndRecv()
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "the 1 inputs received were stored") {
		t.Fatalf("got %v, want Unavailable saying what was stored", err)
	}
}
