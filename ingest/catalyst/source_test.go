package catalyst

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/ingest"
	"github.com/codetrail/codetrail/ingest/gen"
)

const (
	space = "example-corp"
	token = "ccpat-0123456789abcdefghijklmnopqrstuvwxyz"
)

type item struct {
	id  string
	t   time.Time
	raw json.RawMessage
}

type request struct {
	at         time.Time
	start, end time.Time
	throttled  bool
}

// fakeSpace speaks CodeCatalyst's REST JSON ListEventLogs:
// POST /v1/spaces/{spaceName}/eventLogs with a bearer token, oldest first,
// paged by nextToken, throttling the first throttle calls with a 429.
type fakeSpace struct {
	mu       sync.Mutex
	items    []item
	throttle int
	calls    int
	requests []request
}

func (f *fakeSpace) add(it ...item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items = append(f.items, it...)
}

func (f *fakeSpace) log() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

func restError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message":%q}`, msg)
}

func (f *fakeSpace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/spaces/"+space+"/eventLogs" {
		restError(w, http.StatusNotFound, "ResourceNotFoundException", r.Method+" "+r.URL.Path)
		return
	}
	if r.TLS == nil || r.Header.Get("Authorization") != "Bearer "+token {
		restError(w, http.StatusUnauthorized, "AccessDeniedException", "bad or missing bearer token")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		restError(w, http.StatusBadRequest, "ValidationException", "content type "+ct)
		return
	}
	var in struct {
		StartTime, EndTime string
		MaxResults         int
		NextToken          string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		restError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	start, err1 := time.Parse(time.RFC3339Nano, in.StartTime)
	end, err2 := time.Parse(time.RFC3339Nano, in.EndTime)
	if err := errors.Join(err1, err2); err != nil || end.Before(start) {
		restError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("startTime and endTime are required: %v", err))
		return
	}
	req := request{at: time.Now(), start: start, end: end}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.throttle {
		req.throttled = true
		f.requests = append(f.requests, req)
		restError(w, http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
		return
	}
	f.requests = append(f.requests, req)
	var match []item
	for _, it := range f.items {
		if !it.t.Before(start) && !it.t.After(end) {
			match = append(match, it)
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i].t.Before(match[j].t) })
	off := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "tok-"))
		if err != nil {
			restError(w, http.StatusBadRequest, "ValidationException", "bad nextToken")
			return
		}
		off = min(n, len(match))
	}
	size := in.MaxResults
	if size <= 0 || size > MaxPageSize {
		size = 50
	}
	last := min(off+size, len(match))
	out := struct {
		Items     []json.RawMessage `json:"items"`
		NextToken string            `json:"nextToken,omitempty"`
	}{Items: []json.RawMessage{}}
	for _, it := range match[off:last] {
		out.Items = append(out.Items, it.raw)
	}
	if last < len(match) {
		out.NextToken = "tok-" + strconv.Itoa(last)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// generate makes n event log entries of the space with eventTime in
// [start, start+span); the seed picks the ids.
func generate(t *testing.T, seed uint64, n int, start time.Time, span time.Duration) []item {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Seed, cfg.Start, cfg.Span = seed, start, span
	path := filepath.Join(t.TempDir(), "eventlogs.json")
	if err := gen.WriteCodeCatalyst(path, n, cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Items []json.RawMessage }
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	var items []item
	for _, raw := range out.Items {
		var e struct {
			ID        string
			EventTime time.Time
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		items = append(items, item{id: e.ID, t: e.EventTime, raw: raw})
	}
	return items
}

// setupAWS keeps the SDK's default chain away from the machine's files.
func setupAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv(TokenEnv, "")
}

type harness struct {
	st *index.Store
	in *ingest.Ingester
}

func openStore(t *testing.T, dir string) *harness {
	t.Helper()
	st, err := index.Open(index.DefaultConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ingest.New(ingest.DefaultConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{st: st, in: in}
	t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	if h.in != nil {
		h.in.Close()
		_ = h.st.Close()
		h.in = nil
	}
}

func run(t *testing.T, src ingest.Source, in *ingest.Ingester) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, in) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sourceStats(in *ingest.Ingester, name string) ingest.SourceStats {
	_, srcs, _ := in.Stats()
	for _, s := range srcs {
		if s.Name == name {
			return s
		}
	}
	return ingest.SourceStats{}
}

func testConfig(srv *httptest.Server, start time.Time) Config {
	cfg := DefaultConfig()
	cfg.Space = space
	cfg.Endpoint = srv.URL
	cfg.HTTPClient = srv.Client() // trusts the test server's certificate
	cfg.Start = start
	cfg.Interval = 150 * time.Millisecond
	cfg.Window = time.Hour
	cfg.Overlap = 30 * time.Minute
	cfg.PageSize = 40
	cfg.Rate = 20
	cfg.Backoff = 20 * time.Millisecond
	cfg.MaxBackoff = 200 * time.Millisecond
	return cfg
}

func countService(t *testing.T, st *index.Store, service string) uint64 {
	t.Helper()
	res, err := st.Search(context.Background(), index.SearchRequest{Query: "service:" + service, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res.Total
}

// normalized decodes an entry for comparison: organizationId dropped (the
// SDK does not model it) and eventTime as an instant.
func normalized(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "organizationId")
	ts, err := time.Parse(time.RFC3339Nano, m["eventTime"].(string))
	if err != nil {
		t.Fatal(err)
	}
	m["eventTime"] = ts.UTC().Format(time.RFC3339Nano)
	return m
}

// The space's log read through the real SDK client over TLS with a bearer
// token from token_file: throttled at first, paged, every entry indexed as
// codecatalyst; a late entry inside the overlap comes with the next poll and
// the overlap re-read stores nothing twice.
func TestListEventLogs(t *testing.T) {
	setupAWS(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	start := now.Add(-3 * time.Hour)
	fake := &fakeSpace{items: generate(t, 1, 300, start, 170*time.Minute), throttle: 2}
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()

	h := openStore(t, t.TempDir())
	cfg := testConfig(srv, start.Add(-time.Minute))
	cfg.TokenFile = tokenFile
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.Name(), "codecatalyst://example-corp"; got != want {
		t.Fatalf("Name() = %q, want %q", got, want)
	}
	stop := run(t, src, h.in)
	waitFor(t, "300 entries stored", 20*time.Second, func() bool { return h.st.Stats().Events == 300 })

	late := generate(t, 2, 1, now.Add(-10*time.Minute), 5*time.Minute)[0]
	fake.add(late)
	waitFor(t, "the late entry", 10*time.Second, func() bool { return h.st.Stats().Events == 301 })
	dups := sourceStats(h.in, src.Name()).Counts.Duplicates
	waitFor(t, "an overlap re-read", 10*time.Second, func() bool { return sourceStats(h.in, src.Name()).Counts.Duplicates > dups })
	stop()

	if n := countService(t, h.st, "codecatalyst"); n != 301 {
		t.Fatalf("service:codecatalyst matches %d events, want 301", n)
	}
	c := sourceStats(h.in, src.Name()).Counts
	if c.Stored != 301 || c.InvalidRecords != 0 || c.InvalidFiles != 0 || c.RecordsWithProblems != 0 {
		t.Fatalf("source counts %+v: want 301 stored and nothing odd", c)
	}
	throttled := 0
	for _, r := range fake.log() {
		if r.throttled {
			throttled++
		}
	}
	if throttled != fake.throttle {
		t.Fatalf("%d throttled calls, want %d", throttled, fake.throttle)
	}

	// Every entry maps back to the API's JSON, and its fields reach the
	// event model.
	var sawMutation, sawRead bool
	for _, it := range append(fake.items[:50:50], late) {
		hit, err := h.st.Get(context.Background(), it.id, index.Scope{})
		if err != nil {
			t.Fatalf("entry %s: %v", it.id, err)
		}
		if got, want := normalized(t, hit.Event.Raw), normalized(t, it.raw); !reflect.DeepEqual(got, want) {
			t.Fatalf("entry %s mapped to\n%v\nwant\n%v", it.id, got, want)
		}
		ev := hit.Event
		var orig struct {
			EventName, OperationType string
			UserIdentity             struct{ UserName string }
		}
		_ = json.Unmarshal(it.raw, &orig)
		if ev.Service != "codecatalyst" || ev.Name != orig.EventName || ev.UserName != orig.UserIdentity.UserName || !ev.Time.Equal(it.t) {
			t.Fatalf("entry %s indexed as %+v", it.id, ev)
		}
		switch orig.OperationType {
		case "MUTATION":
			sawMutation = ev.ReadOnly == "false"
		case "READONLY":
			sawRead = ev.ReadOnly == "true"
		}
	}
	if !sawMutation || !sawRead {
		t.Fatalf("operationType not mapped to readOnly (mutation %v, read %v)", sawMutation, sawRead)
	}

	b, err := h.in.Checkpoint(CheckpointKey(space))
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := time.Parse(time.RFC3339Nano, string(b)); err != nil || cp.Before(now) {
		t.Fatalf("checkpoint %q (%v), want a time after %s", b, err, now)
	}
}

// A second source over the reopened store (token from the environment this
// time) resumes from the checkpoint minus the overlap.
func TestListEventLogsRestart(t *testing.T) {
	setupAWS(t)
	t.Setenv(TokenEnv, token)
	now := time.Now().UTC()
	start := now.Add(-6 * time.Hour)
	fake := &fakeSpace{items: generate(t, 1, 120, start, 5*time.Hour)}
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()
	dir := t.TempDir()
	cfg := testConfig(srv, start)

	h := openStore(t, dir)
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, src, h.in)
	waitFor(t, "all entries", 20*time.Second, func() bool { return h.st.Stats().Events == 120 })
	stop()
	b, err := h.in.Checkpoint(CheckpointKey(space))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		t.Fatalf("checkpoint %q: %v", b, err)
	}
	h.close()
	first := len(fake.log())
	if !fake.log()[0].start.Equal(start.Truncate(time.Millisecond)) {
		t.Fatalf("first request from %s, want %s", fake.log()[0].start, start)
	}

	h = openStore(t, dir)
	src, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop = run(t, src, h.in)
	waitFor(t, "a poll after the restart", 10*time.Second, func() bool { return sourceStats(h.in, src.Name()).Counts.Files > 0 })
	stop()
	again := fake.log()[first:]
	if len(again) == 0 {
		t.Fatal("no request after the restart")
	}
	floor := cp.Add(-cfg.Overlap).Truncate(time.Millisecond)
	for _, r := range again {
		if r.start.Before(floor) {
			t.Fatalf("after restart asked from %s, want no earlier than checkpoint %s minus overlap %s", r.start, cp, cfg.Overlap)
		}
	}
	if c := sourceStats(h.in, src.Name()).Counts; c.Stored != 0 || h.st.Stats().Events != 120 {
		t.Fatalf("restart stored %d new events, want none", c.Stored)
	}
}

// Without a token New fails; with a wrong one the refusal is reported.
func TestListEventLogsAuth(t *testing.T) {
	setupAWS(t)
	fake := &fakeSpace{}
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()
	cfg := testConfig(srv, time.Now().Add(-time.Hour))
	if _, err := New(cfg, nil); !errors.Is(err, ErrNoToken) {
		t.Fatalf("New without a token: %v, want ErrNoToken", err)
	}
	cfg.TokenFile = filepath.Join(t.TempDir(), "missing")
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "token file") {
		t.Fatalf("New with a missing token file: %v", err)
	}
	cfg.TokenFile = ""
	t.Setenv(TokenEnv, "ccpat-wrong")
	h := openStore(t, t.TempDir())
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, src, h.in)
	waitFor(t, "the refusal", 10*time.Second, func() bool {
		return strings.Contains(sourceStats(h.in, src.Name()).LastError, "AccessDeniedException")
	})
	stop()
	if h.st.Stats().Events != 0 {
		t.Fatal("events stored without a valid token")
	}
}
