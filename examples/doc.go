// Package examples holds no Go code: its test runs the gRPC client examples in
// other languages (node/ with @grpc/grpc-js, python/ with Debian's grpcio)
// against a real `codetrail serve` and checks what they print against the Go
// client. .ci/tools.sh installs what they need.
package examples
