package server

import (
	"context"
	"errors"

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
}

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
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return status.Error(m.code, err.Error())
		}
	}
	return status.Error(codes.Internal, err.Error())
}

// invalid builds an InvalidArgument error for a bad request field.
func invalid(msg string) error { return status.Error(codes.InvalidArgument, msg) }
