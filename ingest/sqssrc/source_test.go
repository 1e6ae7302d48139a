package sqssrc

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/codetrail/codetrail/ingest"
)

const logKey = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/02/01/"

// value reads a counter (prometheus/testutil needs a module go.mod lacks).
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// problems returns the recorded problems whose name has prefix.
func problems(in *ingest.Ingester, prefix string) []ingest.Problem {
	_, _, ps := in.Stats()
	var out []ingest.Problem
	for _, p := range ps {
		if strings.HasPrefix(p.Name, prefix) {
			out = append(out, p)
		}
	}
	return out
}

func sameIDs(t *testing.T, got, want map[string]int) {
	t.Helper()
	if !maps.Equal(got, want) {
		var extra, missing []string
		for id, n := range got {
			if want[id] != n {
				extra = append(extra, fmt.Sprintf("%s×%d", id, n))
			}
		}
		for id := range want {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		t.Fatalf("stored events: %d, want %d; unexpected %v; missing %v", len(got), len(want), extra, missing)
	}
}

// TestNoticeShapes sends every accepted body shape through a running
// Source: the SNS envelope published through fauxqs' SNS -> SQS
// subscription, raw delivery with several keys and a digest key, S3
// ObjectCreated events with URL-encoded keys, and the S3 test event. Every
// event is stored once and every message deleted.
func TestNoticeShapes(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("shapes")
	topic := e.Topic("trail", q)
	e.put(logKey+"sns.json.gz", "sns", 0, 5)
	e.put(logKey+"raw-1.json.gz", "raw1", 0, 7)
	e.put(logKey+"raw-2.json.gz", "raw2", 0, 3)
	e.put(logKey+"my file=1+2 été.json.gz", "s3ev", 0, 4)
	e.put(logKey+"plain.json.gz", "s3ev2", 0, 2)
	e.put("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/02/01/d.json.gz", "digest", 0, 1)

	before := value(metricDeleted)
	e.run(e.source(q, "visibility=5s&wait=1s"), e.in)

	e.Publish(topic, `{"s3Bucket":"trail","s3ObjectKey":["`+logKey+`sns.json.gz"]}`)
	e.Send(q, `{"s3Bucket":"trail","s3ObjectKey":["`+logKey+`raw-1.json.gz","AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/02/01/d.json.gz","`+logKey+`raw-2.json.gz"]}`)
	e.Send(q, s3EventBody("ObjectCreated:Put", logKey+"my+file%3D1%2B2+%C3%A9t%C3%A9.json.gz", logKey+"plain.json.gz"))
	e.Send(q, `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-02-01T10:00:00.000Z","Bucket":"trail","RequestId":"1","HostId":"2"}`)

	want := map[string]int{}
	wantIDs(want, "sns", 0, 5)
	wantIDs(want, "raw1", 0, 7)
	wantIDs(want, "raw2", 0, 3)
	wantIDs(want, "s3ev", 0, 4)
	wantIDs(want, "s3ev2", 0, 2)
	eventually(t, 10*time.Second, "every message deleted", func() bool {
		return value(metricDeleted)-before >= 4
	})
	sameIDs(t, e.ids(), want)
	if v, f := e.InQueue(q); v+f != 0 {
		t.Errorf("queue holds %d visible and %d in-flight messages, want none", v, f)
	}
	if ps := problems(e.in, ""); len(ps) != 0 {
		t.Errorf("problems: %+v", ps)
	}
}

// TestMalformedMessageLeftInQueue checks that a message that cannot be
// understood is reported, not deleted, not retried hot, and comes back after
// the visibility timeout.
func TestMalformedMessageLeftInQueue(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("malformed")
	e.Send(q, `this is not JSON`)
	e.Send(q, `{"s3Bucket":"trail","s3ObjectKey":[]}`)
	stop := e.run(e.source(q, "visibility=3s&wait=1s"), e.in)

	eventually(t, 10*time.Second, "both messages reported", func() bool { return len(problems(e.in, "message ")) == 2 })
	// Within the visibility timeout the messages stay away: no hot loop.
	time.Sleep(time.Second)
	stop()
	ps := problems(e.in, "message ")
	if len(ps) != 2 {
		t.Fatalf("%d reports within the visibility timeout, want 2: %+v", len(ps), ps)
	}
	for _, p := range ps {
		if !strings.Contains(p.Reason, "received 1 times; left in the queue") {
			t.Errorf("reason %q does not say it was left in the queue", p.Reason)
		}
	}
	// Still in the queue: they come back once the visibility timeout ends.
	got := map[string]bool{}
	deadline := time.Now().Add(8 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		out, err := e.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameApproximateReceiveCount},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			got[aws.ToString(m.Body)] = true
			if n, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]); n < 2 {
				t.Errorf("receive count %d, want >= 2", n)
			}
		}
	}
	if len(got) != 2 {
		t.Fatalf("received %v again, want both malformed messages", got)
	}
}

// TestMissingObjectReportedAndDeleted checks that an object that does not
// exist is reported, the message's other objects are stored, and the
// message is deleted.
func TestMissingObjectReportedAndDeleted(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("missing")
	e.put(logKey+"here.json.gz", "here", 0, 3)
	e.Send(q, `{"s3Bucket":"trail","s3ObjectKey":["`+logKey+`gone.json.gz","`+logKey+`here.json.gz"]}`)
	e.run(e.source(q, "visibility=3s&wait=1s"), e.in)

	eventually(t, 10*time.Second, "missing object reported", func() bool { return len(problems(e.in, logKey+"gone")) == 1 })
	eventually(t, 10*time.Second, "message deleted", func() bool { v, f := e.InQueue(q); return v+f == 0 })
	want := map[string]int{}
	wantIDs(want, "here", 0, 3)
	sameIDs(t, e.ids(), want)
	if p := problems(e.in, logKey+"gone")[0]; !strings.Contains(p.Reason, "NoSuchKey") || !strings.Contains(p.Reason, "deleted") {
		t.Errorf("reason %q", p.Reason)
	}
}

// TestNotDeletedUntilStored makes storing fail (a closed Ingester) and then
// cancels a Source in the middle of a fetch: in both cases the message stays
// in the queue, and a later Source stores it.
func TestNotDeletedUntilStored(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("unstored")
	e.put(logKey+"a.json.gz", "a", 0, 4)
	e.Send(q, `{"s3Bucket":"trail","s3ObjectKey":["`+logKey+`a.json.gz"]}`)

	// 1. Input fails: the Ingester is closed.
	closed, err := ingest.New(ingest.DefaultConfig(), e.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	stop := e.run(e.source(q, "visibility=1s&wait=1s"), closed)
	eventually(t, 10*time.Second, "store failure recorded", func() bool {
		_, srcs, _ := closed.Stats()
		return len(srcs) == 1 && srcs[0].LastError != ""
	})
	stop()

	// 2. Cancelled while the object is being fetched: handed back at once.
	// parallel=1 so that no other long poll of the Source is open when it
	// stops: fauxqs (like SQS) may hand a message to a poll whose client
	// has just gone, which hides it for that poll's visibility timeout.
	e.s3delay.Store(logKey+"a.json.gz", 1500*time.Millisecond)
	before := value(metricReceived)
	stop = e.run(e.source(q, "visibility=30s&wait=1s&parallel=1"), e.in)
	eventually(t, 10*time.Second, "message received", func() bool { return value(metricReceived) > before })
	stop()
	e.s3delay.Delete(logKey + "a.json.gz")
	if got := e.ids(); len(got) != 0 {
		t.Fatalf("stored %v, want nothing yet", got)
	}
	if v, f := e.InQueue(q); v != 1 || f != 0 {
		t.Fatalf("queue holds %d visible, %d in flight; want the message visible again", v, f)
	}

	// 3. A working Source stores it and deletes it.
	e.run(e.source(q, "visibility=5s&wait=1s"), e.in)
	want := map[string]int{}
	wantIDs(want, "a", 0, 4)
	eventually(t, 10*time.Second, "message deleted", func() bool { v, f := e.InQueue(q); return v+f == 0 })
	sameIDs(t, e.ids(), want)
}

// TestVisibilityExtended keeps a message in work for several visibility
// timeouts (a slow object) and checks that nobody else can receive it
// meanwhile.
func TestVisibilityExtended(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("slow")
	e.put(logKey+"slow.json.gz", "slow", 0, 3)
	e.s3delay.Store(logKey+"slow.json.gz", 3500*time.Millisecond)
	e.Send(q, `{"s3Bucket":"trail","s3ObjectKey":["`+logKey+`slow.json.gz"]}`)
	before := value(metricReceived)
	e.run(e.source(q, "visibility=1s&wait=1s"), e.in)
	eventually(t, 10*time.Second, "message received", func() bool { return value(metricReceived) > before })
	for len(e.ids()) == 0 {
		out, err := e.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) > 0 {
			t.Fatal("the message in work became visible: its visibility was not extended")
		}
	}
	eventually(t, 10*time.Second, "message deleted", func() bool { v, f := e.InQueue(q); return v+f == 0 })
}

// TestTwoSourcesShareQueue runs two Sources on one queue, as two replicas
// would: every event is stored exactly once and no object is fetched twice.
func TestTwoSourcesShareQueue(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("shared")
	const messages, perFile = 30, 20
	want := map[string]int{}
	files := 0
	for i := range messages {
		var keys []string
		for j := range 1 + i%2 {
			key := fmt.Sprintf("%sf-%02d-%d.json.gz", logKey, i, j)
			prefix := fmt.Sprintf("m%02d-%d", i, j)
			e.put(key, prefix, 0, perFile)
			wantIDs(want, prefix, 0, perFile)
			keys = append(keys, `"`+key+`"`)
			files++
		}
		e.Send(q, `{"s3Bucket":"trail","s3ObjectKey":[`+strings.Join(keys, ",")+`]}`)
	}
	fetched, deleted := value(metricFetched), value(metricDeleted)
	e.run(e.source(q, "visibility=10s&wait=1s&parallel=2"), e.in)
	e.run(e.source(q, "visibility=10s&wait=1s&parallel=3"), e.in)
	eventually(t, 20*time.Second, "every message deleted", func() bool {
		return value(metricDeleted)-deleted >= messages
	})
	sameIDs(t, e.ids(), want)
	if n := value(metricFetched) - fetched; n != float64(files) {
		t.Errorf("fetched %v objects, want %d (each once)", n, files)
	}
	_, srcs, _ := e.in.Stats()
	if len(srcs) != 1 || srcs[0].Counts.Stored != int64(len(want)) || srcs[0].Counts.Duplicates != 0 {
		t.Errorf("stats %+v, want %d stored and no duplicates", srcs, len(want))
	}
}

// TestNewFileAppearsQuickly announces a new file through SNS -> SQS to a
// Source that is idle in a long poll; its events must be searchable within
// 2 s of the message.
func TestNewFileAppearsQuickly(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("live")
	topic := e.Topic("live-trail", q)
	e.run(e.source(q, "wait=20s"), e.in)
	time.Sleep(300 * time.Millisecond) // let the Source sit in its long poll
	e.put(logKey+"new.json.gz", "new", 0, 10)
	start := time.Now()
	e.Publish(topic, `{"s3Bucket":"trail","s3ObjectKey":["`+logKey+`new.json.gz"]}`)
	eventually(t, 2*time.Second, "new events searchable", func() bool { return len(e.ids()) == 10 })
	t.Logf("new file searchable %v after the message", time.Since(start).Round(time.Millisecond))
}

// TestFauxqsDeliversEnvelope pins what TestNoticeShapes relies on: fauxqs
// delivers an SNS publication to a subscribed queue as the SNS envelope
// (not raw), as SNS does for CloudTrail.
func TestFauxqsDeliversEnvelope(t *testing.T) {
	e := newEnv(t)
	q := e.Queue("envelope")
	e.Publish(e.Topic("env", q), `{"s3Bucket":"trail","s3ObjectKey":["k"]}`)
	out, err := e.SQS.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), WaitTimeSeconds: 5})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v, %d messages", err, len(out.Messages))
	}
	body := aws.ToString(out.Messages[0].Body)
	if !strings.Contains(body, `"Type":"Notification"`) || !strings.Contains(body, `"TopicArn"`) {
		t.Fatalf("body is not an SNS envelope: %s", body)
	}
	if n, err := parseNotice([]byte(body)); err != nil || len(n.Objects) != 1 {
		t.Fatalf("parseNotice = %+v, %v", n, err)
	}
}
