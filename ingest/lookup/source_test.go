package lookup

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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

// fakeEvent is one event of the fake's Event History.
type fakeEvent struct {
	id, name, source string
	t                time.Time
	raw              string // the CloudTrail record
}

// request is what the fake saw of one LookupEvents call.
type request struct {
	at         time.Time
	region     string
	start, end time.Time
	throttled  bool
}

// fakeTrail speaks CloudTrail's AWS JSON 1.1 LookupEvents: newest first,
// filtered by StartTime/EndTime, paged by NextToken, throttling the first
// throttle calls with the HTTP 400 CloudTrail sends.
type fakeTrail struct {
	mu sync.Mutex
	// events per region, from the request's SigV4 credential scope
	events   map[string][]fakeEvent
	throttle int
	calls    int
	requests []request
}

func (f *fakeTrail) add(region string, evs ...fakeEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events[region] = append(f.events[region], evs...)
}

func (f *fakeTrail) log() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.requests...)
}

func awsError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
}

func epoch(f float64) time.Time {
	return time.Unix(0, int64(f*1e9)).UTC()
}

func (f *fakeTrail) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" || !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".LookupEvents") {
		awsError(w, "UnknownOperationException", r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Amz-Target"))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		awsError(w, "SerializationException", "content type "+ct)
		return
	}
	// Credential=AKID/20240101/us-east-1/cloudtrail/aws4_request
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "Credential=")
	if i < 0 {
		awsError(w, "MissingAuthenticationTokenException", "no SigV4 signature")
		return
	}
	scope := strings.Split(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/")
	if len(scope) != 5 || scope[3] != "cloudtrail" {
		awsError(w, "IncompleteSignatureException", auth)
		return
	}
	var in struct {
		StartTime, EndTime float64
		MaxResults         int
		NextToken          string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		awsError(w, "SerializationException", err.Error())
		return
	}
	req := request{at: time.Now(), region: scope[2], start: epoch(in.StartTime), end: epoch(in.EndTime)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.throttle {
		req.throttled = true
		f.requests = append(f.requests, req)
		awsError(w, "ThrottlingException", "Rate exceeded")
		return
	}
	f.requests = append(f.requests, req)
	if in.StartTime == 0 || in.EndTime == 0 || req.end.Before(req.start) {
		awsError(w, "InvalidTimeRangeException", "bad time range")
		return
	}
	var match []fakeEvent
	for _, e := range f.events[req.region] {
		if !e.t.Before(req.start) && !e.t.After(req.end) {
			match = append(match, e)
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i].t.After(match[j].t) })
	off := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(in.NextToken, "tok-"))
		if err != nil {
			awsError(w, "InvalidNextTokenException", in.NextToken)
			return
		}
		off = min(n, len(match))
	}
	size := in.MaxResults
	if size <= 0 || size > MaxPageSize {
		size = MaxPageSize
	}
	end := min(off+size, len(match))
	type ev struct {
		EventId, EventName, EventSource, Username, CloudTrailEvent string
		EventTime                                                  float64
		ReadOnly                                                   string
	}
	out := struct {
		Events    []ev
		NextToken string `json:",omitempty"`
	}{Events: []ev{}}
	for _, e := range match[off:end] {
		out.Events = append(out.Events, ev{
			EventId: e.id, EventName: e.name, EventSource: e.source, Username: "JaneDoe",
			CloudTrailEvent: e.raw, EventTime: float64(e.t.Unix()), ReadOnly: "true",
		})
	}
	if end < len(match) {
		out.NextToken = "tok-" + strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// generate makes n CloudTrail records with eventTime in [start, start+span)
// in regions, as Event History would hold them.
func generate(t *testing.T, n int, start time.Time, span time.Duration, regions ...string) map[string][]fakeEvent {
	t.Helper()
	cfg := gen.DefaultConfig()
	cfg.Events, cfg.Start, cfg.Span, cfg.Regions = n, start, span, regions
	g, err := gen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]fakeEvent{}
	for rec, meta := range g.All() {
		var r struct{ EventID, EventName, EventSource string }
		if err := json.Unmarshal(rec, &r); err != nil {
			t.Fatal(err)
		}
		out[meta.Region] = append(out[meta.Region], fakeEvent{id: r.EventID, name: r.EventName, source: r.EventSource, t: meta.Time, raw: string(rec)})
	}
	return out
}

// setupAWS points the SDK's default chain at static test credentials and
// nothing else (no shared files, no IMDS).
func setupAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
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

// run starts src and returns a function that stops it and waits.
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

func testConfig(endpoint string, start time.Time, regions ...string) Config {
	cfg := DefaultConfig()
	cfg.Regions = regions
	cfg.Endpoint = endpoint
	cfg.Start = start
	cfg.Interval = 150 * time.Millisecond
	cfg.Overlap = 30 * time.Minute
	cfg.Window = time.Hour
	cfg.Rate = 10
	cfg.Backoff = 20 * time.Millisecond
	cfg.MaxBackoff = 200 * time.Millisecond
	return cfg
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

// One source over two regions against the fake: throttled at first, paged,
// rate limited; a late event inside the overlap is picked up by a later
// poll, and the overlap re-read stores nothing twice.
func TestLookupEvents(t *testing.T) {
	setupAWS(t)
	now := time.Now().UTC()
	start := now.Add(-3 * time.Hour)
	regions := []string{"us-east-1", "eu-west-1"}
	fake := &fakeTrail{events: generate(t, 400, start, 170*time.Minute, regions...), throttle: 3}
	total := 0
	for _, evs := range fake.events {
		total += len(evs)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	h := openStore(t, t.TempDir())
	cfg := testConfig(srv.URL, start.Add(-time.Minute), regions...)
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.Name(), "cloudtrail://us-east-1,eu-west-1"; got != want {
		t.Fatalf("Name() = %q, want %q", got, want)
	}
	stop := run(t, src, h.in)
	waitFor(t, fmt.Sprintf("%d events stored", total), 20*time.Second, func() bool { return h.st.Stats().Events == uint64(total) })

	// Late arrivals: Event History shows them minutes after their eventTime,
	// inside the overlap the next poll re-reads.
	late := fakeEvent{id: "late-0001", name: "StartPipelineExecution", source: "codepipeline.amazonaws.com", t: time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Second)}
	late.raw = fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":%q,"eventSource":%q,"eventName":%q,"awsRegion":"eu-west-1","recipientAccountId":"111122223333","requestParameters":{"name":"MyFirstPipeline"}}`,
		late.id, late.t.Format(time.RFC3339), late.source, late.name)
	fake.add("eu-west-1", late)
	waitFor(t, "the late event", 10*time.Second, func() bool { return h.st.Stats().Events == uint64(total+1) })
	// A further poll re-reads the overlap: duplicates counted, none stored.
	dupsBefore := sourceStats(h.in, src.Name()).Counts.Duplicates
	waitFor(t, "an overlap re-read", 10*time.Second, func() bool { return sourceStats(h.in, src.Name()).Counts.Duplicates > dupsBefore })
	// Keep polling long enough for the rate check below to mean something.
	waitFor(t, "20 requests per region", 10*time.Second, func() bool {
		n := map[string]int{}
		for _, r := range fake.log() {
			n[r.region]++
		}
		return n["us-east-1"] >= 20 && n["eu-west-1"] >= 20
	})
	stop()

	st := sourceStats(h.in, src.Name())
	if got := h.st.Stats().Events; got != uint64(total+1) {
		t.Fatalf("stored %d events, want the %d distinct ones", got, total+1)
	}
	if st.Counts.Stored != int64(total+1) || st.Counts.Duplicates == 0 || st.Counts.InvalidRecords != 0 {
		t.Fatalf("source counts %+v: want %d stored, some duplicates, no invalid records", st.Counts, total+1)
	}
	if _, err := h.st.Get(context.Background(), late.id, index.Scope{}); err != nil {
		t.Fatalf("late event: %v", err)
	}

	// Byte-exact records: what the index holds is what the fake served.
	for _, region := range regions {
		e := fake.events[region][7]
		hit, err := h.st.Get(context.Background(), e.id, index.Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if string(hit.Event.Raw) != e.raw {
			t.Fatalf("stored record differs from the served CloudTrailEvent:\n got %s\nwant %s", hit.Event.Raw, e.raw)
		}
	}

	log := fake.log()
	throttled := 0
	perRegion := map[string][]time.Time{}
	for _, r := range log {
		if r.throttled {
			throttled++
		}
		perRegion[r.region] = append(perRegion[r.region], r.at)
	}
	if throttled != fake.throttle {
		t.Fatalf("%d throttled calls, want %d", throttled, fake.throttle)
	}
	// Token bucket of Rate per second, burst 1: in any second at most
	// Rate+1 requests per region (one more for scheduling slack).
	for region, at := range perRegion {
		for i := range at {
			n := 0
			for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
				n++
			}
			if float64(n) > cfg.Rate+2 {
				t.Fatalf("%s: %d requests within one second of %s, rate is %g/s", region, n, at[i].Format(time.StampMilli), cfg.Rate)
			}
		}
	}
	for _, region := range regions {
		b, err := h.in.Checkpoint(CheckpointKey(region))
		if err != nil || b == nil {
			t.Fatalf("checkpoint %s: %q %v", region, b, err)
		}
		cp, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil || cp.Before(now) {
			t.Fatalf("checkpoint %s = %s (%v), want at least %s", region, b, err, now)
		}
	}
}

// A second source over the reopened store resumes from the checkpoint minus
// the overlap, not from the configured start.
func TestLookupRestartFromCheckpoint(t *testing.T) {
	setupAWS(t)
	now := time.Now().UTC()
	start := now.Add(-6 * time.Hour)
	fake := &fakeTrail{events: generate(t, 150, start, 5*time.Hour, "us-west-2")}
	total := len(fake.events["us-west-2"])
	srv := httptest.NewServer(fake)
	defer srv.Close()
	dir := t.TempDir()

	cfg := testConfig(srv.URL, start, "us-west-2")
	h := openStore(t, dir)
	src, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, src, h.in)
	waitFor(t, "all events", 20*time.Second, func() bool { return h.st.Stats().Events == uint64(total) })
	stop()
	b, err := h.in.Checkpoint(CheckpointKey("us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		t.Fatalf("checkpoint %q: %v", b, err)
	}
	h.close()
	first := len(fake.log())
	if d := fake.log()[0].start.Sub(start); first < 3 || d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("first run: %d requests, first from %s, want several from %s", first, fake.log()[0].start, start)
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
	floor := cp.Add(-cfg.Overlap).Add(-time.Millisecond) // epoch seconds carry milliseconds
	for _, r := range again {
		if r.start.Before(floor) {
			t.Fatalf("after restart asked from %s, want no earlier than checkpoint %s minus overlap %s", r.start, cp, cfg.Overlap)
		}
	}
	if c := sourceStats(h.in, src.Name()).Counts; c.Stored != 0 || h.st.Stats().Events != uint64(total) {
		t.Fatalf("restart stored %d new events (%+v), want none", c.Stored, c)
	}
}

// A non-retryable error is reported and the region is polled again later.
func TestLookupReportsFailures(t *testing.T) {
	setupAWS(t)
	var calls sync.WaitGroup
	calls.Add(2)
	var once [2]sync.Once
	n := 0
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := n
		n++
		mu.Unlock()
		if i < 2 {
			once[i].Do(calls.Done)
		}
		awsError(w, "AccessDeniedException", "User: arn:aws:iam::111122223333:user/JaneDoe is not authorized to perform: cloudtrail:LookupEvents")
	}))
	defer srv.Close()
	h := openStore(t, t.TempDir())
	src, err := New(testConfig(srv.URL, time.Now().Add(-time.Hour), "us-east-1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, src, h.in)
	calls.Wait() // a second poll came after the failure
	stop()
	st := sourceStats(h.in, src.Name())
	if !strings.Contains(st.LastError, "AccessDeniedException") || !strings.Contains(st.LastError, "us-east-1") {
		t.Fatalf("last error %q, want the AccessDeniedException of us-east-1", st.LastError)
	}
}
