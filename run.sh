#!/usr/bin/env bash
# Warden's main job: the gateway. Checks the example policy and runs its unit tests, then starts
# `warden serve` on 127.0.0.1:8787 with a seeded sandbox workspace and demo tokens (printed), until
# Ctrl+C. Builds what it needs. Pass options through, e.g. ./run.sh --port 9000, or
# ./run.sh --policy warden.yaml for your own policy.
set -euo pipefail
cd "$(dirname "$0")"
policy=examples/marketing/policy.yaml

step() {
  if [ -t 1 ]; then printf '\n\033[1m$ %s\033[0m\n' "$*"; else printf '\n$ %s\n' "$*"; fi
  "$@"
}

step ./warden policy check "$policy"
step ./warden policy test "$policy" examples/marketing/policy.tests.yaml
cat <<'TRY'

Once it runs, follow "The gateway in five minutes" in README.md from another terminal in this
folder: tokens are in .warden/demo-tokens.json, the address in .warden/gateway.url.
TRY
step ./warden serve --policy "$policy" --demo "$@"
