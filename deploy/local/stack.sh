#!/usr/bin/env bash
# Berth local infrastructure: PostgreSQL 15, Redis 7, Kafka 3.9 (KRaft) and MinIO
# on 127.0.0.1, without Docker. See deploy/local/README.md.
#
#   stack.sh install [component...]   install missing pieces only (idempotent)
#   stack.sh start   [component...]   install if missing, start if not running, wait healthy
#   stack.sh stop    [component...]   stop (graceful, then KILL after ~15s); data kept
#   stack.sh status  [component...]   one line per component; exit 0 if all running, else 3
#   stack.sh env                      print `export NAME=value` connection settings
#   stack.sh reset   [component...]   stop and delete data
#
# components: postgres redis kafka minio (no args = all)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)

ALL_COMPONENTS=(postgres redis kafka minio)

# ---------------------------------------------------------------- settings
STACK_DIR=${BERTH_STACK_DIR:-$REPO_ROOT/.stack}

default_cache() {
  if { [ -d /opt/berth ] || mkdir -p /opt/berth 2>/dev/null; } && [ -w /opt/berth ]; then
    echo /opt/berth
  else
    echo "${HOME:-/tmp}/.cache/berth"
  fi
}
CACHE_DIR=${BERTH_STACK_CACHE:-$(default_cache)}

PG_PORT=${BERTH_STACK_PG_PORT:-55432}
REDIS_PORT=${BERTH_STACK_REDIS_PORT:-56379}
KAFKA_PORT=${BERTH_STACK_KAFKA_PORT:-59092}
KAFKA_CONTROLLER_PORT=${BERTH_STACK_KAFKA_CONTROLLER_PORT:-59093}
MINIO_PORT=${BERTH_STACK_MINIO_PORT:-59000}
MINIO_CONSOLE_PORT=${BERTH_STACK_MINIO_CONSOLE_PORT:-59001}

PG_USER=berth
PG_PASSWORD=berth
PG_DB=berth
PG_BIN=/usr/lib/postgresql/15/bin

KAFKA_VERSIONS=(3.9.2 3.9.1)    # preferred first; the next is the fallback
KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml
KAFKA_TEMPLATE=$SCRIPT_DIR/kafka/server.properties.template
KAFKA_LOG4J=$SCRIPT_DIR/kafka/log4j.properties
KAFKA_HEAP_OPTS=(-Xms256m -Xmx768m)

MINIO_MODULE=github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN=$CACHE_DIR/bin/minio
MINIO_ROOT_USER=berthadmin
MINIO_ROOT_PASSWORD=berthsecret123
S3_REGION=us-east-1

# Bounded readiness waits (seconds).
declare -A LAUNCHED_AT=()
declare -A WAIT_SECS=([postgres]=60 [redis]=30 [kafka]=120 [minio]=60)
STOP_GRACE_SECS=15

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# ---------------------------------------------------------------- helpers
log()  { printf '[stack] %s\n' "$*" >&2; }
die()  { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
now()  { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

comp_dir() { echo "$STACK_DIR/$1"; }
comp_log() { echo "$STACK_DIR/$1/$1.log"; }
comp_pidfile() { echo "$STACK_DIR/$1/$1.pid"; }

# Print the last 50 lines of a log to stderr.
show_log() {
  local f=$1
  if [ -f "$f" ]; then
    printf -- '----- last 50 lines of %s -----\n' "$f" >&2
    tail -n 50 "$f" >&2 || true
    printf -- '----- end of %s -----\n' "$f" >&2
  else
    printf -- '(no log file at %s)\n' "$f" >&2
  fi
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# True if pid $1 is a live (non-zombie) process whose command name is $2.
pid_alive() {
  local pid=$1 want=$2 comm state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/stat" ] || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ "$state" != Z ] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$want"* ]]
}

read_pidfile() { [ -f "$1" ] && head -n1 "$1" 2>/dev/null | tr -d '[:space:]' || true; }

# Start a daemon detached from this shell (own session, stdin closed, output to
# $log, lock fd closed) and record its pid in $pidfile.
#   spawn <pidfile> <log> <workdir> cmd args...
spawn() {
  local pidfile=$1 logf=$2 wd=$3; shift 3
  rm -f "$pidfile"
  (
    cd "$wd"
    exec 9>&- </dev/null >>"$logf" 2>&1
    exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@"
  ) &
  local i
  for i in $(seq 1 50); do
    [ -s "$pidfile" ] && return 0
    sleep 0.1
  done
  die "could not start: $*"
}

# Stop pid $1 (command name $2, display name $4): signal $3, then after the grace
# period signal $5 (if given, 5 more seconds) and finally KILL.
stop_pid() {
  local pid=$1 comm=$2 sig=$3 name=$4 sig2=${5:-} i
  pid_alive "$pid" "$comm" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for i in $(seq 1 $((STOP_GRACE_SECS * 5))); do
    pid_alive "$pid" "$comm" || return 0
    sleep 0.2
  done
  if [ -n "$sig2" ]; then
    log "$name (pid $pid) did not stop within ${STOP_GRACE_SECS}s, sending $sig2"
    kill "-$sig2" "$pid" 2>/dev/null || true
    for i in $(seq 1 25); do
      pid_alive "$pid" "$comm" || return 0
      sleep 0.2
    done
  fi
  log "$name (pid $pid) still running, sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    pid_alive "$pid" "$comm" || return 0
    sleep 0.1
  done
  die "$name (pid $pid) survived SIGKILL"
}

# Serialise mutating commands (install/start/stop/reset) between concurrent callers.
take_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  if ! flock -n 9; then
    log "another stack.sh is running; waiting for its lock"
    flock 9
  fi
}

# ---------------------------------------------------------------- apt
apt_busy() {
  pgrep -x apt-get >/dev/null 2>&1 || pgrep -x apt >/dev/null 2>&1 \
    || pgrep -x dpkg >/dev/null 2>&1 || pgrep -x unattended-upgr >/dev/null 2>&1
}

wait_apt_idle() {
  local waited=0
  while apt_busy; do
    [ $waited -eq 0 ] && log "apt/dpkg is busy (another install running); waiting for it"
    sleep 3; waited=$((waited + 3))
    [ $waited -lt 3600 ] || die "apt/dpkg still busy after 1h"
  done
}

apt_lists_empty() {
  ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# apt_install pkg... : install Debian packages without starting their services.
apt_install() {
  local sudo=() rc=0 added_policy=0
  if [ $IS_ROOT -eq 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to apt-get install $*"
    sudo=(sudo)
  fi
  wait_apt_idle
  # Keep Debian's maintainer scripts from starting the system postgresql/redis services.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  local inst=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@")
  if apt_lists_empty; then
    log "apt package lists are empty: apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || rc=$?
  fi
  if [ $rc -eq 0 ]; then
    log "apt-get install $*"
    if ! "${inst[@]}" >&2; then
      log "apt-get install failed; running apt-get update and retrying"
      wait_apt_idle
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
      "${inst[@]}" >&2 || rc=$?
    fi
  fi
  [ $added_policy -eq 1 ] && "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
  [ $rc -eq 0 ] || die "apt-get install $* failed"
}

# ================================================================ postgres
PG_DIR=$STACK_DIR/postgres
PG_DATA=$PG_DIR/data
PG_RUN=$PG_DIR/run
PG_LOG=$PG_DIR/postgres.log

# Run a Postgres binary as the cluster owner (`postgres` when we are root).
as_pg() {
  if [ $IS_ROOT -eq 1 ]; then
    (cd / && exec 9>&- && exec runuser -u postgres -- "$@")
  else
    (exec 9>&- && exec "$@")
  fi
}

postgres_installed() { [ -x "$PG_BIN/postgres" ] && [ -x "$PG_BIN/initdb" ] && command -v psql >/dev/null; }

postgres_install() {
  postgres_installed && return 0
  wait_apt_idle
  postgres_installed && return 0
  apt_install postgresql-15
  postgres_installed || die "postgres: $PG_BIN/postgres still missing after apt-get install"
}

postgres_pid() { read_pidfile "$PG_DATA/postmaster.pid"; }
postgres_running() { pid_alive "$(postgres_pid)" postgres; }
postgres_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1; }

postgres_prepare_dirs() {
  mkdir -p "$STACK_DIR"
  if [ $IS_ROOT -eq 1 ]; then
    id -u postgres >/dev/null 2>&1 || die "postgres: OS user 'postgres' missing (is postgresql-15 installed?)"
    install -d -o postgres -g postgres -m 700 "$PG_DIR"
    install -d -o postgres -g postgres -m 700 "$PG_RUN"
    touch "$PG_LOG"; chown postgres:postgres "$PG_LOG"
    runuser -u postgres -- test -w "$PG_DIR" \
      || die "postgres: user 'postgres' cannot reach $PG_DIR (a parent directory is not world-traversable); set BERTH_STACK_DIR to e.g. /tmp/berth-stack"
  else
    install -d -m 700 "$PG_DIR" "$PG_RUN"
    touch "$PG_LOG"
  fi
}

postgres_write_conf() {
  local conf=$PG_DATA/berth.conf
  cat >"$conf" <<EOF
# Written by deploy/local/stack.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
shared_buffers = 128MB
# Test tuning: durability off.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  [ $IS_ROOT -eq 1 ] && chown postgres:postgres "$conf"
  chmod 600 "$conf"
}

postgres_launch() {
  postgres_prepare_dirs
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "postgres: initdb $PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >>"$PG_LOG" 2>&1 \
      || { show_log "$PG_LOG"; die "postgres: initdb failed"; }
    echo "include 'berth.conf'" >>"$PG_DATA/postgresql.conf"
  fi
  postgres_write_conf
  # Lock files left by a killed server whose pid is dead or still a zombie (not
  # yet reaped) make postgres refuse to start; we know it is not running.
  if ! postgres_running; then
    if [ -f "$PG_DATA/postmaster.pid" ]; then
      log "postgres: removing stale postmaster.pid (pid $(postgres_pid))"
    fi
    rm -f "$PG_DATA/postmaster.pid" "$PG_RUN"/.s.PGSQL.*
  fi
  if port_open "$PG_PORT"; then
    die "postgres: port $PG_PORT is already in use by another process"
  fi
  echo "==== $(date -Is) stack.sh start" >>"$PG_LOG"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -W start >/dev/null \
    || { show_log "$PG_LOG"; die "postgres: pg_ctl start failed"; }
}

# Create role/database idempotently (over the unix socket as the superuser).
postgres_bootstrap() {
  local psql=("$PG_BIN/psql" -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1)
  as_pg "${psql[@]}" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER') THEN
        CREATE ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
      ELSE
        ALTER ROLE $PG_USER LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
      END IF;
    END \$\$;" >/dev/null
  if [ -z "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
    as_pg "${psql[@]}" -c "CREATE DATABASE $PG_DB OWNER $PG_USER" >/dev/null
  fi
}

postgres_stop() {
  local pid; pid=$(postgres_pid)
  # Postgres: SIGINT = "fast" shutdown (SIGTERM would wait for clients to
  # disconnect); then SIGQUIT = "immediate"; then KILL.
  stop_pid "$pid" postgres INT postgres QUIT
}

# ================================================================ redis
REDIS_DIR=$STACK_DIR/redis

redis_installed() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }

redis_install() {
  redis_installed && return 0
  wait_apt_idle
  redis_installed && return 0
  apt_install redis-server
  redis_installed || die "redis: redis-server still missing after apt-get install"
}

redis_pid() { read_pidfile "$(comp_pidfile redis)"; }
redis_running() { pid_alive "$(redis_pid)" redis-server; }
redis_ready() { [ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_launch() {
  mkdir -p "$REDIS_DIR"
  port_open "$REDIS_PORT" && die "redis: port $REDIS_PORT is already in use by another process"
  local logf; logf=$(comp_log redis)
  [ -f "$logf" ] && mv -f "$logf" "$logf.1"
  spawn "$(comp_pidfile redis)" "$logf" "$REDIS_DIR" \
    "$(command -v redis-server)" --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save '' --appendonly no --daemonize no --protected-mode yes \
    --dir "$REDIS_DIR" --logfile ''
}

redis_stop() { stop_pid "$(redis_pid)" redis-server TERM redis; }

# ================================================================ kafka
KAFKA_DIR=$STACK_DIR/kafka
KAFKA_DATA=$KAFKA_DIR/data

kafka_libs_for() { echo "$CACHE_DIR/kafka-$1/libs"; }

# Print the installed Kafka version (preferred first); fail if none.
kafka_version() {
  local v
  for v in "${KAFKA_VERSIONS[@]}"; do
    if [ -f "$(kafka_libs_for "$v")/.complete" ]; then echo "$v"; return 0; fi
  done
  return 1
}

kafka_install() {
  if ! command -v java >/dev/null; then apt_install openjdk-17-jre-headless; fi
  kafka_version >/dev/null && return 0
  command -v mvn >/dev/null || apt_install maven
  mkdir -p "$KAFKA_DIR"
  local v libs t0 ilog=$KAFKA_DIR/install.log
  for v in "${KAFKA_VERSIONS[@]}"; do
    libs=$(kafka_libs_for "$v")
    t0=$(now)
    log "kafka: fetching Kafka $v jars from Maven Central into $libs"
    rm -rf "$libs"; mkdir -p "$libs"
    if (exec 9>&-; mvn -B -q -f "$KAFKA_POM" -Dkafka.version="$v" \
          org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
          -DincludeScope=runtime -DoutputDirectory="$libs") >"$ilog" 2>&1 \
       && [ -f "$libs/kafka_2.13-$v.jar" ]; then
      touch "$libs/.complete"
      log "kafka: $v jars ready ($(ls "$libs" | grep -c '\.jar$') jars, $(du -sh "$libs" | cut -f1)) in $(since "$t0")"
      return 0
    fi
    log "kafka: could not resolve Kafka $v"
    show_log "$ilog"
    rm -rf "$libs"
  done
  die "kafka: no Kafka version could be fetched (${KAFKA_VERSIONS[*]})"
}

kafka_pid() { read_pidfile "$(comp_pidfile kafka)"; }
kafka_running() { pid_alive "$(kafka_pid)" java; }
kafka_ready() { grep -q 'Kafka Server started' "$(comp_log kafka)" 2>/dev/null && port_open "$KAFKA_PORT"; }

kafka_java() {
  local v; v=$(kafka_version)
  local cp; cp="$(kafka_libs_for "$v")/*"
  JAVA_CMD=(java -XX:TieredStopAtLevel=1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
    -XX:MaxInlineLevel=15 -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
    "-Dlog4j.configuration=file:$KAFKA_LOG4J" "-Dkafka.logs.dir=$KAFKA_DIR" -cp "$cp")
}

kafka_launch() {
  mkdir -p "$KAFKA_DATA"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "kafka: port $p is already in use by another process"
  done
  local props=$KAFKA_DIR/server.properties logf; logf=$(comp_log kafka)
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@DATA_DIR@|$KAFKA_DATA|g" "$KAFKA_TEMPLATE" >"$props"
  [ -f "$logf" ] && mv -f "$logf" "$logf.1"
  kafka_java
  if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
    local cid
    cid=$("${JAVA_CMD[@]}" kafka.tools.StorageTool random-uuid 2>>"$logf" | tail -n1) \
      || { show_log "$logf"; die "kafka: StorageTool random-uuid failed"; }
    log "kafka: formatting $KAFKA_DATA (cluster id $cid)"
    (exec 9>&-; "${JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$cid" -c "$props" --ignore-formatted) \
      >>"$logf" 2>&1 || { show_log "$logf"; die "kafka: storage format failed"; }
  fi
  spawn "$(comp_pidfile kafka)" "$logf" "$KAFKA_DIR" \
    "${JAVA_CMD[0]}" "${KAFKA_HEAP_OPTS[@]}" "${JAVA_CMD[@]:1}" kafka.Kafka "$props"
}

kafka_stop() { stop_pid "$(kafka_pid)" java TERM kafka; }

# ================================================================ minio
MINIO_DIR=$STACK_DIR/minio

minio_installed() { [ -x "$MINIO_BIN" ]; }

minio_build_running() { pgrep -f 'go install.*github.com/minio/minio' >/dev/null 2>&1; }

wait_minio_build() {
  local t0 waited=0
  minio_build_running || return 0
  t0=$(now)
  log "minio: a 'go install $MINIO_MODULE' is already running; waiting for it (no second build)"
  while minio_build_running; do
    sleep 5; waited=$((waited + 5))
    [ $((waited % 60)) -eq 0 ] && log "minio: still waiting for the running build ($(since "$t0"))"
    [ $waited -lt 5400 ] || die "minio: the running go build did not finish within 90 min"
  done
  log "minio: the running build finished after $(since "$t0")"
}

minio_install() {
  minio_installed && ! minio_build_running && return 0
  wait_minio_build
  minio_installed && return 0
  command -v go >/dev/null || die "minio: 'go' is not on PATH (need Go >= 1.24 to build MinIO)"
  mkdir -p "$CACHE_DIR/bin" "$MINIO_DIR"
  local blog=$MINIO_DIR/build.log t0
  # One build at a time across stack.sh callers.
  exec 8>"$CACHE_DIR/.minio-build.lock"
  flock 8
  if ! minio_installed; then
    t0=$(now)
    log "minio: building $MINIO_MODULE (cold build takes many minutes; log $blog)"
    if ! (exec 8>&- 9>&-; GOBIN="$CACHE_DIR/bin" CGO_ENABLED=0 GOFLAGS=-trimpath \
          go install -ldflags "-s -w" "$MINIO_MODULE") >"$blog" 2>&1; then
      show_log "$blog"; die "minio: go install failed"
    fi
    log "minio: built in $(since "$t0")"
  fi
  exec 8>&-
  minio_installed || die "minio: $MINIO_BIN missing after build"
}

minio_pid() { read_pidfile "$(comp_pidfile minio)"; }
minio_running() { pid_alive "$(minio_pid)" minio; }
minio_ready() {
  [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$MINIO_PORT/minio/health/ready" 2>/dev/null)" = 200 ]
}

minio_launch() {
  mkdir -p "$MINIO_DIR/data"
  local p
  for p in "$MINIO_PORT" "$MINIO_CONSOLE_PORT"; do
    port_open "$p" && die "minio: port $p is already in use by another process"
  done
  local logf; logf=$(comp_log minio)
  [ -f "$logf" ] && mv -f "$logf" "$logf.1"
  spawn "$(comp_pidfile minio)" "$logf" "$MINIO_DIR" \
    env MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" \
        MINIO_CI_CD=1 MINIO_BROWSER=off MINIO_UPDATE=off MINIO_REGION="$S3_REGION" \
    "$MINIO_BIN" server "$MINIO_DIR/data" \
      --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT" --quiet
}

minio_stop() { stop_pid "$(minio_pid)" minio TERM minio; }

# ================================================================ generic
comp_port() {
  case $1 in
    postgres) echo "$PG_PORT" ;; redis) echo "$REDIS_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;; minio) echo "$MINIO_PORT" ;;
  esac
}
comp_logfile() { if [ "$1" = postgres ]; then echo "$PG_LOG"; else comp_log "$1"; fi; }

# Wait until component $1 is ready, bounded; on failure dump its log and return 1.
wait_ready() {
  local c=$1 t0 limit=${WAIT_SECS[$1]} start
  t0=${LAUNCHED_AT[$c]:-$(now)}; start=$SECONDS
  while :; do
    if "${c}_ready"; then
      if [ "$c" = postgres ]; then
        postgres_bootstrap || { log "postgres: creating role/database failed"; show_log "$PG_LOG"; return 1; }
      fi
      log "$c: ready on 127.0.0.1:$(comp_port "$c") ($(since "$t0"))"
      return 0
    fi
    if ! "${c}_running"; then
      # Postgres may not have written postmaster.pid yet right after pg_ctl -W.
      if [ "$c" != postgres ] || [ $((SECONDS - start)) -ge 5 ]; then
        log "$c: process exited before becoming ready"
        show_log "$(comp_logfile "$c")"
        return 1
      fi
    fi
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      log "$c: not ready after ${limit}s"
      show_log "$(comp_logfile "$c")"
      return 1
    fi
    sleep 0.3
  done
}

# True if component $1's last run ended because its port was taken: the check before the
# launch saw no listener, but between it and the server's bind() another socket took the port
# (typically an outgoing connection handed that number as its ephemeral local port).
bind_failed() {
  local f; f=$(comp_logfile "$1")
  [ -f "$f" ] || return 1
  # The other logs start afresh at each launch; PostgreSQL's is appended to, after a marker line.
  awk '/^==== .* stack.sh start$/ { run = "" } { run = run $0 "\n" } END { printf "%s", run }' "$f" \
    | grep -iE 'address already in use|BindException' >/dev/null
}

# wait_ready, launching component $1 again (up to START_ATTEMPTS in all, START_RETRY_SECS apart)
# while it exits on a taken port; any other failure is final at once.
START_ATTEMPTS=${BERTH_STACK_START_ATTEMPTS:-3}
START_RETRY_SECS=${BERTH_STACK_START_RETRY_SECS:-2}
wait_started() {
  local c=$1 attempt=1
  until wait_ready "$c"; do
    if [ "$attempt" -ge "$START_ATTEMPTS" ] || "${c}_running" || ! bind_failed "$c"; then
      return 1
    fi
    attempt=$((attempt + 1))
    log "$c: its port was taken while it started; launching again in ${START_RETRY_SECS}s (attempt $attempt of $START_ATTEMPTS)"
    sleep "$START_RETRY_SECS"
    LAUNCHED_AT[$c]=$(now)
    "${c}_launch"
  done
}

parse_components() {
  COMPONENTS=()
  if [ $# -eq 0 ]; then COMPONENTS=("${ALL_COMPONENTS[@]}"); return; fi
  local a c ok
  for a in "$@"; do
    ok=0
    for c in "${ALL_COMPONENTS[@]}"; do [ "$a" = "$c" ] && ok=1; done
    [ $ok -eq 1 ] || die "unknown component '$a' (expected: ${ALL_COMPONENTS[*]})"
    COMPONENTS+=("$a")
  done
}

cmd_install() {
  take_lock
  local c
  for c in "${COMPONENTS[@]}"; do
    "${c}_install" || die "$c: install failed"
    log "$c: installed"
  done
}

cmd_start() {
  take_lock
  local c t0 failed=()
  t0=$(now)
  # Install + launch each (launch does not block), then wait for each.
  for c in "${COMPONENTS[@]}"; do
    "${c}_install" || die "$c: install failed"
    if "${c}_running"; then
      log "$c: already running (pid $("${c}_pid"))"
    else
      log "$c: starting"
      LAUNCHED_AT[$c]=$(now)
      "${c}_launch"
    fi
  done
  for c in "${COMPONENTS[@]}"; do
    wait_started "$c" || failed+=("$c")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    die "failed to start: ${failed[*]}"
  fi
  log "started ${COMPONENTS[*]} in $(since "$t0")"
}

cmd_stop() {
  take_lock
  local c
  for c in "${COMPONENTS[@]}"; do
    if "${c}_running"; then
      log "$c: stopping (pid $("${c}_pid"))"
      "${c}_stop"
      log "$c: stopped"
    else
      log "$c: not running"
    fi
    [ "$c" = postgres ] || rm -f "$(comp_pidfile "$c")"
  done
}

cmd_status() {
  local c state pid rc=0
  for c in "${COMPONENTS[@]}"; do
    pid=-
    if "${c}_running"; then
      pid=$("${c}_pid")
      if "${c}_ready"; then state=running; else state=unhealthy; rc=3; fi
    else
      state=stopped; rc=3
    fi
    printf '%-8s %-9s port=%-5s pid=%s\n' "$c" "$state" "$(comp_port "$c")" "$pid"
  done
  return $rc
}

cmd_env() {
  cat <<EOF
export BERTH_DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB
export BERTH_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export BERTH_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export BERTH_S3_ENDPOINT=http://127.0.0.1:$MINIO_PORT
export BERTH_S3_ACCESS_KEY=$MINIO_ROOT_USER
export BERTH_S3_SECRET_KEY=$MINIO_ROOT_PASSWORD
export BERTH_S3_REGION=$S3_REGION
EOF
}

cmd_reset() {
  cmd_stop
  local c
  for c in "${COMPONENTS[@]}"; do
    log "$c: deleting $(comp_dir "$c")"
    rm -rf -- "$(comp_dir "$c")"
  done
}

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  [ $# -ge 1 ] || usage
  local cmd=$1; shift
  case $cmd in
    install|start|stop|status|reset) parse_components "$@"; "cmd_$cmd" ;;
    env) [ $# -eq 0 ] || die "env takes no arguments"; cmd_env ;;
    -h|--help|help) usage ;;
    *) log "unknown command '$cmd'"; usage ;;
  esac
}

main "$@"
