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

Once it runs, try (tokens are in .warden/demo-tokens.json):
  T=$(jq -r '."hygiene-bot"' .warden/demo-tokens.json); S=$(jq -r .sam .warden/demo-tokens.json)
  curl -s http://127.0.0.1:8787/mcp -H "Authorization: Bearer $T" -H 'Content-Type: application/json' \
       -H 'Accept: application/json, text/event-stream' \
       -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"contacts.update","arguments":{"filter":"country == '"'"'DE'"'"'","set":{"job_title":"Buyer"}}}}'
  WARDEN_TOKEN=$S ./warden approvals list        # then: ./warden approvals approve apr-... --comment "ok"
TRY
step ./warden serve --policy "$policy" --demo "$@"
