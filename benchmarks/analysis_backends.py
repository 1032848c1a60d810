#!/usr/bin/env python3
"""Analysis throughput per backend (cpu, vulkan, cuda) at 1080p, against ffmpeg's scdet.

Two figures per backend:
  decode excluded  pvt_analysis_bench: the kernels alone on frames decoded once into
                   memory, one stream and one stream per core; every backend's integers
                   are checked against the CPU reference first.
  decode included  `pvt analyze --analysis-backend B`: the report's analysis.fps (decode
                   + kernels over parallel keyframe ranges; NVDEC decodes for CUDA).
ffmpeg scdet (full-size frames, decode included) is the baseline for the CPU path.

Vulkan on lavapipe (Mesa's software device) runs on the CPU: its figure proves the path
works, it says nothing about GPU speed. A backend this machine lacks is listed with the
reason. Python 3 standard library only; reuses transcode_vs_ffmpeg's helpers. See
benchmarks/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transcode_vs_ffmpeg import (REPO_ROOT, BenchError, find_tools, log, median,  # noqa: E402
                                 prepare_input, probe, run_tool, tool_version)

BACKENDS = ("cpu", "vulkan", "cuda")


def kernel_figures(opts, src):
    """Decode excluded: pvt_analysis_bench's JSON."""
    args = [opts.bench, str(src), "--json", "--frames", str(opts.frames), "--seconds", str(opts.seconds),
            "--backends", ",".join(opts.backends)]
    result, _, _ = run_tool(args, "pvt_analysis_bench")
    return json.loads(result.stdout)


def analyze_figures(opts, pvt, src, frames):
    """Decode included: `pvt analyze` per backend, --runs times each (median)."""
    out = {}
    for backend in opts.backends:
        runs = []
        for _ in range(opts.runs):
            args = [pvt, "analyze", str(src), "--json", "--progress", "none", "--analysis-backend", backend]
            result, wall, cpu = run_tool(args, f"pvt analyze --analysis-backend {backend}")
            analysis = json.loads(result.stdout)["analysis"]
            runs.append({"fps": analysis["fps"], "fps_wall": frames / wall, "cpu_seconds": cpu,
                         "kernel": analysis["kernel"], "decoder": analysis.get("decoder"),
                         "fallback": analysis.get("fallback")})
        used = runs[0]["kernel"] == backend
        out[backend] = {"runs": runs, "used": used,
                        "fps_median": median(r["fps"] for r in runs) if used else None,
                        "fps_wall_median": median(r["fps_wall"] for r in runs) if used else None,
                        "decoder": runs[0]["decoder"], "fallback": runs[0]["fallback"]}
        log(f"[analyze {backend}] " + (f"{out[backend]['fps_median']:.1f} fps" if used
                                       else f"not used: {runs[0]['fallback']}"))
    return out


def scdet_figures(opts, ffmpeg, src, frames):
    runs = []
    for _ in range(opts.runs):
        args = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-i", str(src),
                "-vf", "scdet=threshold=10", "-an", "-f", "null", "-"]
        _, wall, cpu = run_tool(args, "ffmpeg scdet")
        runs.append({"fps": frames / wall, "wall_seconds": wall, "cpu_seconds": cpu})
    log(f"[scdet] {median(r['fps'] for r in runs):.1f} fps")
    return {"runs": runs, "fps_median": median(r["fps"] for r in runs)}


def print_report(meta, kernels, analyze, scdet):
    print(f"analysis at {meta['input']['width']}x{meta['input']['height']} "
          f"({meta['input']['frames']} frames), {meta['cores']} cores; reduced to "
          f"{kernels['reduced'][0]}x{kernels['reduced'][1]}")
    print(f"  decode alone (in memory, {kernels['threads']} threads): {kernels['decode_fps']:.1f} fps")
    print(f"  {'backend':<8} {'kernels 1 stream':>17} {'kernels N streams':>18} {'with decode':>12}  device / note")
    for entry in kernels["backends"]:
        name = entry["backend"]
        a = analyze.get(name, {})
        if "skipped" in entry:
            print(f"  {name:<8} {'-':>17} {'-':>18} {'-':>12}  {entry['skipped']}")
            continue
        with_decode = f"{a['fps_median']:.1f}" if a.get("fps_median") else "-"
        note = entry["device"]
        if not entry.get("matches_cpu", True):
            note += "  RESULTS DIFFER FROM THE CPU"
        if a.get("decoder") and a["decoder"] != "cpu":
            note += f" (decoded on {a['decoder']})"
        print(f"  {name:<8} {entry['fps_1_stream']:>17.1f} {entry['fps_n_streams']:>18.1f} {with_decode:>12}  {note}")
    print(f"  {'scdet':<8} {'-':>17} {'-':>18} {scdet['fps_median']:>12.1f}  ffmpeg -vf scdet (full-size frames)")
    cpu = analyze.get("cpu", {}).get("fps_median")
    if cpu and scdet["fps_median"]:
        print(f"  pvt analyze (cpu) / scdet: {cpu / scdet['fps_median']:.2f}x")


def parse_args():
    host = socket.gethostname().split(".")[0]
    cores = os.cpu_count()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pvt", default=str(REPO_ROOT / "build" / "cli" / "pvt"), help="pvt binary (default: %(default)s)")
    p.add_argument("--bench", default=str(REPO_ROOT / "build" / "benchmarks" / "pvt_analysis_bench"),
                   help="pvt_analysis_bench binary (default: %(default)s)")
    p.add_argument("--ffmpeg", default="ffmpeg", help="ffmpeg binary (default: %(default)s)")
    p.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated (default: %(default)s)")
    p.add_argument("--runs", type=int, default=3, help="runs of each decode-included measurement (default: %(default)s)")
    p.add_argument("--frames", type=int, default=240, help="frames held in memory for the kernel figures (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=3, help="seconds per kernel measurement (default: %(default)s)")
    p.add_argument("--duration", type=float, help="cut the generated clip to S seconds (quick smoke runs)")
    p.add_argument("--input", help="use this clip instead of the generated 1080p one")
    p.add_argument("--cache-dir", default=str(REPO_ROOT / "benchmarks" / ".cache"), help="where the generated clip is kept (default: %(default)s)")
    p.add_argument("--json-out", default=str(REPO_ROOT / "benchmarks" / "results" / f"analysis_backends-{host}-{cores}c.json"),
                   help="raw figures (default: %(default)s)")
    opts = p.parse_args()
    opts.backends = [b for b in opts.backends.split(",") if b]
    for b in opts.backends:
        if b not in BACKENDS:
            p.error(f"unknown backend {b!r} (known: {', '.join(BACKENDS)})")
    return opts


def main():
    opts = parse_args()
    ffmpeg, ffprobe, pvt = find_tools(opts)
    if not os.access(opts.bench, os.X_OK):
        sys.exit(f"analysis_backends: error: {opts.bench} not found; build it (ninja -C build pvt_analysis_bench)")
    try:
        src, generated = prepare_input(opts, ffmpeg)
        info = probe(ffprobe, src)
        kernels = kernel_figures(opts, src)
        analyze = analyze_figures(opts, pvt, src, info["frames"])
        scdet = scdet_figures(opts, ffmpeg, src, info["frames"])
    except BenchError as e:
        sys.exit(f"analysis_backends: error: {e}")
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "host": socket.gethostname(),
            "cores": os.cpu_count(), "platform": platform.platform(),
            "ffmpeg": tool_version([ffmpeg, "-version"]), "pvt": tool_version([pvt, "--version"]),
            "input": {"path": str(src), "generated": generated, **info},
            "options": {k: v for k, v in vars(opts).items() if k not in ("json_out",)}}
    print_report(meta, kernels, analyze, scdet)
    Path(opts.json_out).parent.mkdir(parents=True, exist_ok=True)
    with open(opts.json_out, "w") as f:
        json.dump({"meta": meta, "kernels_decode_excluded": kernels, "analyze_decode_included": analyze,
                   "scdet": scdet}, f, indent=2)
    log(f"wrote {opts.json_out}")
    mismatch = [e["backend"] for e in kernels["backends"] if e.get("matches_cpu") is False]
    if mismatch:
        sys.exit(f"analysis_backends: error: {', '.join(mismatch)} results differ from the CPU reference")


if __name__ == "__main__":
    main()
