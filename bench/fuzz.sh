#!/usr/bin/env bash
# Long fuzz run: every fuzz target of the module for DURATION (default 10m),
# JOBS targets at a time with one worker each (default 2), at low priority
# so that other work on the machine goes first. Prints one line per target
# with its executions and result; a crash leaves its input under the
# package's testdata/fuzz and fails the script. CI runs the short form
# (make fuzz-short, 5 s each).
#
#   bench/fuzz.sh [duration] [jobs]
set -uo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10m}"
jobs="${2:-2}"
out="$(mktemp -d)"
targets=()
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //'); do
    targets+=("$pkg $f")
  done
done
echo "${#targets[@]} targets, $dur each, $jobs at a time"
run() {
  local pkg=$1 f=$2 log="$out/$(echo "$1.$2" | tr '/' '_').log"
  if nice -n 19 go test -run '^$' -fuzz "^$f\$" -fuzztime "$dur" -parallel 1 "$pkg" > "$log" 2>&1; then
    res=PASS
  else
    res=FAIL
  fi
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  printf '%-4s %-50s %-24s %s execs\n' "$res" "$pkg" "$f" "${execs:-?}"
  [ "$res" = PASS ] || sed 's/^/    /' "$log" | tail -30
  [ "$res" = PASS ]
}
export -f run
export dur out
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -L 1 bash -c 'run $0 $1'
