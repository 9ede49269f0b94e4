#!/usr/bin/env bash
# make run: migrate, seed demo data, run the web app and one worker together, then pull the
# sandbox Exstream catalogue and Consonance titles over real HTTP and seed a demo setup.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-true}
# The built-in sandbox Consonance and Exstream are served under /sandbox/ only when this is on.
export SANDBOX_ENABLED=${SANDBOX_ENABLED:-true}
export SANDBOX_BASE_URL=${SANDBOX_BASE_URL:-http://127.0.0.1:$PORT}
URL="http://127.0.0.1:$PORT"
# Absolute links in approver e-mails point at this app unless SITE_URL says otherwise.
export SITE_URL=${SITE_URL:-$URL}

if (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "Port $PORT is already in use. Stop what is running there, or: make run PORT=8001" >&2
  exit 1
fi

# Local development settings for later `manage.py` commands too (never committed; see .env.example).
if [ ! -f .env ]; then
  printf '# Written by make run for local development. Production: see .env.example.\nDEBUG=true\nSANDBOX_ENABLED=true\n' > .env
  echo "Wrote .env (DEBUG=true, SANDBOX_ENABLED=true) so manage.py commands work in this checkout."
elif head -n1 .env | grep -q '^# Written by make run' && ! grep -q '^SANDBOX_ENABLED=' .env; then
  echo 'SANDBOX_ENABLED=true' >> .env
fi

$PY manage.py migrate --noinput
$PY manage.py seed_demo
$PY manage.py seed_sandbox
$PY manage.py seed_sandbox_exstream

# Stopping. Each Ctrl-C (or SIGTERM) sends the web app and the worker one SIGTERM: the worker's
# first lets the tasks it is running finish, a second stops it at once (manage.py worker).
# The worker runs in its own process group (set -m below), so the terminal's Ctrl-C reaches it
# only through this script, once per key press — never as SIGINT and SIGTERM together, which
# it would take for two. The trap stays set, so a second Ctrl-C is forwarded as well.
pids=()
stops=0
finishing=
stop() {  # $1: the signal's number (the script's exit status is 128 + it)
  stops=$((stops + 1))
  if [ "$stops" -eq 1 ]; then
    echo "Stopping: the worker first finishes the task it is running (Ctrl-C again to stop it at once)." >&2
  else
    echo "Stopping at once; a task cut short is delivered to a worker again later (Q_RETRY)." >&2
  fi
  kill -TERM "${pids[@]}" 2>/dev/null || true
  [ -n "$finishing" ] || exit $((128 + ${1:-15}))
}
# On the way out (a signal, an error, or the web app or worker ending): stop the other one
# and wait until both are gone.
finish() {
  finishing=1
  trap - EXIT
  [ "$stops" -gt 0 ] || stop 15
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do wait "$pid" 2>/dev/null || true; done
  done
}
trap 'stop 2' INT
trap 'stop 15' TERM
trap finish EXIT

$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=($!)
set -m
$PY manage.py worker &
pids+=($!)
set +m

for _ in $(seq 1 60); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done

# The connectors talk to the sandbox over real HTTP, so these run once the web app is up.
# Until they finish the app has no titles: say so, and only then say it is ready.
# Whether this database already holds the synced demo: a marker in the checkout (never in .venv,
# which may be shared between checkouts) and, since the database may have been removed or
# replaced since, titles in it.
MARKER=.demo-synced
has_works() {
  $PY manage.py shell -v 0 -c "from integration.models import Work; raise SystemExit(0 if Work.objects.exists() else 1)" 2>/dev/null
}
if [ ! -f "$MARKER" ] || [ "${RESYNC:-}" = 1 ] || ! has_works; then
  echo
  echo "The web app is up, but has no titles yet: pulling the sandbox Exstream catalogue and"
  echo "Consonance titles, then seeding the demo setup. Progress: $URL/sync/ (wait for 'ready')."
  $PY manage.py sync_exstream || echo "(Exstream catalogue sync failed; see above)"
  $PY manage.py sync_consonance || echo "(Consonance sync failed; see above)"
  $PY manage.py seed_setup || echo "(demo setup failed; see above)"
  $PY manage.py seed_demo_outcomes || echo "(demo customer-service outcomes failed; see above)"
  $PY manage.py seed_demo_royalties || echo "(demo royalty period failed; see above)"
  $PY manage.py seed_demo_actions || echo "(demo contributor actions failed; see above)"
  # Consonance-side changes (a title approved, a date slipped, a price risen, a format
  # published), synced, then a finished example of each of the eight flows.
  $PY manage.py seed_sandbox_changes || echo "(demo changes in the sandbox failed; see above)"
  $PY manage.py sync_consonance || echo "(Consonance sync of the demo changes failed; see above)"
  $PY manage.py seed_demo_flows || echo "(demo flow examples failed; see above)"
  touch "$MARKER"
fi

echo
if has_works; then
  echo "Colophon is ready at $URL/  (Ctrl-C stops the web app and the worker)"
else
  echo "Colophon is running at $URL/ but has NO titles: the Consonance sync did not finish"
  echo "(see its output above). Retry with: make run RESYNC=1, or 'Sync now' at $URL/sync/"
fi
echo "Sign in as one of the demo users above (password: ${DEMO_PASSWORD:-colophon-demo})."
echo "Sandbox Consonance and Exstream are served under $URL/sandbox/"
wait -n "${pids[@]}"
