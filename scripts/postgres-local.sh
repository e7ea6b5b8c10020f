#!/usr/bin/env bash
# A throw-away PostgreSQL server on this machine, for the shared study's tests (#11): Debian's
# `postgresql` package, a cluster made by initdb in a directory of its own, listening on 127.0.0.1 only,
# on a free port, trust authentication (nothing but this machine can reach it).
#
#   scripts/postgres-local.sh start DIR   # initdb (once) + start; prints `export AUTORESEARCH_TEST_POSTGRES_URL=...`
#   scripts/postgres-local.sh stop DIR    # fast shutdown (running statements are cancelled)
#   scripts/postgres-local.sh restart DIR # start again on the same port
#   scripts/postgres-local.sh install     # apt-get install postgresql when initdb is missing
#
# initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user (which the package
# creates) and DIR is handed to it. Without the binaries it says why and exits 1; the tests then skip.
set -euo pipefail

fail() { echo "postgres-local: $*" >&2; exit 1; }

bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || fail "running as root, but there is no postgres user to run the server as"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

command=${1:-}
case "$command" in
  install)
    bindir >/dev/null && exit 0
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bindir >/dev/null || fail "postgresql installed, but no initdb found under /usr/lib/postgresql"
    ;;
  start|restart)
    dir=${2:?usage: postgres-local.sh $command DIR}
    bin=$(bindir) || fail "no PostgreSQL binaries (initdb) here: install Debian's postgresql package (scripts/postgres-local.sh install)"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || fail "initdb failed: see $dir/initdb.log"
      free_port >"$dir/port"
    fi
    port=$(cat "$dir/port")
    # fsync off: a test server whose data is thrown away; sockets only in DIR, TCP only on 127.0.0.1.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
      || fail "the server did not start: see $dir/server.log"
    echo "export AUTORESEARCH_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export AUTORESEARCH_TEST_POSTGRES_DIR=$dir"
    ;;
  stop)
    dir=${2:?usage: postgres-local.sh stop DIR}
    bin=$(bindir) || fail "no PostgreSQL binaries here"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *)
    fail "usage: postgres-local.sh start|stop|restart DIR, or install"
    ;;
esac
