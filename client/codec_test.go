package client

import (
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/codetrail/codetrail/ingest/gen"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// sampleEvents returns n generated events as the server sends them; every
// third carries its record as a Struct (the full view), every fifth as JSON
// bytes (the raw view).
func sampleEvents(tb testing.TB, n int) []*pb.Event {
	tb.Helper()
	evs, err := gen.Parsed(n)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]*pb.Event, 0, n)
	for i, e := range evs {
		ev := &pb.Event{
			EventId: e.ID, EventTime: timestamppb.New(e.Time), EventSource: e.Source, EventName: e.Name,
			Service: e.Service, AwsRegion: e.Region, AccountId: e.Account,
			UserIdentity: &pb.UserIdentity{Type: e.UserType, Arn: e.UserARN, UserName: e.UserName,
				PrincipalId: e.PrincipalID, AccessKeyId: e.AccessKeyID, InvokedBy: e.InvokedBy, AccountId: e.UserAccount},
			SourceIpAddress: e.SourceIP, UserAgent: e.UserAgent, ErrorCode: e.ErrorCode, ErrorMessage: e.ErrorMessage,
			EventType: e.EventType, RequestId: e.RequestID, Resources: e.Resources, Cursor: e.ID + "-cursor",
			EventVersion: e.Version, EventCategory: e.Category, Problems: e.Problems,
		}
		if e.ReadOnly != "" {
			ev.ReadOnly = new(e.ReadOnly == "true")
		}
		switch {
		case i%3 == 0:
			var m map[string]any
			if err := json.Unmarshal(e.Raw, &m); err != nil {
				tb.Fatal(err)
			}
			if ev.Record, err = structpb.NewStruct(m); err != nil {
				tb.Fatal(err)
			}
		case i%5 == 0:
			ev.RecordJson = string(e.Raw)
		}
		out = append(out, ev)
	}
	return out
}

// chunked splits b into a BufferSlice of small buffers, as gRPC hands over
// a message read from several frames.
func chunked(b []byte) mem.BufferSlice {
	var s mem.BufferSlice
	for len(b) > 0 {
		n := min(len(b), 1000)
		s = append(s, mem.SliceBuffer(b[:n]))
		b = b[n:]
	}
	return s
}

func TestCodecRoundTrip(t *testing.T) {
	events := sampleEvents(t, 40)
	tests := []struct {
		name string
		msg  proto.Message
		into func() proto.Message
	}{
		{"one event", &pb.SubscribeResponse{Message: &pb.SubscribeResponse_Event{Event: events[0]}}, func() proto.Message { return &pb.SubscribeResponse{} }},
		{"batch", &pb.SubscribeResponse{Message: &pb.SubscribeResponse_Events{Events: &pb.EventBatch{Events: events}}}, func() proto.Message { return &pb.SubscribeResponse{} }},
		{"caught up", &pb.SubscribeResponse{Message: &pb.SubscribeResponse_CaughtUp{CaughtUp: &pb.CaughtUp{Cursor: "c1"}}}, func() proto.Message { return &pb.SubscribeResponse{} }},
		{"search page", &pb.SearchResponse{
			Events: events[:10], NextPageToken: "n", TotalHits: 12345, Took: durationpb.New(3 * time.Millisecond), Warnings: []string{"w"},
			Facets:    []*pb.Facet{{Field: "eventName", Counts: []*pb.FacetCount{{Value: "StartBuild", Count: 7}}, Other: 2}},
			Histogram: []*pb.HistogramBucket{{Start: timestamppb.New(time.Unix(1700000000, 0)), Count: 9}},
		}, func() proto.Message { return &pb.SearchResponse{} }},
		{"empty", &pb.SearchResponse{}, func() proto.Message { return &pb.SearchResponse{} }},
		// Not a codetrail message: decoded by gRPC's own codec.
		{"health", &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, func() proto.Message { return &grpc_health_v1.HealthCheckResponse{} }},
	}
	c := newCodec()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.into()
			if err := c.Unmarshal(chunked(b), got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.msg) {
				t.Fatalf("decoded %v, want %v", got, tt.msg)
			}
			// gRPC reuses the buffers it handed over: the decoded strings
			// must not point into them.
			for i := range b {
				b[i] = 0xff
			}
			if !proto.Equal(got, tt.msg) {
				t.Fatal("decoded message changed when the received bytes were reused")
			}
		})
	}
}

func TestCodecErrors(t *testing.T) {
	b, err := proto.Marshal(&pb.SubscribeResponse{Message: &pb.SubscribeResponse_Event{Event: sampleEvents(t, 1)[0]}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{b[:len(b)-3], {0x0a, 0xff}, {0x0a}} {
		if err := newCodec().Unmarshal(chunked(bad), &pb.SubscribeResponse{}); err == nil {
			t.Errorf("truncated message %x decoded without error", bad)
		}
	}
}

// FuzzCodec holds the codec to gRPC's own. Whatever protobuf-go decodes, the
// codec decodes to an equal message once it is encoded as a server encodes
// it (proto.Marshal). The codec is stricter on bytes no encoder writes (a
// known field with another wire type is an error, not an unknown field),
// and it drops unknown fields inside well-known types, but whatever it
// accepts, it decodes as protobuf-go does.
func FuzzCodec(f *testing.F) {
	for _, m := range []proto.Message{
		&pb.SubscribeResponse{Message: &pb.SubscribeResponse_Events{Events: &pb.EventBatch{Events: sampleEvents(f, 4)}}},
		&pb.SubscribeResponse{Message: &pb.SubscribeResponse_Progress{Progress: &pb.Progress{Cursor: "p"}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want pb.SubscribeResponse
		if proto.Unmarshal(b, &want) != nil {
			return
		}
		var known pb.SubscribeResponse
		if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &known); err != nil {
			t.Fatal(err)
		}
		var got pb.SubscribeResponse
		if newCodec().Unmarshal(chunked(b), &got) == nil && !proto.Equal(withoutUnknown(t, &got), &known) {
			t.Fatalf("%x: decoded %v, protobuf-go %v", b, &got, &want)
		}
		canon, err := proto.Marshal(&known)
		if err != nil {
			return // strings that are not UTF-8: no server sends them
		}
		got.Reset()
		if err := newCodec().Unmarshal(chunked(canon), &got); err != nil {
			t.Fatalf("protobuf-go encodes %x, the codec fails: %v", canon, err)
		}
		if !proto.Equal(&got, &known) {
			t.Fatalf("%x: decoded %v, want %v", canon, &got, &known)
		}
	})
}

// withoutUnknown returns m with its unknown fields dropped, at every depth.
func withoutUnknown(t *testing.T, m *pb.SubscribeResponse) *pb.SubscribeResponse {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out pb.SubscribeResponse
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// BenchmarkDecodeBatch decodes a Subscribe batch of 256 summary events, as a
// subscriber does for each message: gRPC's codec against this one.
func BenchmarkDecodeBatch(b *testing.B) {
	events := sampleEvents(b, 256)
	for _, e := range events {
		e.Record, e.RecordJson = nil, ""
	}
	data, err := proto.Marshal(&pb.SubscribeResponse{Message: &pb.SubscribeResponse_Events{Events: &pb.EventBatch{Events: events}}})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		codec interface {
			Unmarshal(mem.BufferSlice, any) error
		}
	}{{"grpc", newCodec().proto}, {"vtproto", newCodec()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var m pb.SubscribeResponse
				if err := c.codec.Unmarshal(chunked(data), &m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
		})
	}
}
