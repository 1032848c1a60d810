#!/usr/bin/env bash
# `pvt transcode --executor slurm` against a real Slurm (scripts/slurm-cluster.sh: two slurmd nodes on
# this host, its own munge, ports from 17000). Checks:
#   1. the output is frame for frame the local pool's (framemd5, same --threads-per-worker), and the array's
#      indices go longest estimated cost first;
#   2. a task that crashes (PVT_FAULT) is resubmitted, only its index, and the job completes; one that
#      crashes every time fails the job naming the segment; a hardware task whose session fails falls
#      back to the CPU;
#   3. SIGINT scancels the array: no task left in squeue, the job state kept;
#   4. the coordinator SIGKILLed leaves the array running; the same command again adopts it (the same
#      Slurm job, no task run twice), both while tasks run and after they all finished;
#   5. bad input, one line each and exit 2 before anything is submitted: no sbatch on PATH, a
#      controller that does not answer, a partition that does not exist, a job folder on tmpfs;
#   6. pvt-mcp --executor slurm: get_transcode_status names the Slurm job and its task states;
#   7. more segments than MaxArraySize (a second cluster with MaxArraySize=3) go in several arrays;
#   8. a ladder (HLS + DASH) is the local pool's, rung for rung and frame for frame.
# Prints "SKIP: <reason>" and passes without Slurm/munge or root. About a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
pvt=$root/build/cli/pvt

for bin in slurmctld slurmd sbatch squeue scancel sinfo munged ffmpeg; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    echo "SKIP: $bin not installed (scripts/install-deps.sh installs slurm-wlm and munge)"
    exit 0
  fi
done
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (the test cluster runs with SlurmUser=root)"; exit 0; }
[ -x "$pvt" ] || { echo "executor_test: FAIL: $pvt not built" >&2; exit 1; }

export PVT_SLURM_PORT_BASE=${PVT_SLURM_PORT_BASE:-17000}
dir=$(mktemp -d /var/tmp/pvt-slurm-exec.XXXXXX) # not /tmp: it may be tmpfs, which two nodes refuse
started=0
small_started=0
cleanup() {
  local rc=$?
  [ "$started" = 1 ] && { bash scripts/slurm-cluster.sh stop "$dir/cluster" || rc=1; }
  [ "$small_started" = 1 ] && { bash scripts/slurm-cluster.sh stop "$dir/small" || rc=1; }
  if [ $rc -eq 0 ]; then rm -rf "$dir"; else echo "executor_test: FAILED; files kept in $dir" >&2; fi
  exit $rc
}
trap cleanup EXIT
fail() {
  echo "executor_test: FAIL: $*" >&2
  exit 1
}
say() { echo "executor_test: $*"; }

conf=$(bash scripts/slurm-cluster.sh start "$dir/cluster" | grep '^SLURM_CONF=' | tail -n 1)
started=1
export "${conf?}"
out=$dir/out
mkdir -p "$out"

# The test clip: four 2 s scenes, one keyframe (workers seek, decode and drop), 200 frames.
clip=$dir/scenes.mp4
ffmpeg -v error -y -f lavfi -i testsrc2=s=320x240:r=25:d=2 -f lavfi -i smptebars=s=320x240:r=25:d=2 \
  -f lavfi -i testsrc=s=320x240:r=25:d=2 -f lavfi -i "life=s=320x240:r=25:mold=10:ratio=0.5" \
  -filter_complex "[3:v]trim=end_frame=50,setpts=PTS-STARTPTS[l];[0:v][1:v][2:v][l]concat=n=4:v=1,format=yuv420p[v]" \
  -map "[v]" -c:v libx264 -preset ultrafast -g 1000 -x264-params scenecut=0 "$clip"

common=(--preset ultrafast --segment-duration 2 --threads-per-worker 1 --progress none)
frames_md5() { ffmpeg -v error -i "$1" -f framemd5 - | grep -v '^#' | md5sum | cut -d' ' -f1; }
json_get() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }
queued() { squeue -h -o %i 2>/dev/null | wc -l; }

# 1. Same output as the local pool.
"$pvt" transcode "$clip" -o "$out/local.mp4" "${common[@]}" >/dev/null
"$pvt" transcode "$clip" -o "$out/slurm.mp4" --executor slurm "${common[@]}" --json --keep-work >"$dir/slurm.json"
# Array indices go longest estimated cost first (Slurm starts the lowest indices first).
python3 - "$out/.slurm.mp4.pvt-job" <<'PY' || fail "array indices are not in cost order"
import json, sys
d = sys.argv[1]
plan = json.load(open(d + "/job.json"))["plan"]
order = [e["segment"] for e in json.load(open(d + "/array/tasks.json"))]
want = [s["index"] for s in sorted(plan, key=lambda s: -s["cost"])]
sys.exit(0 if order == want else f"tasks {order}, costs say {want}")
PY
[ "$(json_get "$out/.slurm.mp4.pvt-job/job.json" "d['slurm_job_ids']")" = "['$(json_get "$dir/slurm.json" "d['slurm_job_id']")']" ] ||
  fail "job.json does not name the Slurm job"
[ "$(json_get "$dir/slurm.json" "d['executor']")" = slurm ] || fail "the summary does not say executor slurm"
[ "$(json_get "$dir/slurm.json" "d['slurm_job_id'] is not None")" = True ] || fail "no slurm_job_id"
[ "$(frames_md5 "$out/local.mp4")" = "$(frames_md5 "$out/slurm.mp4")" ] || fail "Slurm output differs from local"
# How many segments the plan has (the planner may even out the last wave with an extra cut per worker), and
# PVT_FAULT items or attempt lists for each of them.
nseg=$(json_get "$dir/slurm.json" "len(d['segments'])")
each() { python3 -c "import sys; print(','.join(sys.argv[1] + ':' + str(i) for i in range(int(sys.argv[2]))))" "$1" "$nseg"; }
attempts_but() { python3 -c "import sys; print([2 if i == int(sys.argv[1]) else 1 for i in range(int(sys.argv[2]))])" "$1" "$nseg"; }
say "1. output equals the local pool's ($nseg segments)"

# 8. A ladder (HLS + DASH over CMAF segments) on the cluster: every rung and the audio rendition as the
# local pool writes them, frame for frame, and both manifests published.
ladder=$dir/ladder.mp4
ffmpeg -v error -y -i "$clip" -f lavfi -i sine=f=440:r=48000:d=8 -map 0:v -map 1:a -c:v copy -c:a aac -shortest "$ladder"
ladder_args=(--ladder 240,144 --format hls+dash "${common[@]}")
"$pvt" transcode "$ladder" -o "$out/ladder-local" "${ladder_args[@]}" >/dev/null
"$pvt" transcode "$ladder" -o "$out/ladder-slurm" --executor slurm "${ladder_args[@]}" --json >"$dir/ladder.json" ||
  fail "a ladder on Slurm"
[ "$(json_get "$dir/ladder.json" "d['executor']")" = slurm ] || fail "the ladder did not run on Slurm"
for f in master.m3u8 manifest.mpd index_audio0.m3u8; do
  [ -s "$out/ladder-slurm/$f" ] || fail "the Slurm ladder has no $f"
done
rungs=0
for playlist in "$out"/ladder-local/index_*.m3u8; do
  name=$(basename "$playlist")
  [ -s "$out/ladder-slurm/$name" ] || fail "the Slurm ladder has no $name"
  [ "$(frames_md5 "$playlist")" = "$(frames_md5 "$out/ladder-slurm/$name")" ] || fail "$name differs from the local pool's"
  rungs=$((rungs + 1))
done
[ "$rungs" -ge 3 ] || fail "the local ladder has $rungs playlists, not 2 rungs and an audio rendition"
# ffprobe lists the stream once per DASH period and program: every count must be 200.
frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 \
  "$out/ladder-slurm/manifest.mpd" | grep . | sort -u | tr '\n' ' ')
[ "$frames" = "200 " ] || fail "the Slurm ladder's MPD reads $frames frames, not 200"
say "8. a ladder on Slurm: $rungs playlists equal the local pool's frame for frame; master.m3u8 and manifest.mpd"

# 2. A crash is resubmitted; a crash every time fails the job naming the segment.
PVT_FAULT=crash:1:1 "$pvt" transcode "$clip" -o "$out/crash.mp4" --executor slurm "${common[@]}" --json \
  >"$dir/crash.json" || fail "a crash once should be retried"
[ "$(json_get "$dir/crash.json" "[s['attempts'] for s in d['segments']]")" = "$(attempts_but 1)" ] ||
  fail "attempts: $(json_get "$dir/crash.json" "[s['attempts'] for s in d['segments']]")"
[ "$(frames_md5 "$out/crash.mp4")" = "$(frames_md5 "$out/local.mp4")" ] || fail "retried output differs"
set +e
err=$(PVT_FAULT=crash:2 "$pvt" transcode "$clip" -o "$out/always.mp4" --executor slurm "${common[@]}" 2>&1)
rc=$?
set -e
[ $rc -eq 5 ] || fail "a segment crashing every time: exit $rc, not 5 ($err)"
grep -q "segment 2 failed after 2 attempts: worker crashed (Segmentation fault)" <<<"$err" || fail "message: $err"
[ "$(queued)" -eq 0 ] || fail "tasks left in the queue after a failed job"
say "2. a crashed task is resubmitted; a task crashing every time fails the job ($err)"

# 2b. A hardware task whose session fails falls back to the CPU, uncounted (the pretend backend stands in
# for a GPU encoder; its tasks see PVT_PRETEND_HW_SESSIONS through sbatch's exported environment).
PVT_PRETEND_HW_SESSIONS=1 PVT_FAULT=hw-open:2 "$pvt" transcode "$clip" -o "$out/hw.mp4" --executor slurm \
  --encoder pretend "${common[@]}" --json >"$dir/hw.json" || fail "hardware fallback on Slurm"
[ "$(json_get "$dir/hw.json" "[(s['backend'], s['fallback_from']) for s in d['segments']][2]")" = "('x264', 'pretend')" ] ||
  fail "segment 2 did not fall back: $(json_get "$dir/hw.json" "[(s['backend'], s['fallback_from']) for s in d['segments']]")"
[ "$(json_get "$dir/hw.json" "sorted(set(s['backend'] for s in d['segments']))")" = "['pretend', 'x264']" ] ||
  fail "the other segments did not run on the hardware backend"
set +e
err=$("$pvt" transcode "$clip" -o "$out/auto.mp4" --executor slurm --encoder auto -y 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] && grep -q "name the encoder" <<<"$err" || fail "--encoder auto on Slurm: exit $rc: $err"
say "2b. a hardware task whose session fails falls back to the CPU; --encoder auto is refused ($err)"

# 3. SIGINT cancels the array.
PVT_FAULT=$(each hang) "$pvt" transcode "$clip" -o "$out/int.mp4" --executor slurm "${common[@]}" &
coordinator=$!
for _ in $(seq 50); do [ "$(squeue -h -t RUNNING -o %i | wc -l)" -ge 2 ] && break; sleep 0.2; done
[ "$(squeue -h -t RUNNING -o %i | wc -l)" -ge 2 ] || fail "the array's tasks never ran"
kill -INT $coordinator
set +e
wait $coordinator
rc=$?
set -e
[ $rc -eq 130 ] || fail "interrupted coordinator exit $rc, not 130"
[ "$(queued)" -eq 0 ] || fail "tasks left in squeue after SIGINT: $(squeue -h)"
[ -f "$out/.int.mp4.pvt-job/job.json" ] || fail "the job state was not kept for a resume"
[ ! -e "$out/int.mp4" ] || fail "an interrupted job left an output"
say "3. SIGINT scancels the array (nothing left in squeue), the job state is kept"

# 4. SIGKILL leaves the array running; the same command adopts it, running and then finished.
for wait_for_tasks in no yes; do
  rm -rf "$out/.kill.mp4.pvt-job" "$out/kill.mp4"  # --keep-work below leaves it
  PVT_FAULT=$(each slow) "$pvt" transcode "$clip" -o "$out/kill.mp4" --executor slurm \
    "${common[@]}" &
  coordinator=$!
  for _ in $(seq 50); do [ -f "$out/.kill.mp4.pvt-job/array/slurm.json" ] && break; sleep 0.1; done
  kill -KILL $coordinator
  wait $coordinator 2>/dev/null || true
  [ "$(queued)" -gt 0 ] || fail "the array did not outlive its coordinator"
  first=$(python3 -c "import json; print(json.load(open('$out/.kill.mp4.pvt-job/array/slurm.json'))['job_ids'][0])")
  if [ $wait_for_tasks = yes ]; then
    for _ in $(seq 100); do [ "$(queued)" -eq 0 ] && break; sleep 0.2; done
  fi
  PVT_FAULT=$(each slow) "$pvt" transcode "$clip" -o "$out/kill.mp4" --executor slurm \
    "${common[@]}" --json --keep-work >"$dir/kill.json"
  [ "$(json_get "$dir/kill.json" "d['resumed']")" = True ] || fail "the rerun did not resume"
  # Nothing submitted again: the first array is the only one, and no task ran twice.
  [ "$(json_get "$out/.kill.mp4.pvt-job/array/slurm.json" "d['job_ids']")" = "['$first']" ] ||
    fail "the rerun submitted again: $(cat "$out/.kill.mp4.pvt-job/array/slurm.json")"
  [ "$(json_get "$dir/kill.json" "[s['attempts'] for s in d['segments']]")" = "$(attempts_but -1)" ] ||
    fail "a task ran twice: $(json_get "$dir/kill.json" "[s['attempts'] for s in d['segments']]")"
  if [ $wait_for_tasks = no ]; then
    [ "$(json_get "$dir/kill.json" "d['slurm_job_id']")" = "$first" ] || fail "the rerun did not watch job $first"
  else
    # All finished while no coordinator ran: the resume takes them as finished segments.
    [ "$(json_get "$dir/kill.json" "d['segments_reused']")" = "$nseg" ] || fail "finished tasks were not adopted"
  fi
  [ "$(frames_md5 "$out/kill.mp4")" = "$(frames_md5 "$out/local.mp4")" ] || fail "adopted output differs"
  say "4. after SIGKILL the rerun adopts job $first (tasks finished first: $wait_for_tasks)"
done

# 6. The MCP server with --executor slurm: the status names the Slurm job and its tasks while it runs.
mcp_server=$root/build/mcp/pvt-mcp
if [ -x "$mcp_server" ]; then
  mkdir -p "$out/mcp"
  PVT_FAULT=$(each slow) python3 tests/slurm/mcp_slurm_client.py "$mcp_server" "$out/mcp" "$clip" ||
    fail "pvt-mcp with --executor slurm"
  frames=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 \
    "$out/mcp/mcp.mp4")
  [ "$frames" = 200 ] || fail "the MCP job's output has $frames frames, not 200"
  say "6. pvt-mcp --executor slurm: the status showed the array and its tasks; 200 frames out"
else
  say "6. SKIP pvt-mcp: $mcp_server not built"
fi

# 5. Bad input: one line, exit 2, nothing submitted.
expect_refusal() {
  local what=$1 pattern=$2
  shift 2
  local before err rc
  before=$(squeue -h -o %i | wc -l)
  set +e
  err=$("$@" 2>&1)
  rc=$?
  set -e
  [ $rc -eq 2 ] || fail "$what: exit $rc, not 2 ($err)"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "$what: more than one line: $err"
  grep -q "$pattern" <<<"$err" || fail "$what: $err"
  [ "$(squeue -h -o %i | wc -l)" -eq "$before" ] || fail "$what: something was submitted"
  say "5. $what: $err"
}
expect_refusal "no sbatch" "sbatch not found on PATH" \
  env PATH=/nonexistent "$pvt" transcode "$clip" -o "$out/b.mp4" --executor slurm -y
expect_refusal "no partition" "no partition 'nope' (it has: debug)" \
  "$pvt" transcode "$clip" -o "$out/b.mp4" --executor slurm --slurm-partition nope -y
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
  expect_refusal "job folder on tmpfs" "is on tmpfs" \
    "$pvt" transcode "$clip" -o /dev/shm/pvt-exec-test-$$.mp4 --executor slurm -y
else
  say "5. SKIP job folder on tmpfs: /dev/shm is not a writable tmpfs here"
fi
sed "s/^SlurmctldPort=.*/SlurmctldPort=$((PVT_SLURM_PORT_BASE + 99))/" "$dir/cluster/slurm.conf" >"$dir/dead.conf"
expect_refusal "controller down" "cannot reach the Slurm controller" \
  env SLURM_CONF="$dir/dead.conf" "$pvt" transcode "$clip" -o "$out/b.mp4" --executor slurm -y
[ ! -e "$out/b.mp4" ] || fail "a refused job left an output"

# 7. More segments than the cluster's MaxArraySize: several arrays, each task offset into the job.
bash scripts/slurm-cluster.sh stop "$dir/cluster"
started=0
conf=$(PVT_SLURM_PORT_BASE=$((PVT_SLURM_PORT_BASE + 100)) PVT_SLURM_MAX_ARRAY_SIZE=3 \
  bash scripts/slurm-cluster.sh start "$dir/small" | grep '^SLURM_CONF=' | tail -n 1)
small_started=1
export "${conf?}"
"$pvt" transcode "$clip" -o "$out/many.mp4" --executor slurm "${common[@]}" --json --keep-work >"$dir/many.json" ||
  fail "a job past MaxArraySize"
arrays=$(json_get "$out/.many.mp4.pvt-job/job.json" "len(d['slurm_job_ids'])")
[ "$arrays" -ge 2 ] || fail "$nseg segments with MaxArraySize 3 went in $arrays array(s)"
[ "$(frames_md5 "$out/many.mp4")" = "$(frames_md5 "$out/local.mp4")" ] || fail "the several-array output differs"
say "7. $nseg segments past MaxArraySize 3: $arrays arrays, output equals the local pool's"
say "PASS"
