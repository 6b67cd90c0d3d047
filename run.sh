#!/usr/bin/env bash
# Warden's main job, today: check the example policy, run its unit tests, and explain two
# decisions. (Once the gateway lands, this starts `warden serve`.) Builds what it needs.
set -euo pipefail
cd "$(dirname "$0")"
policy=examples/marketing/policy.yaml

step() {
  if [ -t 1 ]; then printf '\n\033[1m$ %s\033[0m\n' "$*"; else printf '\n$ %s\n' "$*"; fi
  "$@"
}

step ./warden policy check "$policy"
step ./warden policy test "$policy" examples/marketing/policy.tests.yaml
step ./warden policy explain "$policy" --agent hygiene-bot --tool contacts.update --env production \
  --args '{"filter": "lifecycle_stage = '"'"'lead'"'"'", "set": {"lead_source": "webinar"}}' \
  --facts '{"records": 1200, "fields": ["contacts.lead_source"]}'
step ./warden policy explain "$policy" --agent campaign-qa-bot --tool campaigns.send --env production \
  --args '{"campaign": "cmp-2026-11-black-friday"}' --facts '{"recipients": 25000}'
