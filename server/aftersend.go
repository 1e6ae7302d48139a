package server

import (
	"context"

	"google.golang.org/protobuf/proto"
)

// A Search response's events are messages and strings that later searches
// reuse (pageEvents, index.SearchResult.Release), which they may do only
// once gRPC has marshalled the response, after the handler returned. The
// unary interceptor of CallInterceptors gives each call an afterSend the
// handler registers that release with (onSent), and hands gRPC the
// response wrapped in a sending, which the codec marshals and then runs
// the release.

// afterSend holds what runs once a unary call's response is marshalled.
type afterSend struct{ fns []func() }

type afterSendCtx struct{}

// onSent arranges for f to run once the response of the call of ctx has
// been marshalled (or the call failed). It reports false, and never runs
// f, when the call did not come through CallInterceptors: what f would
// release must then stay as it is.
func onSent(ctx context.Context, f func()) bool {
	a, ok := ctx.Value(afterSendCtx{}).(*afterSend)
	if ok {
		a.fns = append(a.fns, f)
	}
	return ok
}

// run runs what was registered.
func (a *afterSend) run() {
	for _, f := range a.fns {
		f()
	}
	a.fns = nil
}

// sending is a response with what runs once the codec marshalled it. It
// is the message too (embedded), for whatever else in gRPC looks at a
// response as one (binary logging, stats handlers).
type sending struct {
	proto.Message
	after *afterSend
}

// wrapResponse returns what the interceptor hands gRPC for the handler's
// resp and err: resp wrapped when something waits for it to be sent;
// else (nothing registered, an error, no message) resp as it is, having
// run what was registered.
func wrapResponse(a *afterSend, resp any, err error) any {
	if len(a.fns) == 0 {
		return resp
	}
	if m, ok := resp.(proto.Message); ok && err == nil && m.ProtoReflect().IsValid() {
		return &sending{Message: m, after: a}
	}
	a.run()
	return resp
}
