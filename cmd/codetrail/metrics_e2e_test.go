package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var metricsListenRe = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// TestMetricsEndToEnd scrapes the binary's Prometheus endpoint after some
// ingest, searches and a subscription, and checks the families operators
// need are there.
func TestMetricsEndToEnd(t *testing.T) {
	data := t.TempDir()
	trail := filepath.Join(data, "trail")
	run1(t, "gen", "--events", "500", "--out", trail)
	srv := startServer(t, "--data", data, "--source", trail, "--metrics-listen", "127.0.0.1:0")
	waitStats(t, srv.addr, func(s statsJSON) bool { return s.Events == "500" })
	mustGrpcurl(t, srv.addr, `{"query":"*","facets":[{"field":"eventName"}]}`, "codetrail.v1.EventService/Search")
	mustGrpcurl(t, srv.addr, `{"query":"*","histogram":{"interval":"1d"}}`, "codetrail.v1.EventService/Search")
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := metricsListenRe.FindStringSubmatch(srv.stderr.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no metrics address in the log")
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`codetrail_index_documents 500`,
		`codetrail_index_disk_bytes `,
		`codetrail_ingest_bytes_total `,
		`codetrail_ingest_batch_seconds_bucket`,
		`codetrail_ingest_source_events_stored_total{source="files"} 500`,
		`codetrail_ingest_source_lag_seconds{source="files"}`,
		`codetrail_ingest_source_errors_total{source="files"} 0`,
		`codetrail_index_search_seconds_count{kind="facets"}`,
		`codetrail_index_search_seconds_count{kind="histogram"}`,
		`codetrail_subscribe_subscribers{state="active"}`,
		`codetrail_subscribe_delivery_seconds_bucket`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Search",grpc_service="codetrail.v1.EventService",grpc_type="unary"} 2`,
		`grpc_server_handling_seconds_bucket`,
		`go_goroutines `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	srv.stop(t)
}
