#!/usr/bin/env bash
# Runs every Warden test. On a fresh Debian machine it first installs what the tests need;
# run it again and it only runs the tests. Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

need() { command -v "$1" >/dev/null 2>&1; }

# The .NET 10 SDK is the one prerequisite today. PostgreSQL, Chromium and the npm test peers join
# this list with the gateway and the console; each install stays idempotent.
if ! need dotnet; then
  echo "test.sh: the .NET 10 SDK is missing; install it (https://dot.net) and run again" >&2
  echo "0 passed, 1 failed"
  exit 2
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

dotnet test --solution Warden.slnx 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Microsoft.Testing.Platform prints "succeeded: N" and "failed: N"; a build that broke prints neither.
passed=$(grep -E '^\s*succeeded: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
failed=$(grep -E '^\s*failed: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
if [ -z "$passed" ] || [ -z "$failed" ]; then
  passed=${passed:-0}
  failed=$(( ${failed:-0} > 0 ? failed : 1 ))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi

echo "$passed passed, $failed failed"
exit "$status"
