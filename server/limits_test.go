package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// TestSearchLimits: concurrent searches and the search time limit are
// answered with their codes and a message naming the limit.
func TestSearchLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("concurrent", func(t *testing.T) {
		c, srv := startWith(t, func(c *Config) { c.MaxConcurrentSearches, c.SearchQueueWait = 1, 20*time.Millisecond })
		srv.searches <- struct{}{} // one search running
		_, err := c.Search(ctx, &pb.SearchRequest{Query: "*"})
		if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "--max-concurrent-searches") {
			t.Fatalf("search over the limit: %v", err)
		}
		_, err = c.GetEvent(ctx, "x", pb.EventView_EVENT_VIEW_SUMMARY)
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("get over the limit: %v", err)
		}
		<-srv.searches
		if _, err := c.Search(ctx, &pb.SearchRequest{Query: "*"}); err != nil {
			t.Fatalf("search with a free slot: %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		c, _ := startWith(t, func(c *Config) { c.SearchTimeout = time.Nanosecond })
		ingestAll(t, c, client.Input{Name: "a.json", Data: []byte(rec(1, "CreateDeployment", ""))})
		_, err := c.Search(ctx, &pb.SearchRequest{Query: "*"})
		if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "--search-timeout") {
			t.Fatalf("search over the time limit: %v", err)
		}
	})
}

// TestSubscribersPerIdentity: one identity cannot hold more streams than
// its limit; a stream closed frees its place.
func TestSubscribersPerIdentity(t *testing.T) {
	as := startAuth(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reader := pb.NewEventServiceClient(as.dial(t, client.WithToken(as.tokens["reader-a"])).Conn())
	var open []context.CancelFunc
	for i := range 100 {
		sctx, scancel := context.WithCancel(ctx)
		open = append(open, scancel)
		st, err := reader.Subscribe(sctx, &pb.SubscribeRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != nil { // caught up: the stream is open
			t.Fatalf("stream %d: %v", i, err)
		}
	}
	st, err := reader.Subscribe(ctx, &pb.SubscribeRequest{})
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "--max-subscribers-per-identity") {
		t.Fatalf("stream over the limit: %v", err)
	}
	// Another identity is not affected.
	admin := pb.NewEventServiceClient(as.dial(t, client.WithToken(as.tokens["admin"])).Conn())
	ast, err := admin.Subscribe(ctx, &pb.SubscribeRequest{})
	if err == nil {
		_, err = ast.Recv()
	}
	if err != nil {
		t.Fatalf("admin stream: %v", err)
	}
	open[0]()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := reader.Subscribe(ctx, &pb.SubscribeRequest{})
		if err == nil {
			_, err = st.Recv()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("place not freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
