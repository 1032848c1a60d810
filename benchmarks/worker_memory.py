#!/usr/bin/env python3
"""Peak resident memory of one pvt worker, by resolution and preset.

The default worker count divides the memory budget by the expected peak of one worker
(engine/system_resources.cpp, estimated_worker_memory); the pool then checks the peaks it measures
while a job runs. This script measures the peaks that model is fitted to: for each size and preset it
generates a short clip (ffmpeg testsrc2 plus noise, so x264 has real work), runs
`pvt transcode --workers 1 --json`, and reads `peak_worker_rss_bytes` (the workers' ru_maxrss). It
prints measured against modelled and the largest ratio, and writes the figures as JSON.

Usage: python3 benchmarks/worker_memory.py [--pvt build/cli/pvt] [--sizes 640x360,1280x720,...]
       [--presets ultrafast,veryfast,medium,slow] [--lookahead 40] [--json-out FILE]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


RC_LOOKAHEAD = {"ultrafast": 0, "superfast": 0, "veryfast": 10, "faster": 20, "fast": 30, "medium": 40,
                "slow": 50}


def model_bytes(width, height, window, preset):
    """Mirror of estimated_worker_memory() in engine/system_resources.cpp (keep the two in step)."""
    frame = width * height * 3 // 2
    rc = RC_LOOKAHEAD.get(preset, 60)
    frames = 16 + window + 10 + (20 + 2.8 * rc if rc > 0 else 0)
    return int(frames * frame) + 80_000_000


def make_clip(path, size, seconds):
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
         "-vf", "noise=alls=12:allf=t", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
         "-g", "250", "-pix_fmt", "yuv420p", str(path)],
        check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pvt", default=str(ROOT / "build" / "cli" / "pvt"))
    ap.add_argument("--sizes", default="640x360,1280x720,1920x1080,3840x2160")
    ap.add_argument("--presets", default="ultrafast,veryfast,medium,slow")
    ap.add_argument("--lookahead", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--json-out", default=str(ROOT / "benchmarks" / "results" / "worker_memory.json"))
    a = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="pvt-mem-") as tmp:
        for size in a.sizes.split(","):
            w, h = (int(v) for v in size.split("x"))
            clip = pathlib.Path(tmp) / f"clip_{size}.mp4"
            make_clip(clip, size, a.seconds)
            for preset in a.presets.split(","):
                out = pathlib.Path(tmp) / f"out_{size}_{preset}.mp4"
                r = subprocess.run(
                    [a.pvt, "transcode", str(clip), "-o", str(out), "-y", "--workers", "1", "--preset", preset,
                     "--lookahead", str(a.lookahead), "--progress", "none", "--json", "--audio", "none"],
                    capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"{size} {preset}: pvt failed: {r.stderr.strip()}", file=sys.stderr)
                    return 1
                peak = json.loads(r.stdout)["peak_worker_rss_bytes"]
                model = model_bytes(w, h, a.lookahead, preset)
                rows.append({"size": size, "preset": preset, "lookahead": a.lookahead, "peak_bytes": peak,
                             "model_bytes": model, "model_over_peak": model / peak})
                print(f"{size:>10} {preset:>10}: peak {peak / 2**20:7.1f} MiB, model {model / 2**20:7.1f} MiB "
                      f"(model/peak {model / peak:.2f})", flush=True)
    worst = min(r["model_over_peak"] for r in rows)
    print(f"smallest model/peak ratio: {worst:.2f} (>= 1 means the model never underestimates)")
    pathlib.Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(a.json_out).write_text(json.dumps({"cores": os.cpu_count(), "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
