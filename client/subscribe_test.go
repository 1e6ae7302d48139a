package client_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/index/record"
	"github.com/codetrail/codetrail/ingest"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
	"github.com/codetrail/codetrail/server"
)

func TestMain(m *testing.M) {
	// Bleve starts a global pool of analysis workers on first use.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

// restartable is a real gRPC server on a fixed loopback address that the
// test can kill and start again over the same store.
type restartable struct {
	t    *testing.T
	addr string
	srv  *server.Server
	mu   sync.Mutex
	g    *grpc.Server
	done chan struct{}
}

func (r *restartable) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lis net.Listener
	var err error
	for range 100 { // the port may linger briefly after a kill
		if lis, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = lis.Addr().String()
	r.g = grpc.NewServer()
	r.srv.Register(r.g)
	r.done = make(chan struct{})
	go func(g *grpc.Server, done chan struct{}) { _ = g.Serve(lis); close(done) }(r.g, r.done)
}

// kill ends every stream at once, as a crash or a redeploy would.
func (r *restartable) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.g.Stop()
	<-r.done
}

func event(i int) record.Event {
	raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"k-%05d","eventTime":"2024-07-01T00:%02d:%02dZ","eventSource":"codebuild.amazonaws.com","eventName":%q,"recipientAccountId":"111122223333","requestParameters":{"projectName":"p%d"}}`,
		i, (i/60)%60, i%60, []string{"StartBuild", "StopBuild", "BatchGetBuilds"}[i%3], i%4)
	ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
	if err != nil {
		panic(err)
	}
	return ev
}

// While events are stored continuously, the stream is killed many times on
// the server side (server stops) and on the client side (the caller stops
// and resumes with the last cursor it saw); the union of what the caller
// received is exactly the matching set, once each, in store order.
func TestSubscribeSurvivesKills(t *testing.T) {
	cfg := index.DefaultConfig(t.TempDir())
	cfg.RingSize = 32
	cfg.ProgressInterval = 20 * time.Millisecond
	st, err := index.Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	in, err := ingest.New(ingest.DefaultConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	srv, err := server.New(server.DefaultConfig(), st, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &restartable{t: t, addr: "127.0.0.1:0", srv: srv}
	r.start()
	defer r.kill()
	c, err := client.Dial(r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const total = 3000
	ingestDone := make(chan struct{})
	go func() {
		defer close(ingestDone)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; i < total; {
			n := min(1+rng.IntN(60), total-i)
			evs := make([]record.Event, n)
			for j := range evs {
				evs[j] = event(i + j)
			}
			if _, err := st.Put(ctx, evs, nil); err != nil {
				t.Error(err)
				return
			}
			i += n
			time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
		}
	}()
	var kills atomic.Int64
	go func() { // server-side kills
		rng := rand.New(rand.NewPCG(3, 4))
		for {
			select {
			case <-ingestDone:
				return
			case <-time.After(time.Duration(20+rng.IntN(80)) * time.Millisecond):
			}
			r.kill()
			r.start()
			kills.Add(1)
		}
	}()

	const q = "name:StartBuild OR p1"
	var want []string // what q matches among the events stored
	for i := range total {
		if i%3 == 0 || i%4 == 1 {
			want = append(want, fmt.Sprintf("k-%05d", i))
		}
	}
	var got []string
	last := ""
	rng := rand.New(rand.NewPCG(5, 6))
	opt := client.SubscribeOptions{MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	for round := 0; ; round++ {
		// Batches of the client's default size, one event per message, or
		// small batches: the caller stops in the middle of one as often.
		batch := uint32([]int{0, 1, 7}[rng.IntN(3)])
		req := &pb.SubscribeRequest{Query: q, View: pb.EventView_EVENT_VIEW_SUMMARY, MaxBatch: batch, Start: &pb.SubscribeRequest_FromStart{FromStart: true}}
		if last != "" {
			req.Start = &pb.SubscribeRequest_AfterCursor{AfterCursor: last}
		}
		stopAfter := 1 + rng.IntN(200) // client-side kill after this many events
		n := 0
		finished := false
		for e, err := range c.Subscribe(ctx, req, opt) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e.GetEventId())
			last = e.GetCursor()
			n++
			if len(got) >= len(want) {
				finished = true
				break
			}
			if n == stopAfter {
				break
			}
		}
		if finished {
			t.Logf("%d events over %d client-side resumes and %d server kills", len(got), round, kills.Load())
			if round < 3 || kills.Load() < 3 {
				t.Fatalf("too few kills to mean anything: %d resumes, %d server kills", round, kills.Load())
			}
			break
		}
		if round > 10000 {
			t.Fatal("never finished")
		}
	}
	<-ingestDone
	if !slices.Equal(got, want) {
		t.Fatalf("received %d events, want %d exactly once in order", len(got), len(want))
	}
}
