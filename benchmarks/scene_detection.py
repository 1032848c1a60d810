#!/usr/bin/env python3
"""Scene detection on the labelled set: pvt against FFmpeg's scdet and select='gt(scene,X)'.

The set is the one the tests use (tests/scene_set.cpp: generated shots and the shared clips joined
at known frames, xfade dissolves and fades of known span, one-shot clips with flashes, strobes, a
light change and motion). This script asks the test binary to build it and keep it with its
labels (PVT_SCENE_SET_DIR), then runs each detector on every clip and scores it:

  a hard label is found by a cut within 1 frame of it, a transition by a cut inside its span
  (2 frames of slack); any other cut is false. Precision, recall and F1 per kind.

It also times `pvt analyze` on the 60 s sample (decode + kernels + detector) with this build and,
given --pvt-before, with an older one: the detector's cost against today's.

Python 3 standard library only; reuses transcode_vs_ffmpeg's helpers. See benchmarks/README.md.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transcode_vs_ffmpeg import REPO_ROOT, BenchError, log, median, run_tool  # noqa: E402

KINDS = ("hard", "dissolve", "fade")


def build_set(tests_binary, where):
    env = dict(os.environ, PVT_SCENE_SET_DIR=str(where))
    args = [tests_binary, "--gtest_filter=SceneLabelledSet.TransitionsReportASpanAroundTheirCut"]
    result = subprocess.run(args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"building the labelled set failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return json.loads((Path(where) / "labels.json").read_text())


def pvt_cuts(pvt, clip):
    result, _, _ = run_tool([pvt, "analyze", clip["path"], "--json", "--progress", "none"], "pvt analyze")
    return [c["frame"] for c in json.loads(result.stdout)["scene_cuts"]]


def ffmpeg_metadata(clip, vf):
    """frame -> metadata printed by `metadata=mode=print` after the filter (frame numbers of the output)."""
    args = ["ffmpeg", "-hide_banner", "-nostats", "-i", clip["path"], "-vf", f"{vf},metadata=mode=print:file=-",
            "-an", "-f", "null", "-"]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"ffmpeg {vf} failed: {result.stderr[-500:]}")
    frames, current = [], None
    for line in result.stdout.splitlines():
        m = re.match(r"frame:\s*(\d+)\s+pts:\s*\S+\s+pts_time:\s*(\S+)", line)
        if m:
            current = {"time": float(m.group(2)), "keys": {}}
            frames.append(current)
        elif current is not None and "=" in line:
            k, v = line.split("=", 1)
            current["keys"][k.strip()] = v.strip()
    return frames


def scdet_cuts(clip, threshold):
    rate = clip["frame_rate"]
    return [round(f["time"] * rate) for f in ffmpeg_metadata(clip, f"scdet=threshold={threshold}")
            if "lavfi.scd.time" in f["keys"]]


def select_cuts(clip, threshold):
    rate = clip["frame_rate"]
    return [round(f["time"] * rate) for f in ffmpeg_metadata(clip, f"select='gt(scene,{threshold})'")
            if round(f["time"] * rate) > 0]


def matches(label, cut):
    if label["kind"] == "hard":
        return abs(cut - label["start"]) <= 1
    return label["start"] - 2 <= cut <= label["end"] + 2


def score(clips, cuts_of):
    """Per kind: labels, found; overall: detected, false cuts (a cut may find a label of any kind)."""
    per_kind = {k: {"labels": 0, "found": 0} for k in KINDS}
    detected = false = 0
    per_clip = {}
    for clip in clips:
        cuts = cuts_of[clip["name"]]
        for label in clip["labels"]:
            per_kind[label["kind"]]["labels"] += 1
            per_kind[label["kind"]]["found"] += any(matches(label, c) for c in cuts)
        wrong = [c for c in cuts if not any(matches(l, c) for l in clip["labels"])]
        detected += len(cuts)
        false += len(wrong)
        per_clip[clip["name"]] = {"cuts": cuts, "false": wrong}
    labels = sum(k["labels"] for k in per_kind.values())
    found = sum(k["found"] for k in per_kind.values())
    precision = (detected - false) / detected if detected else 1.0
    recall = found / labels if labels else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    for k in per_kind.values():
        k["recall"] = k["found"] / k["labels"] if k["labels"] else None
    return {"per_kind": per_kind, "detected": detected, "false_cuts": false, "precision": precision,
            "recall": recall, "f1": f1, "per_clip": per_clip}


def analysis_speed(pvt, sample, runs):
    fps = []
    for _ in range(runs):
        result, _, _ = run_tool([pvt, "analyze", str(sample), "--json", "--progress", "none"], "pvt analyze")
        fps.append(json.loads(result.stdout)["analysis"]["fps"])
    return median(fps)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pvt", default=str(REPO_ROOT / "build/cli/pvt"))
    ap.add_argument("--tests", default=str(REPO_ROOT / "build/tests/pvt_media_tests"),
                    help="the test binary that builds the labelled set")
    ap.add_argument("--pvt-before", help="an older pvt, for the analysis speed before")
    ap.add_argument("--sample", default=str(REPO_ROOT / "samples/big_buck_bunny_60s.mp4"))
    ap.add_argument("--runs", type=int, default=3, help="speed runs per binary (alternating)")
    ap.add_argument("--scdet-thresholds", default="10", help="comma-separated scdet thresholds (0-100)")
    ap.add_argument("--select-thresholds", default="0.3,0.4", help="comma-separated scene thresholds (0-1)")
    ap.add_argument("--json", help="write the results here")
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="pvt-scene-set-") as where:
        clips = build_set(opts.tests, where)
        log(f"labelled set: {len(clips)} clips, {sum(len(c['labels']) for c in clips)} labels")
        detectors = {"pvt": lambda c: pvt_cuts(opts.pvt, c)}
        for t in opts.scdet_thresholds.split(","):
            detectors[f"scdet threshold={t}"] = lambda c, t=t: scdet_cuts(c, t)
        for t in opts.select_thresholds.split(","):
            detectors[f"select gt(scene,{t})"] = lambda c, t=t: select_cuts(c, t)
        results = {}
        for name, detect in detectors.items():
            results[name] = score(clips, {c["name"]: detect(c) for c in clips})

    speed = {}
    if Path(opts.sample).exists():
        binaries = {"after": opts.pvt}
        if opts.pvt_before:
            binaries["before"] = opts.pvt_before
        samples = {k: [] for k in binaries}
        for _ in range(opts.runs):
            for k, b in binaries.items():
                samples[k].append(analysis_speed(b, opts.sample, 1))
        speed = {k: median(v) for k, v in samples.items()}
        if "before" in speed:
            speed["after_over_before"] = speed["after"] / speed["before"]

    print(f"{'detector':28} {'P':>6} {'R':>6} {'F1':>6} {'false':>6}  " +
          "  ".join(f"{k:>9}" for k in KINDS))
    for name, r in results.items():
        kinds = "  ".join(f"{r['per_kind'][k]['found']:>4}/{r['per_kind'][k]['labels']:<4}" for k in KINDS)
        print(f"{name:28} {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} {r['false_cuts']:6d}  {kinds}")
    if speed:
        print("analysis fps (60 s sample): " + ", ".join(f"{k} {v:.3f}" for k, v in speed.items()))
    if opts.json:
        out = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
               "clips": [{"name": c["name"], "frames": c["frames"], "labels": c["labels"]} for c in clips],
               "detectors": results, "analysis_fps": speed}
        Path(opts.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit(f"scene_detection: {e}")
