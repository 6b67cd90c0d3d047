# Sourced by the PostgreSQL benchmarks: starts a throwaway PostgreSQL cluster on loopback (its own
# folder and port; as the postgres user when run as root, trust authentication), durable as a
# production database would be (fsync and synchronous commit stay on), and stops it and removes its
# folder when the script exits. Sets $bin (PostgreSQL's programs), $folder, $port and as_pg.
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 2; }
folder=$(mktemp -d "/tmp/${THROWAWAY_NAME:-warden-pg-bench}.XXXXXX")
port=$(( 20000 + RANDOM % 20000 ))
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$folder"
as_pg "$bin/initdb" -D "$folder/data" -A trust -U postgres --no-sync -E UTF8 --locale=C >/dev/null
as_pg "$bin/pg_ctl" -D "$folder/data" -w -l "$folder/log" -o "-p $port -k $folder -c listen_addresses=127.0.0.1 -c shared_buffers=512MB" start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D "$folder/data" -m fast -w stop >/dev/null; rm -rf "$folder"' EXIT
