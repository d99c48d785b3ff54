#!/usr/bin/env bash
# Runs every fuzz target of the backend, one after another: CI's brief
# fuzzing (issue #6). A crash fails the run; Go writes the failing input to
# <pkg>/testdata/fuzz/<FuzzName>/, where it becomes a seed that every plain
# `go test` replays: commit it with the fix.
#
# Each target runs a number of inputs (about 10-15 s here) rather than a
# time: with a -fuzztime duration, Go 1.26's coordinator can report a bare
# "context deadline exceeded" failure as the time runs out (golang/go#75804).
#
#   server/internal/fuzz/run.sh                           # all targets
#   FUZZTIME=1m server/internal/fuzz/run.sh FuzzSession   # some, for longer
set -euo pipefail
cd "$(dirname "$0")/../../.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-}

# package:target:inputs, in the order of the issue: frames and messages,
# then Django's output, then the other parsers of outside input.
targets=(
  ./server/framing:FuzzRead:30000x
  ./server/session:FuzzStreamFrames:60000x
  ./server/session:FuzzValidate:20000x
  ./server/session:FuzzSession:10000x
  ./server/parse:FuzzTracebackParser:600000x
  ./server/portcheck:FuzzClassifyLine:800000x
  ./server/parse:FuzzReloadLines:800000x
  ./server/supervisor:FuzzScanLines:60000x
  ./server/config:FuzzReadEnvFile:30000x
  ./server/config:FuzzResolve:500000x
)

failed=()
for entry in "${targets[@]}"; do
  IFS=: read -r pkg name inputs <<<"$entry"
  budget=${FUZZTIME:-$inputs}
  if [ "$#" -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
    continue
  fi
  echo "=== fuzz $name ($pkg): $budget"
  if ! $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" "$pkg"; then
    failed+=("$name")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs under testdata/fuzz/)" >&2
  exit 1
fi
echo "fuzzing: every target ran without a crash"
