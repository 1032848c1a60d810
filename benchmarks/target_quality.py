#!/usr/bin/env python3
"""Target quality against the fixed CRF a user would otherwise pick.

For each clip and target, pvt encodes with `--target-quality T --metric ssim` (a CRF search per segment,
no probe cache, so the search is paid in full). The one fixed CRF that would give every segment at least
the same score is the lowest CRF the search chose (the summary's fixed_crf_for_the_same_worst_segment);
pvt then encodes the clip once more at that CRF, with the same segments. Both outputs are scored by
ffmpeg's own ssim filter, frame by frame, pooled per segment (mean), so the judge is not pvt.

Reported per clip and target:
  size saved      1 - size(target quality) / size(fixed CRF); goal >= 10 % on clips with varied content
  worst segment   the worst segment's SSIM of each output (ffmpeg's measure): the fixed CRF must reach
                  at least the target-quality output's, or it is not the fair comparison
  search cost     wall(target quality) / wall(fixed CRF), both pvt on the same workers; goal <= 1.6
  probe accuracy  share of segments whose final score lies within the tolerance of the probes'
                  prediction; goal >= 95 %

With --ladder 360,240 each clip and target is also encoded as a streaming ladder under target quality (a
target per rendition) and at one fixed CRF: the search's cost, and per rendition the segments within the
tolerance, the re-encodes and the probes' accuracy.

  benchmarks/target_quality.py [CLIP ...] [--targets 0.96,0.98] [--preset veryfast] [--ladder 360,240]
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from child_timing import run_timed

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "media"
DEFAULT_CLIPS = [SHARED / "big_buck_bunny.mp4", SHARED / "car-detection.mp4"]


def ssim_frames(output, source, stats):
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(output), "-i", str(source), "-lavfi",
                    f"[0:v][1:v]ssim=stats_file={stats}", "-f", "null", "-"], check=True)
    frames = []
    for line in Path(stats).read_text().splitlines():
        m = re.search(r"All:([0-9.]+)", line)
        if m:
            frames.append(float(m.group(1)))
    return frames


def per_segment(frames, segments):
    out = []
    for s in segments:
        chunk = frames[s["start_frame"]:s["start_frame"] + s["frames"]]
        out.append(sum(chunk) / len(chunk))
    return out


def pvt(opts, clip, out, extra):
    fmt = [] if "--format" in extra else ["--format", "mp4"]
    argv = [opts.pvt, "transcode", str(clip), "-o", str(out), *fmt, "--audio", "none",
            "--subtitles", "none", "--preset", opts.preset, "--json", "--progress", "none", "--overwrite", *extra]
    wall, cpu, stdout = run_timed(argv)
    return wall, cpu, json.loads(stdout)


def pct(x):
    return "n/a" if x is None else f"{x:.0f} %"


def run_clip(opts, clip, target, work):
    tq_out = work / f"{clip.stem}-tq-{target}.mp4"
    wall_tq, cpu_tq, tq = pvt(opts, clip, tq_out, ["--target-quality", str(target), "--metric", "ssim",
                                                    "--no-probe-cache"])
    summary = tq["target_quality"]
    segments = tq["segments"]
    fixed_crf = summary["fixed_crf_for_the_same_worst_segment"]
    # The same clip at one CRF: with the same options the planner makes the same segments.
    fx_out = work / f"{clip.stem}-fixed-{target}.mp4"
    wall_fx, cpu_fx, fx = pvt(opts, clip, fx_out, ["--crf", f"{fixed_crf:.2f}"])
    tq_frames = ssim_frames(tq_out, clip, work / "tq.log")
    fx_frames = ssim_frames(fx_out, clip, work / "fx.log")
    tq_seg = per_segment(tq_frames, segments)
    fx_seg = per_segment(fx_frames, segments)
    tol = summary["tolerance"]
    # The probes' prediction against the first final encode (before any correction), where the range
    # did not cap the CRF.
    judged = [s for s in segments if not s["quality"]["limited_by_range"]]
    accurate = sum(1 for s in judged if abs(s["quality"]["predicted"] - s["quality"]["first_score"]) <= tol)
    probes = [len(s["quality"]["probes"]) for s in segments]
    row = {
        "clip": clip.name, "target": target, "preset": opts.preset, "segments": len(segments),
        "fixed_crf": fixed_crf, "crf_range": summary["crf_range"],
        "tq_bytes": tq["output_bytes"], "fixed_bytes": fx["output_bytes"],
        "size_saved_pct": 100 * (1 - tq["output_bytes"] / fx["output_bytes"]),
        "tq_worst_ssim": min(tq_seg), "fixed_worst_ssim": min(fx_seg),
        "tq_mean_ssim": sum(tq_frames) / len(tq_frames), "fixed_mean_ssim": sum(fx_frames) / len(fx_frames),
        "wall_tq": wall_tq, "wall_fixed": wall_fx, "search_cost": wall_tq / wall_fx,
        "cpu_tq": cpu_tq, "cpu_fixed": cpu_fx,
        "probes_per_segment_max": max(probes), "probes_mean": sum(probes) / len(probes),
        "reencoded_segments": summary["reencoded_segments"],
        "probe_accuracy_pct": 100 * accurate / len(judged) if judged else None,
        "limited_by_range": len(segments) - len(judged),
        "within_tolerance": summary["segments_within_tolerance"],
    }
    print(f"  {clip.name} target {target}: saved {row['size_saved_pct']:+.1f} %, worst {row['tq_worst_ssim']:.4f} "
          f"vs fixed CRF {fixed_crf:.2f} worst {row['fixed_worst_ssim']:.4f}, search {row['search_cost']:.2f}x, "
          f"probe accuracy {pct(row['probe_accuracy_pct'])}", file=sys.stderr, flush=True)
    return row


def run_ladder(opts, clip, target, work):
    """A streaming ladder under target quality (a target per rendition) against the same ladder at one
    fixed CRF (rung 0's fixed CRF for its worst segment), both pvt with the same segments: the search's
    cost, and per rendition the share of segments within the tolerance, the re-encodes and the probes'
    accuracy."""
    ladder = ["--ladder", opts.ladder, "--ladder-bitrates", "none"]
    out = work / f"{clip.stem}-ladder-tq-{target}"
    out.mkdir(exist_ok=True)
    wall_tq, cpu_tq, tq = pvt(opts, clip, out / "index.m3u8",
                              ladder + ["--target-quality", str(target), "--metric", "ssim", "--no-probe-cache",
                                        "--format", "hls"])
    fixed_crf = tq["target_quality"]["fixed_crf_for_the_same_worst_segment"]
    fx = work / f"{clip.stem}-ladder-fixed-{target}"
    fx.mkdir(exist_ok=True)
    wall_fx, cpu_fx, _ = pvt(opts, clip, fx / "index.m3u8", ladder + ["--crf", f"{fixed_crf:.2f}", "--format", "hls"])
    rungs = []
    for r, rendition in enumerate(tq["renditions"]):
        tol = rendition["target_quality"]["tolerance"]
        qs = [s["rendition_quality"][r] for s in tq["segments"]]
        judged = [q for q in qs if not q["limited_by_range"]]
        rungs.append({
            "height": rendition.get("height"),
            "within_tolerance": sum(q["within_tolerance"] for q in qs),
            "reencoded_segments": sum(q["final_encodes"] > 1 for q in qs),
            "final_encodes": sum(q["final_encodes"] for q in qs),
            "probes": sum(q["probe_encodes"] for q in qs),
            "worst": min(q["score"] for q in qs),
            "probe_accuracy_pct": 100 * sum(abs(q["predicted"] - q["first_score"]) <= tol for q in judged) / len(judged)
            if judged else None,
        })
    row = {"clip": clip.name, "target": target, "ladder": opts.ladder, "segments": len(tq["segments"]),
           "wall_tq": wall_tq, "wall_fixed": wall_fx, "search_cost": wall_tq / wall_fx,
           "cpu_tq": cpu_tq, "cpu_fixed": cpu_fx, "rungs": rungs}
    print(f"  {clip.name} ladder {opts.ladder} target {target}: search {row['search_cost']:.2f}x, " +
          ", ".join(f"{g['height']}p {g['within_tolerance']}/{len(tq['segments'])} within, "
                    f"{g['reencoded_segments']} re-encoded" for g in rungs), file=sys.stderr, flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="*", type=Path)
    ap.add_argument("--pvt", default=str(REPO / "build" / "cli" / "pvt"))
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--targets", default="0.96,0.98")
    ap.add_argument("--json", help="write the rows here")
    ap.add_argument("--ladder", help="also a streaming ladder of these heights (e.g. 360,240) under each target")
    opts = ap.parse_args()
    clips = opts.clips or [c for c in DEFAULT_CLIPS if c.exists()]
    if not clips:
        sys.exit(f"target_quality: no clips given and none found in {SHARED}")
    rows, ladders = [], []
    with tempfile.TemporaryDirectory(prefix="pvt-tq-") as tmp:
        for clip in clips:
            for t in [float(x) for x in opts.targets.split(",")]:
                rows.append(run_clip(opts, Path(clip), t, Path(tmp)))
                if opts.ladder:
                    ladders.append(run_ladder(opts, Path(clip), t, Path(tmp)))
    print("| clip | target SSIM | segments | fixed CRF | size saved | worst seg. SSIM (tq / fixed) | "
          "search wall / fixed | probes (mean, max) | re-encoded | probe accuracy |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['target']} | {r['segments']} | {r['fixed_crf']:.2f} | {r['size_saved_pct']:+.1f} % | "
              f"{r['tq_worst_ssim']:.4f} / {r['fixed_worst_ssim']:.4f} | {r['search_cost']:.2f}x | "
              f"{r['probes_mean']:.1f}, {r['probes_per_segment_max']} | {r['reencoded_segments']} | "
              f"{pct(r['probe_accuracy_pct'])} ({r['limited_by_range']} at the CRF range's end) |")
    if ladders:
        print()
        print("| clip | target SSIM | ladder | segments | search wall / fixed | rung: within, re-encoded, "
              "finals, probes, worst, probe accuracy |")
        print("|---|---|---|---|---|---|")
        for r in ladders:
            rungs = "; ".join(f"{g['height']}p: {g['within_tolerance']}/{r['segments']}, {g['reencoded_segments']}, "
                              f"{g['final_encodes']}, {g['probes']}, {g['worst']:.4f}, {pct(g['probe_accuracy_pct'])}"
                              for g in r["rungs"])
            print(f"| {r['clip']} | {r['target']} | {r['ladder']} | {r['segments']} | {r['search_cost']:.2f}x | {rungs} |")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"preset": opts.preset, "rows": rows, "ladders": ladders}, indent=2)
                                   + "\n")


if __name__ == "__main__":
    main()
