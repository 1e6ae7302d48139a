package client

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// codec is gRPC's proto codec, except that it decodes codetrail's messages
// with the vtprotobuf-generated UnmarshalVTUnsafe: each message is copied
// once into a buffer of its own and every string and bytes field points
// into that copy, instead of one allocation per field. A streamed event has
// about thirty strings; decoding them one by one was half of a subscriber's
// CPU (see BenchmarkDecodeBatch).
//
// The copy is never written to, so the strings stay valid and immutable.
// The price: a string kept from a message keeps the whole message's buffer
// alive (one Search page, or one Subscribe batch of at most 1 MiB).
type codec struct{ proto encoding.CodecV2 }

// vtUnmarshaler is implemented by the generated codetrail messages.
type vtUnmarshaler interface {
	UnmarshalVTUnsafe([]byte) error
}

func newCodec() codec { return codec{proto: encoding.GetCodecV2(grpcproto.Name)} }

func (c codec) Marshal(v any) (mem.BufferSlice, error) { return c.proto.Marshal(v) }

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(vtUnmarshaler)
	if !ok {
		return c.proto.Unmarshal(data, v)
	}
	// Materialize copies: gRPC reuses data's buffers once this returns.
	if err := m.UnmarshalVTUnsafe(data.Materialize()); err != nil {
		return fmt.Errorf("unmarshal %T: %w", v, err)
	}
	return nil
}

// Name is the content subtype: the server sees an ordinary proto call.
func (c codec) Name() string { return grpcproto.Name }
