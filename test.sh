#!/usr/bin/env bash
# Runs every Warden test. On a fresh Debian machine it first installs what the tests need;
# run it again and it only runs the tests. Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"

need() { command -v "$1" >/dev/null 2>&1; }

# The .NET 10 SDK, and Node.js with npm for the official TypeScript MCP client the end-to-end tests
# drive (installed from the lock file in tests/peers/mcp-node); PostgreSQL's server programs for the
# governed-database tests, which start their own throwaway cluster on loopback and stop it at the
# end; Debian's Chromium for the console's browser tests. Each install is idempotent.
if ! need dotnet; then
  echo "test.sh: the .NET 10 SDK is missing; install it (https://dot.net) and run again" >&2
  echo "0 passed, 1 failed"
  exit 2
fi

if ! need node || ! need npm; then
  echo "test.sh: installing Node.js and npm from Debian's packages (the TypeScript MCP client needs them)" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null 2>&1; then
    echo "test.sh: Node.js is missing and could not be installed; install Node.js 20 or later and run again" >&2
    echo "0 passed, 1 failed"
    exit 2
  fi
fi

# The README's walk-through runs as a test, and it uses jq and curl as a reader would.
if ! need jq || ! need curl; then
  echo "test.sh: installing jq and curl from Debian's packages (the README's walk-through uses them)" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq curl; } >/dev/null 2>&1; then
    echo "test.sh: jq or curl is missing and could not be installed; install them and run again" >&2
    echo "0 passed, 1 failed"
    exit 2
  fi
fi

# PostgreSQL from Debian's packages: only the programs are needed (initdb, pg_ctl, postgres); the
# package's own cluster is not used, and the tests run theirs as the postgres user when run as root.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if { ! need initdb || ! need pg_ctl; } && [ -z "$(pg_bin)" ]; then
  echo "test.sh: installing PostgreSQL from Debian's packages (the governed-database tests need its server)" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null 2>&1; then
    echo "test.sh: PostgreSQL is missing and could not be installed; install it (apt-get install postgresql) and run again" >&2
    echo "0 passed, 1 failed"
    exit 2
  fi
fi

# Debian's Chromium for the console's browser tests (Playwright drives it; no browser is downloaded).
if [ ! -x /usr/bin/chromium ]; then
  echo "test.sh: installing Chromium from Debian's packages (the console's browser tests need it)" >&2
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1; then
    echo "test.sh: Chromium is missing and could not be installed; install it (apt-get install chromium) and run again" >&2
    echo "0 passed, 1 failed"
    exit 2
  fi
fi

peer=tests/peers/mcp-node
if [ ! -f "$peer/node_modules/@modelcontextprotocol/sdk/package.json" ] || [ "$peer/package-lock.json" -nt "$peer/node_modules/.package-lock.json" ]; then
  if ! (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error); then
    echo "test.sh: npm ci failed in $peer; the end-to-end tests need the TypeScript MCP SDK" >&2
    echo "0 passed, 1 failed"
    exit 2
  fi
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
