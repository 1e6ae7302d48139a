package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/codetrail/codetrail/client"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// TestGracefulShutdownUnderLoad sends SIGTERM while the server reads a
// directory, takes an Ingest stream and feeds a subscriber. It must exit
// cleanly within its shutdown timeout, end the subscriber with Unavailable
// and a message to resume, answer the Ingest call (stored, or Unavailable
// to retry), and have stored checkpoints with what it stored: after a
// restart the directory is not read again from the start, and every event
// ends up stored exactly once.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	data := t.TempDir()
	trail := filepath.Join(data, "trail")
	run1(t, "gen", "--events", "20000", "--out", trail)
	want := trailIDs(t, trail)
	var files []string // log files, for the Ingest stream
	inputs := 0        // what the source reads: log and digest files
	_ = filepath.WalkDir(trail, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json.gz") {
			inputs++
			if !strings.Contains(p, "Digest") {
				files = append(files, p)
			}
		}
		return err
	})
	args := []string{"--data", filepath.Join(data, "index"), "--source", trail, "--shutdown-timeout", "5s"}
	srv := startServer(t, args...)
	c, err := client.Dial(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A subscriber from the start, through the raw stub to see its status.
	subErr := make(chan error, 1)
	var delivered int
	go func() {
		st, err := pb.NewEventServiceClient(c.Conn()).Subscribe(ctx, &pb.SubscribeRequest{
			Start: &pb.SubscribeRequest_FromStart{FromStart: true}, View: pb.EventView_EVENT_VIEW_SUMMARY})
		if err != nil {
			subErr <- err
			return
		}
		for {
			m, err := st.Recv()
			if err != nil {
				subErr <- err
				return
			}
			if m.GetEvent() != nil {
				delivered++
			}
		}
	}()
	// An Ingest stream of the same files from the last one back (so
	// duplicates of what the source reads last), until the server goes.
	ingErr := make(chan error, 1)
	go func() {
		st, err := pb.NewIngestServiceClient(c.Conn()).Ingest(ctx)
		if err != nil {
			ingErr <- err
			return
		}
		for i := 0; ; i++ {
			b, err := os.ReadFile(files[len(files)-1-i%len(files)])
			if err != nil {
				ingErr <- err
				return
			}
			if err := st.Send(&pb.IngestRequest{Name: "again-" + strconv.Itoa(i), Data: b}); err != nil {
				break // the server ended the stream: its status comes from CloseAndRecv
			}
			if i == 3*len(files) {
				break
			}
		}
		_, err = st.CloseAndRecv()
		ingErr <- err
	}()

	waitStats(t, srv.addr, func(s statsJSON) bool { n, _ := strconv.Atoi(s.Events); return n >= len(want)/4 })
	// Files the directory source has stored so far: each with its
	// checkpoint, so none of them may be read again after the restart.
	out := mustGrpcurl(t, srv.addr, "", "codetrail.v1.EventService/Stats")
	var before struct {
		Sources []struct {
			Name   string `json:"name"`
			Counts struct {
				Files string `json:"files"`
			} `json:"counts"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &before); err != nil {
		t.Fatal(err)
	}
	storedFiles := 0
	for _, src := range before.Sources {
		if src.Name == "files" {
			storedFiles, _ = strconv.Atoi(src.Counts.Files)
		}
	}
	start := time.Now()
	srv.stop(t) // SIGTERM, a clean exit
	took := time.Since(start)
	t.Logf("exited %s after SIGTERM", took.Round(time.Millisecond))
	if took > 4*time.Second {
		t.Errorf("exit took %s: the calls in progress did not end before the shutdown timeout cut them off", took)
	}

	if err := <-subErr; status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "resume") {
		t.Fatalf("subscriber ended with %v, want Unavailable telling it to resume", err)
	}
	if err := <-ingErr; err != nil && status.Code(err) != codes.Unavailable {
		t.Fatalf("Ingest ended with %v, want its answer or Unavailable", err)
	}

	// Restart: the checkpoints stored at shutdown spare most files.
	srv = startServer(t, args...)
	st := waitStats(t, srv.addr, func(s statsJSON) bool { return s.Events == strconv.Itoa(len(want)) })
	read, _ := strconv.Atoi(st.Ingest.Files)
	if spared := inputs - read; storedFiles == 0 || spared < storedFiles {
		t.Fatalf("the source had stored %d files before SIGTERM, but after the restart %d of %d were read again", storedFiles, read, inputs)
	}
	t.Logf("%d events delivered before shutdown; %d files stored by the source before it, %d of %d read after the restart", delivered, storedFiles, read, inputs)
	c2, err := client.Dial(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	seen := map[string]bool{}
	for e, err := range c2.SearchAll(context.Background(), &pb.SearchRequest{PageSize: 1000, View: pb.EventView_EVENT_VIEW_SUMMARY}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[e.GetEventId()] || !want[e.GetEventId()] {
			t.Fatalf("event %s stored twice or never generated", e.GetEventId())
		}
		seen[e.GetEventId()] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("%d events stored, want %d", len(seen), len(want))
	}
	srv.stop(t)
}
