package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Health is NOT_SERVING for the server as a whole until every source has
// read its checkpoints back, while Search (EventService) serves as soon as
// the index is open. The S3 endpoint here holds its connections without an
// answer, so the s3:// source cannot resume until it lets go.
func TestHealthWaitsForSources(t *testing.T) {
	awsEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release // hold the request unanswered, then refuse it
				c.Close()
			}()
		}
	}()
	defer func() { ln.Close(); wg.Wait() }()
	var once sync.Once
	letGo := func() { once.Do(func() { close(release) }) }
	defer letGo()

	srv := startServer(t, "--data", t.TempDir(), "--source", "s3://trail?endpoint=http://"+ln.Addr().String()+"&path_style=true&interval=1h")
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	status := func(service string) healthpb.HealthCheckResponse_ServingStatus {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("health %q: %v", service, err)
		}
		return r.GetStatus()
	}
	waitFor := func(service string, want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); status(service) != want; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("health %q: still %v, want %v\n%s", service, status(service), want, srv.stderr.String())
			}
		}
	}

	waitFor("codetrail.v1.EventService", healthpb.HealthCheckResponse_SERVING)
	for range 20 { // a second: the source stays stuck, and so does health
		for _, svc := range []string{"", "codetrail.v1.IngestService"} {
			if st := status(svc); st != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("health %q is %v before the source resumed", svc, st)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Search works meanwhile.
	runCLI(t, "search", "--server", srv.addr, "--count", "")

	letGo()
	waitFor("", healthpb.HealthCheckResponse_SERVING)
	waitFor("codetrail.v1.IngestService", healthpb.HealthCheckResponse_SERVING)
}
