#!/usr/bin/env bash
# Generates the Python stubs of proto/codetrail/v1 into gen/ (or into the
# directory given as argument: examples_test.go regenerates into a temporary
# one and compares). Uses Debian's protoc and gRPC plugin, the versions
# .ci/tools.sh pins, so the output matches Debian's python3-protobuf and
# python3-grpcio.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
proto=$(cd "$here/../../proto" && pwd)
out=${1:-$here/gen}
if [ $# -eq 0 ]; then
  rm -rf "$out/codetrail" # so stubs of a removed .proto go too
fi
mkdir -p "$out"
cd "$proto"
/usr/bin/protoc -I "$proto" \
  --python_out="$out" \
  --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  codetrail/v1/*.proto
