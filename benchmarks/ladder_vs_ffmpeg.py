#!/usr/bin/env python3
"""A 3-rendition streaming ladder made three ways, side by side in alternating rounds:

  ladder    pvt transcode IN -o DIR --ladder H1,H2,H3     (one decode feeds every rung)
  separate  three runs of pvt transcode IN -o DIR --ladder Hk   (each decodes the source itself)
  ffmpeg    one ffmpeg -filter_complex split,scale... -f hls -var_stream_map run, keyframes forced every
            --segment-duration seconds so its renditions align as pvt's do

Same encoder settings everywhere (libx264, --preset, --crf, AAC audio, --segment-type ts|fmp4 segments). Reported per way:
wall and CPU time (medians over --runs rounds), and per rendition its size and PSNR against the source
scaled to the rendition's size (ffmpeg's psnr filter). Targets on 2 cores (issue "Streaming ladder"): the
ladder <= 0.8x the separate runs' wall and <= 1.0x ffmpeg's. Run on an idle machine.

  python3 benchmarks/ladder_vs_ffmpeg.py [--input CLIP] [--heights 720,480,360] [--runs 3] [--json OUT]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from child_timing import run_timed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_INPUT = HERE / ".cache" / "bbb-1080p-30s.mp4"


def dir_bytes(path, pattern):
    return sum(p.stat().st_size for p in Path(path).glob(pattern) if p.is_file())


def psnr(playlist, source, width, height):
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(playlist), "-i", str(source), "-lavfi",
            f"[1:v]scale={width}:{height}:flags=bicubic[r];[0:v][r]psnr", "-f", "null", "-"]
    r = subprocess.run(args, capture_output=True, text=True)
    m = re.search(r"average:([0-9.]+|inf)", r.stderr)
    return float(m.group(1)) if m else None


def probe_size(playlist):
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                        "-of", "csv=p=0", str(playlist)], capture_output=True, text=True, check=True)
    # An HLS playlist shows up as programs and streams: the first line with a size is the video's.
    line = next(l for l in r.stdout.splitlines() if "," in l)
    w, h = line.split(",")[:2]
    return int(w), int(h)


def pvt_args(opts, src, out, heights):
    return [opts.pvt, "transcode", str(src), "-o", str(out), "--ladder", ",".join(map(str, heights)), "--preset",
            opts.preset, "--crf", str(opts.crf), "--segment-duration", str(opts.segment_duration), "--overwrite",
            "--progress", "none", "--segment-type", opts.segment_type,
            # Uncapped CRF, as the ffmpeg run encodes: the same settings everywhere.
            "--ladder-bitrates", "none"]


def ffmpeg_args(opts, src, out, heights):
    n = len(heights)
    graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";" + ";".join(
        f"[s{i}]scale=-2:{h}[v{i}]" for i, h in enumerate(heights))
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-filter_complex", graph]
    for i in range(n):
        args += ["-map", f"[v{i}]", "-map", "0:a:0"]
    args += ["-c:v", "libx264", "-preset", opts.preset, "-crf", str(opts.crf), "-c:a", "aac",
             "-force_key_frames", f"expr:gte(t,n_forced*{opts.segment_duration})", "-f", "hls",
             "-hls_time", str(opts.segment_duration), "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4" if opts.segment_type == "fmp4" else "mpegts",
             "-var_stream_map", " ".join(f"v:{i},a:{i}" for i in range(n)), "-master_pl_name", "master.m3u8",
             "-hls_segment_filename",
             str(out / ("s%v_%05d.m4s" if opts.segment_type == "fmp4" else "s%v_%05d.ts")), str(out / "r%v.m3u8")]
    return args


def renditions(way, out, heights, src):
    rows = []
    for i, h in enumerate(heights):
        if way == "ffmpeg":
            playlist, files = out / f"r{i}.m3u8", [f"s{i}_*", f"init_{i}.mp4"]
        elif way == "ladder":
            playlist, files = out / f"index_{h}p.m3u8", [f"index_r{i}_*"]
        else:
            playlist, files = out / f"h{h}" / f"index_{h}p.m3u8", [f"h{h}/index_r0_*"]
        w, hh = probe_size(playlist)
        size = sum(dir_bytes(out, f) for f in files)
        rows.append({"height": h, "width": w, "bytes": size, "psnr": psnr(playlist, src, w, hh)})
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pvt", default=str(ROOT / "build" / "cli" / "pvt"))
    p.add_argument("--input", default=str(DEFAULT_INPUT))
    p.add_argument("--heights", default="720,480,360")
    p.add_argument("--preset", default="veryfast")
    p.add_argument("--crf", type=float, default=23)
    p.add_argument("--segment-duration", type=float, default=4)
    p.add_argument("--segment-type", choices=["ts", "fmp4"], default="ts")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json")
    opts = p.parse_args()
    src = Path(opts.input)
    if not src.is_file():
        sys.exit(f"ladder_vs_ffmpeg: error: {src} does not exist (transcode_vs_ffmpeg.py makes the 1080p clip "
                 "in benchmarks/.cache, or give --input)")
    heights = [int(h) for h in opts.heights.split(",")]
    times = {"ladder": [], "separate": [], "ffmpeg": []}
    work = Path(tempfile.mkdtemp(prefix="pvt-ladder-bench-"))
    try:
        outs = {w: work / w for w in times}
        for r in range(opts.runs):
            # Alternating order, so drift in the machine's speed falls on every way alike.
            order = ["ladder", "separate", "ffmpeg"] if r % 2 == 0 else ["ffmpeg", "separate", "ladder"]
            for way in order:
                out = outs[way]
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir(parents=True)
                if way == "ladder":
                    wall, cpu, _ = run_timed(pvt_args(opts, src, out, heights))
                elif way == "ffmpeg":
                    wall, cpu, _ = run_timed(ffmpeg_args(opts, src, out, heights))
                else:
                    wall = cpu = 0.0
                    for h in heights:
                        w1, c1, _ = run_timed(pvt_args(opts, src, out / f"h{h}", [h]))
                        wall, cpu = wall + w1, cpu + c1
                times[way].append((wall, cpu))
                print(f"round {r + 1} {way}: {wall:.2f} s wall, {cpu:.2f} s CPU", file=sys.stderr)
        result = {"input": str(src), "heights": heights, "preset": opts.preset, "crf": opts.crf,
                  "segment_duration": opts.segment_duration, "runs": opts.runs, "cores": os.cpu_count(), "ways": {}}
        for way, t in times.items():
            result["ways"][way] = {"wall_s": statistics.median(x[0] for x in t),
                                   "cpu_s": statistics.median(x[1] for x in t), "all": t,
                                   "renditions": renditions(way, outs[way], heights, src),
                                   # Everything a player can fetch: pvt's fMP4 sets hold the audio once, as
                                   # its own rendition (the separate runs once each), ffmpeg's in every variant.
                                   "set_bytes": dir_bytes(outs[way], "**/*")}
        lad = result["ways"]["ladder"]
        for way in ("separate", "ffmpeg"):
            result[f"ladder_wall_vs_{way}"] = lad["wall_s"] / result["ways"][way]["wall_s"]
            result[f"ladder_cpu_vs_{way}"] = lad["cpu_s"] / result["ways"][way]["cpu_s"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{src.name}, ladder {opts.heights}, {opts.preset} CRF {opts.crf:g}, {os.cpu_count()} cores, "
          f"medians of {opts.runs} rounds\n")
    print("| way | wall s | CPU s | " + " | ".join(f"{h}p size / PSNR" for h in heights) + " | set, audio in |")
    print("|---|---|---|" + "---|" * (len(heights) + 1))
    for way, w in result["ways"].items():
        cells = " | ".join(f"{r['bytes'] / 1e6:.2f} MB / {r['psnr']:.2f} dB ({r['width']}x{r['height']})"
                           for r in w["renditions"])
        print(f"| {way} | {w['wall_s']:.2f} | {w['cpu_s']:.2f} | {cells} | {w['set_bytes'] / 1e6:.2f} MB |")
    print(f"\nladder / separate: wall {result['ladder_wall_vs_separate']:.3f} (target <= 0.8), "
          f"CPU {result['ladder_cpu_vs_separate']:.3f}")
    print(f"ladder / ffmpeg:   wall {result['ladder_wall_vs_ffmpeg']:.3f} (target <= 1.0), "
          f"CPU {result['ladder_cpu_vs_ffmpeg']:.3f}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
