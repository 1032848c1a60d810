#!/usr/bin/env bash
# Smoke test of scripts/slurm-cluster.sh: starts a private Slurm cluster in a temp folder, runs a job array
# of 4 tasks (at most 2 at a time) that each write their SLURM_ARRAY_TASK_ID into a file, checks the 4
# files, cancels a long-sleeping array with scancel (no task may be left in squeue), then stops the
# cluster and checks that none of the daemons it started is left. Prints "SKIP: <reason>" and passes when
# Slurm/munge are not installed or not run as root. About 15 s.
#
#   tests/slurm/smoke_test.sh
#
# PVT_SLURM_PORT_BASE: port base for the cluster (default here 16900, away from the script's 16800).
set -euo pipefail
cd "$(dirname "$0")/../.."

for bin in slurmctld slurmd sbatch squeue scancel sinfo munged; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "SKIP: $bin not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
    exit 0
  fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (the test cluster runs with SlurmUser=root)"
  exit 0
fi

export PVT_SLURM_PORT_BASE=${PVT_SLURM_PORT_BASE:-16900}
dir=$(mktemp -d /tmp/pvt-slurm-smoke.XXXXXX)
started=0
cleanup() {
  local rc=$?
  if [ "$started" = 1 ]; then
    bash scripts/slurm-cluster.sh stop "$dir" || rc=1
  fi
  if [ $rc -eq 0 ]; then
    rm -rf "$dir"
  else
    echo "smoke_test: FAILED; cluster files kept in $dir" >&2
  fi
  exit $rc
}
trap cleanup EXIT

fail() {
  echo "smoke_test: FAIL: $*" >&2
  for f in "$dir"/slurmctld.log "$dir"/slurmd.*.log; do
    [ -s "$f" ] && { echo "----- $f (tail) -----" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}

# Active tasks of job $1 (empty once every task has finished; squeue errors once the job is purged).
active() { squeue -h -j "$1" -o '%i %T' 2>/dev/null || true; }

# Waits up to $2 seconds until job $1 has no active task.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while [ -n "$(active "$1")" ]; do
    [ $SECONDS -lt $deadline ] || fail "job $1 still active after $2 s: $(active "$1" | tr '\n' ' ')"
    sleep 0.5
  done
}

t0=$SECONDS
started=1
conf=$(bash scripts/slurm-cluster.sh start "$dir") || fail "cluster did not start"
export "${conf?}" # SLURM_CONF=...
[ "$SLURM_CONF" = "$dir/slurm.conf" ] || fail "unexpected start output: $conf"
echo "smoke_test: cluster up in $((SECONDS - t0)) s: $(sinfo -h -N -o '%N=%T' | tr '\n' ' ')"

# --- job array of 4 tasks, 2 at a time ---
cat >"$dir/task.sh" <<EOF
#!/bin/bash
echo "\$SLURM_ARRAY_TASK_ID" >"$dir/task.\$SLURM_ARRAY_TASK_ID"
EOF
chmod +x "$dir/task.sh"
job=$(sbatch --parsable --array=0-3%2 -o "$dir/out.%A_%a" "$dir/task.sh") || fail "sbatch failed"
job=${job%%;*} # --parsable prints "id[;cluster]"
wait_gone "$job" 30
for i in 0 1 2 3; do
  [ -f "$dir/task.$i" ] || fail "array task $i wrote no file"
  [ "$(cat "$dir/task.$i")" = "$i" ] || fail "task.$i holds '$(cat "$dir/task.$i")'"
done
echo "smoke_test: array $job: 4 tasks done"

# --- scancel on a long-sleeping array ---
printf '#!/bin/bash\nsleep 300\n' >"$dir/sleep.sh"
job=$(sbatch --parsable --array=0-3 -o /dev/null "$dir/sleep.sh") || fail "sbatch failed"
job=${job%%;*}
deadline=$((SECONDS + 15))
until active "$job" | grep -q RUNNING; do
  [ $SECONDS -lt $deadline ] || fail "sleeping array $job never ran"
  sleep 0.5
done
scancel "$job" || fail "scancel $job failed"
wait_gone "$job" 15
echo "smoke_test: array $job cancelled"

# --- stop: none of the started daemons may remain ---
mapfile -t pids < <(awk '{print $1}' "$dir/pids")
bash scripts/slurm-cluster.sh stop "$dir" || fail "stop failed"
started=0
for pid in "${pids[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then
    fail "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline")) still running after stop"
  fi
done
if pgrep -f -- "$dir/" >/dev/null; then
  fail "processes using $dir remain: $(pgrep -af -- "$dir/")"
fi
echo "smoke_test: PASS in $((SECONDS - t0)) s"
