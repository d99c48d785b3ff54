#!/usr/bin/env bash
# Runs every fuzz target of the backend for FUZZTIME each (default 15s), one
# after another: CI's brief fuzzing (issue #6). A crash fails the run; Go
# writes the failing input to <pkg>/testdata/fuzz/<FuzzName>/, where it
# becomes a seed that every plain `go test` replays: commit it with the fix.
#
#   server/internal/fuzz/run.sh              # all targets, 15s each
#   FUZZTIME=1m server/internal/fuzz/run.sh FuzzSession   # some targets
set -euo pipefail
cd "$(dirname "$0")/../../.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-15s}

# package:target, in the order of the issue: frames and messages, then
# Django's output, then the other parsers of outside input.
targets=(
  ./server/session:FuzzStreamFrames
  ./server/session:FuzzValidate
  ./server/session:FuzzSession
  ./server/parse:FuzzTracebackParser
  ./server/parse:FuzzBanner
  ./server/parse:FuzzBindError
  ./server/parse:FuzzReloadLines
  ./server/supervisor:FuzzScanLines
  ./server/config:FuzzReadEnvFile
  ./server/config:FuzzResolve
)

failed=()
for entry in "${targets[@]}"; do
  pkg=${entry%%:*}
  name=${entry##*:}
  if [ "$#" -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
    continue
  fi
  echo "=== fuzz $name ($pkg) for $FUZZTIME"
  if ! $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg"; then
    failed+=("$name")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs under testdata/fuzz/)" >&2
  exit 1
fi
echo "fuzzing: every target ran $FUZZTIME without a crash"
