#!/usr/bin/env bash
# Replicas on one PostgreSQL store against one gateway on its SQLite data folder, in the same run:
# AGENTS agents (a token each) calling a governed warehouse for DURATION seconds, 80% reads of one
# contact and 20% one-row changes, with an hourly budget of changed rows the load runs into.
# First REPLICAS `warden serve --store` processes (the load split over them, as a balancer would),
# then one `warden serve` on a data folder, each on its own copy of the warehouse. For each:
# throughput, median and p99 latency (wrk), answers counted against the trail's call entries (none
# lost), and the budget's use against its limit (never exceeded). A throwaway PostgreSQL cluster
# (Debian's packages) on loopback holds the warehouses and the shared store.
#
#   bench/replicas.sh                       # 3 replicas, 200 agents, 3 rounds of 60 s each; about 8 minutes
#   REPLICAS=2 AGENTS=50 DURATION=20 bench/replicas.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

REPLICAS=${REPLICAS:-3}
AGENTS=${AGENTS:-200}
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-15}
ROWS=${ROWS:-10000}
BUDGET=${BUDGET:-500}          # changed rows per hour for the use case, across every replica: each round runs into it
ROUNDS=${ROUNDS:-3}

command -v wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL's server programs are missing (apt-get install postgresql)" >&2; exit 2; }

echo "building the CLI (Release)..." >&2
dotnet build src/Warden.Cli -c Release --nologo -v quiet >/dev/null
warden=(dotnet "$root/src/Warden.Cli/bin/Release/net10.0/warden.dll")

dir=$(mktemp -d /tmp/warden-replicas.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"   # the cluster, run as postgres, writes its log here
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  # the gateways' pids are in a file: start() runs in a subshell, which cannot add to an array here
  for pid in $(cat "$dir"/*.pid 2>/dev/null); do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $(cat "$dir"/*.pid 2>/dev/null); do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
  as_pg "$bin/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept $dir" >&2 || rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pg_port=$(free_port)
mkdir -p "$dir/pg" && [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
echo bench >"$dir/pw" && [ "$(id -u)" = 0 ] && chown postgres "$dir/pw"
as_pg "$bin/initdb" -D "$dir/pg" -A md5 -U postgres --pwfile="$dir/pw" -E UTF8 --locale=C >/dev/null
# durable as a production store would be (fsync on); enough connections for the replicas' pools
as_pg "$bin/pg_ctl" -D "$dir/pg" -w -l "$dir/pg.log" -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB" start >/dev/null
export PGPASSWORD=bench
conn() { echo "Host=127.0.0.1;Port=$pg_port;Username=postgres;Password=bench;Database=$1"; }
psql_() { psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -d "$1" -v ON_ERROR_STOP=1 -c "$2"; }
for db in warehouse_replicas warehouse_single store; do psql_ postgres "CREATE DATABASE $db" >/dev/null; done

# The policy: AGENTS agents of one use case; reads run, one-row changes run until the budget is spent.
policy="$dir/policy.yaml"
{
  cat <<YAML
version: 1
id: replicas-bench
environments: [sandbox, production]
owners:
  - { id: sam, name: Sam Okafor, email: sam@example.com, roles: [approver, data_owner, business_owner], auth: { token: env:WARDEN_TOKEN_SAM } }
  - { id: dev, name: Dev Patel, email: dev@example.com, roles: [approver, technical_owner], auth: { token: env:WARDEN_TOKEN_DEV } }
  - { id: rita, name: Rita Nguyen, email: rita@example.com, roles: [approver, risk_owner], auth: { token: env:WARDEN_TOKEN_RITA } }
use_cases:
  - id: data-hygiene
    description: Fixes warehouse records.
    classification: { access: medium, autonomy: medium, data_sensitivity: medium, customer_impact: low, compliance_exposure: medium, reversibility: low }
    owners: { business: sam, technical: dev, data: sam, risk: rita }
    escalation: sam
    review: { cadence: quarterly, last: 2026-11-01 }
agents:
YAML
  for i in $(seq 1 "$AGENTS"); do
    echo "  - { id: load-$i, description: Load agent $i., use_case: data-hygiene, environments: [sandbox], auth: { token: env:WARDEN_TOKEN_LOAD_$i } }"
  done
  cat <<YAML
systems:
  - id: warehouse
    kind: postgres
    description: The warehouse.
    connections: { sandbox: secret:warehouse }
    tables: [contacts]
rules:
  - id: one-row-changes
    description: A change of one row runs.
    use_case: data-hygiene
    tool: warehouse.execute
    when: statement.kind == 'update' && statement.where && records <= 1
    effect: allow
  - id: reads
    description: Reads run.
    use_case: data-hygiene
    tool: warehouse.query
    effect: allow
budgets:
  - { id: hourly-changes, use_case: data-hygiene, metric: changed_records, limit: $BUDGET, per: 1h }
YAML
} >"$policy"
: >"$dir/tokens.txt"
for i in $(seq 1 "$AGENTS"); do
  export "WARDEN_TOKEN_LOAD_$i=bench-load-token-$i"
  echo "bench-load-token-$i" >>"$dir/tokens.txt"
done
export WARDEN_TOKEN_SAM=bench-sam WARDEN_TOKEN_DEV=bench-dev WARDEN_TOKEN_RITA=bench-rita

for db in warehouse_replicas warehouse_single; do
  psql_ "$db" "CREATE TABLE contacts (id bigint PRIMARY KEY, first_name text, score bigint NOT NULL DEFAULT 0);
               INSERT INTO contacts SELECT g, 'Name' || g, 0 FROM generate_series(1, $ROWS) g;" >/dev/null
  conn "$db" >"$dir/owner-$db"
  "${warden[@]}" database install warehouse --policy "$policy" --owner "file:$dir/owner-$db" >/dev/null
done
conn store >"$dir/store"
"${warden[@]}" db migrate --store "file:$dir/store" >/dev/null

wait_for() {
  for _ in $(seq 1 600); do
    curl -fs "$1/api/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "a gateway did not start:" >&2
  cat "$dir"/*.log >&2
  exit 1
}

start() { # name warehouse-db [serve options...]
  local name=$1 db=$2; shift 2
  mkdir -p "$dir/$name/secrets"
  conn "$db" >"$dir/$name/secrets/warehouse"
  local port; port=$(free_port)
  "${warden[@]}" serve --policy "$policy" --data "$dir/$name" --port "$port" --agent-rate 1000000 "$@" >"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
  wait_for "http://127.0.0.1:$port"
  echo "http://127.0.0.1:$port"
}

# load label seconds url... : wrk against each url at once (the connections split over them); prints totals
load() {
  local label=$1 seconds=$2; shift 2
  local n=$# each=$(( AGENTS / $# )) k=0 outs=()
  for url in "$@"; do
    local out="$dir/wrk-$label-$k.txt"
    WRK_TOKENS="$dir/tokens.txt" WRK_ROWS=$ROWS WRK_OFFSET=$(( k * ROWS / $# )) wrk -t1 -c"$each" -d"${seconds}s" --timeout 30s --latency -s bench/replicas.lua "$url/mcp" >"$out" 2>&1 &
    outs+=("$out" $!)
    k=$((k + 1))
  done
  for ((i = 1; i < ${#outs[@]}; i += 2)); do wait "${outs[$i]}"; done
  python3 - "$label" "${outs[@]}" <<'PY'
import sys, re
label, files = sys.argv[1], sys.argv[2::2]
ok = refused = stale = failed = errors = 0; p50 = []; p99 = []; seconds = 0
for f in files:
    text = open(f).read()
    m = re.search(r"RESULT ok=(\d+) refused=(\d+) stale=(\d+) failed=(\d+) socket_errors=(\d+) seconds=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+)", text)
    if not m:
        print(text); sys.exit(1)
    ok += int(m[1]); refused += int(m[2]); stale += int(m[3]); failed += int(m[4]); errors += int(m[5]); seconds = max(seconds, float(m[6]))
    p50.append(float(m[7])); p99.append(float(m[8]))
    if "FIRST_FAILURE" in text:
        print(text[text.index("FIRST_FAILURE"):].splitlines()[0])
answered = ok + refused + stale
print(f"{label}: answered {answered} ({ok} run, {refused} refused by the budget, {stale} refused as stale plans) in {seconds:.1f} s = {answered / seconds:.0f} calls/s; "
      f"median {max(p50):.2f} ms, p99 {max(p99):.2f} ms (worst of the wrk processes); failed {failed}, socket errors {errors}")
open(f"{files[0]}.answered", "w").write(f"{answered} {ok}\n")
PY
}

# cpu_snapshot FILE PID...: each process's user and system CPU so far, one "pid seconds" line each
cpu_snapshot() {
  local file=$1; shift
  python3 - "$@" >"$file" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
for pid in sys.argv[1:]:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        print(pid, (int(fields[11]) + int(fields[12])) / tick)
    except (FileNotFoundError, ProcessLookupError, IndexError):
        pass
PY
}
# cpu_used BEFORE AFTER: CPU used between two snapshots by the processes alive at the second (a
# backend that exited in between is left out: the pools keep theirs open while the load runs)
cpu_used() {
  python3 - "$1" "$2" <<'PY'
import sys
read = lambda f: dict((l.split()[0], float(l.split()[1])) for l in open(f) if l.strip())
before, after = read(sys.argv[1]), read(sys.argv[2])
print(f"{sum(v - before.get(p, 0.0) for p, v in after.items()):.2f}")
PY
}
# the PostgreSQL cluster's processes: the postmaster and its children (the backends; the pools keep them)
pg_pids() { local master; master=$(head -1 "$dir/pg/postmaster.pid"); echo "$master" $(pgrep -P "$master"); }

calls_in() { # the trail's call entries: PostgreSQL store, or a SQLite audit file
  if [ "$1" = store ]; then
    psql -At -h 127.0.0.1 -p "$pg_port" -U postgres -d store -c "SELECT count(*) FROM audit_entries WHERE entry::jsonb #>> '{body,kind}' = 'call'"
  else
    sqlite3 "$1" "SELECT count(*) FROM audit_entries WHERE json_extract(entry, '\$.body.kind') = 'call'"
  fi
}

# measure label db trail-source url...: one round against a fresh budget and warehouse; prints the
# totals, then the trail's entries against the answers and the rows changed against the budget
measure() {
  local label=$1 db=$2 trail=$3 pidfiles=$4; shift 4
  psql_ "$db" "UPDATE contacts SET score = 0" >/dev/null
  if [ "$trail" = store ]; then psql_ store "DELETE FROM usage" >/dev/null
  else sqlite3 "$dir/single/gateway.db" "PRAGMA busy_timeout = 5000; DELETE FROM usage" >/dev/null; fi
  local before; before=$(calls_in "$trail")
  local gateways; gateways=$(cat $pidfiles)
  cpu_snapshot "$dir/pg0" $(pg_pids); cpu_snapshot "$dir/gw0" $gateways
  load "$label" "$DURATION" "$@"
  cpu_snapshot "$dir/pg1" $(pg_pids); cpu_snapshot "$dir/gw1" $gateways
  sleep 2
  local answered ran entries changed
  read -r answered ran <"$dir/wrk-$label-0.txt.answered"
  entries=$(calls_in "$trail")
  changed=$(psql -At -h 127.0.0.1 -p "$pg_port" -U postgres -d "$db" -c "SELECT sum(score) FROM contacts")
  python3 -c "import sys; pg, gw, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]); print(f'  $label CPU: PostgreSQL {pg:.1f} s, gateways {gw:.1f} s over $DURATION s; per answered call {1000 * pg / n:.2f} ms in PostgreSQL, {1000 * gw / n:.2f} ms in the gateways')" \
    "$(cpu_used "$dir/pg0" "$dir/pg1")" "$(cpu_used "$dir/gw0" "$dir/gw1")" "$answered"
  echo "  $label trail: $((entries - before)) call entries for $answered answers (more only by calls in flight when wrk stopped); rows changed $changed, budget $BUDGET"
  [ "$changed" -le "$BUDGET" ] || echo "  BUDGET EXCEEDED: $changed > $BUDGET"
  [ "$((entries - before))" -ge "$answered" ] || echo "  ENTRIES LOST: $((entries - before)) < $answered"
}

echo "starting $REPLICAS replicas on the shared store, and one gateway on its data folder (SQLite)..." >&2
key="$dir/audit.key"
urls=()
for r in $(seq 1 "$REPLICAS"); do
  urls+=("$(start "replica-$r" warehouse_replicas --store "file:$dir/store" --audit-key "$key")")
done
single=$(start single warehouse_single)
echo "warming up (${WARMUP} s each)..." >&2
load warmup-replicas "$WARMUP" "${urls[@]}" >/dev/null
load warmup-single "$WARMUP" "$single" >/dev/null

# Interleaved rounds, so that the machine's drift over the run falls on both alike.
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round: $REPLICAS replicas, then one SQLite gateway; $AGENTS agents, ${DURATION} s each..." >&2
  measure "replicas-$round" warehouse_replicas store "$dir/replica-*.pid" "${urls[@]}"
  measure "single-$round" warehouse_single "$dir/single/audit.db" "$dir/single.pid" "$single"
done
echo "the shared chain, after every round:" >&2
"${warden[@]}" audit verify --store "file:$dir/store"
