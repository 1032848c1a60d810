#!/usr/bin/env python3
"""Side-by-side benchmark: `pvt transcode` against plain ffmpeg with the same encoder.

--codec/--encoder pick the encoder (default h264/x264; av1 with svtav1, aom or rav1e; vp9 with vpx).
ffmpeg runs that encoder with pvt's mapping of --crf and --preset (below, mirroring
hwbackends/speed_scale.cpp) and its own threading; --pvt-split WxT adds a pvt run with W workers of T
threads each, to find the fastest split per encoder.

Both tools encode the same clip with the same preset and CRF, alternating
run by run so that drift in machine load hits both alike. The script reports
wall time, CPU time, PSNR against the source, output size, frame count and
pvt's parallel efficiency, then checks them against the project's targets.
It also compares `pvt analyze` throughput with ffmpeg's scdet filter.

Cases (--cases, comma-separated):
  bbb      the BBB clip upscaled to 1080p (or --input), at --presets (default medium,veryfast)
  uneven   20 s 720p whose second half is heavy noise (plan_balance.py's clip), veryfast
  lowres   600 s 320x180, a keyframe every 2 s (worker_startup.py's clip), ultrafast
  longgop  the BBB clip at 1080p from x264's default GOP (keyint 250, keyframes at scene changes), as
           most files a user downloads or exports are: few keyframes for the pieces 2 workers want; at
           --presets
--bd-rate adds a BD-rate run (CRF 18/23/28/33, PSNR; bd_rate.py) per case, and
--plot FILE.png draws the ratios (and the rate-distortion curves beside it).

Python 3 standard library only (matplotlib for --plot). See benchmarks/README.md.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The 60 s sample bundled with the repo (CC-BY 3.0, Blender Foundation).
BBB_SOURCE = REPO_ROOT / "samples" / "big_buck_bunny_60s.mp4"
SYNTHETIC_SECONDS = 30.0

# Targets pvt should meet against plain ffmpeg (see DESIGN.md / the brief).
TARGET_RATIO = 1.0  # pvt wall time / ffmpeg wall time
TARGET_PSNR_DB = 0.1  # |PSNR(pvt) - PSNR(ffmpeg)|
TARGET_SIZE_PCT = 3.0  # |size(pvt) / size(ffmpeg) - 1|
TARGET_EFFICIENCY = 0.95  # worker CPU / (wall x cores)
TARGET_CPU_RATIO = 1.05  # pvt CPU time / ffmpeg CPU time


# pvt's settings on each encoder's own scales (hwbackends/*_encoder.cpp): --crf is x264's 0-51, mapped
# linearly onto the encoder's quantizer; x264 preset names onto each encoder's speed.
PRESET_NAMES = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower",
                "veryslow", "placebo"]
ENCODERS = {
    # backend: (codec, ffmpeg encoder, quantizer top, speeds by preset name)
    "x264": ("h264", "libx264", None, None),
    "x265": ("hevc", "libx265", None, None),
    "svtav1": ("av1", "libsvtav1", 63, [12, 11, 10, 9, 8, 6, 5, 4, 3, 2]),
    "aom": ("av1", "libaom-av1", 63, [8, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
    "rav1e": ("av1", "librav1e", 255, [10, 10, 9, 8, 7, 6, 5, 4, 2, 0]),
    "vpx": ("vp9", "libvpx-vp9", 63, [8, 7, 5, 5, 4, 3, 2, 1, 0, 0]),
}
DEFAULT_ENCODER = {"h264": "x264", "hevc": "x265", "av1": "svtav1", "vp9": "vpx"}


def ffmpeg_video_args(opts, preset):
    """The plain-ffmpeg video options a user would give for the same encoder and settings."""
    codec, lib, top, speeds = ENCODERS[opts.encoder]
    if top is None:
        return ["-c:v", lib, "-preset", preset, "-crf", str(opts.crf)]
    q = max(0, min(top, round(opts.crf * top / 51)))
    speed = speeds[PRESET_NAMES.index(preset)] if preset in PRESET_NAMES else int(preset)
    if opts.encoder == "svtav1":
        return ["-c:v", lib, "-preset", str(speed), "-crf", str(q)]
    if opts.encoder == "aom":
        return ["-c:v", lib, "-cpu-used", str(speed), "-crf", str(q), "-b:v", "0", "-row-mt", "1"]
    if opts.encoder == "rav1e":
        return ["-c:v", lib, "-speed", str(speed), "-qp", str(q)]
    realtime = preset in PRESET_NAMES and speed >= 7
    return ["-c:v", lib, "-deadline", "realtime" if realtime else "good", "-cpu-used", str(speed),
            "-crf", str(q), "-b:v", "0", "-row-mt", "1"]


class BenchError(Exception):
    """A tool failed; the message is one line, shown to the user."""


def log(msg):
    # Progress goes to stderr so that stdout carries only the tables.
    print(msg, file=sys.stderr, flush=True)


def run_tool(args, what):
    """Run one process from an argument list; return (result, wall s, CPU s).

    CPU time is the RUSAGE_CHILDREN delta, which covers the process and every
    descendant it waited for (pvt's worker processes included).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise BenchError(f"{what} failed (exit {result.returncode}): {tail}")
    return result, wall, cpu


def finite_or_none(x):
    # JSON has no inf/nan; PSNR of identical frames is inf.
    return x if x is not None and math.isfinite(x) else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# --- tools -----------------------------------------------------------------


def find_tools(opts):
    ffmpeg = shutil.which(opts.ffmpeg)
    if not ffmpeg:
        sys.exit(f"transcode_vs_ffmpeg: error: ffmpeg not found ({opts.ffmpeg!r}); install it or pass --ffmpeg PATH")
    # ffprobe is looked for next to the chosen ffmpeg first, so both come from one build.
    sibling = Path(ffmpeg).with_name("ffprobe")
    ffprobe = str(sibling) if os.access(sibling, os.X_OK) else shutil.which("ffprobe")
    if not ffprobe:
        sys.exit("transcode_vs_ffmpeg: error: ffprobe not found next to ffmpeg or on PATH")
    pvt = Path(opts.pvt)
    if not (pvt.is_file() and os.access(pvt, os.X_OK)):
        sys.exit(f"transcode_vs_ffmpeg: error: pvt not found at {pvt}; build it (see benchmarks/README.md) or pass --pvt PATH")
    return ffmpeg, ffprobe, str(pvt.resolve())


def tool_version(args):
    try:
        out = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True).stdout
        return out.strip().splitlines()[0] if out.strip() else None
    except OSError:
        return None


def probe(ffprobe, path):
    """Video size, frame rate, duration and an exact frame count (packets counted)."""
    args = [ffprobe, "-v", "error", "-select_streams", "v:0", "-count_packets",
            "-show_entries", "stream=width,height,avg_frame_rate,nb_read_packets:format=duration",
            "-of", "json", str(path)]
    result, _, _ = run_tool(args, f"ffprobe {path}")
    info = json.loads(result.stdout)
    stream = info["streams"][0]
    num, _, den = stream.get("avg_frame_rate", "0/1").partition("/")
    return {
        "width": stream.get("width"),
        "height": stream.get("height"),
        "frame_rate": float(num) / float(den) if float(den or 0) else None,
        "duration": float(info.get("format", {}).get("duration", "nan")),
        "frames": int(stream["nb_read_packets"]),
    }


def psnr(ffmpeg, output, source):
    """Average PSNR (dB) of output against source, from the psnr filter's summary."""
    args = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-i", str(output), "-i", str(source),
            "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"]
    result, _, _ = run_tool(args, f"ffmpeg psnr on {Path(output).name}")
    match = re.search(r"PSNR .*average:(\S+)", result.stderr)
    if not match:
        raise BenchError(f"no PSNR summary in ffmpeg's output for {output}")
    return float(match.group(1))


# --- input clip ------------------------------------------------------------


def prepare_input(opts, ffmpeg, gop=48):
    """Return the input path and whether it was generated, making it once into the cache."""
    if opts.input and gop == 48:
        path = Path(opts.input)
        if not path.is_file():
            sys.exit(f"transcode_vs_ffmpeg: error: input {path} does not exist")
        return path, False

    cache = Path(opts.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    suffix = f"-{opts.duration:g}s" if opts.duration else ""
    gop_name = "" if gop == 48 else f"-g{gop}"
    if BBB_SOURCE.is_file():
        out = cache / f"bbb-1080p{gop_name}{suffix}.mp4"
        # Upscaled with a keyframe every 2 s (-g 48 at 24 fps), as camera and
        # streaming sources usually have (longgop: x264's default 250); CRF 16
        # keeps it close to lossless.
        args = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-y", "-i", str(BBB_SOURCE),
                "-vf", "scale=1920:1080:flags=lanczos", "-c:v", "libx264", "-preset", "veryfast",
                "-crf", "16", "-g", str(gop), "-c:a", "copy"]
    else:
        # No shared media: a synthetic clip with motion and audio stands in.
        seconds = opts.duration or SYNTHETIC_SECONDS
        out = cache / f"testsrc2-1080p{gop_name}-{seconds:g}s.mp4"
        args = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-y",
                "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds:g}",
                "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds:g}",
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-g", str(60 if gop == 48 else gop),
                "-pix_fmt", "yuv420p", "-c:a", "aac"]
    if out.is_file():
        return out, True
    if opts.duration:
        args += ["-t", f"{opts.duration:g}"]
    # Write under a temporary name so an interrupted run never leaves a half
    # clip that a later run would take as cached.
    partial = out.with_name(out.stem + ".partial.mp4")
    log(f"generating test clip {out} (once) ...")
    run_tool(args + [str(partial)], "generating the test clip")
    os.replace(partial, out)
    return out, True


# --- the runs ----------------------------------------------------------------


def case_clips(opts, ffmpeg):
    """(name, clip, presets, generated) for each requested case."""
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    cache = Path(opts.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    cases = []
    for name in opts.cases:
        if name == "bbb":
            src, generated = prepare_input(opts, ffmpeg)
            cases.append((name, src, opts.presets, generated))
        elif name == "uneven":
            import plan_balance
            path = cache / "uneven-1280x720-20s.mp4"
            plan_balance.make_clip(str(path), 20, "1280x720")
            cases.append((name, path, ["veryfast"], True))
        elif name == "lowres":
            import worker_startup
            path = cache / "startup_320x180_600s_g50.mp4"
            worker_startup.make_clip(str(path), 600, "320x180", 50)
            cases.append((name, path, ["ultrafast"], True))
        elif name == "longgop":
            src, generated = prepare_input(opts, ffmpeg, gop=250)
            cases.append((name, src, opts.presets, generated))
        else:
            sys.exit(f"transcode_vs_ffmpeg: error: unknown case {name} (bbb, uneven, lowres, longgop)")
    return cases


def bd_rate_run(opts, clip, preset, workdir):
    import bd_rate
    bd_opts = argparse.Namespace(pvt=opts.pvt, preset=preset, crfs=[18, 23, 28, 33], variants=[("default", [])],
                                 encoder=opts.encoder)
    work = workdir / "bd"
    work.mkdir(exist_ok=True)
    return bd_rate.measure_clip(bd_opts, clip, work)


def plot_cases(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib not installed (apt install python3-matplotlib): no plot")
        return
    labels, wall, cpu, eff = [], [], [], []
    for case, r in results["cases"].items():
        for preset, t in r["transcode"].items():
            s = t["summary"]
            labels.append(f"{case}\n{preset}")
            wall.append(s["ratio_median"])
            cpu.append(s["pvt_cpu_median"] / s["ffmpeg_cpu_median"] if s["ffmpeg_cpu_median"] else 0)
            eff.append(s["efficiency_median"] or 0)
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(labels)), 4.5))
    x = range(len(labels))
    w = 0.27
    ax.bar([i - w for i in x], wall, w, label="wall / ffmpeg (target <= 1.0)")
    ax.bar(list(x), cpu, w, label="CPU / ffmpeg (target <= 1.05)")
    ax.bar([i + w for i in x], eff, w, label="parallel efficiency (target >= 0.95)")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels)
    ax.set_title(f"pvt vs ffmpeg, {results['cores']} cores, medians of {results['config']['runs']} rounds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    log(f"plot written to {path}")
    bd = [r["bd_rate"] for r in results["cases"].values() if r.get("bd_rate")]
    if bd:
        import bd_rate
        bd_rate.plot(bd, str(Path(path).with_name(Path(path).stem + "-bd-rate.png")))


def run_ffmpeg_transcode(opts, ffmpeg, src, out, preset):
    args = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-y", "-i", str(src),
            *ffmpeg_video_args(opts, preset), "-threads", "0", "-c:a", "aac", str(out)]
    _, wall, cpu = run_tool(args, f"ffmpeg transcode ({preset})")
    return {"wall_seconds": wall, "cpu_seconds": cpu}


def run_pvt_transcode(opts, pvt, src, out, preset, split=None):
    args = [pvt, "transcode", str(src), "-o", str(out), "--format", "mp4", "--preset", preset,
            "--crf", str(opts.crf), "--audio", "aac", "--json", "--progress", "none", "--overwrite",
            "--codec", opts.codec, "--encoder", opts.encoder]
    if split:
        workers, threads = split
        args += ["--workers", str(workers), "--threads-per-worker", str(threads)]
    result, wall, cpu = run_tool(args, f"pvt transcode ({preset})")
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as e:
        raise BenchError(f"pvt transcode printed no JSON summary ({e})")
    # The brief's definition: worker CPU / (wall x cores), all from pvt's own report.
    denom = (report.get("wall_seconds") or 0) * (report.get("cores") or 0)
    efficiency = report.get("worker_cpu_seconds", 0) / denom if denom else None
    return {"wall_seconds": wall, "cpu_seconds": cpu, "efficiency": efficiency, "report": report}


def bench_preset(opts, tools, src, workdir, preset):
    ffmpeg, ffprobe, pvt = tools
    ff_out = workdir / f"ffmpeg-{preset}.mp4"
    pvt_out = workdir / f"pvt-{preset}.mp4"
    runs = []
    for rnd in range(opts.runs):
        # Alternate which tool goes first, so neither always gets the cooler,
        # less loaded machine or the warmer page cache.
        order = ["ffmpeg", "pvt"] if rnd % 2 == 0 else ["pvt", "ffmpeg"]
        entry = {"round": rnd + 1, "order": order}
        for tool in order:
            if tool == "ffmpeg":
                entry["ffmpeg"] = run_ffmpeg_transcode(opts, ffmpeg, src, ff_out, preset)
            else:
                entry["pvt"] = run_pvt_transcode(opts, pvt, src, pvt_out, preset)
                # The other worker x thread splits, right after the default one.
                for w, t in opts.pvt_split:
                    r = run_pvt_transcode(opts, pvt, src, workdir / f"pvt-{w}x{t}-{preset}.mp4", preset, (w, t))
                    entry[f"pvt_{w}x{t}"] = {k: v for k, v in r.items() if k != "report"}
                # Another pvt build, right after this one (a before/after comparison in one run).
                if opts.pvt_before:
                    r = run_pvt_transcode(opts, opts.pvt_before, src, workdir / f"pvt-before-{preset}.mp4", preset)
                    entry["pvt_before"] = {k: v for k, v in r.items() if k != "report"}
        entry["ratio"] = entry["pvt"]["wall_seconds"] / entry["ffmpeg"]["wall_seconds"]
        runs.append(entry)
        splits = "".join(f", pvt {w}x{t} {entry[f'pvt_{w}x{t}']['wall_seconds']:.2f} s"
                         for w, t in opts.pvt_split)
        if opts.pvt_before:
            splits += f", pvt before {entry['pvt_before']['wall_seconds']:.2f} s"
        log(f"[{preset} {rnd + 1}/{opts.runs}] ffmpeg {entry['ffmpeg']['wall_seconds']:.2f} s, "
            f"pvt {entry['pvt']['wall_seconds']:.2f} s{splits}, ratio {entry['ratio']:.3f}")

    # Quality and size once per tool, on the last round's outputs: PSNR is a
    # full decode of both files, and the encodes are deterministic per tool.
    log(f"[{preset}] PSNR and frame counts ...")
    quality = {}
    for tool, out in (("ffmpeg", ff_out), ("pvt", pvt_out)):
        quality[tool] = {
            "psnr": finite_or_none(psnr(ffmpeg, out, src)),
            "bytes": out.stat().st_size,
            "frames": probe(ffprobe, out)["frames"],
        }
    return {"runs": runs, "quality": quality, "summary": summarize_preset(runs, quality)}


def summarize_preset(runs, quality):
    ratios = [r["ratio"] for r in runs]
    ff_q, pvt_q = quality["ffmpeg"], quality["pvt"]
    psnr_diff = (pvt_q["psnr"] - ff_q["psnr"]
                 if pvt_q["psnr"] is not None and ff_q["psnr"] is not None else None)
    size_diff_pct = 100.0 * (pvt_q["bytes"] / ff_q["bytes"] - 1.0)
    efficiency = median(r["pvt"]["efficiency"] for r in runs)
    summary = {
        "ffmpeg_wall_median": median(r["ffmpeg"]["wall_seconds"] for r in runs),
        "pvt_wall_median": median(r["pvt"]["wall_seconds"] for r in runs),
        "ffmpeg_cpu_median": median(r["ffmpeg"]["cpu_seconds"] for r in runs),
        "pvt_cpu_median": median(r["pvt"]["cpu_seconds"] for r in runs),
        "ratio_median": median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "psnr_diff_db": psnr_diff,
        "size_diff_pct": size_diff_pct,
        "efficiency_median": efficiency,
        "pvt_reported_efficiency_median": median(
            r["pvt"]["report"].get("parallel_efficiency") for r in runs),
        "pvt_split": {k: {"wall_median": median(r[k]["wall_seconds"] for r in runs),
                          "cpu_median": median(r[k]["cpu_seconds"] for r in runs),
                          "efficiency_median": median(r[k]["efficiency"] for r in runs)}
                      for k in (runs[0].keys() if runs else []) if k.startswith("pvt_")},
        "pvt_workers": runs[0]["pvt"]["report"].get("workers") if runs else None,
        "pvt_threads_per_worker": runs[0]["pvt"]["report"].get("threads_per_worker") if runs else None,
    }
    summary["targets_met"] = {
        "ratio": summary["ratio_median"] <= TARGET_RATIO,
        "cpu": summary["pvt_cpu_median"] <= TARGET_CPU_RATIO * summary["ffmpeg_cpu_median"],
        "psnr": psnr_diff is not None and abs(psnr_diff) <= TARGET_PSNR_DB,
        "size": abs(size_diff_pct) <= TARGET_SIZE_PCT,
        "efficiency": efficiency is not None and efficiency >= TARGET_EFFICIENCY,
    }
    return summary


def bench_analyze(opts, tools, src, frames):
    ffmpeg, _, pvt = tools
    runs = []
    for rnd in range(opts.runs):
        order = ["scdet", "pvt"] if rnd % 2 == 0 else ["pvt", "scdet"]
        entry = {"round": rnd + 1, "order": order}
        for tool in order:
            if tool == "scdet":
                args = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-i", str(src),
                        "-vf", "scdet=threshold=10", "-an", "-f", "null", "-"]
                _, wall, cpu = run_tool(args, "ffmpeg scdet")
                entry["scdet"] = {"wall_seconds": wall, "cpu_seconds": cpu, "fps": frames / wall}
            else:
                args = [pvt, "analyze", str(src), "--json", "--progress", "none"]
                result, wall, cpu = run_tool(args, "pvt analyze")
                analysis = json.loads(result.stdout).get("analysis", {})
                entry["pvt"] = {"wall_seconds": wall, "cpu_seconds": cpu,
                                # analysis.fps times the decode + kernels only;
                                # frames / wall adds probe, planning and start-up.
                                "fps": analysis.get("fps"), "fps_wall": frames / wall,
                                "analysis": analysis}
        runs.append(entry)
        log(f"[analyze {rnd + 1}/{opts.runs}] scdet {entry['scdet']['fps']:.1f} fps, "
            f"pvt {entry['pvt']['fps'] or 0:.1f} fps (report)")
    summary = {
        "scdet_fps_median": median(r["scdet"]["fps"] for r in runs),
        "pvt_fps_median": median(r["pvt"]["fps"] for r in runs),
        "pvt_fps_wall_median": median(r["pvt"]["fps_wall"] for r in runs),
    }
    if summary["scdet_fps_median"] and summary["pvt_fps_median"]:
        summary["pvt_vs_scdet"] = summary["pvt_fps_median"] / summary["scdet_fps_median"]
    return {"runs": runs, "summary": summary}


# --- report ----------------------------------------------------------------


def fmt(value, spec, unit=""):
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def print_table(preset, result, meta):
    s, q = result["summary"], result["quality"]
    met = s["targets_met"]
    yes = lambda ok: "yes" if ok else "NO"
    inp = meta["input"]
    print(f"\npreset {preset}, crf {meta['crf']}, {meta['runs']} run(s); input "
          f"{inp['width']}x{inp['height']} {inp['duration']:.1f} s {inp['frames']} frames; "
          f"{meta['cores']} cores")
    rows = [
        ("metric", "ffmpeg", "pvt", "pvt vs ffmpeg", "target", "met"),
        ("wall time (median)", fmt(s["ffmpeg_wall_median"], ".2f", " s"),
         fmt(s["pvt_wall_median"], ".2f", " s"),
         f"{s['ratio_median']:.3f} ({s['ratio_min']:.3f}-{s['ratio_max']:.3f})",
         f"<= {TARGET_RATIO:.2f}", yes(met["ratio"])),
        ("CPU time (median)", fmt(s["ffmpeg_cpu_median"], ".2f", " s"),
         fmt(s["pvt_cpu_median"], ".2f", " s"),
         fmt(s["pvt_cpu_median"] / s["ffmpeg_cpu_median"] if s["ffmpeg_cpu_median"] else None, ".3f", "x"),
         f"<= {TARGET_CPU_RATIO:.2f}", yes(met["cpu"])),
        ("PSNR", fmt(q["ffmpeg"]["psnr"], ".3f", " dB"), fmt(q["pvt"]["psnr"], ".3f", " dB"),
         fmt(s["psnr_diff_db"], "+.3f", " dB"), f"|d| <= {TARGET_PSNR_DB} dB", yes(met["psnr"])),
        ("size", f"{q['ffmpeg']['bytes']:,} B", f"{q['pvt']['bytes']:,} B",
         f"{s['size_diff_pct']:+.2f} %", f"|d| <= {TARGET_SIZE_PCT:g} %", yes(met["size"])),
        ("frames", str(q["ffmpeg"]["frames"]), str(q["pvt"]["frames"]),
         "equal" if q["ffmpeg"]["frames"] == q["pvt"]["frames"] else "DIFFER",
         f"= {inp['frames']}", yes(q["ffmpeg"]["frames"] == q["pvt"]["frames"] == inp["frames"])),
        ("parallel efficiency", "", fmt(s["efficiency_median"], ".3f"),
         f"pvt says {fmt(s['pvt_reported_efficiency_median'], '.3f')}",
         f">= {TARGET_EFFICIENCY}", yes(met["efficiency"])),
    ]
    for key, v in s.get("pvt_split", {}).items():
        label = "pvt --pvt-before" if key == "pvt_before" else f"pvt {key[4:]} (workers x threads)"
        rows.append((label, "", fmt(v["wall_median"], ".2f", " s"),
                     fmt(v["wall_median"] / s["ffmpeg_wall_median"], ".3f", "x wall"),
                     fmt(v["cpu_median"] / s["ffmpeg_cpu_median"], ".3f", "x CPU"),
                     f"eff {fmt(v['efficiency_median'], '.3f')}"))
    print_rows(rows)


def print_analyze_table(result):
    s = result["summary"]
    print("\nanalysis throughput (median frames/s)")
    rows = [
        ("tool", "frames/s", "note"),
        ("ffmpeg scdet", fmt(s["scdet_fps_median"], ".1f"), "frames / wall time, full-size decode"),
        ("pvt analyze", fmt(s["pvt_fps_median"], ".1f"),
         f"report's analysis.fps; {fmt(s['pvt_fps_wall_median'], '.1f')} by frames / wall time"),
        ("pvt / scdet", fmt(s.get("pvt_vs_scdet"), ".2f", "x"), ""),
    ]
    print_rows(rows)


def print_rows(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


# --- main ------------------------------------------------------------------


def parse_args():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    host = socket.gethostname().split(".")[0]
    p = argparse.ArgumentParser(description="Benchmark pvt transcode/analyze against plain ffmpeg.")
    p.add_argument("--pvt", default=str(REPO_ROOT / "build" / "cli" / "pvt"), help="pvt binary (default: %(default)s)")
    p.add_argument("--ffmpeg", default="ffmpeg", help="ffmpeg binary; ffprobe is taken from beside it (default: %(default)s)")
    p.add_argument("--crf", type=int, default=23, help="x264 CRF for both tools (default: %(default)s)")
    p.add_argument("--presets", default="medium,veryfast", help="comma-separated x264 presets (default: %(default)s)")
    p.add_argument("--runs", type=int, default=3, help="rounds per preset (default: %(default)s)")
    p.add_argument("--duration", type=float, help="cut the generated clip to S seconds (quick smoke runs)")
    p.add_argument("--input", help="use this clip instead of the generated 1080p one")
    p.add_argument("--cache-dir", default=str(REPO_ROOT / "benchmarks" / ".cache"), help="where the generated clip is kept (default: %(default)s)")
    p.add_argument("--json-out", default=str(REPO_ROOT / "benchmarks" / "results" / f"transcode_vs_ffmpeg-{host}-{cores}c.json"),
                   help="raw figures + summary as JSON (default: %(default)s)")
    p.add_argument("--workdir", help="keep outputs here (default: a temp dir, removed at the end)")
    p.add_argument("--cases", default="bbb", help="comma-separated: bbb, uneven, lowres, longgop (default: %(default)s)")
    p.add_argument("--bd-rate", action="store_true", help="add a BD-rate run per case (4 CRFs, PSNR)")
    p.add_argument("--plot", help="draw the ratios into this PNG (BD-rate curves beside it)")
    p.add_argument("--no-analyze", action="store_true", help="skip the analysis-throughput comparison")
    p.add_argument("--codec", default="h264", choices=["h264", "hevc", "av1", "vp9"],
                   help="video codec for both tools (default: %(default)s)")
    p.add_argument("--encoder", help="x264, x265, svtav1, aom, rav1e or vpx (default: the codec's)")
    p.add_argument("--pvt-before", help="another pvt binary, run right after pvt in each round (before/after)")
    p.add_argument("--pvt-split", default="", help="extra pvt runs as WxT (workers x threads), comma-separated")
    opts = p.parse_args()
    opts.cases = [x.strip() for x in opts.cases.split(",") if x.strip()]
    opts.presets = [x.strip() for x in opts.presets.split(",") if x.strip()]
    if not opts.presets:
        p.error("--presets is empty")
    if opts.runs < 1:
        p.error("--runs must be at least 1")
    if opts.duration is not None and opts.duration <= 0:
        p.error("--duration must be positive")
    if opts.duration and opts.input:
        p.error("--duration applies to the generated clip only; cut your --input beforehand")
    opts.encoder = opts.encoder or DEFAULT_ENCODER[opts.codec]
    if opts.encoder not in ENCODERS or ENCODERS[opts.encoder][0] != opts.codec:
        p.error(f"--encoder {opts.encoder} does not make {opts.codec}")
    try:
        opts.pvt_split = [tuple(int(n) for n in x.split("x")) for x in opts.pvt_split.split(",") if x.strip()]
    except ValueError:
        p.error("--pvt-split takes WxT items such as 1x2,2x1")
    opts.cores, opts.host = cores, host
    return opts


def main():
    opts = parse_args()
    tools = find_tools(opts)
    ffmpeg, ffprobe, pvt = tools

    workdir_is_temp = not opts.workdir
    workdir = Path(tempfile.mkdtemp(prefix="pvt-bench-") if workdir_is_temp else opts.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = {
            "version": 2,
            "benchmark": "transcode_vs_ffmpeg",
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": opts.host,
            "cores": opts.cores,
            "platform": platform.platform(),
            "tools": {"ffmpeg": tool_version([ffmpeg, "-version"]), "pvt": tool_version([pvt, "--version"])},
            "config": {"crf": opts.crf, "presets": opts.presets, "runs": opts.runs, "duration": opts.duration,
                       "cases": opts.cases, "codec": opts.codec, "encoder": opts.encoder,
                       "ffmpeg_video_args": ffmpeg_video_args(opts, opts.presets[0]),
                       "pvt_split": opts.pvt_split, "pvt_before": opts.pvt_before},
            "targets": {"ratio_max": TARGET_RATIO, "psnr_diff_db_max": TARGET_PSNR_DB,
                        "size_diff_pct_max": TARGET_SIZE_PCT, "efficiency_min": TARGET_EFFICIENCY,
                        "cpu_ratio_max": TARGET_CPU_RATIO},
            "cases": {},
        }
        for case, src, presets, generated in case_clips(opts, ffmpeg):
            info = probe(ffprobe, src)
            meta = {"crf": opts.crf, "runs": opts.runs, "cores": opts.cores,
                    "input": {"path": str(src), "generated": generated, **info}}
            r = {"input": meta["input"], "transcode": {}}
            for preset in presets:
                r["transcode"][preset] = bench_preset(opts, tools, src, workdir, preset)
                print(f"\ncase {case}:", end="")
                print_table(preset, r["transcode"][preset], meta)
            if opts.bd_rate:
                log(f"[{case}] BD-rate at {presets[-1]} ...")
                r["bd_rate"] = bd_rate_run(opts, src, presets[-1], workdir)
                print(f"\ncase {case}: BD-rate of pvt against one ffmpeg encode at {presets[-1]}: "
                      f"{r['bd_rate']['bd_rate_pct']['default']:+.2f} % "
                      f"({r['bd_rate']['segments']['default']} segments)")
            if case == "bbb" and not opts.no_analyze:
                r["analyze"] = bench_analyze(opts, tools, src, info["frames"])
                print_analyze_table(r["analyze"])
            results["cases"][case] = r

        out = Path(opts.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nraw figures and summary: {out}")
        if opts.plot:
            plot_cases(results, opts.plot)
    except BenchError as e:
        sys.exit(f"transcode_vs_ffmpeg: error: {e}")
    finally:
        if workdir_is_temp:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
