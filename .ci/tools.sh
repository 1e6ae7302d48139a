#!/usr/bin/env bash
# Installs, into .tools/ of the repo, the pinned tools the tests and checks
# need: grpcurl, buf, protoc-gen-go, protoc-gen-go-grpc. Idempotent and quiet
# when everything is already there. Needs only Go and npm (both reach their
# registries on every machine of this project).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

GRPCURL_VERSION=v1.9.4
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
BUF_VERSION=1.75.0

stamp() { [ -f "$TOOLS/$1.version" ] && [ "$(cat "$TOOLS/$1.version")" = "$2" ] && [ -x "$BIN/$1" ]; }

if ! stamp grpcurl "$GRPCURL_VERSION"; then
  echo "installing grpcurl $GRPCURL_VERSION" >&2
  GOBIN="$BIN" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  echo "$GRPCURL_VERSION" > "$TOOLS/grpcurl.version"
fi
# protoc-gen-go at the version go.mod pins for google.golang.org/protobuf, so
# the generated code matches the runtime.
PGG_VERSION=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
if ! stamp protoc-gen-go "$PGG_VERSION"; then
  echo "installing protoc-gen-go $PGG_VERSION" >&2
  GOBIN="$BIN" go install google.golang.org/protobuf/cmd/protoc-gen-go
  echo "$PGG_VERSION" > "$TOOLS/protoc-gen-go.version"
fi
if ! stamp protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"; then
  echo "installing protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC_VERSION" >&2
  GOBIN="$BIN" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  echo "$PROTOC_GEN_GO_GRPC_VERSION" > "$TOOLS/protoc-gen-go-grpc.version"
fi
if ! stamp buf "$BUF_VERSION"; then
  echo "installing buf $BUF_VERSION (npm @bufbuild/buf)" >&2
  mkdir -p "$TOOLS/npm"
  (cd "$TOOLS/npm" && npm install --silent --no-audit --no-fund --prefix . "@bufbuild/buf@$BUF_VERSION" >/dev/null)
  # The npm package ships the binary in a per-platform package; its
  # postinstall script may be blocked, so link the binary directly.
  b=$(find "$TOOLS/npm/node_modules/@bufbuild" -path '*/bin/buf' -type f | grep -v '/buf/bin/' | head -n 1)
  [ -n "$b" ] || b="$TOOLS/npm/node_modules/.bin/buf"
  ln -sf "$b" "$BIN/buf"
  "$BIN/buf" --version >/dev/null
  echo "$BUF_VERSION" > "$TOOLS/buf.version"
fi
