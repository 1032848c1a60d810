#!/usr/bin/env bash
# A private, throw-away Slurm cluster on this one host, for tests (Debian 12: slurm-wlm 22.05 + munge).
#
#   scripts/slurm-cluster.sh start DIR   # prints SLURM_CONF=DIR/slurm.conf on stdout once the nodes are idle
#   scripts/slurm-cluster.sh stop DIR    # stops exactly the daemons that `start DIR` started
#
# Everything lives under DIR (munge key/socket/log, slurm.conf, state, spool, pid files, logs); nothing
# under /etc or /run is touched and no system service is used. Callers talk to it with
# SLURM_CONF=DIR/slurm.conf in their environment (the munge socket is found through AuthInfo in that file;
# plain `munge`/`unmunge` need --socket DIR/munge.socket).
#
# Environment:
#   PVT_SLURM_PORT_BASE  ports used: BASE+17 slurmctld, BASE+18 and BASE+19 the two slurmd (default 16800)
#   PVT_SLURM_NODES      1 or 2 slurmd on this host (default 2; Debian's build allows several per host)
#   PVT_SLURM_TIMEOUT    seconds to wait for the nodes to become idle (default 30)
#
# Must run as root (SlurmUser=root, SlurmdUser=root). Every pid started is appended to DIR/pids; `stop`
# first cancels the jobs still queued on this cluster (scancel through DIR/slurm.conf, so that no
# slurmstepd outlives it), then sends those pids TERM, waits up to 10 s, then KILLs what is left.
# Nothing is killed by name.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
dir=$2

log() { echo "slurm-cluster: $*" >&2; }

pid_alive() { kill -0 "$1" 2>/dev/null; }

# Is pid $1 still the process we started (and not a recycled pid)? Compares its start time with the one
# recorded in DIR/pids.
pid_is_ours() {
  local pid=$1 start=$2 now
  now=$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$now" = "$start" ]
}

stop_cluster() {
  local d=$1
  [ -f "$d/pids" ] || return 0
  local -a pids=()
  local pid start name
  while read -r pid start name; do
    [ -n "$pid" ] || continue
    if pid_is_ours "$pid" "$start"; then
      pids+=("$pid")
    fi
  done <"$d/pids"
  # slurmd first (so that the controller does not see them vanish mid-job), then slurmctld, then munged:
  # the file lists munged, slurmctld, slurmd..., so reverse it.
  # Jobs still running would outlive slurmd (slurmstepd is detached from it): cancel them through this
  # cluster's own controller first and give them a few seconds to go.
  if [ ${#pids[@]} -gt 0 ] && [ -f "$d/slurm.conf" ] && command -v squeue >/dev/null 2>&1; then
    local jobs deadline0=$((SECONDS + 10))
    jobs=$(SLURM_CONF="$d/slurm.conf" timeout 5 squeue -h -o %A 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086 # one job id per word
      SLURM_CONF="$d/slurm.conf" timeout 5 scancel $jobs 2>/dev/null || true
      while [ -n "$(SLURM_CONF="$d/slurm.conf" timeout 5 squeue -h -o %A 2>/dev/null || true)" ] &&
        [ $SECONDS -lt $deadline0 ]; do
        sleep 0.5
      done
    fi
  fi
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
  done
  local deadline=$((SECONDS + 10)) left
  while :; do
    left=()
    for pid in "${pids[@]}"; do
      pid_alive "$pid" && left+=("$pid")
    done
    [ ${#left[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      log "killing (KILL) ${left[*]}"
      kill -KILL "${left[@]}" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  # Reap if they are our children (only when stop is called from the start process on failure).
  wait 2>/dev/null || true
  : >"$d/pids"
}

# Starts "$@" in the background, detached from our stdio (so `$(slurm-cluster.sh start DIR)` returns), and
# records its pid with its start time and a label.
spawn() {
  local label=$1
  shift
  setsid "$@" </dev/null >>"$dir/$label.out" 2>&1 &
  local pid=$!
  local start=""
  local t
  for t in 1 2 3 4 5 6 7 8 9 10; do
    start=$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null) && break
    sleep 0.05
  done
  echo "$pid ${start:-0} $label" >>"$dir/pids"
}

show_logs() {
  local f
  for f in "$dir"/*.log "$dir"/*.out; do
    [ -s "$f" ] || continue
    echo "----- $f (tail) -----" >&2
    tail -n 25 "$f" >&2
  done
}

fail() {
  log "$*"
  show_logs
  stop_cluster "$dir"
  exit 1
}

start_cluster() {
  if [ "$(id -u)" -ne 0 ]; then
    log "must run as root"
    exit 1
  fi
  local bin
  for bin in munged mungekey slurmctld slurmd sinfo scontrol; do
    command -v "$bin" >/dev/null 2>&1 || { log "$bin not found (scripts/install-deps.sh installs slurm-wlm and munge)"; exit 1; }
  done

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  chmod 0700 "$dir" # munged refuses key/socket directories that others can write
  if [ -s "$dir/pids" ]; then
    log "$dir/pids is not empty: a cluster may already run there (stop it first)"
    exit 1
  fi
  : >"$dir/pids"

  local socket="$dir/munge.socket"
  # A unix socket path is limited to 107 bytes.
  [ ${#socket} -lt 100 ] || { log "DIR path too long for a unix socket: $dir"; exit 1; }

  local base=${PVT_SLURM_PORT_BASE:-16800}
  local nodes=${PVT_SLURM_NODES:-2}
  local timeout=${PVT_SLURM_TIMEOUT:-30}
  local ctld_port=$((base + 17))
  local host
  host=$(hostname -s)
  local cpus
  cpus=$(nproc)

  # --- munge ---------------------------------------------------------------------------------------
  rm -f "$dir/munge.key"
  mungekey --create --keyfile="$dir/munge.key" --force 2>/dev/null ||
    dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$dir/munge.key"
  # -F: stay in the foreground so that $! is the daemon; --force: running as root, and a socket left over.
  spawn munged munged -F --force \
    --key-file="$dir/munge.key" --socket="$socket" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"
  local t
  for ((t = 0; t < 50; t++)); do
    [ -S "$socket" ] && break
    sleep 0.1
  done
  [ -S "$socket" ] || fail "munged did not create $socket"
  munge --socket="$socket" -n | unmunge --socket="$socket" >/dev/null 2>&1 || fail "munge/unmunge round trip failed"

  # --- slurm.conf ----------------------------------------------------------------------------------
  mkdir -p "$dir/state" "$dir/spool"
  local node_lines="" node_list="" i name
  for ((i = 1; i <= nodes; i++)); do
    name="n$i"
    mkdir -p "$dir/spool/$name"
    node_lines+="NodeName=$name NodeHostname=$host NodeAddr=127.0.0.1 Port=$((base + 17 + i)) CPUs=$cpus RealMemory=1000 State=UNKNOWN"$'\n'
    node_list+="${node_list:+,}$name"
  done
  cat >"$dir/slurm.conf" <<EOF
# Generated by scripts/slurm-cluster.sh: a private test cluster under $dir.
ClusterName=pvt-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((base + 18))
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.%n.log
SlurmctldDebug=info
SlurmdDebug=info
# cgroups do not work in containers.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
# Debian's default (/usr/bin/mail) is not installed; slurmctld logs an error without it.
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Use the CPUs/RealMemory written here, not what each slurmd detects.
SlurmdParameters=config_overrides
ReturnToService=2
# Quick turnaround for tests.
SchedulerParameters=sched_interval=2
MessageTimeout=10
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=60
MaxArraySize=${PVT_SLURM_MAX_ARRAY_SIZE:-1001}
$node_lines
PartitionName=debug Nodes=$node_list Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

  # --- daemons -------------------------------------------------------------------------------------
  export SLURM_CONF="$dir/slurm.conf"
  # -D: foreground (so $! is the daemon); -i: ignore state files left in StateSaveLocation.
  spawn slurmctld slurmctld -D -i -f "$dir/slurm.conf"
  for ((i = 1; i <= nodes; i++)); do
    spawn "slurmd.n$i" slurmd -D -N "n$i" -f "$dir/slurm.conf"
  done

  # --- wait until every node is idle ---------------------------------------------------------------
  local deadline=$((SECONDS + timeout)) states="" pid start label
  while :; do
    while read -r pid start label; do
      pid_alive "$pid" || fail "$label (pid $pid) exited"
    done <"$dir/pids"
    states=$(sinfo -h -N -o '%N %T' 2>/dev/null | sort -u || true)
    if [ -n "$states" ] && [ "$(grep -c ' idle$' <<<"$states")" -eq "$nodes" ]; then
      break
    fi
    [ $SECONDS -lt $deadline ] || fail "nodes not idle after ${timeout}s: ${states:-<no sinfo answer>}"
    sleep 0.5
  done
  echo "SLURM_CONF=$dir/slurm.conf"
}

case "$cmd" in
  start) start_cluster ;;
  stop)
    [ -d "$dir" ] || { log "no such directory: $dir"; exit 1; }
    stop_cluster "$dir"
    ;;
  *) usage ;;
esac
