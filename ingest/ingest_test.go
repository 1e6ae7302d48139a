package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/codetrail/codetrail/index"
)

func TestMain(m *testing.M) {
	// Bleve starts a global pool of analysis workers on first use.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

func newIngesterB(b *testing.B) (*Ingester, *index.Store) {
	st, err := index.Open(index.DefaultConfig(b.TempDir()), nil)
	if err != nil {
		b.Fatal(err)
	}
	in, err := New(DefaultConfig(), st, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return in, st
}

func newIngester(t *testing.T, dir string) (*Ingester, *index.Store) {
	t.Helper()
	st, err := index.Open(index.DefaultConfig(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := New(DefaultConfig(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		_ = st.Close()
	})
	return in, st
}

func rec(i int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":"ev-%05d","eventTime":"2024-02-01T10:%02d:%02dZ","eventSource":"codecommit.amazonaws.com","eventName":"GitPush","awsRegion":"eu-west-1","recipientAccountId":"123456789012","requestParameters":{"repositoryName":"r%d"}}`, i, (i/60)%60, i%60, i%5)
}

func trailFile(from, to int) []byte {
	var recs []string
	for i := from; i < to; i++ {
		recs = append(recs, rec(i))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func TestInputCountsEveryOutcome(t *testing.T) {
	in, _ := newIngester(t, t.TempDir())
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		data []byte
		want Counts
	}{
		{"trail file", trailFile(0, 10), Counts{Files: 1, Records: 10, Stored: 10}},
		{"same again", gz(trailFile(0, 10)), Counts{Files: 1, Records: 10, Duplicates: 10}},
		{"json lines with a bad line", []byte(rec(20) + "\n{broken\n" + rec(21) + "\n"), Counts{Files: 1, Records: 3, Stored: 2, InvalidRecords: 1}},
		{"not json", []byte("hello world"), Counts{Files: 1, InvalidFiles: 1}},
		{"digest", []byte(`{"awsAccountId":"123456789012","digestStartTime":"2024-02-01T10:00:00Z","digestEndTime":"2024-02-01T11:00:00Z","digestS3Bucket":"b","digestPublicKeyFingerprint":"ab","digestSignatureAlgorithm":"SHA256withRSA","logFiles":[]}`), Counts{Files: 1, SkippedFiles: 1}},
		{"odd time kept", []byte(`{"eventID":"odd-1","eventTime":"yesterday","eventName":"GitPull","eventSource":"codecommit.amazonaws.com"}`), Counts{Files: 1, Records: 1, Stored: 1, RecordsWithProblems: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := in.Input(ctx, "test", tc.name, tc.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Counts != tc.want {
				t.Fatalf("counts %+v, want %+v (problems %+v)", res.Counts, tc.want, res.Problems)
			}
			if int(tc.want.InvalidRecords+tc.want.InvalidFiles) != len(res.Problems) {
				t.Fatalf("%d problems for %+v: %+v", len(res.Problems), tc.want, res.Problems)
			}
		})
	}
	total, sources, problems := in.Stats()
	if total.Stored != 13 || len(sources) != 1 || sources[0].Name != "test" || len(problems) != 2 {
		t.Fatalf("stats: %+v %+v %+v", total, sources, problems)
	}
	if problems[0].Name != "not json" || problems[1].Pos != "line 2" {
		t.Fatalf("problems newest first with positions: %+v", problems)
	}
}

// Concurrent inputs are merged into shared batches and each caller gets its
// own counts back.
func TestGroupCommitSplitsResults(t *testing.T) {
	in, st := newIngester(t, t.TempDir())
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]Result, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each input overlaps the next by 50 events.
			r, err := in.Input(ctx, "test", fmt.Sprint(i), trailFile(i*100, i*100+150), nil)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	var stored, dups int64
	for _, r := range results {
		stored += r.Counts.Stored
		dups += r.Counts.Duplicates
		if r.Counts.Stored+r.Counts.Duplicates != 150 {
			t.Fatalf("result does not add up: %+v", r.Counts)
		}
	}
	if stored != 850 || dups != 350 || st.Stats().Events != 850 {
		t.Fatalf("stored %d dups %d index %d", stored, dups, st.Stats().Events)
	}
}

func TestPathsCheckpointsAndBadFiles(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "trail")
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json.gz", gz(trailFile(0, 50)))
	write("sub/b.json", trailFile(50, 80))
	write("sub/c.json.gz", []byte("\x1f\x8bnot really gzip"))
	write(".hidden", []byte("ignored"))

	data := filepath.Join(dir, "data")
	in, st := newIngester(t, data)
	ctx := context.Background()
	res, err := in.Paths(ctx, "files", []string{src})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Files != 3 || res.Counts.Stored != 80 || res.Counts.InvalidFiles != 1 {
		t.Fatalf("first pass: %+v", res.Counts)
	}
	// Unchanged files are not read again, bad ones included: a bad file is
	// reported once, not every pass.
	res, err = in.Paths(ctx, "files", []string{src})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts != (Counts{}) {
		t.Fatalf("second pass: %+v", res.Counts)
	}
	// A changed file is read again; only its new events are stored.
	time.Sleep(10 * time.Millisecond)
	write("sub/b.json", trailFile(50, 90))
	res, err = in.Paths(ctx, "files", []string{src})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Stored != 10 || res.Counts.Duplicates != 30 {
		t.Fatalf("third pass: %+v", res.Counts)
	}
	if st.Stats().Events != 90 {
		t.Fatalf("index has %d events", st.Stats().Events)
	}
}

func TestWatchPicksUpNewFiles(t *testing.T) {
	dir := t.TempDir()
	in, st := newIngester(t, filepath.Join(dir, "data"))
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Watch(ctx, "watch", []string{src}, 20*time.Millisecond) }()
	if err := os.WriteFile(filepath.Join(src, "late.json"), trailFile(0, 5), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for st.Stats().Events != 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := st.Stats().Events; n != 5 {
		t.Fatalf("watch stored %d events, want 5", n)
	}
}

func TestCommitterStopsCleanly(t *testing.T) {
	in, _ := newIngester(t, t.TempDir())
	in.Close()
	if _, err := in.Input(context.Background(), "test", "late", trailFile(0, 1), nil); err == nil {
		t.Fatal("input after close succeeded")
	}
}

// TestCheckpointOnlyInput: an Input with no data and only checkpoints
// stores them and counts no input.
func TestCheckpointOnlyInput(t *testing.T) {
	in, st := newIngester(t, t.TempDir())
	if _, err := in.Input(context.Background(), "src", "checkpoint x", nil, map[string][]byte{"x": []byte("w1")}); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Checkpoint("x"); err != nil || string(v) != "w1" {
		t.Fatalf("checkpoint %q %v", v, err)
	}
	total, srcs, _ := in.Stats()
	if total.Files != 0 || len(srcs) != 0 {
		t.Fatalf("a checkpoint-only input was counted: %+v %+v", total, srcs)
	}
}

func TestWaitResumed(t *testing.T) {
	in, _ := newIngester(t, t.TempDir())
	names := []string{"s3://a", "sqs://b"}
	short := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		return in.WaitResumed(ctx, names)
	}
	if err := short(); err == nil {
		t.Fatal("WaitResumed returned before any source resumed")
	}
	in.Resumed("s3://a")
	in.Fail("sqs://b", errors.New("receive: connection refused")) // known, not resumed
	if err := short(); err == nil {
		t.Fatal("WaitResumed returned with one source still to resume")
	}
	done := make(chan error, 1)
	go func() { done <- in.WaitResumed(context.Background(), names) }()
	time.Sleep(20 * time.Millisecond)
	in.Resumed("sqs://b")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	first := time.Time{}
	_, srcs, _ := in.Stats()
	for _, s := range srcs {
		if s.Resumed.IsZero() {
			t.Fatalf("%s: no Resumed time in Stats", s.Name)
		}
		if s.Name == "s3://a" {
			first = s.Resumed
		}
	}
	in.Resumed("s3://a") // later calls keep the first time
	if _, srcs, _ = in.Stats(); !srcs[0].Resumed.Equal(first) {
		t.Fatalf("Resumed moved from %v to %v", first, srcs[0].Resumed)
	}
}

func TestDecodedSize(t *testing.T) {
	plain := trailFile(0, 50)
	for _, tc := range []struct {
		name string
		data []byte
		want int64
	}{
		{"plain JSON", plain, int64(len(plain))},
		{"gzip: the trailer's size", gz(plain), int64(len(plain))},
		{"empty", nil, 1},
		{"gzip magic, too short for a trailer", []byte{0x1f, 0x8b, 8}, 3},
	} {
		if got := decodedSize(bytes.NewReader(tc.data), int64(len(tc.data))); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// Inputs wait for the decode budget, whatever their size, and all get
// through when it is small.
func TestDecodeBudget(t *testing.T) {
	st, err := index.Open(index.DefaultConfig(t.TempDir()), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DecodeBytes = 20 << 10 // smaller than one of the inputs below
	in, err := New(cfg, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = st.Close() }()
	ctx := context.Background()

	// While the budget is taken, an input waits and gives up with its ctx.
	if err := in.decoding.Acquire(ctx, cfg.DecodeBytes); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = in.Input(short, "test", "waits", trailFile(0, 10), nil)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || st.Stats().Events != 0 {
		t.Fatalf("input while the budget is taken: %v, %d events stored", err, st.Stats().Events)
	}
	in.decoding.Release(cfg.DecodeBytes)

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			n := 10 + 90*(i%2) // 100 records are more than the whole budget
			if _, err := in.Input(ctx, "test", fmt.Sprint(i), gz(trailFile(i*100, i*100+n)), nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := st.Stats().Events; got != 8*10+8*100 {
		t.Fatalf("stored %d events, want %d", got, 8*10+8*100)
	}
}

// Paths reads a file only once it is admitted to the decode budget, so the
// files waiting for it hold no memory; then every one of them is stored.
func TestPathsReadOnceAdmitted(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "trail")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	const files, per = 40, 25
	for i := range files {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d.json.gz", i)), gz(trailFile(i*per, (i+1)*per)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, st := newIngester(t, filepath.Join(dir, "data"))
	ctx := context.Background()
	if err := in.decoding.Acquire(ctx, in.cfg.DecodeBytes); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var res Result
	go func() {
		var err error
		res, err = in.Paths(ctx, "files", []string{src})
		done <- err
	}()
	// Every file is listed and waiting within this time; none may be read.
	for range 30 {
		if held := gaugeValue(metricHeldBytes); held != 0 {
			t.Fatalf("%v bytes of files held while the decode budget is taken", held)
		}
		time.Sleep(10 * time.Millisecond)
	}
	in.decoding.Release(in.cfg.DecodeBytes)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res.Counts.Files != files || res.Counts.Stored != files*per || st.Stats().Events != files*per {
		t.Fatalf("stored %+v, index has %d events, want %d", res.Counts, st.Stats().Events, files*per)
	}
	if held := gaugeValue(metricHeldBytes); held != 0 {
		t.Fatalf("%v bytes still held after Paths returned", held)
	}
}

// An input handed to Input is held (counted in the gauge) while it waits
// for the decode budget: the caller has already read it.
func TestInputHeldWhileWaiting(t *testing.T) {
	in, _ := newIngester(t, t.TempDir())
	ctx := context.Background()
	if err := in.decoding.Acquire(ctx, in.cfg.DecodeBytes); err != nil {
		t.Fatal(err)
	}
	data := gz(trailFile(0, 10))
	waiting, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := in.Input(waiting, "test", "waits", data, nil)
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for gaugeValue(metricHeldBytes) != float64(len(data)) {
		if time.Now().After(deadline) {
			t.Fatalf("held %v bytes, want %d", gaugeValue(metricHeldBytes), len(data))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Input: %v, want it cancelled", err)
	}
	in.decoding.Release(in.cfg.DecodeBytes)
	if held := gaugeValue(metricHeldBytes); held != 0 {
		t.Fatalf("%v bytes still held after Input returned", held)
	}
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		panic(err)
	}
	return m.GetGauge().GetValue()
}
