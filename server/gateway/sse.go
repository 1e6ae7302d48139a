package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// sse serves Subscribe as server-sent events:
//
//	GET /v1/subscribe/sse?query=Q[&after_cursor=C|&start_time=RFC3339|&from_start=true][&view=EVENT_VIEW_FULL]
//
// Each event is "event: event" with the event's cursor as the SSE id, so a
// browser's EventSource resumes by itself after a disconnect (Last-Event-ID
// becomes after_cursor); "progress" and "caught_up" carry their cursor as id
// too. A gRPC error ends the stream with an "error" event holding its
// status as JSON.
func (g *Gateway) sse(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Batches from the service, one SSE event per event: fewer messages on
	// the hop to the service, the same stream for the browser.
	req := &pb.SubscribeRequest{Query: q.Get("query"), MaxBatch: sseBatch}
	if v := q.Get("view"); v != "" {
		view, ok := pb.EventView_value[v]
		if !ok {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("view %q is not one of EVENT_VIEW_SUMMARY, EVENT_VIEW_FULL", v))
			return
		}
		req.View = pb.EventView(view)
	}
	after := q.Get("after_cursor")
	if last := r.Header.Get("Last-Event-ID"); last != "" {
		after = last
	}
	switch {
	case after != "":
		req.Start = &pb.SubscribeRequest_AfterCursor{AfterCursor: after}
	case q.Get("start_time") != "":
		t, err := time.Parse(time.RFC3339Nano, q.Get("start_time"))
		if err != nil {
			httpError(w, http.StatusBadRequest, "start_time is not RFC 3339: "+err.Error())
			return
		}
		req.Start = &pb.SubscribeRequest_StartTime{StartTime: timestamppb.New(t)}
	case q.Get("from_start") != "":
		v, err := strconv.ParseBool(q.Get("from_start"))
		if err != nil {
			httpError(w, http.StatusBadRequest, "from_start is not a boolean")
			return
		}
		req.Start = &pb.SubscribeRequest_FromStart{FromStart: v}
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		httpError(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	md := metadata.MD{}
	if a := r.Header.Get("Authorization"); a != "" {
		md.Set("authorization", a)
	}
	for k, v := range clientCertMetadata(r.Context(), r) {
		md.Set(k, v...)
	}
	ctx := metadata.NewOutgoingContext(r.Context(), md)
	stream, err := g.events.Subscribe(ctx, req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	// The first message tells whether the call was accepted: errors before
	// any message become an HTTP status, later ones an "error" event.
	first, err := stream.Recv()
	if err != nil {
		writeStatus(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	m := protojson.MarshalOptions{}
	write := func(kind, id string, v proto.Message) bool {
		body, err := m.Marshal(v)
		if err != nil {
			g.log.Warn("sse: encode", "err", err)
			return false
		}
		_, err = fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", kind, id, body)
		return err == nil
	}
	for msg := first; ; {
		ok := true
		switch v := msg.GetMessage().(type) {
		case *pb.SubscribeResponse_Event:
			ok = write("event", v.Event.GetCursor(), v.Event)
		case *pb.SubscribeResponse_Events:
			for _, e := range v.Events.GetEvents() {
				if ok = write("event", e.GetCursor(), e); !ok {
					break
				}
			}
		case *pb.SubscribeResponse_Progress:
			ok = write("progress", v.Progress.GetCursor(), v.Progress)
		case *pb.SubscribeResponse_CaughtUp:
			ok = write("caught_up", v.CaughtUp.GetCursor(), v.CaughtUp)
		}
		if !ok {
			return
		}
		flusher.Flush()
		if msg, err = stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) || r.Context().Err() != nil {
				return
			}
			b, _ := m.Marshal(status.Convert(err).Proto())
			_, _ = fmt.Fprintf(w, "event: error\ndata: %s\n\n", b)
			flusher.Flush()
			return
		}
	}
}

// sseBatch is the max_batch the SSE endpoint asks the service for.
const sseBatch = 256

// writeStatus answers with the HTTP status and JSON body grpc-gateway uses
// for a gRPC error.
func writeStatus(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	b, _ := protojson.Marshal(st.Proto())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(runtime.HTTPStatusFromCode(st.Code()))
	_, _ = w.Write(b)
}

// httpError answers a request the gateway itself refuses, in the same
// shape as a gRPC error.
func httpError(w http.ResponseWriter, code int, msg string) {
	c := codes.InvalidArgument
	if code >= 500 {
		c = codes.Internal
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := protojson.Marshal(status.New(c, msg).Proto())
	_, _ = w.Write(b)
}
