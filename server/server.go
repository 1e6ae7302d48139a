package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
	"github.com/codetrail/codetrail/server/auth"
)

type ingestCounts = ingest.Counts

// Config configures the gRPC adapters.
type Config struct {
	// IngestParallel is how many inputs of one Ingest stream are decoded and
	// stored at once.
	IngestParallel int
	// MaxProblems bounds the problems an Ingest response lists.
	MaxProblems int
	// SearchTimeout bounds one Search or GetEvent (a caller's shorter
	// deadline wins).
	SearchTimeout time.Duration
	// MaxConcurrentSearches bounds Search and GetEvent calls running at
	// once; a call waits up to SearchQueueWait for a slot, then gets
	// ResourceExhausted.
	MaxConcurrentSearches int
	SearchQueueWait       time.Duration
	// MaxSubscribersPerIdentity bounds the open Subscribe streams of one
	// identity (when callers are checked); the index bounds the total.
	MaxSubscribersPerIdentity int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{IngestParallel: 4, MaxProblems: 100, SearchTimeout: 30 * time.Second,
		MaxConcurrentSearches: 64, SearchQueueWait: time.Second, MaxSubscribersPerIdentity: 100}
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	if c.IngestParallel < 1 || c.MaxProblems < 0 {
		return errors.New("server: ingest parallelism must be positive and max problems not negative")
	}
	if c.SearchTimeout <= 0 || c.MaxConcurrentSearches < 1 || c.SearchQueueWait < 0 || c.MaxSubscribersPerIdentity < 1 {
		return errors.New("server: search timeout, concurrent searches and subscribers per identity must be positive")
	}
	return nil
}

// Server implements EventService and IngestService over a store and an
// ingester, and owns the gRPC health status.
type Server struct {
	pb.UnimplementedEventServiceServer
	pb.UnimplementedIngestServiceServer

	cfg    Config
	log    *slog.Logger
	store  *index.Store
	ingest *ingest.Ingester
	health *health.Server

	closing context.Context // done when Shutdown is called: streams end
	close   context.CancelFunc

	searches chan struct{} // a token per Search or GetEvent running

	subMu       sync.Mutex
	subsByIdent map[string]int // open Subscribe streams per identity name
}

var (
	_ pb.EventServiceServer  = (*Server)(nil)
	_ pb.IngestServiceServer = (*Server)(nil)
)

// New returns a Server. Health starts NOT_SERVING; call SetServing.
func New(cfg Config, store *index.Store, in *ingest.Ingester, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, log: log, store: store, ingest: in, health: health.NewServer(),
		searches: make(chan struct{}, cfg.MaxConcurrentSearches), subsByIdent: map[string]int{}}
	s.closing, s.close = context.WithCancel(context.Background())
	s.SetServing(false)
	return s, nil
}

// Register adds the services, health and reflection to g.
func (s *Server) Register(g *grpc.Server) {
	pb.RegisterEventServiceServer(g, s)
	pb.RegisterIngestServiceServer(g, s)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
}

// SetServing sets the health of the server and of each service.
func (s *Server) SetServing(ok bool) { s.SetHealth(ok, ok) }

// SetHealth sets the health of each service: EventService (Search,
// Subscribe) serves once the index is open; IngestService and the server
// as a whole ("") also wait for the sources to have resumed from their
// checkpoints.
func (s *Server) SetHealth(indexOpen, sourcesResumed bool) {
	status := func(ok bool) healthpb.HealthCheckResponse_ServingStatus {
		if ok {
			return healthpb.HealthCheckResponse_SERVING
		}
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	s.health.SetServingStatus(pb.EventService_ServiceDesc.ServiceName, status(indexOpen))
	for _, name := range []string{"", pb.IngestService_ServiceDesc.ServiceName} {
		s.health.SetServingStatus(name, status(indexOpen && sourcesResumed))
	}
}

// Shutdown marks the server NOT_SERVING for good, so watchers of health see
// it go before the listener does, and ends open Subscribe streams with
// Unavailable so their clients resume elsewhere or later (GracefulStop
// would otherwise wait for them forever).
func (s *Server) Shutdown() {
	s.health.Shutdown()
	s.close()
}

var orders = map[pb.Order]index.Order{
	pb.Order_ORDER_UNSPECIFIED:  index.OrderNewest,
	pb.Order_ORDER_NEWEST_FIRST: index.OrderNewest,
	pb.Order_ORDER_OLDEST_FIRST: index.OrderOldest,
	pb.Order_ORDER_RELEVANCE:    index.OrderRelevance,
}

// searchSlot waits for a search slot and bounds the call's time; release
// must be called.
func (s *Server) searchSlot(ctx context.Context) (context.Context, func(), error) {
	wait := time.NewTimer(s.cfg.SearchQueueWait)
	defer wait.Stop()
	select {
	case s.searches <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, toStatus(ctx.Err())
	case <-wait.C:
		return nil, nil, status.Errorf(codes.ResourceExhausted, "%d searches are running, the limit (--max-concurrent-searches); try again shortly", s.cfg.MaxConcurrentSearches)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SearchTimeout)
	return ctx, func() { cancel(); <-s.searches }, nil
}

// searchError names the time limit when it is what ended a call.
func (s *Server) searchError(ctx, parent context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && parent.Err() == nil && ctx.Err() != nil {
		return status.Errorf(codes.DeadlineExceeded, "the search took longer than the %s limit (--search-timeout); narrow the query or the time range", s.cfg.SearchTimeout)
	}
	return toStatus(err)
}

// Search implements EventService.Search.
func (s *Server) Search(parent context.Context, req *pb.SearchRequest) (*pb.SearchResponse, error) {
	ctx, release, err := s.searchSlot(parent)
	if err != nil {
		return nil, err
	}
	defer release()
	order, ok := orders[req.GetOrder()]
	if !ok {
		return nil, invalid(fmt.Sprintf("order %d is not one of ORDER_NEWEST_FIRST, ORDER_OLDEST_FIRST, ORDER_RELEVANCE", req.GetOrder()))
	}
	r := index.SearchRequest{
		Query:     req.GetQuery(),
		PageSize:  int(req.GetPageSize()),
		PageToken: req.GetPageToken(),
		Order:     order,
		Scope:     callerScope(ctx),
		Summary:   req.GetView() == pb.EventView_EVENT_VIEW_SUMMARY,
	}
	if r.Start, err = optTime(req.GetStartTime(), "start_time"); err != nil {
		return nil, err
	}
	if r.End, err = optTime(req.GetEndTime(), "end_time"); err != nil {
		return nil, err
	}
	for _, f := range req.GetFacets() {
		r.Facets = append(r.Facets, index.FacetRequest{Field: f.GetField(), Size: int(f.GetSize())})
	}
	if h := req.GetHistogram(); h != nil {
		if h.GetInterval() == "" {
			return nil, invalid("histogram.interval is empty: use e.g. 1h or 1d")
		}
		r.HistogramInterval = h.GetInterval()
	}
	res, err := s.store.Search(ctx, r)
	if err != nil {
		return nil, s.searchError(ctx, parent, err)
	}
	page := getPageEvents(len(res.Hits))
	for _, h := range res.Hits {
		page.add(h, req.GetView())
	}
	out := &pb.SearchResponse{
		TotalHits:     int64(res.Total),
		NextPageToken: res.NextPageToken,
		Events:        page.list,
		Warnings:      res.Warnings,
	}
	// The events' messages and the hits they share strings with are
	// reused by later searches once this response is marshalled; called
	// without CallInterceptors (no one to say when), they are left to the
	// collector.
	onSent(parent, func() {
		page.release()
		res.Release()
	})
	for _, f := range res.Facets {
		pf := &pb.Facet{Field: f.Field, Other: int64(f.Other), Missing: int64(f.Missing)}
		for _, v := range f.Values {
			pf.Counts = append(pf.Counts, &pb.FacetCount{Value: v.Value, Count: int64(v.Count)})
		}
		out.Facets = append(out.Facets, pf)
	}
	for _, b := range res.Histogram {
		out.Histogram = append(out.Histogram, &pb.HistogramBucket{Start: timestamppb.New(b.Start), Count: int64(b.Count)})
	}
	out.Took = durationpb.New(res.Took)
	return out, nil
}

func optTime(ts *timestamppb.Timestamp, name string) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, invalid(fmt.Sprintf("%s: %v", name, err))
	}
	return ts.AsTime(), nil
}

// GetEvent implements EventService.GetEvent.
func (s *Server) GetEvent(parent context.Context, req *pb.GetEventRequest) (*pb.GetEventResponse, error) {
	if req.GetEventId() == "" {
		return nil, invalid("event_id is empty")
	}
	ctx, release, err := s.searchSlot(parent)
	if err != nil {
		return nil, err
	}
	defer release()
	h, err := s.store.Get(ctx, req.GetEventId(), callerScope(ctx))
	if err != nil {
		return nil, s.searchError(ctx, parent, err)
	}
	return &pb.GetEventResponse{Event: toEvent(h, req.GetView())}, nil
}

// callerScope is what the caller may see; the zero Scope when calls are
// not checked or the caller is not limited.
func callerScope(ctx context.Context) index.Scope {
	if id, ok := auth.FromContext(ctx); ok {
		return id.Scope
	}
	return index.Scope{}
}

// scopedStats answers Stats for a caller without admin: the count and time
// bounds of the events in its scope, nothing about sources, subscribers,
// disk or sequence numbers, which would tell of events outside it.
func (s *Server) scopedStats(ctx context.Context, scope index.Scope) (*pb.StatsResponse, error) {
	st, err := s.store.ScopedStats(ctx, scope)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.StatsResponse{Events: int64(st.Events)}
	if !st.Oldest.IsZero() {
		out.OldestEventTime = timestamppb.New(st.Oldest)
		out.NewestEventTime = timestamppb.New(st.Newest)
	}
	return out, nil
}

// Stats implements EventService.Stats: in full for admin callers (or when
// calls are not checked), limited to the scope for the others.
func (s *Server) Stats(ctx context.Context, _ *pb.StatsRequest) (*pb.StatsResponse, error) {
	if id, ok := auth.FromContext(ctx); ok && !id.Admin() {
		return s.scopedStats(ctx, id.Scope)
	}
	st := s.store.Stats()
	total, sources, problems := s.ingest.Stats()
	out := &pb.StatsResponse{
		Events:         int64(st.Events),
		Cursor:         st.Cursor,
		IndexSizeBytes: st.DiskBytes,
		Segments:       int64(st.Segments),
		Compacting:     st.Compacting,
		Ingest:         toCounts(total),
		Subscribers:    toSubscriberStats(s.store.SubscriberStats()),
	}
	if !st.Oldest.IsZero() {
		out.OldestEventTime = timestamppb.New(st.Oldest)
		out.NewestEventTime = timestamppb.New(st.Newest)
	}
	now := time.Now()
	for _, src := range sources {
		ps := &pb.SourceStats{Name: src.Name, Counts: toCounts(src.Counts), LastError: src.LastError}
		if !src.LastErrorTime.IsZero() {
			ps.LastErrorTime = timestamppb.New(src.LastErrorTime)
		}
		if !src.LastSuccess.IsZero() {
			ps.LastSuccessTime = timestamppb.New(src.LastSuccess)
		}
		if !src.NewestEvent.IsZero() {
			ps.Lag = durationpb.New(now.Sub(src.NewestEvent))
		}
		if src.Integrity != nil {
			ps.Integrity = toIntegrity(*src.Integrity)
		}
		out.Sources = append(out.Sources, ps)
	}
	for _, p := range problems {
		out.RecentProblems = append(out.RecentProblems, toProblem(p))
	}
	return out, nil
}

func toProblem(p ingest.Problem) *pb.IngestProblem {
	return &pb.IngestProblem{Name: p.Name, Position: p.Pos, Reason: p.Reason, Time: timestamppb.New(p.Time)}
}

// holdSubscriber counts an open stream of identity name, refusing one over
// MaxSubscribersPerIdentity.
func (s *Server) holdSubscriber(name string) (func(), error) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if n := s.subsByIdent[name]; n >= s.cfg.MaxSubscribersPerIdentity {
		return nil, status.Errorf(codes.ResourceExhausted, "identity %s has %d open subscriptions, the limit (--max-subscribers-per-identity)", name, n)
	}
	s.subsByIdent[name]++
	return func() {
		s.subMu.Lock()
		defer s.subMu.Unlock()
		if s.subsByIdent[name]--; s.subsByIdent[name] == 0 {
			delete(s.subsByIdent, name)
		}
	}, nil
}

// maxSubscribeBatch bounds SubscribeRequest.max_batch.
const maxSubscribeBatch = 1000

// Subscribe implements EventService.Subscribe: this handler is the only
// goroutine that sends on the stream.
func (s *Server) Subscribe(req *pb.SubscribeRequest, stream grpc.ServerStreamingServer[pb.SubscribeResponse]) error {
	r := index.SubscribeRequest{Query: req.GetQuery(), Scope: callerScope(stream.Context())}
	switch st := req.GetStart().(type) {
	case *pb.SubscribeRequest_AfterCursor:
		if st.AfterCursor == "" {
			return invalid("after_cursor is empty")
		}
		r.AfterCursor = st.AfterCursor
	case *pb.SubscribeRequest_StartTime:
		t, err := optTime(st.StartTime, "start_time")
		if err != nil {
			return err
		}
		r.StartTime = t
	case *pb.SubscribeRequest_FromStart:
		r.FromStart = st.FromStart
	}
	if n := req.GetMaxBatch(); n > maxSubscribeBatch {
		return invalid(fmt.Sprintf("max_batch %d is over %d", n, maxSubscribeBatch))
	}
	r.MaxBatch = int(req.GetMaxBatch())
	if id, ok := auth.FromContext(stream.Context()); ok {
		release, err := s.holdSubscriber(id.Name)
		if err != nil {
			return err
		}
		defer release()
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	stop := context.AfterFunc(s.closing, cancel)
	defer stop()
	view := req.GetView()
	send := func(e *encoded) error { return stream.SendMsg(e) }
	err := s.store.Subscribe(ctx, r, func(m index.Message) error {
		var resp pb.SubscribeResponse
		switch {
		case m.Hits != nil:
			return encodeBatches(m.Hits, view, send)
		case m.Hit != nil:
			// A live event goes to every subscriber whose query it
			// matches: its message is marshalled once per view and the
			// bytes are sent (see codec.go).
			b, err := eventEncoding(m.Hit, view)
			if err != nil {
				return err
			}
			return send(&encoded{parts: [][]byte{b}})
		case m.CaughtUp != "":
			resp.Message = &pb.SubscribeResponse_CaughtUp{CaughtUp: &pb.CaughtUp{Cursor: m.CaughtUp}}
		default:
			resp.Message = &pb.SubscribeResponse_Progress{Progress: &pb.Progress{Cursor: m.Progress}}
		}
		return stream.Send(&resp)
	})
	switch {
	case s.closing.Err() != nil && stream.Context().Err() == nil:
		return status.Error(codes.Unavailable, "server is shutting down; resume after the last cursor received")
	case stream.Context().Err() != nil:
		s.log.Debug("subscriber left", "err", stream.Context().Err())
		return toStatus(stream.Context().Err())
	}
	var lag *index.LagError
	if errors.As(err, &lag) {
		s.log.Warn("subscriber ended for lag", "behind", lag.Behind, "for", lag.For)
	}
	return toStatus(err)
}

// Ingest implements IngestService.Ingest: inputs are decoded and stored
// IngestParallel at a time; the answer comes once all are durable.
func (s *Server) Ingest(stream grpc.ClientStreamingServer[pb.IngestRequest, pb.IngestResponse]) error {
	ctx := stream.Context()
	var (
		mu       sync.Mutex
		total    ingest.Counts
		problems []*pb.IngestProblem
		lastSeq  uint64
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, s.cfg.IngestParallel)
	)
	// Receive beside the loop, so that a shutdown ends even a stream whose
	// client sends nothing: the inputs in work are stored, the rest is
	// refused with Unavailable (the client sends it again; ingest is
	// idempotent).
	type received struct {
		req *pb.IngestRequest
		err error
	}
	reqs := make(chan received)
	go func() {
		for {
			req, err := stream.Recv()
			select {
			case reqs <- received{req, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	n := 0
	for {
		var r received
		select {
		case r = <-reqs:
		case <-s.closing.Done():
			wg.Wait()
			if firstErr != nil {
				return toStatus(firstErr)
			}
			return status.Errorf(codes.Unavailable, "server is shutting down; the %d inputs received were stored, send the ones after them again", n)
		}
		if r.err == io.EOF {
			break
		}
		if r.err != nil {
			wg.Wait()
			return r.err
		}
		req := r.req
		n++
		name := req.GetName()
		if name == "" {
			name = fmt.Sprintf("input %d", n)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return toStatus(ctx.Err())
		}
		wg.Add(1)
		go func(name string, data []byte) {
			defer wg.Done()
			defer func() { <-slots }()
			res, err := s.ingest.Input(ctx, "ingest-rpc", name, data, nil)
			mu.Lock()
			defer mu.Unlock()
			total.Add(res.Counts)
			for _, p := range res.Problems {
				if len(problems) < s.cfg.MaxProblems {
					problems = append(problems, toProblem(p))
				}
			}
			if res.LastSeq > lastSeq {
				lastSeq = res.LastSeq
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}(name, req.GetData())
	}
	wg.Wait()
	if firstErr != nil {
		return toStatus(firstErr)
	}
	out := &pb.IngestResponse{Counts: toCounts(total), Problems: problems}
	if lastSeq > 0 {
		out.LastCursor = s.store.Cursor(lastSeq)
	}
	return stream.SendAndClose(out)
}

func toSubscriberStats(st index.SubscriberStats) *pb.SubscriberStats {
	return &pb.SubscriberStats{Active: st.Active, CaughtUp: st.CaughtUp, Lagging: st.Lagging, EndedForLag: st.EndedForLag}
}
