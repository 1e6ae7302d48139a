package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/ingest/sqssrc/fauxqs"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// corpusDir is the real public corpus of invictus-ir/aws_dataset, beside
// the repository (see TestCorpus).
var corpusDir = filepath.Join("..", "..", "..", "shared", "corpus", "invictus-aws_dataset", "CloudTrail")

// trailObject is one gzip log file of a trail bucket.
type trailObject struct {
	key    string
	stream string // AWSLogs/[org/]account/CloudTrail/region
	data   []byte
	ids    []string
}

// corpusTrail is the corpus laid out as a trail bucket.
type corpusTrail struct {
	objects   []trailObject
	raw       map[string][]byte // eventID -> record bytes as uploaded
	stream    map[string]string // eventID -> stream it was uploaded in
	byAccount map[string]int    // recipientAccountId -> distinct eventIDs
	ambiguous map[string]bool   // eventIDs uploaded with different bytes
	records   int               // records uploaded, duplicates included
}

// corpusStreams are the key layouts the corpus files are spread over. The
// corpus holds one account and one region (its records say 123837392027 and
// us-east-1, its file names 218007301253), so the records' own stream is
// only the first: the others put whole files, bytes unchanged, under the
// file names' account, other regions and an organization trail, so that the
// source has to discover several accounts, regions and the org layout.
var corpusStreams = []func(recAcct, recRegion, nameAcct string) string{
	func(a, r, _ string) string { return "AWSLogs/" + a + "/CloudTrail/" + r },
	func(_, r, n string) string { return "AWSLogs/" + n + "/CloudTrail/" + r },
	func(_, _, n string) string { return "AWSLogs/" + n + "/CloudTrail/eu-west-1" },
	func(a, _, _ string) string { return "AWSLogs/" + a + "/CloudTrail/ap-southeast-2" },
	func(a, r, _ string) string { return "AWSLogs/o-a1b2c3d4e5/" + a + "/CloudTrail/" + r },
}

// layoutCorpus reads the corpus trail files and lays them out as a trail
// bucket: each file's records, byte for byte, grouped by (account, region,
// hour of eventTime) into gzip files named as CloudTrail names them, under
// one of corpusStreams (round robin over the files). Records without an
// eventID are left out, so that the expected count is distinct eventIDs.
func layoutCorpus(t *testing.T, dir string) corpusTrail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no trail files in %s", dir)
	}
	slices.Sort(files)
	ct := corpusTrail{raw: map[string][]byte{}, stream: map[string]string{}, byAccount: map[string]int{}, ambiguous: map[string]bool{}}
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		nameAcct, _, _ := strings.Cut(filepath.Base(f), "_")
		type group struct {
			acct, region string
			hour         time.Time
		}
		parts := map[group][]json.RawMessage{}
		newest := map[group]time.Time{}
		for _, raw := range doc.Records {
			var r struct {
				EventID   string `json:"eventID"`
				EventTime string `json:"eventTime"`
				Account   string `json:"recipientAccountId"`
				Region    string `json:"awsRegion"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if r.EventID == "" {
				continue
			}
			et, err := time.Parse(time.RFC3339, r.EventTime)
			if err != nil {
				t.Fatalf("%s: eventTime of %s: %v", f, r.EventID, err)
			}
			g := group{r.Account, r.Region, et.Truncate(time.Hour)}
			if len(g.acct) != 12 {
				g.acct = nameAcct
			}
			if g.region == "" {
				g.region = awsTestRegion
			}
			parts[g] = append(parts[g], raw)
			if et.After(newest[g]) {
				newest[g] = et
			}
			if prev, seen := ct.raw[r.EventID]; seen {
				if !bytes.Equal(prev, raw) {
					ct.ambiguous[r.EventID] = true
				}
				continue
			}
			ct.raw[r.EventID] = raw
			ct.byAccount[r.Account]++
		}
		for g, recs := range parts {
			stream := corpusStreams[i%len(corpusStreams)](g.acct, g.region, nameAcct)
			acct, region := streamAccountRegion(stream)
			// Delivered up to five minutes after its newest event.
			delivered := newest[g].Truncate(5 * time.Minute).Add(5 * time.Minute)
			sum := sha256.Sum256([]byte(f + g.hour.String()))
			name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", acct, region, delivered.Format("20060102T1504Z"), suffix16(sum[:]))
			// Joined by hand: json.Marshal would rewrite the records
			// (it escapes &, < and > inside a RawMessage).
			var body bytes.Buffer
			body.WriteString(`{"Records":[`)
			for j, raw := range recs {
				if j > 0 {
					body.WriteByte(',')
				}
				body.Write(raw)
			}
			body.WriteString(`]}`)
			ct.records += len(recs)
			o := trailObject{key: stream + "/" + delivered.Format("2006/01/02") + "/" + name, stream: stream, data: gzipBytes(t, body.Bytes())}
			for _, raw := range recs {
				var r struct {
					EventID string `json:"eventID"`
				}
				_ = json.Unmarshal(raw, &r)
				o.ids = append(o.ids, r.EventID)
				if _, ok := ct.stream[r.EventID]; !ok {
					ct.stream[r.EventID] = stream
				}
			}
			ct.objects = append(ct.objects, o)
		}
	}
	slices.SortFunc(ct.objects, func(a, b trailObject) int { return strings.Compare(a.key, b.key) })
	for i := 1; i < len(ct.objects); i++ {
		if ct.objects[i].key == ct.objects[i-1].key {
			t.Fatalf("two objects at %s", ct.objects[i].key)
		}
	}
	return ct
}

// streamAccountRegion returns the account and region of a stream prefix.
func streamAccountRegion(stream string) (acct, region string) {
	p := strings.Split(stream, "/")
	return p[len(p)-3], p[len(p)-1]
}

// suffix16 is the 16 letters and digits that end a log file name.
func suffix16(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 16)
	for i := range out {
		out[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(out)
}

// waitEvents polls Stats every 10 ms until the server holds want events,
// and fails at once if it holds more.
func waitEvents(t *testing.T, c *client.Client, want int64, wait time.Duration) *pb.StatsResponse {
	t.Helper()
	deadline := time.Now().Add(wait)
	var st *pb.StatsResponse
	for {
		var err error
		st, err = c.Stats(context.Background())
		if err == nil {
			if st.GetEvents() > want {
				t.Fatalf("server holds %d events, want %d", st.GetEvents(), want)
			}
			if st.GetEvents() == want {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d events after %s, want %d (last error %v); stats %v", st.GetEvents(), wait, want, err, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allIDs pages through every stored event and counts each eventID; with
// the RAW view it also returns each record's bytes.
func allIDs(t *testing.T, c *client.Client, view pb.EventView) (map[string]int, map[string]string) {
	t.Helper()
	ids, raws := map[string]int{}, map[string]string{}
	for e, err := range c.SearchAll(context.Background(), &pb.SearchRequest{PageSize: 1000, View: view, Order: pb.Order_ORDER_OLDEST_FIRST}) {
		if err != nil {
			t.Fatalf("SearchAll: %v", err)
		}
		ids[e.GetEventId()]++
		if view == pb.EventView_EVENT_VIEW_RAW {
			raws[e.GetEventId()] = e.GetRecordJson()
		}
	}
	return ids, raws
}

// sourceStats returns the Stats entry of the source whose name has prefix.
func sourceStats(t *testing.T, st *pb.StatsResponse, prefix string) *pb.SourceStats {
	t.Helper()
	for _, s := range st.GetSources() {
		if strings.HasPrefix(s.GetName(), prefix) {
			return s
		}
	}
	t.Fatalf("no source %s* in stats: %v", prefix, st.GetSources())
	return nil
}

func newUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// TestS3CorpusThenSQS is the acceptance test of the S3 and SQS sources: the
// real public corpus, gzipped and laid out as a trail bucket with several
// accounts, regions and an organization trail in gofakes3, is ingested
// completely through s3://; then a new file announced through SNS -> SQS
// (fauxqs) appears in Search and in a running Subscribe within 2 s of the
// notice. The s3:// source polls once an hour, so only the notice can bring
// the new file in time.
func TestS3CorpusThenSQS(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus not present: %v", err)
	}
	noLeaks(t)
	awsEnv(t)
	binary(t) // built before the clock starts
	ct := layoutCorpus(t, corpusDir)
	want := int64(len(ct.raw))
	s3 := newFakeS3(t, "trail")
	wantStream := map[string]int{}
	for _, o := range ct.objects {
		s3.put("trail", o.key, o.data)
	}
	for _, s := range ct.stream {
		wantStream[s]++
	}
	if len(wantStream) < len(corpusStreams) {
		t.Fatalf("corpus spread over %d streams, want %d", len(wantStream), len(corpusStreams))
	}
	t.Logf("uploaded %d objects with %d distinct eventIDs in %d streams: %v", len(ct.objects), want, len(wantStream), wantStream)

	args := []string{"--data", t.TempDir(), "--source", "s3://trail?endpoint=" + s3.url + "&path_style=true&interval=1h"}
	var (
		q                  *fauxqs.Emulator
		queueURL, topicArn string
	)
	if fq := fauxqs.Bin(); fq != "" {
		q = fauxqs.Start(t, fq, awsTestRegion)
		queueURL = q.Queue("trail-notices")
		topicArn = q.Topic("trail-notices", queueURL)
		args = append(args, "--source", q.SourceURL(queueURL, s3.url, awsTestRegion, ""))
	}

	start := time.Now()
	srv := startServer(t, args...)
	c := dialTest(t, srv.addr)
	st := waitEvents(t, c, want, 90*time.Second)
	t.Logf("s3:// ingested %d events from %d objects in %s (from process start)", st.GetEvents(), len(ct.objects), time.Since(start).Round(time.Millisecond))

	t.Run("s3", func(t *testing.T) {
		ctx := context.Background()
		src := sourceStats(t, st, "s3://trail")
		// The last file's checkpoint may be stored by an input of its own,
		// after its events: wait for every record to be counted.
		deadline := time.Now().Add(10 * time.Second)
		for src.GetCounts().GetRecords() < int64(ct.records) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			st, _ = c.Stats(ctx)
			src = sourceStats(t, st, "s3://trail")
		}
		if n := src.GetCounts().GetRecords(); n != int64(ct.records) {
			t.Errorf("s3 source read %d records, want %d", n, ct.records)
		}
		if n := src.GetCounts().GetEventsStored(); n != want {
			t.Errorf("s3 source stored %d events, want %d", n, want)
		}
		// Inputs count the objects and the watermark-only inputs the
		// source stores at the end of a poll (at most one per stream).
		if n := src.GetCounts().GetFiles(); n < int64(len(ct.objects)) || n > int64(len(ct.objects)+len(wantStream)) {
			t.Errorf("s3 source read %d inputs, want %d objects and at most %d watermark inputs", n, len(ct.objects), len(wantStream))
		} else {
			t.Logf("s3 source counted %d inputs for %d objects", n, len(ct.objects))
		}
		if src.GetLastError() != "" {
			t.Errorf("s3 source last error: %s", src.GetLastError())
		}
		if n := st.GetIngest().GetInvalidRecords() + st.GetIngest().GetInvalidFiles(); n != 0 || len(st.GetRecentProblems()) > 0 {
			t.Errorf("%d invalid records and files; problems %v", n, st.GetRecentProblems())
		}

		res, err := c.Search(ctx, &pb.SearchRequest{Query: "*", PageSize: 1, Facets: []*pb.FacetRequest{{Field: "account", Size: 100}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetTotalHits() != want {
			t.Errorf("Search * total %d, want %d", res.GetTotalHits(), want)
		}
		got := map[string]int{}
		for _, fc := range res.GetFacets()[0].GetCounts() {
			got[fc.GetValue()] = int(fc.GetCount())
		}
		if fmt.Sprint(got) != fmt.Sprint(ct.byAccount) {
			t.Errorf("account facet %v, want %v", got, ct.byAccount)
		}

		// Every record once, byte for byte, from every stream.
		ids, raws := allIDs(t, c, pb.EventView_EVENT_VIEW_RAW)
		gotStream := map[string]int{}
		for id, n := range ids {
			if n != 1 {
				t.Errorf("%s stored %d times", id, n)
			}
			if _, ok := ct.raw[id]; !ok {
				t.Errorf("unexpected event %s", id)
				continue
			}
			gotStream[ct.stream[id]]++
			if !ct.ambiguous[id] && raws[id] != string(ct.raw[id]) {
				t.Errorf("%s: record is not byte-identical:\n got %.300s\nwant %.300s", id, raws[id], ct.raw[id])
			}
		}
		if fmt.Sprint(gotStream) != fmt.Sprint(wantStream) {
			t.Errorf("events by key stream %v, want %v", gotStream, wantStream)
		}
	})

	t.Run("sqs", func(t *testing.T) {
		if q == nil {
			t.Skip("fauxqs is not installed (.tools/bin/fauxqs-node or $CODETRAIL_FAUXQS): run make tools")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		id := newUUID(t)
		query := fmt.Sprintf("eventID:%q", id)

		// A running Subscribe, caught up before the notice.
		stream, err := pb.NewEventServiceClient(c.Conn()).Subscribe(ctx, &pb.SubscribeRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		type arrival struct {
			id  string
			at  time.Time
			err error
		}
		caughtUp, arrivals := make(chan struct{}), make(chan arrival, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			first := true
			for {
				m, err := stream.Recv()
				if err != nil {
					arrivals <- arrival{err: err}
					return
				}
				switch {
				case m.GetCaughtUp() != nil && first:
					first = false
					close(caughtUp)
				case m.GetEvent() != nil:
					arrivals <- arrival{id: m.GetEvent().GetEventId(), at: time.Now()}
				}
			}
		}()
		defer func() { cancel(); <-done }()
		select {
		case <-caughtUp:
		case a := <-arrivals:
			t.Fatalf("subscribe before caught up: %+v", a)
		case <-time.After(10 * time.Second):
			t.Fatal("Subscribe did not catch up within 10 s")
		}

		now := time.Now().UTC()
		rec := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAE2E","arn":"arn:aws:iam::123837392027:user/e2e","accountId":"123837392027","userName":"e2e"},"eventTime":%q,"eventSource":"codepipeline.amazonaws.com","eventName":"StartPipelineExecution","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","userAgent":"aws-cli/2.15.0","requestParameters":{"name":"e2e-sqs-pipeline"},"responseElements":{"pipelineExecutionId":%q},"requestID":%q,"eventID":%q,"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123837392027","eventCategory":"Management"}`,
			now.Format(time.RFC3339), newUUID(t), newUUID(t), id)
		delivered := now.Truncate(5 * time.Minute).Add(5 * time.Minute)
		sum := sha256.Sum256([]byte(id))
		key := fmt.Sprintf("AWSLogs/123837392027/CloudTrail/us-east-1/%s/123837392027_CloudTrail_us-east-1_%s_%s.json.gz",
			delivered.Format("2006/01/02"), delivered.Format("20060102T1504Z"), suffix16(sum[:]))
		s3.put("trail", key, gzipBytes(t, []byte(`{"Records":[`+rec+`]}`)))

		notice, _ := json.Marshal(map[string]any{"s3Bucket": "trail", "s3ObjectKey": []string{key}})
		t0 := time.Now()
		q.Publish(topicArn, string(notice))
		published := time.Since(t0)

		// Search every 20 ms; the subscriber stamps its own arrival.
		const bound = 2 * time.Second
		var toSearch, toSub time.Duration
		deadline := t0.Add(30 * time.Second) // measure past the bound, to report
		for (toSearch == 0 || toSub == 0) && time.Now().Before(deadline) {
			select {
			case a := <-arrivals:
				if a.err != nil {
					t.Fatalf("Subscribe ended: %v", a.err)
				}
				if a.id != id {
					t.Fatalf("Subscribe delivered %s, want only %s", a.id, id)
				}
				toSub = a.at.Sub(t0)
			default:
			}
			if toSearch == 0 {
				res, err := c.Search(ctx, &pb.SearchRequest{Query: query, PageSize: 1})
				if err != nil {
					t.Fatal(err)
				}
				if res.GetTotalHits() > 0 {
					toSearch = time.Since(t0)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("SNS publish call took %s; publish -> Search %s, publish -> Subscribe %s", published.Round(time.Millisecond), toSearch.Round(time.Millisecond), toSub.Round(time.Millisecond))
		if toSearch == 0 || toSearch > bound {
			t.Errorf("publish -> Search took %s (0: not within 30 s), want < %s", toSearch, bound)
		}
		if toSub == 0 || toSub > bound {
			t.Errorf("publish -> Subscribe took %s (0: not within 30 s), want < %s", toSub, bound)
		}

		// Stored once, byte for byte, and the notice deleted.
		ev, err := c.GetEvent(ctx, id, pb.EventView_EVENT_VIEW_RAW)
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetRecordJson() != rec {
			t.Errorf("record not byte-identical:\n got %s\nwant %s", ev.GetRecordJson(), rec)
		}
		waitEvents(t, c, want+1, 5*time.Second)
		deadline = time.Now().Add(10 * time.Second)
		for {
			v, f := q.InQueue(queueURL)
			if v+f == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("queue still holds %d visible and %d in-flight messages", v, f)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		st, err := c.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s := sourceStats(t, st, "sqs://"); s.GetCounts().GetEventsStored() != 1 || s.GetLastError() != "" {
			t.Errorf("sqs source: %v", s)
		}
		select {
		case a := <-arrivals:
			t.Errorf("Subscribe delivered more: %+v", a)
		case <-time.After(200 * time.Millisecond):
		}
	})
	srv.stop(t)
}

// genTrail writes a dataset with `codetrail gen` and returns the distinct
// eventIDs of its log files and its record count.
func genTrail(t *testing.T, events int, seed uint64) (dir string, ids map[string]bool, records int) {
	t.Helper()
	dir = t.TempDir()
	run1(t, "gen", "--out", dir, "--events", fmt.Sprint(events), "--seed", fmt.Sprint(seed))
	ids = map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(filepath.ToSlash(path), "/CloudTrail/") {
			return err
		}
		var doc struct {
			Records []struct {
				EventID string `json:"eventID"`
			}
		}
		if err := json.Unmarshal(gunzipFile(t, path), &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range doc.Records {
			if r.EventID == "" {
				return fmt.Errorf("%s: a record without eventID", path)
			}
			ids[r.EventID] = true
			records++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, ids, records
}

// TestKillRestartNoLossNoDup SIGKILLs `codetrail serve` at random moments
// while it ingests a generated trail, restarts it on the same data
// directory each time, and checks that in the end every distinct eventID is
// stored exactly once: from a directory, and from a trail bucket in
// gofakes3.
func TestKillRestartNoLossNoDup(t *testing.T) {
	noLeaks(t)
	events, kills := 20000, 3
	if testing.Short() {
		events, kills = 8000, 2
	}
	dir, ids, records := genTrail(t, events, 11)
	t.Logf("generated %d records, %d distinct eventIDs", records, len(ids))
	if records == len(ids) {
		t.Logf("the dataset has no duplicate deliveries")
	}

	t.Run("files", func(t *testing.T) {
		killRestart(t, kills, ids, "--source", dir)
	})
	t.Run("s3", func(t *testing.T) {
		if testing.Short() {
			t.Skip("short")
		}
		awsEnv(t)
		s3 := newFakeS3(t, "trail")
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			s3.put("trail", "logs/"+filepath.ToSlash(rel), b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		killRestart(t, kills, ids, "--source", "s3://trail/logs?endpoint="+s3.url+"&path_style=true&interval=200ms&parallel=32")
	})
}

// killRestart serves args on one data directory, SIGKILLs the server kills
// times once it has stored a random share of want (each time more), and
// finally lets it finish and checks the stored eventIDs against want.
func killRestart(t *testing.T, kills int, want map[string]bool, args ...string) {
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 0))
	t.Logf("kill moments seeded with %d", seed)
	total := int64(len(want))
	data := t.TempDir()
	args = append([]string{"--data", data}, args...)
	start := time.Now()
	var seen int64 // most events seen stored before a kill
	midIngest := 0
	for k := range kills {
		srv := startServer(t, args...)
		c := dialTest(t, srv.addr)
		// A random point in the k-th of kills+1 equal slices of the rest.
		slice := (total - seen) / int64(kills-k+1)
		target := seen + slice/4 + rng.Int64N(slice/2+1)
		st := waitStored(t, c, target, total, func(first int64) {
			if first < seen {
				t.Errorf("restart %d: %d events stored, %d were seen stored before the kill", k, first, seen)
			}
		})
		at := st.GetEvents()
		_ = srv.cmd.Process.Kill() // SIGKILL
		<-srv.done
		_ = c.Close()
		if at < total {
			midIngest++
		}
		t.Logf("kill %d: SIGKILL at %d of %d events (target %d)", k+1, at, total, target)
		seen = max(seen, at)
	}
	if midIngest < kills {
		t.Errorf("only %d of %d kills happened while ingest was running", midIngest, kills)
	}

	srv := startServer(t, args...)
	c := dialTest(t, srv.addr)
	st := waitStored(t, c, total, total, func(first int64) {
		if first < seen {
			t.Errorf("last restart: %d events stored, %d were seen stored before the kill", first, seen)
		}
	})
	t.Logf("all %d events stored %s after the first start; the last run read %d records, %d of them duplicates",
		total, time.Since(start).Round(time.Millisecond), st.GetIngest().GetRecords(), st.GetIngest().GetDuplicates())
	// Let the source scan again: nothing more is stored.
	time.Sleep(time.Second)
	if st := waitEvents(t, c, total, time.Second); st.GetIngest().GetInvalidRecords()+st.GetIngest().GetInvalidFiles() != 0 {
		t.Errorf("invalid records or files: %v", st.GetIngest())
	}
	res, err := c.Search(context.Background(), &pb.SearchRequest{Query: "*", PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetTotalHits() != total {
		t.Errorf("Search * total %d, want %d", res.GetTotalHits(), total)
	}
	got, _ := allIDs(t, c, pb.EventView_EVENT_VIEW_SUMMARY)
	var dups, extra, missing []string
	for id, n := range got {
		if n > 1 {
			dups = append(dups, fmt.Sprintf("%s×%d", id, n))
		}
		if !want[id] {
			extra = append(extra, id)
		}
	}
	for id := range want {
		if got[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(dups)+len(extra)+len(missing) > 0 {
		t.Errorf("paged %d distinct events: %d duplicated %v, %d unexpected %v, %d missing %v",
			len(got), len(dups), firstTen(dups), len(extra), firstTen(extra), len(missing), firstTen(missing))
	}
	srv.stop(t)
}

// firstTen is the first ten of s, sorted, for messages.
func firstTen(s []string) []string {
	slices.Sort(s)
	return s[:min(len(s), 10)]
}

// stallTimeout is how long waitStored waits for the event count to move:
// a loaded machine ingests slowly, a stuck server not at all.
const stallTimeout = 60 * time.Second

// waitStored polls Stats every 5 ms until the server holds at least target
// events and returns those Stats. It calls first with the first count it
// sees, and fails if the count exceeds total or stands still for
// stallTimeout.
func waitStored(t *testing.T, c *client.Client, target, total int64, first func(int64)) *pb.StatsResponse {
	t.Helper()
	var (
		last    int64 = -1
		lastErr error
		moved   = time.Now()
	)
	for {
		st, err := c.Stats(context.Background())
		lastErr = err
		if err == nil {
			n := st.GetEvents()
			if last < 0 {
				first(n)
			}
			if n > total {
				t.Fatalf("server holds %d events, want %d", n, total)
			}
			if n >= target {
				return st
			}
			if n != last {
				last, moved = n, time.Now()
			}
		}
		if time.Since(moved) > stallTimeout {
			t.Fatalf("no progress for %s: %d events stored, waiting for %d (last error %v)", stallTimeout, last, target, lastErr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
