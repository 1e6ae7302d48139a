package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// envInt reads a positive integer from the environment, else def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// trailIDs returns the distinct eventIDs of the gzip trail files under dir.
func trailIDs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") || strings.Contains(path, "CloudTrail-Digest") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		var file struct {
			Records []struct {
				EventID string `json:"eventID"`
			} `json:"Records"`
		}
		if err := json.NewDecoder(zr).Decode(&file); err != nil {
			return err
		}
		for _, r := range file.Records {
			ids[r.EventID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestCrashRecovery kills the server with SIGKILL at random moments while
// it ingests a generated dataset, restarting it each time on the same data
// directory and port, while a subscriber resumes by cursor through the Go
// client. At the end every event is stored exactly once, the subscriber
// received every event exactly once, and in the order a fresh replay gives,
// with no cursor used twice. CI runs a short form; bench/crash.sh the full
// one (CODETRAIL_CRASH_KILLS=20, CODETRAIL_CRASH_EVENTS=200000).
func TestCrashRecovery(t *testing.T) {
	kills := envInt("CODETRAIL_CRASH_KILLS", 4)
	events := envInt("CODETRAIL_CRASH_EVENTS", 20000)
	data := t.TempDir()
	trail := filepath.Join(data, "trail")
	run1(t, "gen", "--events", strconv.Itoa(events), "--out", trail)
	want := trailIDs(t, trail)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	args := []string{"--data", filepath.Join(data, "index"), "--source", trail, "--listen", addr}
	srv := startServer(t, args...)

	// Reconnect fast after each kill, so that the next kill comes after
	// progress the test saw rather than after a minute of reconnect backoff.
	fast := grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: 500 * time.Millisecond}})
	c, err := client.Dial(addr, client.WithTimeout(5*time.Second), client.WithDialOptions(fast))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		got     []string // event ids, in delivery order
		cursors = map[string]bool{}
		reused  []string
	)
	subDone := make(chan error, 1)
	go func() {
		req := &pb.SubscribeRequest{Start: &pb.SubscribeRequest_FromStart{FromStart: true}, View: pb.EventView_EVENT_VIEW_SUMMARY}
		for e, err := range c.Subscribe(ctx, req, client.SubscribeOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}) {
			if err != nil {
				subDone <- err
				return
			}
			mu.Lock()
			got = append(got, e.GetEventId())
			if cursors[e.GetCursor()] {
				reused = append(reused, e.GetCursor())
			}
			cursors[e.GetCursor()] = true
			mu.Unlock()
		}
		subDone <- nil
	}()

	stored := func() int {
		st, err := c.Stats(context.Background())
		if err != nil {
			return -1
		}
		return int(st.GetEvents())
	}
	for k := range kills {
		// Kills are spread over the whole ingest: kill k waits until about
		// k/(kills+1) of the events are stored, then comes at a random
		// moment. Every fourth comes instead while the restarted server is
		// still recovering (reopening the index, resuming its sources).
		if k%4 != 3 {
			target := max((k+1)*len(want)/(kills+1), 1)
			deadline := time.Now().Add(2 * time.Minute)
			for n := stored(); n < target && time.Now().Before(deadline); n = stored() {
				time.Sleep(20 * time.Millisecond)
			}
		}
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
		at := stored()
		if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-srv.done
		t.Logf("kill %d at about %d stored events", k+1, at)
		srv = startServer(t, args...)
	}
	deadline := time.Now().Add(5*time.Minute + time.Duration(len(want))*2*time.Millisecond) // ingest after the last kill, on a loaded machine
	for stored() != len(want) {
		if time.Now().After(deadline) {
			t.Fatalf("%d events stored after the kills, want %d", stored(), len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The subscriber catches up with everything.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriber received %d of %d events", n, len(want))
		}
	}
	time.Sleep(300 * time.Millisecond) // anything extra would be a duplicate
	cancel()
	<-subDone

	// Exactly once in the index.
	seen := map[string]bool{}
	for e, err := range c.SearchAll(context.Background(), &pb.SearchRequest{PageSize: 1000, Order: pb.Order_ORDER_OLDEST_FIRST, View: pb.EventView_EVENT_VIEW_SUMMARY}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[e.GetEventId()] {
			t.Fatalf("event %s stored twice", e.GetEventId())
		}
		seen[e.GetEventId()] = true
	}
	for id := range want {
		if !seen[id] {
			t.Fatalf("event %s lost", id)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d events stored, want %d", len(seen), len(want))
	}
	// Exactly once to the subscriber, in store order, no cursor reused.
	mu.Lock()
	defer mu.Unlock()
	if len(reused) > 0 {
		t.Fatalf("%d cursors delivered twice, e.g. %s", len(reused), reused[0])
	}
	var replay []string
	rctx, rcancel := context.WithCancel(context.Background())
	for e, err := range c.Subscribe(rctx, &pb.SubscribeRequest{Start: &pb.SubscribeRequest_FromStart{FromStart: true}, View: pb.EventView_EVENT_VIEW_SUMMARY}, client.SubscribeOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		replay = append(replay, e.GetEventId())
		if len(replay) == len(want) {
			rcancel()
		}
	}
	rcancel()
	if len(got) != len(replay) {
		t.Fatalf("subscriber received %d events, a fresh replay gives %d", len(got), len(replay))
	}
	for i := range got {
		if got[i] != replay[i] {
			t.Fatalf("delivery %d is %s, the store order has %s", i, got[i], replay[i])
		}
	}
	t.Logf("%d kills, %d events stored once each and delivered once each in store order", kills, len(want))
	srv.stop(t)
}
