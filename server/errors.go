package server

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/codetrail/codetrail/index"
	"github.com/codetrail/codetrail/index/query"
)

// errorCodes maps sentinel errors to gRPC codes; the first match wins.
var errorCodes = []struct {
	err  error
	code codes.Code
}{
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{index.ErrInvalid, codes.InvalidArgument},
	{index.ErrBadToken, codes.InvalidArgument},
	{index.ErrNotFound, codes.NotFound},
	{index.ErrCompacted, codes.OutOfRange},
	{index.ErrClosed, codes.Unavailable},
	{index.ErrTooManySubscribers, codes.ResourceExhausted},
	{index.ErrDiskFull, codes.ResourceExhausted},
}

// errorDomain names codetrail in google.rpc.ErrorInfo details.
const errorDomain = "codetrail.v1"

// toStatus turns an error from index or ingest into a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var qe *query.Error
	if errors.As(err, &qe) {
		return status.Error(codes.InvalidArgument, "query: "+qe.Error())
	}
	// Errors that tell the client where to resume carry the cursor in a
	// google.rpc.ErrorInfo, which every gRPC client library can read.
	var lag *index.LagError
	if errors.As(err, &lag) {
		return withInfo(codes.ResourceExhausted, err.Error(), "SUBSCRIBER_LAGGING", map[string]string{"cursor": lag.Cursor})
	}
	var comp *index.CompactedError
	if errors.As(err, &comp) {
		return withInfo(codes.OutOfRange, err.Error(), "CURSOR_COMPACTED", map[string]string{"oldest_cursor": comp.Oldest})
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return status.Error(m.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// invalid builds an InvalidArgument error for a bad request field.
func invalid(msg string) error { return status.Error(codes.InvalidArgument, msg) }

func withInfo(code codes.Code, msg, reason string, meta map[string]string) error {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: errorDomain, Metadata: meta}); err == nil {
		st = d
	}
	return st.Err()
}
