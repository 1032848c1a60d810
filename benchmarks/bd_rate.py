#!/usr/bin/env python3
"""BD-rate of pvt's chunked encode against one single encode of the same clip with the same encoder.

For each clip and each CRF (18/23/28/33 by default) the clip is encoded once by plain ffmpeg (libx264,
or --encoder x265/svtav1/aom/rav1e/vpx with pvt's mapping of CRF and preset, as transcode_vs_ffmpeg.py
gives it) and once per pvt variant (the same preset and CRF). Each output's video bitrate (its packets' bytes over
its duration) and PSNR against the source (ffmpeg's psnr filter, the average over the frames) give one
rate-distortion point; the Bjontegaard delta rate (cubic fit of log rate over PSNR, integrated over the
common PSNR range) says how many percent more bits pvt needs for the same quality. Negative is a gain.

The fit is written out here (a 4x4 least-squares solve) so the script needs the Python standard library
only; matplotlib draws the curves when it is installed (python3-matplotlib).

  benchmarks/bd_rate.py --preset medium --variant default= --variant scene="--analysis full"
"""

import argparse
import json
import math
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from child_timing import run_timed

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "media"
DEFAULT_CLIPS = [SHARED / "big_buck_bunny.mp4", SHARED / "car-detection.mp4"]


def video_bits_per_second(path):
    """The video stream's packet bytes over its duration: the container's overhead left out."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "packet=size,pts_time,duration_time", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    packets = json.loads(out)["packets"]
    size = sum(int(p["size"]) for p in packets)
    times = [float(p["pts_time"]) for p in packets if p.get("pts_time") not in (None, "N/A")]
    last = max(packets, key=lambda p: float(p.get("pts_time", 0)))
    duration = max(times) - min(times) + float(last.get("duration_time", 0) or 0)
    return 8 * size / duration


def psnr_db(output, source):
    r = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(output), "-i", str(source),
                        "-lavfi", "[0:v][1:v]psnr", "-f", "null", "-"], capture_output=True, text=True)
    m = re.search(r"PSNR .*average:(\S+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"bd_rate: no PSNR for {output}: {r.stderr.strip()[-300:]}")
    return float(m.group(1))


def solve(a, b):
    """Gaussian elimination with partial pivoting: a x = b for a small dense system."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x


def cubic_fit(xs, ys):
    """Least-squares coefficients c0..c3 of y = c0 + c1 x + c2 x^2 + c3 x^3."""
    a = [[sum(x ** (i + j) for x in xs) for j in range(4)] for i in range(4)]
    b = [sum(y * x ** i for x, y in zip(xs, ys)) for i in range(4)]
    return solve(a, b)


def integral(c, lo, hi):
    f = lambda x: sum(ci * x ** (i + 1) / (i + 1) for i, ci in enumerate(c))
    return f(hi) - f(lo)


def bd_rate(ref, test):
    """Bjontegaard delta rate (%) of test against ref; each a list of (bits/s, PSNR dB)."""
    c_ref = cubic_fit([q for _, q in ref], [math.log10(r) for r, _ in ref])
    c_test = cubic_fit([q for _, q in test], [math.log10(r) for r, _ in test])
    lo = max(min(q for _, q in ref), min(q for _, q in test))
    hi = min(max(q for _, q in ref), max(q for _, q in test))
    avg = (integral(c_test, lo, hi) - integral(c_ref, lo, hi)) / (hi - lo)
    return (10 ** avg - 1) * 100


def encode_ffmpeg(src, out, preset, crf, encoder="x264"):
    from transcode_vs_ffmpeg import ffmpeg_video_args
    video = ffmpeg_video_args(argparse.Namespace(encoder=encoder, crf=crf), preset)
    return run_timed(["ffmpeg", "-nostdin", "-hide_banner", "-y", "-i", str(src), "-an", "-sn", *video, str(out)])


def encode_pvt(pvt, src, out, preset, crf, extra, encoder="x264"):
    from transcode_vs_ffmpeg import ENCODERS
    wall, cpu, stdout = run_timed([pvt, "transcode", str(src), "-o", str(out), "--format", "mp4", "--audio",
                                   "none", "--subtitles", "none", "--preset", preset, "--crf", str(crf),
                                   "--codec", ENCODERS[encoder][0], "--encoder", encoder,
                                   "--json", "--progress", "none", "--overwrite", *extra])
    report = json.loads(stdout)
    return wall, cpu, len(report.get("segments", [])) or report.get("segments_total")


def measure_clip(opts, clip, work):
    src = Path(clip)
    points = {"ffmpeg": []}
    segments = {}
    for name, _ in opts.variants:
        points[name] = []
    for crf in opts.crfs:
        out = work / f"{src.stem}-ffmpeg-{crf}.mp4"
        encoder = getattr(opts, "encoder", "x264")
        encode_ffmpeg(src, out, opts.preset, crf, encoder)
        points["ffmpeg"].append((video_bits_per_second(out), psnr_db(out, src)))
        for name, extra in opts.variants:
            out = work / f"{src.stem}-{name}-{crf}.mp4"
            _, _, nseg = encode_pvt(opts.pvt, src, out, opts.preset, crf, extra, encoder)
            segments[name] = nseg
            points[name].append((video_bits_per_second(out), psnr_db(out, src)))
        print(f"  {src.name} crf {crf}: " + ", ".join(
            f"{k} {v[-1][0] / 1000:.0f} kb/s {v[-1][1]:.2f} dB" for k, v in points.items()), file=sys.stderr)
    result = {"clip": src.name, "points": points, "segments": segments, "bd_rate_pct": {}}
    for name, _ in opts.variants:
        result["bd_rate_pct"][name] = bd_rate(points["ffmpeg"], points[name])
    return result


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bd_rate: matplotlib not installed (apt install python3-matplotlib): no plot", file=sys.stderr)
        return
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    for ax, r in zip(axes[0], results):
        for name, pts in r["points"].items():
            label = name if name == "ffmpeg" else f"pvt {name} ({r['bd_rate_pct'][name]:+.2f} %)"
            ax.plot([p[0] / 1000 for p in pts], [p[1] for p in pts], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("video kb/s")
        ax.set_ylabel("PSNR dB")
        ax.set_title(r["clip"])
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    print(f"bd_rate: plot written to {path}", file=sys.stderr)


def parse_variant(text):
    name, _, args = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError("a variant is NAME=ARGS")
    return name, shlex.split(args)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="*", help="input clips (default: the shared BBB and car clips)")
    ap.add_argument("--pvt", default=str(REPO / "build" / "cli" / "pvt"))
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--encoder", default="x264", help="x264, x265, svtav1, aom, rav1e or vpx (default: %(default)s)")
    ap.add_argument("--crfs", default="18,23,28,33")
    ap.add_argument("--variant", action="append", type=parse_variant,
                    help="NAME=EXTRA PVT ARGS (repeatable; default: default=)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--plot", help="draw the rate-distortion curves into this PNG")
    opts = ap.parse_args()
    opts.crfs = [int(c) for c in opts.crfs.split(",")]
    opts.variants = opts.variant or [("default", [])]
    clips = opts.clips or [c for c in DEFAULT_CLIPS if c.exists()]
    if not clips:
        sys.exit(f"bd_rate: no clips given and none found in {SHARED}")
    results = []
    with tempfile.TemporaryDirectory(prefix="pvt-bdrate-") as tmp:
        for clip in clips:
            results.append(measure_clip(opts, clip, Path(tmp)))
    print(f"| clip | preset | " + " | ".join(f"pvt {n} BD-rate (segments)" for n, _ in opts.variants) + " |")
    print("|---|---|" + "---|" * len(opts.variants))
    for r in results:
        cells = [f"{r['bd_rate_pct'][n]:+.2f} % ({r['segments'].get(n)})" for n, _ in opts.variants]
        print(f"| {r['clip']} | {opts.preset} | " + " | ".join(cells) + " |")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"preset": opts.preset, "encoder": opts.encoder, "crfs": opts.crfs,
                                               "variants": {n: a for n, a in opts.variants},
                                               "results": results}, indent=2) + "\n")
    if opts.plot:
        plot(results, opts.plot)


if __name__ == "__main__":
    main()
