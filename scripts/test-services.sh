#!/usr/bin/env bash
# Start the services the test suite needs and export where they are:
#   EARLYPHASE_TEST_PG  a throwaway PostgreSQL cluster (Debian's postgresql), for the conduct tests
#   EARLYPHASE_CHROMIUM headless Chromium (Debian's chromium), for the browser tests and --pdf
# Installs the Debian packages when run as root on a machine without them. Prints what it did.
# Usage: source scripts/test-services.sh   (then run pytest; stop with pg_stop)
set -u
_apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@") >/dev/null 2>&1
  fi
}
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then _apt_install postgresql; fi
if ! command -v chromium >/dev/null 2>&1; then _apt_install chromium; fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -n "$PG_BIN" ] && [ -x "$PG_BIN/pg_ctl" ]; then
  PG_DIR=$(mktemp -d /tmp/earlyphase-pg.XXXXXX)
  PG_PORT=${PG_PORT:-55432}
  # another cluster (a second test run on this machine) may hold the port: take the next free one
  while (exec 3<>/dev/tcp/127.0.0.1/$PG_PORT) 2>/dev/null; do PG_PORT=$((PG_PORT + 1)); done
  chown postgres "$PG_DIR" 2>/dev/null || true
  _as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
  if _as_pg "$PG_BIN/initdb -D $PG_DIR/data -A trust -U postgres" >/dev/null 2>&1 \
     && _as_pg "$PG_BIN/pg_ctl -D $PG_DIR/data -o '-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1' -l $PG_DIR/log -w start" >/dev/null 2>&1; then
    export EARLYPHASE_TEST_PG="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
    pg_stop() { _as_pg "$PG_BIN/pg_ctl -D $PG_DIR/data -m fast stop" >/dev/null 2>&1; rm -rf "$PG_DIR"; }
    echo "test services: PostgreSQL on 127.0.0.1:$PG_PORT"
  else
    pg_stop() { :; }
    echo "test services: PostgreSQL could not be started; its tests will fail"
  fi
else
  pg_stop() { :; }
  echo "test services: no PostgreSQL server on this machine"
fi
if command -v chromium >/dev/null 2>&1; then
  export EARLYPHASE_CHROMIUM=$(command -v chromium)
  echo "test services: Chromium at $EARLYPHASE_CHROMIUM"
fi
