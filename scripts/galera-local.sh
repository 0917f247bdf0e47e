#!/usr/bin/env bash
# A three-node MariaDB Galera cluster on 127.0.0.1, for trying mogftp's multi-address database
# URLs and for the Galera tests. Not for production: no TLS between nodes, root without a password
# on 127.0.0.1 only, everything under one temporary root. The servers run as the mysql user.
#
#   scripts/galera-local.sh start          bootstrap node 1, join nodes 2 and 3 (waits until synced)
#   scripts/galera-local.sh stop           stop all nodes cleanly (data kept)
#   scripts/galera-local.sh kill N         kill -9 node N (1-3), as a machine dying would
#   scripts/galera-local.sh stopnode N     shut node N down cleanly
#   scripts/galera-local.sh pause N        SIGSTOP node N: a hung server (connections open, no answers)
#   scripts/galera-local.sh resume N       SIGCONT node N and wait until it is Synced again (if it does
#                                          not get there in 120 s: kill -9 and rejoin)
#   scripts/galera-local.sh rejoin N       start node N again; it catches up by IST or SST
#   scripts/galera-local.sh status         each node's pid, cluster size, state and last seqno
#   scripts/galera-local.sh url [DB]       the mysql:// URL naming all three nodes
#   scripts/galera-local.sh clean          stop everything and remove the root
#
# Environment: GALERA_ROOT (default /tmp/mogftp-galera), GALERA_PORT_BASE (default 24300): node N
# listens for SQL on BASE+N, group communication on BASE+10+N, IST on BASE+20+N, SST on BASE+30+N.
# Needs galera-4 (/usr/lib/galera/libgalera_smm.so), mariadbd, rsync; run as root.
set -euo pipefail

ROOT=${GALERA_ROOT:-/tmp/mogftp-galera}
BASE=${GALERA_PORT_BASE:-24300}
PROVIDER=${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
NODES=(1 2 3)

die() { echo "galera-local: $*" >&2; exit 1; }
sql_port() { echo $((BASE + $1)); }
gcomm_port() { echo $((BASE + 10 + $1)); }
dir() { echo "$ROOT/node$1"; }
# The server writes its pid file only once a joiner's state transfer is over (which can take
# longer than a minute on a loaded machine): until then, the pid of the setsid that started it.
pidof_node() {
  local d; d=$(dir "$1")
  if [ -s "$d/mariadbd.pid" ]; then cat "$d/mariadbd.pid" 2>/dev/null || true
  elif [ -s "$d/launch.pid" ]; then cat "$d/launch.pid" 2>/dev/null || true
  fi
}
alive() { local p; p=$(pidof_node "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
q() { mariadb --no-defaults -uroot -h127.0.0.1 -P"$(sql_port "$1")" -N -B -e "$2" 2>/dev/null; }
check_node() { case "${1:-}" in 1|2|3) ;; *) die "name a node: 1, 2 or 3" ;; esac; }

cluster_address() {
  local n list=()
  for n in "${NODES[@]}"; do list+=("127.0.0.1:$(gcomm_port "$n")"); done
  (IFS=,; echo "gcomm://${list[*]}")
}

write_config() {
  local n=$1 d; d=$(dir "$n")
  mkdir -p "$d/data" "$d/tmp"
  # The server runs as mysql: run as root, the joiner's rsync daemon would drop to nobody.
  chown -R mysql:mysql "$d"
  cat >"$d/my.cnf" <<EOF
[mysqld]
user=mysql
datadir=$d/data
tmpdir=$d/tmp
socket=$d/mariadbd.sock
pid-file=$d/mariadbd.pid
log-error=$d/error.log
bind-address=127.0.0.1
port=$(sql_port "$n")
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
innodb_flush_log_at_trx_commit=2
max_connections=300
# Galera's requirements: row-based replication, interleaved auto-increment locks.
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=mogftp-local
wsrep_cluster_address=$(cluster_address)
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$(gcomm_port "$n")
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$((BASE + 30 + n))
wsrep_provider_options="base_port=$(gcomm_port "$n");ist.recv_addr=127.0.0.1:$((BASE + 20 + n));gcache.size=64M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S"
wsrep_slave_threads=2
EOF
}

wait_synced() {
  local n=$1 i state
  for i in $(seq 240); do
    if ! alive "$n"; then tail -n 30 "$(dir "$n")/error.log" >&2 || true; die "node $n exited while starting (log: $(dir "$n")/error.log)"; fi
    state=$(q "$n" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='WSREP_LOCAL_STATE_COMMENT'" || true)
    [ "$state" = Synced ] && return 0
    sleep 0.5
  done
  die "node $n did not reach Synced in 120 s (state: ${state:-none}; log: $(dir "$n")/error.log)"
}

start_node() {
  local n=$1; shift
  alive "$n" && { echo "node $n already running (pid $(pidof_node "$n"))"; return 0; }
  write_config "$n"
  # setsid: the node outlives this script and is not in the caller's process group; -w keeps
  # setsid there as long as the server runs, so its pid says whether the server still starts.
  rm -f "$(dir "$n")/mariadbd.pid"
  setsid -w /usr/sbin/mariadbd --defaults-file="$(dir "$n")/my.cnf" "$@" </dev/null >>"$(dir "$n")/stdout.log" 2>&1 &
  echo $! >"$(dir "$n")/launch.pid"
  for _ in $(seq 40); do alive "$n" && break; sleep 0.25; done
  wait_synced "$n"
  echo "node $n up on 127.0.0.1:$(sql_port "$n")"
}

cmd_start() {
  [ -r "$PROVIDER" ] || die "no Galera provider at $PROVIDER (apt-get install galera-4)"
  command -v rsync >/dev/null || die "rsync is needed for state transfers (apt-get install rsync)"
  id mysql >/dev/null 2>&1 || die "no mysql user (it comes with mariadb-server)"
  mkdir -p "$ROOT" && chmod 755 "$ROOT"
  if [ ! -d "$(dir 1)/data/mysql" ]; then
    write_config 1
    mariadb-install-db --defaults-file="$(dir 1)/my.cnf" --auth-root-authentication-method=normal \
      --skip-test-db >"$(dir 1)/install.log" 2>&1 || { cat "$(dir 1)/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  local others=0 n
  for n in 2 3; do alive "$n" && others=1; done
  # Bootstrap a new primary component only when no other node is up to join.
  if [ "$others" = 0 ]; then
    [ -f "$(dir 1)/data/grastate.dat" ] && sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$(dir 1)/data/grastate.dat"
    start_node 1 --wsrep-new-cluster
  else
    start_node 1
  fi
  start_node 2
  start_node 3
}

cmd_stopnode() {
  local n=$1 p i
  p=$(pidof_node "$n")
  alive "$n" || { echo "node $n not running"; return 0; }
  kill -TERM "$p"
  for i in $(seq 120); do kill -0 "$p" 2>/dev/null || { echo "node $n stopped"; return 0; }; sleep 0.5; done
  kill -KILL "$p" 2>/dev/null || true
  echo "node $n did not stop in 60 s; killed"
}

cmd_stop() { local n; for n in 3 2 1; do cmd_stopnode "$n"; done; }

cmd_kill() {
  local n=$1 p
  alive "$n" || die "node $n is not running"
  p=$(pidof_node "$n")
  kill -KILL "$p"
  while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
  echo "node $n killed (pid $p)"
}

cmd_pause() {
  local n=$1 p
  alive "$n" || die "node $n is not running"
  p=$(pidof_node "$n")
  kill -STOP "$p"
  echo "node $n paused (pid $p)"
}

cmd_resume() {
  local n=$1 p
  p=$(pidof_node "$n")
  [ -n "$p" ] || die "node $n has no pid"
  kill -CONT "$p"
  # An evicted node reconnects to the group by itself and catches up by IST.
  if (wait_synced "$n") 2>/dev/null; then echo "node $n resumed and synced"; return 0; fi
  echo "node $n did not get back to Synced after SIGCONT; restarting it"
  cmd_kill "$n" || true
  start_node "$n"
}

cmd_status() {
  local n
  for n in "${NODES[@]}"; do
    if alive "$n"; then
      q "$n" "SELECT CONCAT('node $n pid $(pidof_node "$n") port $(sql_port "$n"): size ', MAX(IF(VARIABLE_NAME='WSREP_CLUSTER_SIZE', VARIABLE_VALUE, NULL)),
        ', ', MAX(IF(VARIABLE_NAME='WSREP_LOCAL_STATE_COMMENT', VARIABLE_VALUE, NULL)),
        ', ', MAX(IF(VARIABLE_NAME='WSREP_CLUSTER_STATUS', VARIABLE_VALUE, NULL)),
        ', seqno ', MAX(IF(VARIABLE_NAME='WSREP_LAST_COMMITTED', VARIABLE_VALUE, NULL)))
        FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME LIKE 'WSREP_%'" || echo "node $n pid $(pidof_node "$n"): not answering"
    else
      echo "node $n: down"
    fi
  done
}

cmd_url() {
  local db=${1:-mogftp}
  echo "mysql://root@127.0.0.1:$(sql_port 1),127.0.0.1:$(sql_port 2),127.0.0.1:$(sql_port 3)/$db"
}

cmd_clean() {
  local n p
  for n in "${NODES[@]}"; do
    for p in $(cat "$(dir "$n")/mariadbd.pid" "$(dir "$n")/launch.pid" 2>/dev/null); do
      kill -KILL "$p" 2>/dev/null || true
    done
  done
  sleep 0.3
  case "$ROOT" in /|"") die "refusing to remove '$ROOT'" ;; esac
  rm -rf "$ROOT"
  echo "removed $ROOT"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) check_node "${2:-}"; cmd_kill "$2" ;;
  stopnode) check_node "${2:-}"; cmd_stopnode "$2" ;;
  rejoin) check_node "${2:-}"; start_node "$2" ;;
  pause) check_node "${2:-}"; cmd_pause "$2" ;;
  resume) check_node "${2:-}"; cmd_resume "$2" ;;
  status) cmd_status ;;
  url) cmd_url "${2:-}" ;;
  clean) cmd_clean ;;
  *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
