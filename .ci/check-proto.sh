#!/usr/bin/env bash
# Lints the contract, checks it against the committed baseline image for
# breaking changes, and verifies the checked-in generated code is current.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"
buf lint
buf breaking --against proto/baseline/image.binpb
buf generate
if ! git diff --exit-code --stat -- proto/ server/gateway/codetrail.swagger.json; then
  echo "generated protobuf code is stale: run 'make generate' and commit" >&2
  exit 1
fi
if [ -n "$(git ls-files --others --exclude-standard -- proto/ server/gateway/)" ]; then
  echo "generated files not committed: $(git ls-files --others --exclude-standard -- proto/ server/gateway/)" >&2
  exit 1
fi
