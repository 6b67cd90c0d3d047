#!/usr/bin/env bash
# What governing a PostgreSQL database costs (issue 13): starts a throwaway PostgreSQL cluster on
# loopback (its own folder and port; as the postgres user when run as root), runs the probe in
# bench/Warden.Benchmarks (`postgres` mode), and stops the cluster. ROWS, TOUCHED, ROUNDS to change.
set -euo pipefail
cd "$(dirname "$0")/.."
THROWAWAY_NAME=warden-pg-bench source bench/throwaway-postgres.sh
dotnet run -c Release --project bench/Warden.Benchmarks -- postgres "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres" "${ROWS:-1000000}" "${TOUCHED:-100000}" "${ROUNDS:-3}"
