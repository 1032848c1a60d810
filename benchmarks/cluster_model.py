#!/usr/bin/env python3
"""Predict how a long film transcodes on a Slurm cluster, from one measured pvt job.

Takes the JSON report of `pvt transcode IN -o OUT.mp4 --json --progress none` (a saved one with --report,
or one this script makes with --run CLIP), turns its per-segment CPU seconds into CPU seconds per frame of
1080p (scaled by 1920x1080 / the input's size, ffprobe'd from the input), builds a film of that cost
(default 2 h at 24 fps, 1080p, cut into segments of --segment-seconds, each drawing its cost per frame by
resampling the measured segments, seeded), and schedules it longest first (LPT) onto
nodes x (cores / threads_per_worker) worker slots, as pvt's Slurm executor runs it: one array task per
segment. Each task pays a per-task overhead (Slurm array task start), the job pays the submission once,
plus the coordinator's analysis (scaled by frames, pixels and cores), its probe/plan/verify time (fixed)
and the assembly (stream copy, I/O bound, scaled by the frame ratio). The Slurm overheads are measured on a private two-node Slurm
(scripts/slurm-cluster.sh) when one can be started here, else documented defaults are used.

Standard library only; --plot needs matplotlib (Debian's /usr/bin/python3 has it).
"""
import argparse
import heapq
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Used when no Slurm can be measured (or --no-slurm). Orders of magnitude of a small, lightly loaded
# production cluster with a scheduler pass every few seconds; not measured here.
DEFAULT_TASK_OVERHEAD_S = 1.0
DEFAULT_SUBMIT_OVERHEAD_S = 2.0
# pvt worker start-up per segment when each segment is its own process (an array task is):
# benchmarks/worker_startup.py measured 55-65 ms of CPU per segment on 2 cores (2026-12-01).
DEFAULT_WORKER_START_S = 0.06


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --- the measured job ------------------------------------------------------------------------------


def run_pvt(pvt, clip, preset, extra):
    fd, out = tempfile.mkstemp(prefix="cluster_model_", suffix=".mp4")
    os.close(fd)
    try:
        cmd = [pvt, "transcode", clip, "-o", out, "--json", "--progress", "none", "--preset", preset, "-y"] + extra
        log("running: " + " ".join(cmd))
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit(f"cluster_model: pvt failed (exit {p.returncode}): {p.stderr.strip()[-500:]}")
        return json.loads(p.stdout), cmd
    finally:
        if os.path.exists(out):
            os.remove(out)


def probe_size(path):
    ffprobe = shutil.which("ffprobe")
    if not ffprobe or not path or not os.path.exists(path):
        return None
    p = subprocess.run([ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                        "-of", "json", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        s = json.loads(p.stdout)["streams"][0]
        return int(s["width"]), int(s["height"])
    except (ValueError, KeyError, IndexError):
        return None


# --- Slurm overheads --------------------------------------------------------------------------------


TASK_SCRIPT = """#!/bin/sh
# trivial array task for cluster_model.py: stamps its start and end, runs /bin/true
date +%s.%N > "{d}/start.$SLURM_ARRAY_TASK_ID"
/bin/true
date +%s.%N > "{d}/end.$SLURM_ARRAY_TASK_ID"
"""


def measure_slurm(tasks, port_base, timeout_s):
    """Starts scripts/slurm-cluster.sh in a temp dir, times `sbatch --array=0-(tasks-1)` of a /bin/true
    wrapper until every task has left the queue, stops the cluster. Returns a dict, or (None, reason)."""
    script = os.path.join(ROOT, "scripts", "slurm-cluster.sh")
    for b in ("sbatch", "squeue", "sinfo", "slurmctld", "slurmd", "munged"):
        if not shutil.which(b):
            return None, f"{b} not on PATH"
    if os.geteuid() != 0:
        return None, "scripts/slurm-cluster.sh needs root"
    d = tempfile.mkdtemp(prefix="pvtcm", dir="/tmp")  # short: the munge socket path is limited
    env = dict(os.environ, PVT_SLURM_PORT_BASE=str(port_base))
    started = False
    try:
        p = subprocess.run(["bash", script, "start", d], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=120)
        started = True
        conf = next((l.split("=", 1)[1] for l in p.stdout.splitlines() if l.startswith("SLURM_CONF=")), None)
        if p.returncode != 0 or not conf:
            return None, "slurm-cluster.sh start failed: " + (p.stderr.strip().splitlines() or ["?"])[-1]
        env["SLURM_CONF"] = conf
        s = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %c"], env=env, stdout=subprocess.PIPE, text=True)
        node_cpus = {l.split()[0]: int(l.split()[1]) for l in s.stdout.splitlines() if l.strip()}
        slots = sum(node_cpus.values())
        stamps = os.path.join(d, "stamps")
        os.mkdir(stamps)
        job = os.path.join(d, "task.sh")
        with open(job, "w") as f:
            f.write(TASK_SCRIPT.format(d=stamps))
        os.chmod(job, 0o755)
        t0 = time.time()
        sb = subprocess.run(["sbatch", "--parsable", f"--array=0-{tasks - 1}", "--cpus-per-task=1",
                             "-o", "/dev/null", "-e", "/dev/null", "--chdir", d, job],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t_submitted = time.time()
        if sb.returncode != 0:
            return None, "sbatch failed: " + sb.stderr.strip()
        job_id = sb.stdout.strip().split(";")[0]
        deadline = t0 + timeout_s
        t_done = None
        while time.time() < deadline:
            q = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%i"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            if q.returncode == 0 and not q.stdout.strip():
                t_done = time.time()
                break
            time.sleep(0.05)
        if t_done is None:
            return None, f"the {tasks} tasks did not finish within {timeout_s} s"

        def read(kind):
            out = []
            for i in range(tasks):
                try:
                    with open(os.path.join(stamps, f"{kind}.{i}")) as f:
                        out.append(float(f.read().strip()))
                except (OSError, ValueError):
                    pass
            return out

        starts, ends = read("start"), read("end")
        if len(starts) != tasks or len(ends) != tasks:
            return None, f"only {len(ends)} of {tasks} tasks left their stamps"
        first_start = min(starts)
        # Tasks that ran at once: the most start..end intervals overlapping any start.
        intervals = list(zip(starts, ends))
        overlap = max(sum(1 for a, b in intervals if a <= s0 <= b) for s0, _ in intervals)
        # Each of the `slots` slots ran tasks/slots tasks back to back from the first start until the last
        # left the queue: the time one task holds a slot beyond its (nil) work.
        span = t_done - first_start
        per_task = span * min(slots, tasks) / tasks
        return {
            "source": f"measured: private Slurm (scripts/slurm-cluster.sh, {len(node_cpus)} nodes on this host, "
                      f"{slots} CPUs), sbatch --array=0-{tasks - 1} of a /bin/true wrapper",
            "tasks": tasks,
            "nodes": node_cpus,
            "slots": slots,
            "max_concurrent_observed": overlap,
            "sbatch_call_s": t_submitted - t0,
            "submit_to_first_start_s": first_start - t0,
            "first_start_to_all_done_s": span,
            "submit_to_all_done_s": t_done - t0,
            "task_run_s_median": statistics.median(b - a for a, b in intervals),
            "per_task_overhead_s": per_task,
            "task_starts_s": sorted(round(x - t0, 3) for x in starts),  # from the sbatch call
            "submit_overhead_s": first_start - t0,
        }, None
    except subprocess.TimeoutExpired:
        return None, "slurm-cluster.sh start timed out"
    finally:
        if started:
            subprocess.run(["bash", script, "stop", d], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(d, ignore_errors=True)


# --- the model --------------------------------------------------------------------------------------


def lpt_makespan(costs, slots):
    """Longest processing time first onto `slots` identical slots: the time the last one finishes."""
    if slots >= len(costs):
        return max(costs) if costs else 0.0
    heap = [0.0] * slots
    for c in sorted(costs, reverse=True):
        heapq.heapreplace(heap, heap[0] + c)
    return max(heap)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--report", metavar="FILE",
                     help="a saved `pvt transcode --json` report (or this script's --json, which holds one)")
    src.add_argument("--run", metavar="CLIP", help="run pvt transcode on CLIP and use its report")
    ap.add_argument("--pvt", default=os.path.join(ROOT, "build", "cli", "pvt"), help="pvt binary (with --run)")
    ap.add_argument("--preset", default="veryfast", help="x264 preset for --run (default veryfast)")
    ap.add_argument("--pvt-arg", action="append", default=[], help="extra argument for pvt transcode (repeatable)")
    ap.add_argument("--input-size", metavar="WxH", help="the measured input's size (default: ffprobe on it)")
    ap.add_argument("--hours", type=float, default=2.0, help="film length (default 2)")
    ap.add_argument("--fps", type=float, default=24.0, help="film frame rate (default 24)")
    ap.add_argument("--film-size", default="1920x1080", help="film picture size (default 1920x1080)")
    ap.add_argument("--segment-seconds", type=float, default=10.0, help="planner target (default 10, as pvt's)")
    ap.add_argument("--nodes", default="1,4,16,64", help="node counts (default 1,4,16,64)")
    ap.add_argument("--cores", type=int, default=16, help="cores per node (default 16)")
    ap.add_argument("--threads-per-worker", type=int, default=0, help="default: the report's")
    ap.add_argument("--task-overhead", type=float, help="per array task seconds (default: measured, else 1.0)")
    ap.add_argument("--submit-overhead", type=float, help="once per job (default: measured, else 2.0)")
    ap.add_argument("--worker-start", type=float, default=DEFAULT_WORKER_START_S,
                    help="pvt worker start-up per segment (default 0.06 s, benchmarks/worker_startup.py)")
    ap.add_argument("--no-slurm", action="store_true", help="do not start a private Slurm to measure overheads")
    ap.add_argument("--slurm-tasks", type=int, default=20, help="array size for the measurement (default 20)")
    ap.add_argument("--slurm-port-base", type=int, default=17700, help="PVT_SLURM_PORT_BASE (default 17700)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trials", type=int, default=10, help="resampled films; the table shows the median")
    ap.add_argument("--json", metavar="FILE", help="write everything as JSON")
    ap.add_argument("--md", metavar="FILE", help="write the printed table and assumptions as Markdown")
    ap.add_argument("--plot", metavar="FILE.png", help="speed-up vs nodes (needs matplotlib)")
    a = ap.parse_args()

    # --- the measured report
    if a.run:
        if not os.access(a.pvt, os.X_OK):
            sys.exit(f"cluster_model: no pvt binary at {a.pvt} (build it, or pass --pvt)")
        report, cmd = run_pvt(a.pvt, a.run, a.preset, a.pvt_arg)
        report_src = "ran: " + " ".join(cmd)
    else:
        with open(a.report) as f:
            report = json.load(f)
        report_src = f"report file {a.report}"
        if "segments" not in report and isinstance(report.get("report"), dict):  # this script's own --json
            report_src = f"the report inside {a.report} ({report.get('measured', {}).get('source', '?')})"
            report = report["report"]
    segs = [s for s in report.get("segments", []) if s.get("frames") and s.get("cpu_seconds") is not None
            and not s.get("reused")]
    if not segs:
        sys.exit("cluster_model: the report has no encoded segments with frames and cpu_seconds")
    if a.input_size:
        w, h = (int(x) for x in a.input_size.lower().split("x"))
        size_src = "--input-size"
    else:
        wh = probe_size(report.get("input"))
        if wh:
            (w, h), size_src = wh, f"ffprobe {report.get('input')}"
        else:
            v = report.get("verified", {})
            w, h = v.get("displayed_width"), v.get("displayed_height")
            if not w or not h:
                sys.exit("cluster_model: cannot tell the input's size; pass --input-size WxH")
            size_src = "the report's verified output size (input not found for ffprobe)"
    fw, fh = (int(x) for x in a.film_size.lower().split("x"))
    pixel_ratio = (fw * fh) / (w * h)
    cpf = [s["cpu_seconds"] / s["frames"] * pixel_ratio for s in segs]  # CPU s per film frame, per segment
    measured_frames = report.get("frames") or sum(s["frames"] for s in segs)
    tpw = a.threads_per_worker or int(report.get("threads_per_worker") or 1)
    if a.cores < tpw:
        sys.exit(f"cluster_model: --cores {a.cores} is less than threads per worker {tpw}")
    slots_per_node = a.cores // tpw

    # --- the film
    film_frames = int(round(a.hours * 3600 * a.fps))
    seg_frames = max(1, int(round(a.segment_seconds * a.fps)))
    n_segs = math.ceil(film_frames / seg_frames)
    seg_sizes = [seg_frames] * (n_segs - 1) + [film_frames - seg_frames * (n_segs - 1)]
    frame_ratio = film_frames / measured_frames

    # --- fixed terms
    assemble_s = float(report.get("assemble_seconds") or 0.0) * frame_ratio
    analyze_meas = float(report.get("analyze_seconds") or 0.0)
    # Analysis runs on the coordinator's cores: scale by frames, pixels and the cores ratio.
    meas_cores = int(report.get("cores") or 1)
    analyze_s = analyze_meas * frame_ratio * pixel_ratio * meas_cores / a.cores
    other_meas = max(0.0, float(report.get("wall_seconds") or 0.0) - float(report.get("encode_seconds") or 0.0)
                     - float(report.get("assemble_seconds") or 0.0) - analyze_meas)
    # Probe, plan, verify and process start-up on the coordinator. Taken as fixed: it did not grow with the
    # clip here (0.109 s for car-detection.mp4's 377 frames, 0.093 s for big_buck_bunny.mp4's 1440).
    other_s = other_meas

    # --- Slurm overheads
    slurm, why = (None, "--no-slurm") if a.no_slurm else measure_slurm(a.slurm_tasks, a.slurm_port_base, 120)
    if slurm:
        log(f"slurm: per task {slurm['per_task_overhead_s']:.3f} s, submit {slurm['submit_overhead_s']:.3f} s")
    else:
        log(f"slurm: not measured ({why}); using defaults")
    task_oh = a.task_overhead if a.task_overhead is not None else (
        slurm["per_task_overhead_s"] if slurm else DEFAULT_TASK_OVERHEAD_S)
    submit_oh = a.submit_overhead if a.submit_overhead is not None else (
        slurm["submit_overhead_s"] if slurm else DEFAULT_SUBMIT_OVERHEAD_S)
    task_src = "--task-overhead" if a.task_overhead is not None else (
        "measured (private Slurm)" if slurm else f"default {DEFAULT_TASK_OVERHEAD_S} s, not measured ({why})")
    submit_src = "--submit-overhead" if a.submit_overhead is not None else (
        "measured: sbatch to first task start" if slurm else
        f"default {DEFAULT_SUBMIT_OVERHEAD_S} s, not measured ({why})")

    # --- simulate
    nodes_list = [int(x) for x in a.nodes.split(",") if x.strip()]
    rng = random.Random(a.seed)
    trials = []
    for _ in range(max(1, a.trials)):
        costs = [n * rng.choice(cpf) / tpw + task_oh + a.worker_start for n in seg_sizes]
        row = {}
        for k in nodes_list:
            row[k] = submit_oh + analyze_s + other_s + lpt_makespan(costs, k * slots_per_node) + assemble_s
        trials.append({"slot_seconds": sum(costs), "makespan_s": row})
    rows = []
    base_k = nodes_list[0]
    for k in nodes_list:
        ms = statistics.median(t["makespan_s"][k] for t in trials)
        rows.append({"nodes": k, "cores_per_node": a.cores, "slots": k * slots_per_node, "makespan_s": ms,
                     "makespan_min_s": min(t["makespan_s"][k] for t in trials),
                     "makespan_max_s": max(t["makespan_s"][k] for t in trials)})
    t1 = rows[0]["makespan_s"]
    for r in rows:
        r["speedup"] = t1 / r["makespan_s"]
        r["efficiency"] = r["speedup"] / (r["nodes"] / base_k)
    eoc_list = [s["encode_seconds"] / s["cpu_seconds"] for s in segs if s.get("cpu_seconds") and s.get("encode_seconds")]
    eoc = statistics.median(eoc_list) if eoc_list else float("nan")
    encode_cpu_s = sum(n * statistics.mean(cpf) for n in seg_sizes)

    # --- print
    def hms(s):
        s = int(round(s))
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"

    lines = []
    lines.append(f"Predicted transcode of a {a.hours:g} h {a.fps:g} fps {fw}x{fh} film ({film_frames} frames, "
                 f"{n_segs} segments of {seg_frames} frames), LPT onto nodes x {slots_per_node} slots, "
                 f"median of {len(trials)} resampled films (seed {a.seed})")
    lines.append("")
    lines.append(f"| nodes | cores/node | slots | makespan | makespan s (min-max) | speed-up vs {base_k} node"
                 f"{'s' if base_k != 1 else ''} | efficiency |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in rows:
        lines.append(f"| {r['nodes']} | {r['cores_per_node']} | {r['slots']} | {hms(r['makespan_s'])} | "
                     f"{r['makespan_s']:.1f} ({r['makespan_min_s']:.1f}-{r['makespan_max_s']:.1f}) | "
                     f"{r['speedup']:.2f} | {r['efficiency']:.2f} |")
    lines.append("")
    lines.append("Assumptions:")
    A = [
        f"measured job: {report_src}; {len(segs)} segments, {measured_frames} frames of {w}x{h} ({size_src}), "
        f"cores {meas_cores}, threads_per_worker {report.get('threads_per_worker')}, wall "
        f"{float(report.get('wall_seconds') or 0):.2f} s",
        f"CPU per frame scaled to {fw}x{fh} by pixels (x{pixel_ratio:.2f}): "
        f"{min(cpf) * 1000:.1f}-{max(cpf) * 1000:.1f} ms (mean {statistics.mean(cpf) * 1000:.1f} ms); "
        f"x264's cost is taken as linear in pixels; film encode CPU ~{encode_cpu_s / 3600:.1f} core-hours; "
        f"workers' CPU seconds, not their wall (encode/CPU median here {eoc:.2f}: a shared machine)",
        f"a segment on a slot takes frames x cost/frame / {tpw} thread(s) per worker (cost/frame resampled "
        f"from the measured segments), + {a.worker_start:.3f} s pvt worker start-up + the per-task overhead",
        f"per-task overhead (Slurm array task start): {task_oh:.3f} s, {task_src}",
        f"submission overhead, once: {submit_oh:.3f} s, {submit_src}",
        f"assembly: {float(report.get('assemble_seconds') or 0):.3f} s measured x {frame_ratio:.1f} (frame ratio) = "
        f"{assemble_s:.1f} s; stream copy is I/O bound (real figure depends on the shared file system and "
        f"the 1080p bitrate), not parallel",
        f"analysis: {analyze_meas:.3f} s measured x frames x pixels x {meas_cores}/{a.cores} cores = "
        f"{analyze_s:.1f} s on the coordinator",
        f"probe/plan/verify/start-up (wall - encode - assemble - analyze): {other_s:.3f} s measured, kept fixed "
        f"(it did not grow from a 377- to a 1440-frame clip; the film's packet scans will add a little)",
        "segments equal length (the planner snaps cuts to keyframes and balances cost, so real ones vary); "
        "nodes identical, no node failures or queue wait for free nodes",
    ]
    lines += ["- " + x for x in A]
    if slurm:
        lines.append(f"- Slurm measurement: {slurm['source']}: sbatch call {slurm['sbatch_call_s']:.3f} s, "
                     f"submit to first start {slurm['submit_to_first_start_s']:.3f} s, first start to all "
                     f"{slurm['tasks']} gone from squeue {slurm['first_start_to_all_done_s']:.3f} s, at most "
                     f"{slurm['max_concurrent_observed']} at once; per task = span x {slurm['slots']} slots / "
                     f"{slurm['tasks']} tasks (a test cluster with sched_interval=2 on one shared host)")
    text = "\n".join(lines)
    print(text)

    out = {
        "film": {"hours": a.hours, "fps": a.fps, "size": [fw, fh], "frames": film_frames, "segments": n_segs,
                 "segment_frames": seg_frames},
        "cluster": {"cores_per_node": a.cores, "threads_per_worker": tpw, "slots_per_node": slots_per_node},
        "overheads": {"per_task_s": task_oh, "per_task_source": task_src, "submit_s": submit_oh,
                      "submit_source": submit_src, "worker_start_s": a.worker_start, "assemble_s": assemble_s,
                      "analyze_s": analyze_s, "probe_plan_verify_s": other_s, "slurm_measurement": slurm,
                      "slurm_not_measured_because": None if slurm else why},
        "measured": {"source": report_src, "input_size": [w, h], "input_size_source": size_src,
                     "pixel_ratio": pixel_ratio, "frames": measured_frames, "frame_ratio": frame_ratio,
                     "cpu_s_per_film_frame": cpf,
                     "encode_over_cpu_seconds": eoc_list},
        "seed": a.seed, "trials": len(trials), "rows": rows, "assumptions": A,
        "report": report,
    }
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    if a.md:
        with open(a.md, "w") as f:
            f.write("# Cluster model (benchmarks/cluster_model.py)\n\n" + text + "\n")
    if a.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            log(f"plot skipped: matplotlib is not importable by {sys.executable} "
                "(Debian's /usr/bin/python3 has it: /usr/bin/python3 benchmarks/cluster_model.py ...)")
        else:
            ks = [r["nodes"] for r in rows]
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.plot(ks, [r["speedup"] for r in rows], "o-", label="predicted")
            ax.plot(ks, [k / base_k for k in ks], "--", color="grey", label="linear")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log", base=2)
            ax.set_xlabel(f"nodes ({a.cores} cores each)")
            ax.set_ylabel(f"speed-up vs {base_k} node(s)")
            ax.set_title(f"{a.hours:g} h {fh}p film, {n_segs} segments")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
            fig.tight_layout()
            fig.savefig(a.plot, dpi=120)
            log(f"plot written: {a.plot}")


if __name__ == "__main__":
    main()
