#!/usr/bin/env bash
# What a plan's summary would cost if the capture trigger made it itself (issue 13, a prototype in
# SQL, not Warden's code): a throwaway PostgreSQL cluster, a table of ROWS rows, and the UPDATE of
# bench/postgres-cost.sh (TOUCHED rows) run in a transaction that is rolled back, interleaved over
# ROUNDS rounds, with a statement trigger doing one of:
#   direct  nothing (the transition tables are still filled, as for other sessions' writes)
#   pair    the rows before and after paired by key, counted
#   bin     each pair's sha256 over the key and both rows' binary form (record_send), the digests sorted and hashed
#   text    the same over the rows' text (record_out), as the summary in the server hashes today
#   one     bin, with the preview's counts per column and the five commonest values before of each changed column
# Prints each mode's median time and its ratio to direct's (of the medians, and the median of the rounds' ratios).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
TOUCHED=${TOUCHED:-100000}
ROUNDS=${ROUNDS:-7}
THROWAWAY_NAME=warden-pg-proto source bench/throwaway-postgres.sh
sql() { psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }

sql <<SQL
CREATE TABLE c (id bigint PRIMARY KEY, email text NOT NULL, score numeric(10, 2), last_seen timestamptz, note text);
INSERT INTO c SELECT g, 'person' || g || '@example.com', g % 1000, timestamptz '2026-01-01' + g * interval '1 minute', NULL FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE c;
CREATE FUNCTION summary() RETURNS trigger LANGUAGE plpgsql AS \$f\$
DECLARE mode text := coalesce(current_setting('proto.mode', true), '');
BEGIN
  IF mode = 'pair' THEN
    INSERT INTO pg_temp.s SELECT count(*), NULL FROM (SELECT r, r.id k FROM old_rows r) o JOIN (SELECT r, r.id k FROM new_rows r) n ON o.k = n.k;
  ELSIF mode = 'bin' THEN
    INSERT INTO pg_temp.s SELECT count(*), sha256(string_agg(d, ''::bytea ORDER BY d)) FROM (
      SELECT sha256(int8send(o.k) || record_send(o.r) || record_send(n.r)) d
      FROM (SELECT r, r.id k FROM old_rows r) o JOIN (SELECT r, r.id k FROM new_rows r) n ON o.k = n.k) x;
  ELSIF mode = 'text' THEN
    INSERT INTO pg_temp.s SELECT count(*), sha256(string_agg(d, ''::bytea ORDER BY d)) FROM (
      SELECT sha256(convert_to(o.k::text || chr(10) || o.r::text || chr(10) || n.r::text, 'UTF8')) d
      FROM (SELECT r, r.id k FROM old_rows r) o JOIN (SELECT r, r.id k FROM new_rows r) n ON o.k = n.k) x;
  ELSIF mode = 'one' THEN
    INSERT INTO pg_temp.s
    WITH j AS MATERIALIZED (SELECT o.r AS o, n.r AS n, sha256(int8send(o.k) || record_send(o.r) || record_send(n.r)) AS d
                            FROM (SELECT r, r.id k FROM old_rows r) o JOIN (SELECT r, r.id k FROM new_rows r) n ON o.k = n.k)
    SELECT count(*), sha256(string_agg(d, ''::bytea ORDER BY d)) FROM j
    UNION ALL SELECT count(*) FILTER (WHERE (o).email IS DISTINCT FROM (n).email) + count(*) FILTER (WHERE (o).score IS DISTINCT FROM (n).score)
       + count(*) FILTER (WHERE (o).last_seen IS DISTINCT FROM (n).last_seen) + count(*) FILTER (WHERE (o).note IS DISTINCT FROM (n).note), NULL FROM j
    UNION ALL (SELECT count(*), NULL FROM j WHERE (o).score IS DISTINCT FROM (n).score GROUP BY (o).score ORDER BY 1 DESC LIMIT 5)
    UNION ALL (SELECT count(*), NULL FROM j WHERE (o).note IS DISTINCT FROM (n).note GROUP BY (o).note ORDER BY 1 DESC LIMIT 5);
  END IF;
  RETURN NULL;
END \$f\$;
CREATE TRIGGER t AFTER UPDATE ON c REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION summary();
SQL

modes=(direct pair bin text one)
{
  echo "CREATE TEMP TABLE s (n bigint, d bytea);"
  for round in $(seq 0 $((ROUNDS - 1))); do
    for i in "${!modes[@]}"; do
      mode=${modes[$(( (i + round) % ${#modes[@]} ))]}   # each round starts one mode later
      echo "\\echo MODE $round $mode"
      echo "BEGIN; SET LOCAL proto.mode = '${mode/direct/}'; SET LOCAL jit = off; SET LOCAL work_mem = '64MB';"
      echo "\\timing on"
      echo "UPDATE c SET score = score + 1, note = 'touched' WHERE id <= $TOUCHED;"
      echo "\\timing off"
      echo "ROLLBACK; VACUUM c;"
    done
  done
} | sql -f - | awk -v rounds="$ROUNDS" '
  /^MODE/ { round = $2; mode = $3; next }
  /^Time:/ { t[mode, round] = $2; modes[mode] = 1 }
  function median(a, n,   i, j, x) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
                                     return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  END {
    for (r = 0; r < rounds; r++) d[r + 1] = t["direct", r]; direct = median(d, rounds)
    printf "%-7s %10s %8s %14s\n", "mode", "median", "ratio", "rounds ratio"
    split("direct pair bin text one", order, " ")
    for (k = 1; k <= 5; k++) { m = order[k]
      for (r = 0; r < rounds; r++) { v[r + 1] = t[m, r]; q[r + 1] = t[m, r] / t["direct", r] }
      mm = median(v, rounds); printf "%-7s %7.0f ms %8.2f %14.2f\n", m, mm, mm / direct, median(q, rounds) }
  }'
