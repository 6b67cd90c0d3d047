#!/usr/bin/env bash
# What governance costs: Warden's governed contacts.get against the same read served ungoverned
# (bench/Warden.Baseline: the same MCP SDK, Streamable HTTP transport and SQLite file; no auth,
# policy, audit or masking), both driven by wrk with a Lua script that checks every answer.
# One workspace is seeded; both servers run side by side on it; rounds alternate between them
# (gateway first, then baseline first, ...) so the shared machine's drift falls on both alike.
# Per round and server: calls/s at CONNECTIONS connections, process CPU per call (utime+stime
# from /proc/PID/stat around the run, divided by the calls answered), and the median latency of
# one connection alone. Prints each round and the ratios. Any failed answer fails the run.
#
#   bench/governance-cost.sh                  # defaults below; about 5 minutes
#   ROUNDS=5 DURATION=15 bench/governance-cost.sh
#   BEFORE=/path/to/other/checkout bench/governance-cost.sh   # that checkout's gateway too, in the same rounds
#   BASELINE_SERVER_GC=1 bench/governance-cost.sh   # the baseline on server GC too, as the gateway runs
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

CONTACTS=${CONTACTS:-10000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}       # seconds of each measured run
WARMUP=${WARMUP:-25}           # seconds of load on each server first: the JIT's tiering settles in ~20 s
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
TOKEN=bench-governance-cost-reporting-token
# Another checkout of Warden (an earlier commit): its gateway is measured as "before" in the same
# rounds, on a copy of the same workspace, so a change is compared within one run.
BEFORE=${BEFORE:-}

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian's package)..." >&2
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

echo "building the CLI and the baseline (Release)..." >&2
dotnet build src/Warden.Cli -c Release --nologo -v quiet >/dev/null
dotnet build bench/Warden.Baseline -c Release --nologo -v quiet >/dev/null
warden_dll=src/Warden.Cli/bin/Release/net10.0/warden.dll
baseline_dll=bench/Warden.Baseline/bin/Release/net10.0/Warden.Baseline.dll
if [ -n "$BEFORE" ]; then
  (cd "$BEFORE" && dotnet build src/Warden.Cli -c Release --nologo -v quiet >/dev/null)
  before_dll="$BEFORE/src/Warden.Cli/bin/Release/net10.0/warden.dll"
fi

dir=$(mktemp -d /tmp/warden-governance-cost.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

dotnet "$warden_dll" workspace seed --contacts "$CONTACTS" --seed 1 --workspace "$dir/data/workspace.db" >/dev/null
sqlite3 "$dir/data/workspace.db" "SELECT id FROM contacts WHERE deleted_at IS NULL ORDER BY id" >"$dir/ids.txt"
if [ -n "$BEFORE" ]; then mkdir -p "$dir/before-data" && cp "$dir/data/workspace.db" "$dir/before-data/workspace.db"; fi
echo "seeded $CONTACTS contacts ($(wc -l <"$dir/ids.txt") live) in $dir" >&2

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
gateway_port=$(free_port)
baseline_port=$(free_port)
before_port=$(free_port)

# reporting-bot reads contacts with pii masked; its token is set, the other identities' made up (--demo).
WARDEN_TOKEN_REPORTING=$TOKEN dotnet "$warden_dll" serve --policy examples/marketing/policy.yaml --data "$dir/data" --demo \
  --port "$gateway_port" --agent-rate 1000000 >"$dir/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
DOTNET_gcServer=${BASELINE_SERVER_GC:-0} dotnet "$baseline_dll" --workspace "$dir/data/workspace.db" --port "$baseline_port" >"$dir/baseline.log" 2>&1 &
baseline_pid=$!
pids+=("$baseline_pid")

wait_for() {
  for _ in $(seq 1 300); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "$2 did not start:" >&2
  cat "$dir/$2.log" >&2
  exit 1
}
if [ -n "$BEFORE" ]; then
  WARDEN_TOKEN_REPORTING=$TOKEN dotnet "$before_dll" serve --policy "$BEFORE/examples/marketing/policy.yaml" --data "$dir/before-data" --demo \
    --port "$before_port" --agent-rate 1000000 >"$dir/before.log" 2>&1 &
  before_pid=$!
  pids+=("$before_pid")
  wait_for "http://127.0.0.1:$before_port/api/health" before
fi
wait_for "http://127.0.0.1:$gateway_port/api/health" gateway
wait_for "http://127.0.0.1:$baseline_port/health" baseline

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# load NAME CONNECTIONS THREADS SECONDS: one wrk run; prints "ok failed cpu_ms_per_call calls_per_s p50_ms"
load() {
  local name=$1 connections=$2 threads=$3 seconds=$4 port pid token=""
  case $name in
    gateway) port=$gateway_port pid=$gateway_pid token=$TOKEN ;;
    before) port=$before_port pid=$before_pid token=$TOKEN ;;
    *) port=$baseline_port pid=$baseline_pid ;;
  esac
  local before after out
  before=$(cpu_ticks "$pid")
  out=$(WRK_IDS="$dir/ids.txt" WRK_TOKEN="$token" wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 10s \
    -s bench/governance-cost.lua "http://127.0.0.1:$port/mcp")
  after=$(cpu_ticks "$pid")
  local result
  result=$(grep '^RESULT' <<<"$out") || { echo "$name: wrk gave no result: $out" >&2; exit 1; }
  if grep -q '^FIRST_FAILURE' <<<"$out"; then
    echo "$name: a call failed: $(grep '^FIRST_FAILURE' <<<"$out")" >&2
  fi
  awk -v r="$result" -v cpu=$((after - before)) -v hz="$ticks_per_second" 'BEGIN {
    n = split(r, f, /[ =]/); for (i = 2; i < n; i += 2) v[f[i]] = f[i + 1]
    calls = v["ok"] + v["failed"]
    printf "%d %d %.4f %.0f %.3f\n", v["ok"], v["failed"] + v["socket_errors"], calls ? cpu * 1000 / hz / calls : 0, calls / v["seconds"], v["p50_us"] / 1000 }'
}

failures=0
run() { # run NAME ROUND: the loaded run, then the lone one; appends to results
  local name=$1 round=$2 loaded lone
  loaded=$(load "$name" "$CONNECTIONS" "$THREADS" "$DURATION")
  lone=$(load "$name" 1 1 "$DURATION")
  read -r ok failed cpu rate p50 <<<"$loaded"
  read -r lok lfailed _ _ lp50 <<<"$lone"
  failures=$((failures + failed + lfailed))
  printf "round %d  %-8s  %8.0f calls/s  %6.3f ms CPU/call  lone median %6.3f ms  (%d + %d calls, %d failed)\n" \
    "$round" "$name" "$rate" "$cpu" "$lp50" "$ok" "$lok" $((failed + lfailed))
  echo "$name $rate $cpu $lp50" >>"$dir/results"
}

echo "warming up (${WARMUP} s each at $CONNECTIONS connections)..." >&2
load gateway "$CONNECTIONS" "$THREADS" "$WARMUP" >/dev/null
load baseline "$CONNECTIONS" "$THREADS" "$WARMUP" >/dev/null
if [ -n "$BEFORE" ]; then load before "$CONNECTIONS" "$THREADS" "$WARMUP" >/dev/null; fi

# The disk's fsync, which every governed call waits for once (the audit entry is durable before
# the answer): 4 KB written and fsynced, in the data folder, median of 500.
fsync_ms=$(python3 - "$dir/data" <<'PY'
import os, sys, time, statistics
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
samples = []
for i in range(500):
    start = time.perf_counter()
    os.pwrite(fd, b"x" * 4096, (i % 64) * 4096)
    os.fsync(fd)
    samples.append((time.perf_counter() - start) * 1000)
os.close(fd); os.unlink(path)
print(f"{statistics.median(samples):.3f}")
PY
)

echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $CONNECTIONS connections ($THREADS wrk threads), $DURATION s per run, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
  if [ -n "$BEFORE" ]; then
    # Each server first, second and third once in three rounds.
    case $((round % 3)) in
      1) run gateway "$round"; run baseline "$round"; run before "$round" ;;
      2) run before "$round"; run gateway "$round"; run baseline "$round" ;;
      0) run baseline "$round"; run before "$round"; run gateway "$round" ;;
    esac
  elif [ $((round % 2)) -eq 1 ]; then run gateway "$round"; run baseline "$round"; else run baseline "$round"; run gateway "$round"; fi
done

# Medians of the rounds: one round disturbed by another tenant's build moves a mean, not a median.
awk -v fsync="$fsync_ms" '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { rate[$1] = rate[$1] " " $2; cpu[$1] = cpu[$1] " " $3; lone[$1] = lone[$1] " " $4 }
  END {
    g = "gateway"; b = "baseline"
    gr = median(rate[g]); br = median(rate[b]); gc = median(cpu[g]); bc = median(cpu[b]); gl = median(lone[g]); bl = median(lone[b])
    printf "\nmedians of the rounds    gateway   baseline   ratio   target\n"
    printf "calls/s                 %8.0f   %8.0f   %5.2f   >= 0.70\n", gr, br, gr / br
    printf "CPU per call (ms)       %8.3f   %8.3f   %5.2f   <= 1.40\n", gc, bc, gc / bc
    printf "lone median (ms)        %8.3f   %8.3f   %5.2f\n", gl, bl, gl / bl
    printf "lone median added: %.3f ms; less the disk'\''s fsync (%.3f ms median): %.3f ms (target < 0.3)\n", gl - bl, fsync, gl - bl - fsync
    if ("before" in rate) {
      o = "before"; orr = median(rate[o]); oc = median(cpu[o]); ol = median(lone[o])
      printf "\nbefore (the BEFORE gateway) %8.0f calls/s (ratio %.2f)   %.3f ms CPU/call (ratio %.2f)   lone median %.3f ms (added less fsync %.3f ms)\n", \
        orr, orr / br, oc, oc / bc, ol, ol - bl - fsync
    }
  }' "$dir/results"

if [ "$failures" -ne 0 ]; then
  echo "FAILED: $failures calls did not succeed" >&2
  exit 1
fi
