package server

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec wrapped below
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/codetrail/codetrail/client"
	"github.com/codetrail/codetrail/index"
	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// encoded is a message marshalled once and sent as is on many streams: a
// live event goes to every subscriber whose query it matches, and
// marshalling (for the full view, rendering the record as a Struct) costs
// far more than sending. A batch is several such pieces behind a header.
type encoded struct{ parts [][]byte }

// encode marshals m for sending with SendMsg.
func encode(m proto.Message) (*encoded, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &encoded{parts: [][]byte{b}}, nil
}

// maxBatchBytes bounds one batch message, well under gRPC's default 4 MiB
// receive limit, whatever max_batch a client asks for.
const maxBatchBytes = 1 << 20

// Field numbers the batch encoding relies on; TestBatchEncoding checks
// them against the generated code.
const (
	fieldResponseEvent  = 1 // SubscribeResponse.event
	fieldResponseEvents = 4 // SubscribeResponse.events
	fieldBatchEvents    = 1 // EventBatch.events
)

// eventEncoding returns SubscribeResponse{event: hit} marshalled in view,
// shared through the hit's memo when it has one. Because EventBatch.events
// has the field number of SubscribeResponse.event, the same bytes are also
// one element of a batch.
func eventEncoding(hit *index.Hit, view pb.EventView) ([]byte, error) {
	build := func() any {
		e, err := encode(&pb.SubscribeResponse{Message: &pb.SubscribeResponse_Event{Event: toEvent(*hit, view)}})
		if err != nil {
			return fmt.Errorf("encode event %s: %w", hit.Event.ID, err)
		}
		return e.parts[0]
	}
	var v any
	if hit.Memo != nil {
		v = hit.Memo.Get(view, build)
	} else {
		v = build()
	}
	if err, ok := v.(error); ok {
		return nil, err
	}
	return v.([]byte), nil
}

// encodeBatches turns hits into SubscribeResponse{events: ...} messages of
// at most maxBatchBytes each (an event larger than that goes alone), and
// calls send for each. The events' bytes are shared, not copied.
func encodeBatches(hits []*index.Hit, view pb.EventView, send func(*encoded) error) error {
	var parts [][]byte
	size := 0
	flush := func() error {
		if len(parts) == 0 {
			return nil
		}
		head := protowire.AppendTag(nil, fieldResponseEvents, protowire.BytesType)
		head = protowire.AppendVarint(head, uint64(size))
		err := send(&encoded{parts: append([][]byte{head}, parts...)})
		parts, size = nil, 0
		return err
	}
	for _, h := range hits {
		b, err := eventEncoding(h, view)
		if err != nil {
			return err
		}
		if size > 0 && size+len(b) > maxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		parts = append(parts, b)
		size += len(b)
	}
	return flush()
}

// codec is gRPC's proto codec that also sends *encoded as its bytes. gRPC
// picks codecs by content subtype, "proto" for every gRPC call, so it is
// registered under that name, replacing (and delegating to) the original;
// calls in this process decode what it sends as usual.
type codec struct{ proto encoding.CodecV2 }

func init() {
	encoding.RegisterCodecV2(codec{proto: encoding.GetCodecV2("proto")})
}

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if s, ok := v.(*sending); ok {
		// The bytes are a copy: what the message holds may be reused.
		out, err := c.Marshal(s.Message)
		s.after.run()
		return out, err
	}
	if e, ok := v.(*encoded); ok {
		// A SliceBuffer is never returned to a pool, so the shared bytes
		// stay untouched after each send.
		out := make(mem.BufferSlice, len(e.parts))
		for i, p := range e.parts {
			out[i] = mem.SliceBuffer(p)
		}
		return out, nil
	}
	m, ok := v.(proto.Message)
	if !ok {
		return c.proto.Marshal(v)
	}
	// As gRPC's proto codec, but with the buffers of client.BufferPool.
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true}
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := client.BufferPool.Get(size)
	if _, err := opts.MarshalAppend((*buf)[:0], m); err != nil {
		client.BufferPool.Put(buf)
		return nil, err
	}
	return mem.BufferSlice{mem.NewBuffer(buf, client.BufferPool)}, nil
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (c codec) Name() string { return c.proto.Name() }
