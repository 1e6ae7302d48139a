package server

import (
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the codec wrapped below
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// encoded is a message marshalled once and sent as is on many streams: a
// live event goes to every subscriber whose query it matches, and
// marshalling (for the full view, rendering the record as a Struct) costs
// far more than sending.
type encoded struct{ b []byte }

// encode marshals m for sending with SendMsg.
func encode(m proto.Message) (*encoded, error) {
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &encoded{b: b}, nil
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
	if e, ok := v.(*encoded); ok {
		// A SliceBuffer is never returned to a pool, so the shared bytes
		// stay untouched after each send.
		return mem.BufferSlice{mem.SliceBuffer(e.b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (c codec) Name() string { return c.proto.Name() }
