// Package server adapts the index and the ingester to the gRPC contract in
// proto/codetrail/v1: it validates requests, converts between protobuf and
// index types, and maps errors to gRPC status codes (errors.go, the only
// place that chooses codes).
package server
