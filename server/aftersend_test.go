package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// TestWrapResponse: what a handler registers runs once its response is
// marshalled, through the codec, or at once when there is nothing to send.
func TestWrapResponse(t *testing.T) {
	msg := &pb.SearchResponse{TotalHits: 7, NextPageToken: "t"}
	for _, tc := range []struct {
		name     string
		register bool
		resp     any
		err      error
		wrapped  bool
	}{
		{"nothing registered", false, msg, nil, false},
		{"a response", true, msg, nil, true},
		{"an error", true, (*pb.SearchResponse)(nil), errors.New("failed"), false},
		{"no message", true, (*pb.SearchResponse)(nil), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, runs := &afterSend{}, 0
			ctx := context.WithValue(context.Background(), afterSendCtx{}, a)
			if tc.register && !onSent(ctx, func() { runs++ }) {
				t.Fatal("onSent found no afterSend")
			}
			got := wrapResponse(a, tc.resp, tc.err)
			s, wrapped := got.(*sending)
			if wrapped != tc.wrapped {
				t.Fatalf("wrapped %v, want %v", wrapped, tc.wrapped)
			}
			if !wrapped {
				if got != tc.resp || runs != btoi(tc.register) {
					t.Fatalf("response %v, ran %d times", got, runs)
				}
				return
			}
			if runs != 0 {
				t.Fatal("ran before the response was marshalled")
			}
			bufs, err := (codec{}).Marshal(s) // a message: the wrapped codec is not used
			if err != nil {
				t.Fatal(err)
			}
			want, _ := proto.Marshal(msg)
			if string(bufs.Materialize()) != string(want) || runs != 1 {
				t.Fatalf("marshalled %x (ran %d times), want %x once", bufs.Materialize(), runs, want)
			}
		})
	}
	if onSent(context.Background(), func() { t.Fatal("ran") }) {
		t.Fatal("onSent without CallInterceptors")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSearchPagesReused: pages whose messages and hits later searches
// reuse, searched side by side through a real gRPC server with
// CallInterceptors, each come out as the same search alone gives it.
func TestSearchPagesReused(t *testing.T) {
	for _, layout := range []string{index.LayoutEvents, index.LayoutBlocks} {
		t.Run(layout, func(t *testing.T) {
			cfg := index.DefaultConfig(t.TempDir())
			cfg.Layout = layout
			unary, stream := CallInterceptors(slog.New(slog.DiscardHandler))
			c, srv := startServer(t, cfg, func(*Config) {}, grpc.ChainUnaryInterceptor(unary), grpc.ChainStreamInterceptor(stream))
			names := []string{"CreateDeployment", "GetDeployment", "ListApplications", "StopDeployment"}
			var inputs []client.Input
			for f := range 6 {
				var body []byte
				body = append(body, `{"Records":[`...)
				for i := range 400 {
					if i > 0 {
						body = append(body, ',')
					}
					code := ""
					if i%7 == 0 {
						code = "AccessDenied"
					}
					body = append(body, rec(f*400+i, names[(f+i)%len(names)], code)...)
				}
				body = append(body, "]}"...)
				inputs = append(inputs, client.Input{Name: fmt.Sprintf("f%d.json", f), Data: body})
			}
			ingestAll(t, c, inputs...)
			ctx := context.Background()
			var reqs []*pb.SearchRequest
			for _, q := range append(names, "", "AccessDenied", "app1") {
				for _, view := range []pb.EventView{pb.EventView_EVENT_VIEW_SUMMARY, pb.EventView_EVENT_VIEW_FULL} {
					reqs = append(reqs, &pb.SearchRequest{Query: q, PageSize: 50, View: view})
				}
			}
			// What each page holds, from the index itself and converted
			// on messages of their own.
			want := make([]*pb.SearchResponse, len(reqs))
			for i, r := range reqs {
				res, err := srv.store.Search(ctx, index.SearchRequest{Query: r.GetQuery(), PageSize: 50, Summary: r.GetView() == pb.EventView_EVENT_VIEW_SUMMARY})
				if err != nil {
					t.Fatal(err)
				}
				want[i] = &pb.SearchResponse{TotalHits: int64(res.Total), NextPageToken: res.NextPageToken}
				for _, h := range res.Hits {
					want[i].Events = append(want[i].Events, toEvent(h, r.GetView()))
				}
				if len(want[i].GetEvents()) == 0 || want[i].Events[0].GetEventId() == "" {
					t.Fatalf("%q: nothing found", r.GetQuery())
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for w := range 4 {
				wg.Go(func() {
					for k := range 60 {
						i := (w*7 + k*5) % len(reqs)
						got, err := c.Search(ctx, reqs[i])
						if err != nil {
							errs <- err
							return
						}
						got.Took = nil
						if !proto.Equal(got, want[i]) {
							errs <- fmt.Errorf("%q (view %v), run %d of worker %d: a page unlike the same search alone", reqs[i].GetQuery(), reqs[i].GetView(), k, w)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
