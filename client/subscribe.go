package client

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/codetrail/codetrail/proto/codetrail/v1"
)

// SubscribeOptions tune Subscribe's reconnection.
type SubscribeOptions struct {
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts
	// (exponential with jitter). Defaults: 100ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// OnStatus, if set, sees every non-event message (progress, caught-up)
	// and every reconnection error, for logging.
	OnStatus func(msg *pb.SubscribeResponse, reconnectErr error)
}

// retryable reports whether a subscription ended by err should be resumed.
// Bad requests (InvalidArgument, OutOfRange, PermissionDenied, ...) are not:
// resuming cannot fix them.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.Internal, codes.Unknown, codes.DeadlineExceeded:
		return true
	}
	return false
}

// Cursor returns the resume cursor a status error carries in its
// google.rpc.ErrorInfo details (lagging subscribers get one), or "".
func Cursor(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return ""
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if c := info.GetMetadata()["cursor"]; c != "" {
				return c
			}
		}
	}
	return ""
}

// Subscribe streams the events matching req.Query, reconnecting with backoff
// and resuming after the last cursor received (from an event, a progress or
// a caught-up message) whenever the stream breaks, so that the caller sees
// each event exactly once and in store order. The sequence ends when ctx
// ends (without an error), or with an error that resuming cannot fix
// (yielded once). req is not modified. Each event's Cursor can be kept by
// the caller to resume a later Subscribe with after_cursor. Unless
// req.MaxBatch is set, it asks for batches of up to DefaultMaxBatch events
// (fewer, larger messages cost both sides less) and hands them out one by
// one.
func (c *Client) Subscribe(ctx context.Context, req *pb.SubscribeRequest, opt SubscribeOptions) iter.Seq2[*pb.Event, error] {
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = 100 * time.Millisecond
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(10*time.Second, opt.MinBackoff)
	}
	return func(yield func(*pb.Event, error) bool) {
		cur := &pb.SubscribeRequest{Query: req.GetQuery(), View: req.GetView(), MaxBatch: req.GetMaxBatch()}
		if cur.MaxBatch == 0 {
			cur.MaxBatch = DefaultMaxBatch
		}
		switch st := req.GetStart().(type) {
		case *pb.SubscribeRequest_AfterCursor:
			cur.Start = &pb.SubscribeRequest_AfterCursor{AfterCursor: st.AfterCursor}
		case *pb.SubscribeRequest_StartTime:
			cur.Start = &pb.SubscribeRequest_StartTime{StartTime: st.StartTime}
		case *pb.SubscribeRequest_FromStart:
			cur.Start = &pb.SubscribeRequest_FromStart{FromStart: st.FromStart}
		}
		last := "" // newest cursor received
		backoff := opt.MinBackoff
		for {
			if last != "" {
				cur.Start = &pb.SubscribeRequest_AfterCursor{AfterCursor: last}
			}
			err := c.subscribeOnce(ctx, cur, &last, &backoff, opt, yield)
			if errors.Is(err, errStopped) || ctx.Err() != nil {
				return
			}
			if !retryable(err) {
				yield(nil, err)
				return
			}
			if c := Cursor(err); c != "" {
				last = c
			}
			if opt.OnStatus != nil {
				opt.OnStatus(nil, err)
			}
			wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			backoff = min(backoff*2, opt.MaxBackoff)
		}
	}
}

// DefaultMaxBatch is the max_batch Subscribe asks for when the request sets
// none.
const DefaultMaxBatch = 256

// errStopped says the caller stopped the iteration.
var errStopped = errors.New("client: iteration stopped")

func (c *Client) subscribeOnce(ctx context.Context, req *pb.SubscribeRequest, last *string, backoff *time.Duration, opt SubscribeOptions, yield func(*pb.Event, error) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.events.Subscribe(ctx, req)
	if err != nil {
		return err
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			return err
		}
		*backoff = opt.MinBackoff // a working stream resets the backoff
		switch m := msg.GetMessage().(type) {
		case *pb.SubscribeResponse_Event:
			*last = m.Event.GetCursor()
			if !yield(m.Event, nil) {
				return errStopped
			}
		case *pb.SubscribeResponse_Events:
			for _, e := range m.Events.GetEvents() {
				*last = e.GetCursor()
				if !yield(e, nil) {
					return errStopped
				}
			}
		case *pb.SubscribeResponse_Progress:
			*last = m.Progress.GetCursor()
		case *pb.SubscribeResponse_CaughtUp:
			*last = m.CaughtUp.GetCursor()
		}
		if opt.OnStatus != nil && msg.GetEvent() == nil && msg.GetEvents() == nil {
			opt.OnStatus(msg, nil)
		}
	}
}
