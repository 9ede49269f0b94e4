#!/usr/bin/env bash
# Browser tests drive Debian's chromium (never a downloaded browser build). Install it when
# missing and we are allowed to (root); otherwise say so, and the browser tests skip.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: installing Debian's chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "install-chromium: chromium is not installed and this user cannot install it;" \
       "browser tests will be skipped (run: sudo apt-get install chromium)" >&2
fi
