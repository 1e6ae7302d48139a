package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

func TestMain(m *testing.M) {
	// Bleve starts a global pool of analysis workers on first use.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

// start runs a real server on a loopback port and returns a client.
func start(t *testing.T) (*client.Client, *Server) {
	t.Helper()
	return startWith(t, func(*Config) {})
}

// startWith is start with the server's config changed by mod.
func startWith(t *testing.T, mod func(*Config)) (*client.Client, *Server) {
	t.Helper()
	return startServer(t, index.DefaultConfig(t.TempDir()), mod)
}

// startServer is startWith over a store of cfg, with the gRPC server's
// options opts.
func startServer(t *testing.T, idx index.Config, mod func(*Config), opts ...grpc.ServerOption) (*client.Client, *Server) {
	t.Helper()
	st, err := index.Open(idx, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingest.New(ingest.DefaultConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	mod(&cfg)
	srv, err := New(cfg, st, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(append([]grpc.ServerOption{grpc.MaxRecvMsgSize(client.MaxMessageBytes)}, opts...)...)
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = g.Serve(lis); close(done) }()
	c, err := client.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		g.Stop()
		<-done
		in.Close()
		_ = st.Close()
	})
	srv.SetServing(true)
	return c, srv
}

func rec(i int, name, errCode string) string {
	e := ""
	if errCode != "" {
		e = fmt.Sprintf(`,"errorCode":%q`, errCode)
	}
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":"s-%04d","eventTime":"2024-04-0%dT12:00:%02dZ","eventSource":"codedeploy.amazonaws.com","eventName":%q,"awsRegion":"us-east-1","recipientAccountId":"123456789012","requestParameters":{"applicationName":"app%d"}%s}`,
		i, 1+i%3, i%60, name, i%2, e)
}

func ingestAll(t *testing.T, c *client.Client, inputs ...client.Input) *pb.IngestResponse {
	t.Helper()
	i := 0
	res, err := c.Ingest(context.Background(), func() (client.Input, bool, error) {
		if i == len(inputs) {
			return client.Input{}, false, nil
		}
		i++
		return inputs[i-1], true, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestIngestSearchGetStats(t *testing.T) {
	c, _ := start(t)
	ctx := context.Background()
	var lines []string
	for i := range 30 {
		code := ""
		if i%10 == 0 {
			code = "DeploymentLimitExceededException"
		}
		lines = append(lines, rec(i, "CreateDeployment", code))
	}
	res := ingestAll(t, c,
		client.Input{Name: "a.jsonl", Data: []byte(strings.Join(lines[:20], "\n"))},
		client.Input{Name: "b.json", Data: []byte(`{"Records":[` + strings.Join(lines[15:], ",") + `, 42]}`)},
		client.Input{Name: "c.bin", Data: []byte{0x1f, 0x8b, 0, 1, 2}},
	)
	n := res.GetCounts()
	if n.GetFiles() != 3 || n.GetEventsStored() != 30 || n.GetDuplicates() != 5 || n.GetInvalidRecords() != 1 || n.GetInvalidFiles() != 1 {
		t.Fatalf("ingest counts: %v", n)
	}
	if len(res.GetProblems()) != 2 || res.GetLastCursor() == "" {
		t.Fatalf("problems %v, cursor %q", res.GetProblems(), res.GetLastCursor())
	}

	sr, err := c.Search(ctx, &pb.SearchRequest{
		Query:     "errorCode:*",
		Facets:    []*pb.FacetRequest{{Field: "resource"}},
		Histogram: &pb.HistogramRequest{Interval: "1d"},
		View:      pb.EventView_EVENT_VIEW_RAW,
	})
	if err != nil {
		t.Fatal(err)
	}
	if sr.GetTotalHits() != 3 || len(sr.GetEvents()) != 3 || sr.GetEvents()[0].GetRecordJson() == "" || sr.GetEvents()[0].GetRecord() != nil {
		t.Fatalf("search: %v", sr)
	}
	if len(sr.GetHistogram()) != 3 || len(sr.GetFacets()) != 1 {
		t.Fatalf("histogram %v facets %v", sr.GetHistogram(), sr.GetFacets())
	}

	var all []string
	for e, err := range c.SearchAll(ctx, &pb.SearchRequest{PageSize: 7, Order: pb.Order_ORDER_OLDEST_FIRST}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e.GetEventId())
	}
	if len(all) != 30 {
		t.Fatalf("paged %d events", len(all))
	}

	ev, err := c.GetEvent(ctx, "s-0007", pb.EventView_EVENT_VIEW_FULL)
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetRecord().GetFields()["eventID"].GetStringValue() != "s-0007" || ev.GetService() != "codedeploy" || ev.GetCursor() == "" {
		t.Fatalf("get: %v", ev)
	}

	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetEvents() != 30 || st.GetIngest().GetInvalidFiles() != 1 || len(st.GetRecentProblems()) != 2 || len(st.GetSources()) != 1 {
		t.Fatalf("stats: %v", st)
	}
}

func TestErrorsAreStatusCodes(t *testing.T) {
	c, _ := start(t)
	ctx := context.Background()
	ingestAll(t, c, client.Input{Name: "x", Data: []byte(rec(1, "GetApplication", "") + "\n" + rec(2, "GetApplication", "") + "\n" + rec(3, "GetApplication", ""))})
	page, err := c.Search(ctx, &pb.SearchRequest{PageSize: 1})
	if err != nil || page.GetNextPageToken() == "" {
		t.Fatalf("page: %v %v", page, err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"bad query", func() error {
			_, err := c.Search(ctx, &pb.SearchRequest{Query: "name:(a OR"})
			return err
		}, codes.InvalidArgument, "query: at"},
		{"bad field for facet", func() error {
			_, err := c.Search(ctx, &pb.SearchRequest{Facets: []*pb.FacetRequest{{Field: "requestParameters.x"}}})
			return err
		}, codes.InvalidArgument, "cannot facet"},
		{"page size", func() error {
			_, err := c.Search(ctx, &pb.SearchRequest{PageSize: 1001})
			return err
		}, codes.InvalidArgument, "page size"},
		{"tampered page token", func() error {
			_, err := c.Search(ctx, &pb.SearchRequest{PageSize: 1, PageToken: page.GetNextPageToken() + "x"})
			return err
		}, codes.InvalidArgument, "page token"},
		{"empty histogram interval", func() error {
			_, err := c.Search(ctx, &pb.SearchRequest{Histogram: &pb.HistogramRequest{}})
			return err
		}, codes.InvalidArgument, "interval"},
		{"missing event", func() error {
			_, err := c.GetEvent(ctx, "nope", pb.EventView_EVENT_VIEW_SUMMARY)
			return err
		}, codes.NotFound, "not found"},
		{"empty event id", func() error {
			_, err := c.GetEvent(ctx, "", pb.EventView_EVENT_VIEW_SUMMARY)
			return err
		}, codes.InvalidArgument, "event_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s containing %q", err, tc.code, tc.msg)
			}
		})
	}
}

func TestHealthFollowsServing(t *testing.T) {
	c, srv := start(t)
	h := healthpb.NewHealthClient(c.Conn())
	check := func() healthpb.HealthCheckResponse_ServingStatus {
		r, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: pb.EventService_ServiceDesc.ServiceName})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetStatus()
	}
	if check() != healthpb.HealthCheckResponse_SERVING {
		t.Fatal("not serving")
	}
	srv.SetServing(false)
	if check() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatal("still serving")
	}
}

func TestToStatusTable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{fmt.Errorf("x: %w", index.ErrInvalid), codes.InvalidArgument},
		{fmt.Errorf("x: %w", index.ErrBadToken), codes.InvalidArgument},
		{index.ErrNotFound, codes.NotFound},
		{fmt.Errorf("x: %w", index.ErrCompacted), codes.OutOfRange},
		{index.ErrClosed, codes.Unavailable},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{errors.New("disk on fire"), codes.Internal},
	} {
		if got := status.Code(toStatus(tc.err)); got != tc.code {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.code)
		}
	}
}

func TestSubscribeStatuses(t *testing.T) {
	c, srv := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ingestAll(t, c, client.Input{Name: "x", Data: []byte(rec(1, "GetApplication", "") + "\n" + rec(2, "CreateDeployment", ""))})
	events := pb.NewEventServiceClient(c.Conn())
	recvErr := func(req *pb.SubscribeRequest) error {
		st, err := events.Subscribe(ctx, req)
		if err != nil {
			return err
		}
		for {
			if _, err := st.Recv(); err != nil {
				return err
			}
		}
	}
	for _, tc := range []struct {
		name string
		req  *pb.SubscribeRequest
		code codes.Code
		msg  string
	}{
		{"bad query", &pb.SubscribeRequest{Query: "a AND"}, codes.InvalidArgument, "query: at"},
		{"bad cursor", &pb.SubscribeRequest{Start: &pb.SubscribeRequest_AfterCursor{AfterCursor: "nope"}}, codes.InvalidArgument, "cursor"},
		{"empty cursor", &pb.SubscribeRequest{Start: &pb.SubscribeRequest_AfterCursor{}}, codes.InvalidArgument, "after_cursor"},
		{"batch too large", &pb.SubscribeRequest{MaxBatch: 1001}, codes.InvalidArgument, "max_batch 1001 is over 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := recvErr(tc.req)
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %s with %q", err, tc.code, tc.msg)
			}
		})
	}

	// A live stream gets the replay, the caught-up note, then ends with
	// Unavailable when the server shuts down.
	st, err := events.Subscribe(ctx, &pb.SubscribeRequest{Query: "name:CreateDeployment", Start: &pb.SubscribeRequest_FromStart{FromStart: true}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := st.Recv()
	if err != nil || first.GetEvent().GetEventId() != "s-0002" {
		t.Fatalf("first message %v %v", first, err)
	}
	caught, err := st.Recv()
	if err != nil || caught.GetCaughtUp().GetCursor() == "" {
		t.Fatalf("caught-up %v %v", caught, err)
	}
	stats, err := c.Stats(ctx)
	if err != nil || stats.GetSubscribers().GetActive() != 1 || stats.GetSubscribers().GetCaughtUp() != 1 {
		t.Fatalf("stats %v %v", stats.GetSubscribers(), err)
	}
	srv.Shutdown()
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("after shutdown: %v", err)
	}
}

func TestLagStatusCarriesCursor(t *testing.T) {
	err := toStatus(&index.LagError{Cursor: "abc", Behind: 10, For: time.Minute})
	if status.Code(err) != codes.ResourceExhausted || client.Cursor(err) != "abc" {
		t.Fatalf("lag status %v, cursor %q", err, client.Cursor(err))
	}
	err = toStatus(fmt.Errorf("wrapped: %w", &index.CompactedError{Oldest: "old"}))
	if status.Code(err) != codes.OutOfRange || !strings.Contains(err.Error(), "old") {
		t.Fatalf("compacted status %v", err)
	}
}
