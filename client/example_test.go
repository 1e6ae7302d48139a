package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"

	"google.golang.org/grpc"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
	"github.com/codetrail/codetrail/server"
)

// exampleServer starts a real codetrail server on a loopback port, with
// three CodePipeline events stored, and returns its address and a stop
// function. Real programs dial a running `codetrail serve` instead.
func exampleServer() (addr string, stop func()) {
	dir, err := os.MkdirTemp("", "codetrail-example")
	if err != nil {
		log.Fatal(err)
	}
	st, err := index.Open(index.DefaultConfig(dir), nil)
	if err != nil {
		log.Fatal(err)
	}
	in, err := ingest.New(ingest.DefaultConfig(), st, nil)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := server.New(server.DefaultConfig(), st, in, nil)
	if err != nil {
		log.Fatal(err)
	}
	g := grpc.NewServer()
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = g.Serve(lis); close(done) }()
	srv.SetServing(true)
	var recs []string
	for i, name := range []string{"StartPipelineExecution", "UpdatePipeline", "StartPipelineExecution"} {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventID":"ex-%d","eventTime":"2024-05-01T10:0%d:00Z","eventSource":"codepipeline.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"111122223333","requestParameters":{"name":"MyFirstPipeline"}}`, i, i, name))
	}
	if _, err := in.Input(context.Background(), "example", "example.json", []byte(`{"Records":[`+recs[0]+","+recs[1]+","+recs[2]+`]}`), nil); err != nil {
		log.Fatal(err)
	}
	return lis.Addr().String(), func() {
		srv.Shutdown()
		g.Stop()
		<-done
		in.Close()
		_ = st.Close()
		_ = os.RemoveAll(dir)
	}
}

func ExampleDial() {
	addr, stop := exampleServer()
	defer stop()

	// On loopback without TLS; elsewhere add client.WithTLS(cfg) and
	// client.WithToken(os.Getenv("CODETRAIL_TOKEN")).
	c, err := client.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	st, err := c.Stats(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("events stored:", st.GetEvents())
	// Output: events stored: 3
}

func ExampleClient_Search() {
	addr, stop := exampleServer()
	defer stop()
	c, err := client.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, err := c.Search(context.Background(), &pb.SearchRequest{
		Query:  "service:codepipeline AND eventName:StartPipelineExecution",
		Facets: []*pb.FacetRequest{{Field: "eventName"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("matches:", res.GetTotalHits())
	for _, e := range res.GetEvents() {
		fmt.Println(e.GetEventTime().AsTime().Format("15:04"), e.GetEventName(), e.GetEventId())
	}
	// Output:
	// matches: 2
	// 10:02 StartPipelineExecution ex-2
	// 10:00 StartPipelineExecution ex-0
}

func ExampleClient_SearchAll() {
	addr, stop := exampleServer()
	defer stop()
	c, err := client.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// Every match, fetching pages of 2 as the loop needs them.
	req := &pb.SearchRequest{Query: "eventSource:codepipeline.amazonaws.com", PageSize: 2, Order: pb.Order_ORDER_OLDEST_FIRST}
	for e, err := range c.SearchAll(context.Background(), req) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.GetEventId(), e.GetEventName())
	}
	// Output:
	// ex-0 StartPipelineExecution
	// ex-1 UpdatePipeline
	// ex-2 StartPipelineExecution
}

func ExampleClient_GetEvent() {
	addr, stop := exampleServer()
	defer stop()
	c, err := client.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	e, err := c.GetEvent(context.Background(), "ex-1", pb.EventView_EVENT_VIEW_FULL)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.GetEventName(), e.GetRecord().GetFields()["requestParameters"].GetStructValue().GetFields()["name"].GetStringValue())
	// Output: UpdatePipeline MyFirstPipeline
}

func ExampleClient_Subscribe() {
	addr, stop := exampleServer()
	defer stop()
	c, err := client.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// Replay what is stored, then follow live events; after a disconnect
	// the iterator reconnects and resumes by itself, without gaps or
	// repeats. Here it stops once the replay is done.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := client.SubscribeOptions{OnStatus: func(m *pb.SubscribeResponse, _ error) {
		if m.GetCaughtUp() != nil {
			fmt.Println("caught up; live events follow")
			cancel()
		}
	}}
	req := &pb.SubscribeRequest{Query: "eventName:StartPipelineExecution", Start: &pb.SubscribeRequest_FromStart{FromStart: true}}
	for e, err := range c.Subscribe(ctx, req, opts) {
		if err != nil {
			break // the context ended
		}
		fmt.Println(e.GetEventId(), e.GetEventName())
	}
	// Output:
	// ex-0 StartPipelineExecution
	// ex-2 StartPipelineExecution
	// caught up; live events follow
}

func ExampleClient_Ingest() {
	addr, stop := exampleServer()
	defer stop()
	c, err := client.Dial(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// Any shape the server knows: trail files, JSON lines, EventBridge
	// envelopes, lookup-events output... gzip or not.
	inputs := []client.Input{{Name: "push.jsonl", Data: []byte(`{"eventVersion":"1.08","eventID":"ex-9","eventTime":"2024-05-01T11:00:00Z","eventSource":"codecommit.amazonaws.com","eventName":"GitPush","awsRegion":"us-east-1","recipientAccountId":"111122223333"}` + "\n")}}
	res, err := c.Ingest(context.Background(), func() (client.Input, bool, error) {
		if len(inputs) == 0 {
			return client.Input{}, false, nil
		}
		in := inputs[0]
		inputs = inputs[1:]
		return in, true, nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", res.GetCounts().GetEventsStored())
	// Output: stored: 1
}
