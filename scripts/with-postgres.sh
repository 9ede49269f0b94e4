#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster in a temporary directory on a free port, run the given
# command with DATABASE_URL pointing at it, and always stop and remove the cluster afterwards.
# As root (CI), initdb and postgres refuse to run, so the cluster runs as the `postgres` user.
set -euo pipefail

PG_BIN=${PG_BIN:-}
if [ -z "$PG_BIN" ]; then
  if command -v initdb >/dev/null 2>&1; then PG_BIN=$(dirname "$(command -v initdb)")
  else PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1); fi
fi
[ -x "$PG_BIN/initdb" ] || { echo "with-postgres: initdb not found (set PG_BIN)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/colophon-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$tmp"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"${as_pg[@]}" "$PG_BIN/initdb" -D "$tmp/data" -U colophon --auth=trust -E UTF8 --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 2; }
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
  -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$tmp/server.log" >&2; exit 2; }

export DATABASE_URL="postgres://colophon@127.0.0.1:$port/colophon"
echo "with-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $port"
set +e
"$@"
rc=$?
set -e
exit $rc
