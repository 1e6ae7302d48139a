#!/usr/bin/env bash
# Crash test, full form: ingest a large generated dataset while the server is
# killed with SIGKILL at random moments and restarted on the same data
# directory, with a subscriber resuming by cursor; then check that every
# event is stored once and was delivered once, in store order, with no cursor
# used twice (cmd/codetrail/crash_e2e_test.go). CI runs the short form
# (4 kills, 20,000 events) with the other tests.
#
#   bench/crash.sh [kills] [events]      defaults: 20 kills, 200000 events
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.tools/bin:$PATH"
CODETRAIL_CRASH_KILLS="${1:-20}" CODETRAIL_CRASH_EVENTS="${2:-200000}" \
  go test -count=1 -timeout 60m -run '^TestCrashRecovery$' -v ./cmd/codetrail
