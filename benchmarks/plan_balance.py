#!/usr/bin/env python3
"""How well pvt's cost-balanced plan fits the real work: a clip whose scenes differ in cost (a calm half
and a noisy half that makes most of the bits), transcoded to MP4 (where segments are planned by cost).
Per segment it compares the plan's estimated cost share with its worker's measured CPU share, and in
alternating rounds against plain ffmpeg it reports wall, CPU and parallel efficiency. Run on an idle
machine.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

from child_timing import run_timed

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_clip(path, seconds, size):
    if os.path.exists(path):
        return
    half = seconds / 2
    # Calm: a slowly moving test pattern. Heavy: the same with strong temporal noise (costly to encode).
    graph = (f"testsrc2=size={size}:rate=25:duration={half}[a];"
             f"testsrc2=size={size}:rate=25:duration={half},noise=alls=40:allf=t+u[b];[a][b]concat=n=2:v=1[v]")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-g", "25", path + ".part.mp4"], check=True)
    os.replace(path + ".part.mp4", path)


def pearson(x, y):
    mx, my = statistics.mean(x), statistics.mean(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sx = math.sqrt(sum((a - mx) ** 2 for a in x))
    sy = math.sqrt(sum((b - my) ** 2 for b in y))
    return sxy / (sx * sy) if sx and sy else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pvt", default=os.path.join(ROOT, "build", "cli", "pvt"))
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cache-dir", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--json-out", default="")
    a = ap.parse_args()
    os.makedirs(a.cache_dir, exist_ok=True)
    clip = os.path.join(a.cache_dir, f"uneven_{a.size}_{a.seconds}s.mp4")
    make_clip(clip, a.seconds, a.size)
    runs = {"ffmpeg": [], "pvt": []}
    fits = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            w, c, _ = run_timed(["ffmpeg", "-v", "error", "-y", "-i", clip, "-c:v", "libx264", "-preset", a.preset,
                             os.path.join(tmp, "ff.mp4")])
            runs["ffmpeg"].append({"wall": w, "cpu": c})
            w, c, out = run_timed([a.pvt, "transcode", clip, "-o", os.path.join(tmp, "pvt.mp4"), "--preset", a.preset,
                               "--progress", "none", "--json", "-y"])
            j = json.loads(out)
            runs["pvt"].append({"wall": w, "cpu": c, "efficiency": j["parallel_efficiency"], "segments": len(j["segments"])})
            print(f"round {rnd + 1}: ffmpeg {runs['ffmpeg'][-1]['wall']:.2f} s, pvt {w:.2f} s "
                  f"(efficiency {j['parallel_efficiency']:.2f}, {len(j['segments'])} segments)", file=sys.stderr)
            # The plan's costs come from `pvt analyze` with the same worker count and format.
            plan = json.loads(subprocess.run([a.pvt, "analyze", clip, "--json", "--format", "mp4", "--progress", "none",
                                              "--workers", str(j["workers"])], stdout=subprocess.PIPE, check=True,
                                             text=True).stdout)["plan"]["segments"]
            cost = [s["cost"] for s in plan]
            cpu = [s["cpu_seconds"] for s in j["segments"]]
            if len(cost) == len(cpu):
                cs, us = sum(cost), sum(cpu)
                ratios = [(u / us) / (k / cs) for k, u in zip(cost, cpu)]
                fits.append({"pearson": pearson(cost, cpu), "worst_ratio_low": min(ratios), "worst_ratio_high": max(ratios),
                             "cost_share": [k / cs for k in cost], "cpu_share": [u / us for u in cpu]})
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in runs.items()}
    print(f"\n{a.seconds} s {a.size} uneven scenes at {a.preset}, {os.cpu_count()} cores, medians of {a.rounds} rounds\n")
    print("| run | wall s | cpu s | wall / ffmpeg | cpu / ffmpeg | parallel efficiency |")
    print("|---|---|---|---|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v['wall']:.2f} | {v['cpu']:.2f} | {v['wall'] / med['ffmpeg']['wall']:.3f} | "
              f"{v['cpu'] / med['ffmpeg']['cpu']:.3f} | {v.get('efficiency', float('nan')):.2f} |")
    if fits:
        f = fits[-1]
        print(f"\nestimate vs measured CPU per segment (last round): Pearson r {f['pearson']:.3f}, "
              f"measured/estimated share from {f['worst_ratio_low']:.2f} to {f['worst_ratio_high']:.2f}")
    if a.json_out:
        with open(a.json_out, "w") as fh:
            json.dump({"args": vars(a), "runs": runs, "medians": med, "fits": fits}, fh, indent=2)


if __name__ == "__main__":
    main()
