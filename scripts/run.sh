#!/usr/bin/env bash
# make run: migrate, seed demo data, then run the web app and one worker together.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-true}
export SANDBOX_BASE_URL=${SANDBOX_BASE_URL:-http://127.0.0.1:$PORT}

$PY manage.py migrate --noinput
$PY manage.py seed_demo
if $PY manage.py help seed_sandbox >/dev/null 2>&1; then $PY manage.py seed_sandbox; fi

pids=()
stop() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop INT TERM EXIT

$PY manage.py qcluster &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload &
pids+=($!)

sleep 2
echo
echo "Colophon is running at http://127.0.0.1:$PORT/  (Ctrl-C stops the web app and the worker)"
echo "Sandbox Consonance and Exstream are served under http://127.0.0.1:$PORT/sandbox/"
wait -n "${pids[@]}"
