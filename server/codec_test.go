package server

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/index/record"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// The batch encoding writes field numbers by hand; they must be the
// contract's.
func TestBatchFieldNumbers(t *testing.T) {
	resp := (&pb.SubscribeResponse{}).ProtoReflect().Descriptor().Fields()
	batch := (&pb.EventBatch{}).ProtoReflect().Descriptor().Fields()
	for _, c := range []struct {
		f    protoreflect.FieldDescriptor
		want int
	}{
		{resp.ByName("event"), fieldResponseEvent},
		{resp.ByName("events"), fieldResponseEvents},
		{batch.ByName("events"), fieldBatchEvents},
	} {
		if int(c.f.Number()) != c.want {
			t.Errorf("%s is field %d, the encoder writes %d", c.f.FullName(), c.f.Number(), c.want)
		}
	}
	if fieldBatchEvents != fieldResponseEvent {
		t.Error("EventBatch.events and SubscribeResponse.event must share a number: batches reuse each event's bytes")
	}
}

// encodeBatches makes messages that decode to the hits in order, each under
// the byte bound unless a single event is larger.
func TestEncodeBatches(t *testing.T) {
	var hits []*index.Hit
	for i := range 300 {
		// Every third event is large: 20 KB of parameters.
		params := fmt.Sprintf(`{"n":%d}`, i)
		if i%3 == 0 {
			params = fmt.Sprintf(`{"blob":%q}`, strings.Repeat("x", 20_000))
		}
		raw := fmt.Sprintf(`{"eventVersion":"1.08","eventID":"e-%d","eventTime":"2024-04-01T12:00:00Z","eventSource":"codebuild.amazonaws.com","eventName":"StartBuild","requestParameters":%s}`, i, params)
		ev, err := record.Parse(record.KindCloudTrail, []byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		ev.Seq = uint64(i + 1)
		h := &index.Hit{Event: ev, Cursor: fmt.Sprint(i)}
		if i%2 == 0 {
			h.Memo = &index.Memo{}
		}
		hits = append(hits, h)
	}
	var got []*pb.Event
	msgs := 0
	err := encodeBatches(hits, pb.EventView_EVENT_VIEW_FULL, func(e *encoded) error {
		msgs++
		var b []byte
		for _, p := range e.parts {
			b = append(b, p...)
		}
		if len(b) > maxBatchBytes+64 {
			t.Errorf("message %d is %d bytes", msgs, len(b))
		}
		var m pb.SubscribeResponse
		if err := proto.Unmarshal(b, &m); err != nil {
			return err
		}
		if m.GetEvents() == nil {
			return fmt.Errorf("message %d is not a batch: %v", msgs, m.GetMessage())
		}
		got = append(got, m.GetEvents().GetEvents()...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(hits) || msgs < 2 {
		t.Fatalf("%d events in %d messages, want %d in several", len(got), msgs, len(hits))
	}
	for i, e := range got {
		if want := toEvent(*hits[i], pb.EventView_EVENT_VIEW_FULL); !proto.Equal(e, want) {
			t.Fatalf("event %d: %v, want %v", i, e, want)
		}
	}
}

// Through a real server: a batched stream delivers what a per-event stream
// does, in the same order, with and without compression, replay and live.
func TestSubscribeBatchedMatchesUnbatched(t *testing.T) {
	c, _ := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var recs []string
	for i := range 40 {
		recs = append(recs, rec(i, []string{"CreateDeployment", "GetApplication"}[i%2], ""))
	}
	ingestAll(t, c, client.Input{Name: "first.json", Data: []byte(`{"Records":[` + strings.Join(recs[:25], ",") + `]}`)})
	events := pb.NewEventServiceClient(c.Conn())
	collect := func(batch uint32, opts ...grpc.CallOption) ([]*pb.Event, int) {
		st, err := events.Subscribe(ctx, &pb.SubscribeRequest{Query: "name:CreateDeployment", MaxBatch: batch, Start: &pb.SubscribeRequest_FromStart{FromStart: true}}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var out []*pb.Event
		batches := 0
		for len(out) < 20 {
			m, err := st.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if e := m.GetEvent(); e != nil {
				out = append(out, e)
			}
			if b := m.GetEvents(); b != nil {
				batches++
				if len(b.GetEvents()) > int(batch) {
					t.Fatalf("batch of %d, max_batch %d", len(b.GetEvents()), batch)
				}
				out = append(out, b.GetEvents()...)
			}
			if m.GetCaughtUp() != nil && len(out) == 13 {
				ingestAll(t, c, client.Input{Name: "second.json", Data: []byte(`{"Records":[` + strings.Join(recs[25:], ",") + `]}`)})
			}
		}
		return out, batches
	}
	one, _ := collect(1)
	for _, opts := range [][]grpc.CallOption{nil, {grpc.UseCompressor(gzip.Name)}} {
		many, batches := collect(4, opts...)
		if batches == 0 || len(many) != len(one) {
			t.Fatalf("%d events in %d batches, want %d", len(many), batches, len(one))
		}
		for i := range one {
			if !proto.Equal(one[i], many[i]) {
				t.Fatalf("event %d: batched %v\nalone %v", i, many[i], one[i])
			}
		}
	}
}

// TestCodecMarshalSizes: the codec marshals messages of every size, below
// and above gRPC's pooling threshold and past BufferPool's largest tier,
// as proto.Marshal does, and the pooled buffers are returned whole.
func TestCodecMarshalSizes(t *testing.T) {
	c, ok := encoding.GetCodecV2("proto").(codec)
	if !ok {
		t.Fatalf("the registered proto codec is %T", encoding.GetCodecV2("proto"))
	}
	for _, n := range []int{0, 10, 900, 40_000, 300_000, 3 << 20} {
		m := &pb.SearchResponse{NextPageToken: strings.Repeat("x", n)}
		want, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // the second and third reuse pooled buffers
			data, err := c.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := data.Materialize(); !bytes.Equal(got, want) {
				t.Fatalf("%d bytes: marshalled %d bytes unlike proto.Marshal's %d", n, len(got), len(want))
			}
			data.Free()
		}
	}
}
