#!/usr/bin/env bash
# A throwaway PostgreSQL on loopback for the tests (the control plane's API
# tests run against both SQLite and PostgreSQL).
#
#   scripts/test-postgres.sh start   # create + start the cluster if needed, print its URL
#   scripts/test-postgres.sh url     # print the URL if it is running, else exit 1
#   scripts/test-postgres.sh stop    # stop it and delete its directory (fine if not running)
#
# `start` prints exactly one line on stdout, e.g.
#   postgres://postgres@127.0.0.1:55432/ferrocast_test
# and everything else on stderr, so `url=$(scripts/test-postgres.sh start)` works.
# `./dev test` runs it and hands the URL to the tests as FERROCAST_TEST_POSTGRES_URL.
#
# The cluster is its own, not Debian's system cluster (15/main on port 5432,
# which the postgresql package may start; nothing here uses it):
#   - binaries from the newest /usr/lib/postgresql/*/bin (scripts/install-deps.sh test
#     installs them), or FERROCAST_PG_BIN=/path/to/bin;
#   - everything in ${FERROCAST_PG_DIR:-/tmp/ferrocast-test-pg}: data/ (the cluster),
#     the unix socket, port (the TCP port it listens on), server.log;
#   - listens on 127.0.0.1 only, on the first free port from ${FERROCAST_PG_PORT:-55432};
#   - trust auth for local and 127.0.0.1/32, superuser `postgres`, database
#     `ferrocast_test`; fsync, synchronous_commit and full_page_writes off (speed
#     over durability: the data is thrown away); max_connections 200.
# PostgreSQL refuses to run as root, so as root the directory belongs to the
# `postgres` system user (created by Debian's package) and the server runs as it.
set -euo pipefail

PG_DIR=${FERROCAST_PG_DIR:-/tmp/ferrocast-test-pg}
PG_DIR=${PG_DIR%/}
case "$PG_DIR" in
  /*) ;;
  ?*) PG_DIR="$(pwd)/$PG_DIR" ;; # the server's cwd is its data dir: paths must be absolute
esac
BASE_PORT=${FERROCAST_PG_PORT:-55432}
DB=ferrocast_test
SUPERUSER=postgres
DATA="$PG_DIR/data"
PORT_FILE="$PG_DIR/port"
LOG_FILE="$PG_DIR/server.log"
MARKER="$PG_DIR/.ferrocast-test-pg" # stop only deletes directories that carry it

log() { printf '[test-postgres] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# On failure after the server was (meant to be) started: show why.
fail() {
  log "error: $*"
  if [ -f "$LOG_FILE" ]; then
    log "last lines of $LOG_FILE:"
    tail -n 40 "$LOG_FILE" >&2 || true
  fi
  exit 1
}

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; }

case "$PG_DIR" in
  "" | /tmp | /var | /var/tmp | /home | /root) die "FERROCAST_PG_DIR=${PG_DIR:-/} is not a dedicated directory" ;;
esac
if ! [[ "$BASE_PORT" =~ ^[0-9]+$ ]] || [ "$BASE_PORT" -lt 1024 ] || [ "$BASE_PORT" -gt 65535 ]; then
  die "FERROCAST_PG_PORT=$BASE_PORT is not a port number in 1024-65535"
fi

# --- binaries ------------------------------------------------------------------
PG_BIN=${FERROCAST_PG_BIN:-}
find_bin() {
  [ -n "$PG_BIN" ] && return 0
  local initdb
  # Newest installed major version (sort -V: 9.6 < 15 < 16).
  initdb=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
  if [ -x "$initdb" ]; then
    PG_BIN=$(dirname "$initdb")
  elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    PG_BIN=$(dirname "$(command -v pg_ctl)")
  else
    die "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): run scripts/install-deps.sh test"
  fi
}

# --- running as the right user ---------------------------------------------------
AS_ROOT=0
[ "$(id -u)" -eq 0 ] && AS_ROOT=1

# as_pg <cmd…>: run a server-side command as the cluster's owner. The cd keeps
# tools run as postgres from complaining that they cannot read root's cwd.
as_pg() {
  if [ "$AS_ROOT" -eq 1 ]; then
    (cd "$PG_DIR" 2>/dev/null || cd /; runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Client commands connect over TCP as the superuser (trust), as any local user.
psql_q() { # psql_q <port> <sql>: one value, unaligned
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U "$SUPERUSER" -d postgres -tAc "$2"
}

is_running() { # exit 0 when the cluster in $DATA is running
  [ -f "$DATA/PG_VERSION" ] || return 1
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url_for() { printf 'postgres://%s@127.0.0.1:%s/%s\n' "$SUPERUSER" "$1" "$DB"; }

running_port() {
  local port=""
  [ -f "$PORT_FILE" ] && port=$(cat "$PORT_FILE")
  # Fallback: line 4 of postmaster.pid is the port the server listens on.
  if ! [[ "$port" =~ ^[0-9]+$ ]] && [ -f "$DATA/postmaster.pid" ]; then
    port=$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)
  fi
  [[ "$port" =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$port"
}

# --- free port ------------------------------------------------------------------
port_in_use() { # port_in_use <port>: something listens on it (any address), or it answers on 127.0.0.1
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

free_port() { # free_port <from>: first free port at or above <from>
  local port=$1 tries=0
  while [ "$tries" -lt 200 ] && [ "$port" -le 65535 ]; do
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
    port=$((port + 1))
    tries=$((tries + 1))
  done
  return 1
}

# --- commands --------------------------------------------------------------------
prepare_dir() {
  if [ -d "$PG_DIR" ] && [ ! -f "$MARKER" ] && [ -n "$(ls -A "$PG_DIR" 2>/dev/null)" ]; then
    die "$PG_DIR exists, is not empty and was not made by this script; set FERROCAST_PG_DIR elsewhere"
  fi
  mkdir -p "$PG_DIR"
  chmod 700 "$PG_DIR"
  touch "$MARKER"
  if [ "$AS_ROOT" -eq 1 ]; then
    id -u postgres >/dev/null 2>&1 ||
      die "running as root needs the 'postgres' system user (Debian's postgresql package creates it): run scripts/install-deps.sh test"
    chown -R postgres:postgres "$PG_DIR"
    runuser -u postgres -- test -w "$PG_DIR" -a -x "$PG_DIR" ||
      die "user postgres cannot write to $PG_DIR (a parent directory is closed to it?); set FERROCAST_PG_DIR, e.g. under /tmp"
  fi
}

init_cluster() {
  if [ -d "$DATA" ] && [ ! -f "$DATA/PG_VERSION" ]; then
    log "removing half-initialised $DATA"
    rm -rf "$DATA"
  fi
  if [ -f "$DATA/PG_VERSION" ]; then
    local have want
    have=$(cat "$DATA/PG_VERSION")
    want=$("$PG_BIN/pg_ctl" --version | awk '{ print $3 }' | cut -d. -f1) # "pg_ctl (PostgreSQL) 15.8 (Debian …)"
    if [ "$have" != "$want" ]; then
      log "cluster in $DATA is PostgreSQL $have, binaries are $want: recreating it"
      rm -rf "$DATA"
    else
      return 0
    fi
  fi
  log "initdb $DATA ($PG_BIN)"
  if ! as_pg "$PG_BIN/initdb" -D "$DATA" --auth=trust --username="$SUPERUSER" \
    --encoding=UTF8 --no-locale --no-sync >"$PG_DIR/initdb.log" 2>&1; then
    cat "$PG_DIR/initdb.log" >&2
    fail "initdb failed"
  fi
  # Only the unix socket and 127.0.0.1, both trusted.
  as_pg tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/test-postgres.sh: a throwaway test cluster, trust on loopback only.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
  # The port is given at each start (-p), so that a restarted cluster can move.
  as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# --- scripts/test-postgres.sh: throwaway test cluster -------------------------
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start_server() {
  local port attempt seen
  port=$BASE_PORT
  for attempt in 1 2 3 4 5; do
    port=$(free_port "$port") || fail "no free TCP port from $BASE_PORT"
    seen=0
    [ -f "$LOG_FILE" ] && seen=$(wc -l <"$LOG_FILE")
    log "starting PostgreSQL on 127.0.0.1:$port (log: $LOG_FILE)"
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA" -w -t 30 -l "$LOG_FILE" -o "-p $port" start >&2; then
      printf '%s\n' "$port" | as_pg tee "$PORT_FILE" >/dev/null
      return 0
    fi
    # Lost a race for the port: try the next one. Anything else is fatal.
    if [ "$attempt" -lt 5 ] && tail -n "+$((seen + 1))" "$LOG_FILE" 2>/dev/null | grep -q 'Address already in use'; then
      log "port $port was taken meanwhile; trying the next one"
      port=$((port + 1))
      continue
    fi
    fail "pg_ctl start failed"
  done
}

ensure_db() { # ensure_db <port>
  local port=$1 have
  have=$(psql_q "$port" "SELECT 1 FROM pg_database WHERE datname = '$DB'") ||
    fail "cannot connect to 127.0.0.1:$port as $SUPERUSER"
  if [ "$have" != 1 ]; then
    log "creating database $DB"
    psql_q "$port" "CREATE DATABASE $DB" >/dev/null || fail "CREATE DATABASE $DB failed"
  fi
}

cmd_start() {
  find_bin
  local port
  if is_running; then
    port=$(running_port) || fail "cluster in $DATA runs but its port is unknown; run: $0 stop"
    log "already running on 127.0.0.1:$port"
  else
    prepare_dir
    init_cluster
    start_server
    port=$(running_port)
  fi
  ensure_db "$port"
  url_for "$port"
}

cmd_url() {
  [ -d "$DATA" ] || exit 1
  find_bin
  is_running || exit 1
  local port
  port=$(running_port) || exit 1
  url_for "$port"
}

cmd_stop() {
  if [ ! -e "$PG_DIR" ]; then
    log "nothing to stop ($PG_DIR does not exist)"
    return 0
  fi
  [ -f "$MARKER" ] || die "$PG_DIR was not made by this script; not touching it"
  if [ -f "$DATA/PG_VERSION" ]; then
    find_bin
    if is_running; then
      log "stopping PostgreSQL in $DATA"
      as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >&2 ||
        fail "pg_ctl stop failed"
    fi
  fi
  rm -rf "$PG_DIR"
  log "removed $PG_DIR"
}

case "${1:-}" in
  start) cmd_start ;;
  url) cmd_url ;;
  stop) cmd_stop ;;
  -h | --help | help) usage ;;
  *) usage; exit 2 ;;
esac
