#!/usr/bin/env python3
"""Start-up paid once per worker, not per segment: a long low-resolution clip at ultrafast cut into many
short segments, so per-segment start-up (process spawn, libraries, input open, demuxer index, decoder and
encoder set-up) is a large part of the work. Three ways, alternating in each round:

  ffmpeg       plain `ffmpeg -c:v libx264` (same preset and CRF) to one MP4, the baseline
  ffmpeg-hls   what a user would run for the same HLS: `-f hls -hls_time S` with a keyframe forced every S
  pvt          the default: playlist segments grouped into a few work segments per worker (an IDR forced
               at each playlist boundary), on long-lived workers
  pvt-task-per-segment  --task-per-playlist-segment: a worker task per playlist segment, on long-lived
               workers (`pvt worker --serve`, one per slot, reusing the open input)
  pvt-spawn    that and PVT_WORKER_PER_SEGMENT=1: a fresh worker process per playlist segment

Reports median wall and CPU time (user + system of the child processes) and their ratios to ffmpeg.
Run on an otherwise idle machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from child_timing import run_timed

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_clip(path, seconds, size, gop):
    if os.path.exists(path):
        return
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-g", str(gop), path + ".part.mp4"], check=True)
    os.replace(path + ".part.mp4", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pvt", default=os.path.join(ROOT, "build", "cli", "pvt"))
    ap.add_argument("--seconds", type=int, default=600, help="clip length (default 600: 15000 frames)")
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--segment", type=float, default=2.0, help="HLS segment length (default 2 s: 300 segments)")
    ap.add_argument("--gop", type=int, default=50,
                    help="source keyframe interval in frames (default 50: a keyframe at every 2 s cut, so no frame "
                         "is decoded only to be dropped and what remains is start-up)")
    ap.add_argument("--preset", default="ultrafast")
    ap.add_argument("--crf", type=int, default=23)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache-dir", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--json-out", default="")
    a = ap.parse_args()
    os.makedirs(a.cache_dir, exist_ok=True)
    clip = os.path.join(a.cache_dir, f"startup_{a.size}_{a.seconds}s_g{a.gop}.mp4")
    make_clip(clip, a.seconds, a.size, a.gop)
    rows = {"ffmpeg": [], "ffmpeg-hls": [], "pvt": [], "pvt-task-per-segment": [], "pvt-spawn": []}
    segments = 0
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            for name in rows:
                out = os.path.join(tmp, f"{name}-{rnd}")
                if name == "ffmpeg":
                    argv = ["ffmpeg", "-v", "error", "-y", "-i", clip, "-c:v", "libx264", "-preset", a.preset, "-crf",
                            str(a.crf), out + ".mp4"]
                    env = None
                elif name == "ffmpeg-hls":
                    os.makedirs(out, exist_ok=True)
                    argv = ["ffmpeg", "-v", "error", "-y", "-i", clip, "-c:v", "libx264", "-preset", a.preset, "-crf",
                            str(a.crf), "-force_key_frames", f"expr:gte(t,n_forced*{a.segment})", "-f", "hls",
                            "-hls_time", str(a.segment), "-hls_playlist_type", "vod",
                            "-hls_segment_filename", os.path.join(out, "s%05d.ts"), os.path.join(out, "index.m3u8")]
                    env = None
                else:
                    argv = [a.pvt, "transcode", clip, "-o", out, "--preset", a.preset, "--crf", str(a.crf),
                            "--segment-duration", str(a.segment), "--progress", "none", "--json", "-y"]
                    if name != "pvt":
                        argv.append("--task-per-playlist-segment")
                    env = dict(os.environ)
                    if name == "pvt-spawn":
                        env["PVT_WORKER_PER_SEGMENT"] = "1"
                wall, cpu, stdout = run_timed(argv, env)
                if name.startswith("pvt"):
                    j = json.loads(stdout)
                    segments = max(segments, len(j["segments"]))
                    pids = len({s["worker_pid"] for s in j["segments"]})
                    rows[name].append({"wall": wall, "cpu": cpu, "processes": pids, "tasks": len(j["segments"]),
                                       "efficiency": j["parallel_efficiency"]})
                else:
                    rows[name].append({"wall": wall, "cpu": cpu})
                print(f"round {rnd + 1} {name:9s} wall {wall:7.2f} s  cpu {cpu:7.2f} s", file=sys.stderr, flush=True)
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in rows.items()}
    base = med["ffmpeg"]
    print(f"\n{a.seconds} s {a.size} (keyframe every {a.gop} frames) at {a.preset}, {int(a.seconds / a.segment)} playlist segments, {os.cpu_count()} cores, medians of {a.rounds} rounds\n")
    print("| run | wall s | cpu s | wall / ffmpeg | cpu / ffmpeg | worker processes | work segments |")
    print("|---|---|---|---|---|---|---|")
    for k, v in med.items():
        procs = v.get("processes", "")
        tasks = v.get("tasks", "")
        print(f"| {k} | {v['wall']:.2f} | {v['cpu']:.2f} | {v['wall'] / base['wall']:.3f} | {v['cpu'] / base['cpu']:.3f} | "
              f"{procs if procs == '' else int(procs)} | {tasks if tasks == '' else int(tasks)} |")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"args": vars(a), "segments": segments, "rounds": rows, "medians": med}, f, indent=2)


if __name__ == "__main__":
    main()
