package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var httpListenRe = regexp.MustCompile(`msg="http gateway listening" addr=(\S+)`)

// TestGatewayEndToEnd drives the HTTP/JSON gateway of the binary over TLS
// with tokens: search, get, stats, Subscribe as JSON lines and as
// server-sent events (resumed with Last-Event-ID), the OpenAPI document,
// scopes, and the real curl when it is installed.
func TestGatewayEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := pemPair(t, dir, "ca", "codetrail gateway CA", true, nil, nil)
	pemPair(t, dir, "server", "127.0.0.1", false, ca, caKey)
	p := func(name string) string { return filepath.Join(dir, name) }
	lines := func(out string) []string { return strings.Split(strings.TrimSpace(out), "\n") }
	reader := lines(run1(t, "token", "--name", "reader", "--accounts", "111122223333"))
	admin := lines(run1(t, "token", "--name", "admin", "--rpcs", "admin"))
	if err := os.WriteFile(p("ids.json"), []byte(`{"identities":[`+reader[1]+`,`+admin[1]+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	trail := filepath.Join(data, "trail")
	run1(t, "gen", "--events", "1500", "--out", trail)
	srv := startServer(t, "--data", data, "--source", trail, "--http-listen", "127.0.0.1:0",
		"--tls-cert", p("server.pem"), "--tls-key", p("server-key.pem"), "--tokens", p("ids.json"))
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := httpListenRe.FindStringSubmatch(srv.stderr.String()); m != nil {
			base = "https://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no gateway address in the log:\n%s", srv.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pem, _ := os.ReadFile(p("ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(hc.CloseIdleConnections)
	call := func(method, path, token, body string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Wait until everything is stored.
	for deadline := time.Now().Add(90 * time.Second); ; {
		code, body := call("GET", "/v1/stats", admin[0], "")
		var st struct{ Events string }
		if code == 200 && json.Unmarshal([]byte(body), &st) == nil && st.Events == "1500" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if code, body := call("POST", "/v1/search", "", `{"query":"*"}`); code != 401 || !strings.Contains(body, "no credentials") {
		t.Fatalf("no token: %d %s", code, body)
	}
	var res struct {
		Events []struct {
			EventID   string `json:"eventId"`
			AccountID string `json:"accountId"`
			Cursor    string `json:"cursor"`
		} `json:"events"`
		TotalHits string `json:"totalHits"`
		Facets    []struct {
			Counts []struct{ Value, Count string } `json:"counts"`
		} `json:"facets"`
	}
	code, body := call("POST", "/v1/search", reader[0], `{"query":"*","pageSize":200,"facets":[{"field":"account"}]}`)
	if code != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Events) == 0 {
		t.Fatalf("reader search: %d %s", code, body)
	}
	for _, e := range res.Events {
		if e.AccountID != "111122223333" {
			t.Fatalf("reader got an event of %s", e.AccountID)
		}
	}
	if len(res.Facets) != 1 || len(res.Facets[0].Counts) != 1 || res.Facets[0].Counts[0].Count != res.TotalHits {
		t.Fatalf("reader facets: %s", body)
	}
	mine := res.TotalHits
	first := res.Events[0].EventID
	if code, body := call("GET", "/v1/events/"+first, reader[0], ""); code != 200 || !strings.Contains(body, first) {
		t.Fatalf("get event: %d %s", code, body)
	}
	if code, body := call("GET", "/v1/search?query=eventName:CreateDeployment&pageSize=1", admin[0], ""); code != 200 || !strings.Contains(body, "CreateDeployment") {
		t.Fatalf("GET search: %d %s", code, body)
	}
	if code, body := call("POST", "/v1/search", admin[0], `{"query":"eventName:("}`); code != 400 || !strings.Contains(body, "at 11") {
		t.Fatalf("bad query: %d %s", code, body)
	}
	if code, body := call("GET", "/openapi.json", "", ""); code != 200 || !strings.Contains(body, `"/v1/search"`) || !strings.Contains(body, `"swagger": "2.0"`) {
		t.Fatalf("openapi: %d %.200s", code, body)
	}

	// Subscribe as JSON lines: replay from the start up to caught_up.
	req, _ := http.NewRequest("POST", base+"/v1/subscribe", strings.NewReader(`{"fromStart":true}`))
	req.Header.Set("Authorization", "Bearer "+reader[0])
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var line struct {
			Result struct {
				Event    json.RawMessage `json:"event"`
				CaughtUp json.RawMessage `json:"caughtUp"`
			} `json:"result"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		if line.Result.Event != nil {
			n++
		}
		if line.Result.CaughtUp != nil {
			break
		}
	}
	resp.Body.Close()
	if fmt.Sprint(n) != mine {
		t.Fatalf("JSON lines subscribe replayed %d, search counts %s", n, mine)
	}

	// Server-sent events, resumed after the 10th event with Last-Event-ID.
	sse := func(lastID string, want int) (ids []string, cursors []string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/v1/subscribe/sse?from_start=true&query=*", nil)
		req.Header.Set("Authorization", "Bearer "+reader[0])
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var kind, id string
		for sc.Scan() {
			switch l := sc.Text(); {
			case strings.HasPrefix(l, "event: "):
				kind = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "id: "):
				id = strings.TrimPrefix(l, "id: ")
			case strings.HasPrefix(l, "data: ") && kind == "event":
				var e struct {
					EventID string `json:"eventId"`
				}
				_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &e)
				ids, cursors = append(ids, e.EventID), append(cursors, id)
				if len(ids) == want {
					return ids, cursors
				}
			case kind == "caught_up":
				return ids, cursors
			}
		}
		return ids, cursors
	}
	all, cursors := sse("", 1<<30)
	if fmt.Sprint(len(all)) != mine {
		t.Fatalf("SSE replayed %d, search counts %s", len(all), mine)
	}
	rest, _ := sse(cursors[9], 1<<30)
	if len(rest) != len(all)-10 || rest[0] != all[10] {
		t.Fatalf("SSE resumed with %d events starting %v, want %d starting %s", len(rest), rest[:1], len(all)-10, all[10])
	}

	// The real curl, as a user would type it.
	if curl, err := exec.LookPath("curl"); err == nil {
		out, err := exec.Command(curl, "-sS", "--cacert", p("ca.pem"), "-H", "Authorization: Bearer "+reader[0],
			"-d", `{"query":"*","pageSize":1}`, base+"/v1/search").CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"totalHits":"`+mine+`"`) {
			t.Fatalf("curl: %v %s", err, out)
		}
	}
	srv.stop(t)
}
