#!/usr/bin/env bash
# What governing an upstream MCP server costs: the same tool of the same server (the test CRM,
# tests/peers/mcp-node/upstream.mjs, written with the official TypeScript SDK) called
#   direct-http   straight, over Streamable HTTP (the server's own cost: the baseline)
#   warden-http   through Warden, which calls it over Streamable HTTP
#   warden-stdio  through Warden, which runs it over stdio
#   proxy-stdio   through mcp-proxy (an open-source MCP proxy from the npm registry, --stateless),
#                 which runs it over stdio: the same shape as warden-stdio, without governance
# all driven by wrk with a Lua script that checks every answer. Rounds alternate the order, so the
# shared machine's drift falls on all alike. Per round and target: calls/s at CONNECTIONS
# connections, the proxy's CPU per call (utime+stime from /proc/PID/stat; for direct-http, the
# server's own), and the median and p99 latency of one connection alone. The disk's fsync (each
# governed call waits for its audit entry to be durable) is measured apart and shown beside.
# Direct stdio (an SDK client that starts the server itself) is measured by a Node client alone.
#
#   bench/upstream-cost.sh                  # defaults below; about 6 minutes
#   ROUNDS=5 DURATION=15 bench/upstream-cost.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-20}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-2}
TOKEN=bench-upstream-cost-reporting-token
CRM_TOKEN=bench-upstream-cost-crm-token
PROXY_VERSION=${PROXY_VERSION:-6.7.19}

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
peers=tests/peers/mcp-node
[ -d "$peers/node_modules/@modelcontextprotocol/sdk" ] || (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)

dir=$(mktemp -d /tmp/warden-upstream-cost.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

echo "installing mcp-proxy@$PROXY_VERSION (npm registry) in $dir/proxy; building the CLI (Release)..." >&2
mkdir -p "$dir/proxy" && (cd "$dir/proxy" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "mcp-proxy@$PROXY_VERSION" >/dev/null)
dotnet build src/Warden.Cli -c Release --nologo -v quiet >/dev/null
warden_dll=src/Warden.Cli/bin/Release/net10.0/warden.dll

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for URL NAME [CURL ARGS...]
  local url=$1 name=$2; shift 2
  for _ in $(seq 1 300); do
    curl -s -o /dev/null "$@" "$url" && return 0
    sleep 0.1
  done
  echo "$name did not start:" >&2; cat "$dir/$name.log" >&2; exit 1
}

# The server, over Streamable HTTP, requiring the credential Warden holds.
UPSTREAM_TOKEN=$CRM_TOKEN node "$peers/upstream.mjs" http >"$dir/upstream.port" 2>"$dir/upstream.log" &
upstream_pid=$!; pids+=("$upstream_pid")
for _ in $(seq 1 100); do [ -s "$dir/upstream.port" ] && break; sleep 0.1; done
upstream_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$dir/upstream.port")

# The example policy, with the server declared twice (HTTP and stdio) and its search granted to reporting.
mkdir -p "$dir/data/secrets"
printf 'Bearer %s' "$CRM_TOKEN" >"$dir/data/secrets/benchcrm"
python3 - "$dir/policy.yaml" "$upstream_port" "$root/$peers/upstream.mjs" <<'PY'
import sys
out, port, script = sys.argv[1], sys.argv[2], sys.argv[3]
policy = open("examples/marketing/policy.yaml").read()
policy = policy.replace("\nsystems:\n", f"""
systems:
  - id: benchhttp
    kind: mcp
    url: http://127.0.0.1:{port}/mcp
    headers: {{ Authorization: secret:benchcrm }}
    environment: sandbox
    tools:
      - {{ name: search, kind: read }}
  - id: benchstdio
    kind: mcp
    command: [node, "{script}", stdio]
    environment: sandbox
    tools:
      - {{ name: search, kind: read }}
""", 1)
policy = policy.replace("\nrules:\n", """
rules:
  - { id: bench-search, use_case: reporting, tool: [benchhttp.search, benchstdio.search], effect: allow }
""", 1)
open(out, "w").write(policy)
PY

warden_port=$(free_port)
WARDEN_TOKEN_REPORTING=$TOKEN dotnet "$warden_dll" serve --policy "$dir/policy.yaml" --data "$dir/data" --demo \
  --port "$warden_port" --agent-rate 1000000 >"$dir/warden.log" 2>&1 &
warden_pid=$!; pids+=("$warden_pid")
proxy_port=$(free_port)
(cd "$dir/proxy" && exec node node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs --stateless --server stream --no-eventStore --host 127.0.0.1 --port "$proxy_port" \
  -- node "$root/$peers/upstream.mjs" stdio) >"$dir/proxy.log" 2>&1 &
proxy_pid=$!; pids+=("$proxy_pid")
wait_for "http://127.0.0.1:$warden_port/api/health" warden
wait_for "http://127.0.0.1:$proxy_port/mcp" proxy -X POST

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# load TARGET CONNECTIONS THREADS SECONDS: one wrk run; prints "ok failed cpu_ms_per_call calls_per_s p50_ms p99_ms"
load() {
  local target=$1 connections=$2 threads=$3 seconds=$4 port pid token tool
  case $target in
    direct-http) port=$upstream_port pid=$upstream_pid token=$CRM_TOKEN tool=search ;;
    warden-http) port=$warden_port pid=$warden_pid token=$TOKEN tool=benchhttp.search ;;
    warden-stdio) port=$warden_port pid=$warden_pid token=$TOKEN tool=benchstdio.search ;;
    proxy-stdio) port=$proxy_port pid=$proxy_pid token="" tool=search ;;
  esac
  local before after out result
  before=$(cpu_ticks "$pid")
  out=$(WRK_TOOL=$tool WRK_EXPECT=example.com WRK_TOKEN="$token" wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 10s \
    -s bench/upstream-cost.lua "http://127.0.0.1:$port/mcp")
  after=$(cpu_ticks "$pid")
  result=$(grep '^RESULT' <<<"$out") || { echo "$target: wrk gave no result: $out" >&2; exit 1; }
  if grep -q '^FIRST_FAILURE' <<<"$out"; then echo "$target: a call failed: $(grep '^FIRST_FAILURE' <<<"$out")" >&2; fi
  awk -v r="$result" -v cpu=$((after - before)) -v hz="$ticks_per_second" 'BEGIN {
    n = split(r, f, /[ =]/); for (i = 2; i < n; i += 2) v[f[i]] = f[i + 1]
    calls = v["ok"] + v["failed"]
    printf "%d %d %.4f %.0f %.3f %.3f\n", v["ok"], v["failed"] + v["socket_errors"], calls ? cpu * 1000 / hz / calls : 0, calls / v["seconds"], v["p50_us"] / 1000, v["p99_us"] / 1000 }'
}

targets=(direct-http warden-http warden-stdio proxy-stdio)
echo "warming up (${WARMUP} s each)..." >&2
for t in "${targets[@]}"; do load "$t" "$CONNECTIONS" "$THREADS" "$WARMUP" >/dev/null; done

fsync_ms=$(python3 - "$dir/data" <<'PY'
import os, sys, time, statistics
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
times = []
for _ in range(500):
    start = time.perf_counter(); os.write(fd, b"x" * 4096); os.fsync(fd); times.append(time.perf_counter() - start)
os.close(fd); os.remove(path)
print(f"{statistics.median(times) * 1000:.3f}")
PY
)

failures=0
for round in $(seq 1 "$ROUNDS"); do
  order=("${targets[@]}")
  if [ $((round % 2)) -eq 0 ]; then order=(proxy-stdio warden-stdio warden-http direct-http); fi
  for t in "${order[@]}"; do
    read -r ok failed cpu rate _ _ <<<"$(load "$t" "$CONNECTIONS" "$THREADS" "$DURATION")"
    read -r lok lfailed _ _ lp50 lp99 <<<"$(load "$t" 1 1 "$DURATION")"
    failures=$((failures + failed + lfailed))
    printf "round %d  %-12s %7.0f calls/s  %6.3f ms CPU/call  lone median %6.3f ms, p99 %6.3f ms  (%d + %d calls, %d failed)\n" \
      "$round" "$t" "$rate" "$cpu" "$lp50" "$lp99" "$ok" "$lok" $((failed + lfailed))
    echo "$round $t $rate $cpu $lp50 $lp99" >>"$dir/results"
  done
done

# Direct over stdio: the SDK's own client starts the server and calls it, one call at a time.
stdio_ms=$(cd "$peers" && node --input-type=module - "$root/$peers/upstream.mjs" <<'JS'
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
const client = new Client({ name: 'bench', version: '1' });
await client.connect(new StdioClientTransport({ command: 'node', args: [process.argv[2], 'stdio'] }));
const times = [];
for (let i = 0; i < 3000; i++) {
  const start = process.hrtime.bigint();
  const r = await client.callTool({ name: 'search', arguments: { query: 'ada' } });
  if (i >= 500) times.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (r.isError) throw new Error('failed');
}
times.sort((a, b) => a - b);
console.log(`${times[Math.floor(times.length / 2)].toFixed(3)} ${times[Math.floor(times.length * 0.99)].toFixed(3)}`);
await client.close();
JS
)

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg); disk fsync (4 KB) median ${fsync_ms} ms"
echo "direct over stdio (SDK client, one call at a time): median / p99 ${stdio_ms/ / ms / } ms"
awk -v fsync="$fsync_ms" '
  { rate[$2] += $3; cpu[$2] += $4; p50[$2] += $5; p99[$2] += $6; n[$2]++ }
  END {
    split("direct-http warden-http warden-stdio proxy-stdio", order, " ")
    printf "\n%-13s %10s %13s %12s %10s\n", "mean of rounds", "calls/s", "CPU/call ms", "lone p50 ms", "p99 ms"
    for (i = 1; i <= 4; i++) { t = order[i]; printf "%-13s %10.0f %13.3f %12.3f %10.3f\n", t, rate[t]/n[t], cpu[t]/n[t], p50[t]/n[t], p99[t]/n[t] }
    d = p50["direct-http"]/n["direct-http"]; w = p50["warden-http"]/n["warden-http"]; ws = p50["warden-stdio"]/n["warden-stdio"]; ps = p50["proxy-stdio"]/n["proxy-stdio"]
    printf "\nadded per call over HTTP, lone median: %.3f ms (%.3f ms less the fsync)\n", w - d, w - d - fsync
    printf "warden-stdio against proxy-stdio, lone median: %+.3f ms; CPU per call %.2fx; calls/s %.2fx\n", ws - ps,
      (cpu["warden-stdio"]/n["warden-stdio"]) / (cpu["proxy-stdio"]/n["proxy-stdio"]), (rate["warden-stdio"]/n["warden-stdio"]) / (rate["proxy-stdio"]/n["proxy-stdio"])
    printf "warden-http calls/s against direct-http: %.2fx\n", (rate["warden-http"]/n["warden-http"]) / (rate["direct-http"]/n["direct-http"])
  }' "$dir/results"
[ "$failures" -eq 0 ] || { echo "$failures calls failed" >&2; exit 1; }
