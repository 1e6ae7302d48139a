package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// requestIDKey is the metadata key of the request id, read from the caller
// when it sends one and returned in the response header either way.
const requestIDKey = "x-request-id"

type requestIDCtx struct{}

// RequestID returns the request id of a call's context, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDCtx{}).(string)
	return id
}

// requestID takes the caller's id (bounded, printable) or makes one.
func requestID(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(requestIDKey); len(v) > 0 && len(v[0]) > 0 && len(v[0]) <= 64 && printable(v[0]) {
		return v[0]
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// logCall logs the end of a call: errors the server should look at at
// warn, the rest at debug. Requests and metadata are never logged, so no
// token or query reaches the log.
func logCall(log *slog.Logger, ctx context.Context, method, id string, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelDebug
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		level = slog.LevelWarn
	}
	attrs := []any{"method", method, "code", code.String(), "took", time.Since(start).Round(time.Microsecond), "request_id", id}
	if err != nil && level == slog.LevelWarn {
		attrs = append(attrs, "err", status.Convert(err).Message())
	}
	log.Log(ctx, level, "call", attrs...)
}

// CallInterceptors give each call a request id (metadata x-request-id in,
// response header x-request-id out, RequestID in handlers) and log it when
// it ends; the unary one also lets a handler reuse what its response
// holds once it is marshalled (onSent), which the codec of this package
// does: a server using them must not replace it.
func CallInterceptors(log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start, id := time.Now(), requestID(ctx)
		_ = grpc.SetHeader(ctx, metadata.Pairs(requestIDKey, id))
		after := &afterSend{}
		resp, err := handler(context.WithValue(context.WithValue(ctx, requestIDCtx{}, id), afterSendCtx{}, after), req)
		logCall(log, ctx, info.FullMethod, id, start, err)
		return wrapResponse(after, resp, err), err
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start, id := time.Now(), requestID(ss.Context())
		_ = ss.SetHeader(metadata.Pairs(requestIDKey, id))
		err := handler(srv, &idStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), requestIDCtx{}, id)})
		logCall(log, ss.Context(), info.FullMethod, id, start, err)
		return err
	}
	return unary, stream
}

type idStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *idStream) Context() context.Context { return s.ctx }
