#!/usr/bin/env python3
"""Fidelity, property by property: what plain ffmpeg keeps against what `pvt transcode` keeps.

The script generates small inputs with the ffmpeg CLI (lavfi testsrc2 + sine, 320x180, 3 s), each
carrying one property (rotation, HDR10, HLG, 4:2:2 10-bit, anamorphic SAR, full range, two audio
languages, SRT/ASS subtitles, chapters and title, a font attachment, a bitmap subtitle) plus one
combined "rich" input. Each input goes through

    ffmpeg -i IN -map 0 -c:v libx264 -preset ultrafast -c:a copy -c:s copy OUT   (mp4, mkv, HLS)
    pvt transcode IN -o OUT --preset ultrafast -y --progress none               (mp4, mkv, HLS)

Where ffmpeg fails outright, the one-line reason is recorded and the variant a user would try
next is run as a second ffmpeg column (-c:s mov_text for MP4, -c:s webvtt for HLS, -map -0:t for
attachments MP4 refuses). Every output is judged with ffprobe (streams, first frame, chapters,
format tags), the HLS master playlist and its WebVTT renditions, and a first-frame PSNR against the
autorotated input; each property is classified per tool as kept / converted / lost / fails.

Python 3 standard library only; every process is started from an argument list, never a shell.
Run the transcodes one at a time (the default) so that the machine stays usable.

Usage: python3 benchmarks/fidelity_compare.py [--pvt build/cli/pvt] [--workdir DIR]
       [--only rot90,hdr10,...] [--json-out FILE] [--md-out FILE]
See benchmarks/README.md.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "benchmarks" / "results"
STAMP = "2026-12-01"
DEFAULT_JSON = RESULTS / f"{STAMP}-fidelity-ffmpeg-vs-pvt.json"
DEFAULT_MD = RESULTS / f"{STAMP}-fidelity-ffmpeg-vs-pvt.md"

SIZE = "320x180"
SECONDS = 3
PSNR_OK_DB = 30.0
TIMEOUT_S = 180

CONTAINERS = ("mp4", "mkv", "hls")

MASTER_DISPLAY = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"
MAX_CLL = "1000,400"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Tools:
    def __init__(self, ffmpeg, ffprobe, pvt):
        self.ffmpeg, self.ffprobe, self.pvt = ffmpeg, ffprobe, pvt


def run(args, timeout=TIMEOUT_S, cwd=None):
    """Run one process from an argument list; return a dict with rc, stdout, stderr, seconds."""
    start = time.monotonic()
    try:
        r = subprocess.run([str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, errors="replace", timeout=timeout, cwd=cwd)
        rc, out, err = r.returncode, r.stdout, r.stderr
    except subprocess.TimeoutExpired as e:
        rc = "timeout"
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    return {"cmd": [str(a) for a in args], "rc": rc, "stdout": out, "stderr": err,
            "seconds": round(time.monotonic() - start, 3)}


def must(res, what):
    if res["rc"] != 0:
        raise SystemExit(f"fidelity_compare: {what} failed (rc {res['rc']}): {first_line(res['stderr'])}\n"
                         f"  command: {' '.join(res['cmd'])}")
    return res


def first_line(text):
    """The one line that says why a tool failed: the first error-looking line (a library's own message
    first), without its '[mp4 @ 0x..] ' prefix."""
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip() and not ln.startswith("Multiple -c")]
    pat = re.compile(r"could not|error|invalid|not supported|unsupported|only possible|failed|unable|cannot|"
                     r"needed|exactly|requires|must", re.I)
    strip = lambda ln: re.sub(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*", "", ln)
    for pick in (lambda ln: "@ 0x" in ln and pat.search(ln), lambda ln: pat.search(ln), lambda ln: True):
        for ln in lines:
            if pick(ln):
                return strip(ln)
    return ""


# ---------------------------------------------------------------------------------------------
# Inputs


SRT_TEXT = ("1\n00:00:00,500 --> 00:00:01,400\nFirst cue\n\n"
            "2\n00:00:02,000 --> 00:00:02,800\nSecond cue\n\n")

ASS_TEXT = """[Script Info]
ScriptType: v4.00+
PlayResX: 320
PlayResY: 180

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,DejaVu Sans,16,&H0000FFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.50,0:00:01.40,Default,,0,0,0,,{\\b1}Styled first
Dialogue: 0,0:00:02.00,0:00:02.80,Default,,0,0,0,,{\\i1}Styled second
"""

FFMETADATA = """;FFMETADATA1
title=Fidelity Test Title
artist=pvt benchmarks

[CHAPTER]
TIMEBASE=1/1000
START=0
END=1500
title=Opening

[CHAPTER]
TIMEBASE=1/1000
START=1500
END=3000
title=Ending
"""


def dvd_spu(w, h, x, y, duration_s):
    """One DVD subpicture unit (2-bit RLE): a filled box with a 2-pixel border, shown for duration_s."""

    def rle_line(runs):
        nib = []
        for n, c in runs:
            if n == 0:  # fill to the end of the line
                nib += [0, 0, 0, c]
                continue
            while n > 0:
                k = min(n, 255)
                if k < 4:
                    nib += [(k << 2) | c]
                elif k < 16:
                    nib += [k >> 2, ((k & 3) << 2) | c]
                elif k < 64:
                    nib += [0, k >> 2, ((k & 3) << 2) | c]
                else:
                    nib += [0, k >> 6, (k >> 2) & 15, ((k & 3) << 2) | c]
                n -= k
        if len(nib) % 2:
            nib.append(0)
        return bytes((nib[i] << 4) | nib[i + 1] for i in range(0, len(nib), 2))

    lines = [rle_line([(0, 2)]) if row < 2 or row >= h - 2 else rle_line([(2, 2), (w - 4, 1), (0, 2)])
             for row in range(h)]
    top, bottom = b"".join(lines[0::2]), b"".join(lines[1::2])
    top_off, bottom_off = 4, 4 + len(top)
    ctrl1 = 4 + len(top) + len(bottom)
    x2, y2 = x + w - 1, y + h - 1
    cmds = (bytes([0x03, 0x03, 0x21, 0x04, 0xFF, 0xF0, 0x05,
                   x >> 4, ((x & 15) << 4) | (x2 >> 8), x2 & 255, y >> 4, ((y & 15) << 4) | (y2 >> 8), y2 & 255,
                   0x06]) + struct.pack(">HH", top_off, bottom_off) + bytes([0x01, 0xFF]))
    ctrl2 = ctrl1 + 4 + len(cmds)
    body = top + bottom + struct.pack(">HH", 0, ctrl2) + cmds
    body += struct.pack(">HH", int(duration_s * 90000 / 1024), ctrl2) + bytes([0x02, 0xFF])
    if (4 + len(body)) % 2:
        body += b"\xff"
    return struct.pack(">HH", 4 + len(body), ctrl1) + body


def dvd_program_stream(cues):
    """An MPEG-2 program stream holding DVD subpictures (private stream 1, substream 0x20)."""

    def pack_header(scr):
        b = bytes([0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 3), (scr >> 20) & 255,
                   (((scr >> 15) & 31) << 3) | 4 | ((scr >> 13) & 3), (scr >> 5) & 255, ((scr & 31) << 3) | 4, 1])
        rate = 25200
        return b"\x00\x00\x01\xba" + b + bytes([(rate >> 14) & 255, (rate >> 6) & 255, ((rate & 63) << 2) | 3, 0xF8])

    def pts5(pts):
        return bytes([0x21 | (((pts >> 30) & 7) << 1), (pts >> 22) & 255, (((pts >> 15) & 127) << 1) | 1,
                      (pts >> 7) & 255, ((pts & 127) << 1) | 1])

    out = b""
    for start, dur in cues:
        pts = int(start * 90000)
        body = bytes([0x81, 0x80, 5]) + pts5(pts) + b"\x20" + dvd_spu(120, 24, 100, 140, dur)
        pack = pack_header(pts) + b"\x00\x00\x01\xbd" + struct.pack(">H", len(body)) + body
        pad = 2048 - len(pack) - 6
        out += pack + b"\x00\x00\x01\xbe" + struct.pack(">H", pad) + b"\xff" * pad
    return out


def find_font():
    """The smallest real TrueType font on the machine; a dummy .ttf where there is none."""
    fonts = []
    r = run(["fc-list", "--format", "%{file}\n"], timeout=30) if shutil.which("fc-list") else None
    if r and r["rc"] == 0:
        fonts = [Path(p) for p in r["stdout"].splitlines() if p.lower().endswith(".ttf")]
    if not fonts:
        fonts = list(Path("/usr/share/fonts").rglob("*.ttf")) if Path("/usr/share/fonts").is_dir() else []
    fonts = [f for f in fonts if f.is_file()]
    return min(fonts, key=lambda f: f.stat().st_size) if fonts else None


class Inputs:
    """Builds each input once, on demand, into DIR/inputs."""

    def __init__(self, tools, root):
        self.t = tools
        self.dir = root / "inputs"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.commands = {}
        self.notes = {}

    def ff(self, name, args):
        res = must(run([self.t.ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-y"] + args), f"making {name}")
        self.commands.setdefault(name, []).append(res["cmd"])
        return res

    def text(self, name, body):
        p = self.dir / name
        p.write_text(body)
        return p

    def src(self, audio=True):
        a = ["-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate=25:duration={SECONDS}"]
        if audio:
            a += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}"]
        return a

    AUDIO = ["-c:a", "aac", "-b:a", "64k"]
    X264 = ["-c:v", "libx264", "-preset", "ultrafast"]

    def build(self, name):
        d = self.dir
        if name.startswith("rot"):
            deg = name[3:]
            plain = d / f"{name}_plain.mp4"
            out = d / f"{name}.mp4"
            self.ff(name, self.src() + self.X264 + ["-pix_fmt", "yuv420p"] + self.AUDIO + [plain])
            self.ff(name, ["-i", plain, "-c", "copy", "-metadata:s:v:0", f"rotate={deg}", out])
            return out
        if name == "hdr10":
            out = d / "hdr10.mkv"
            x265 = (f"log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:"
                    f"master-display={MASTER_DISPLAY}:max-cll={MAX_CLL}")
            self.ff(name, self.src() + ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                                        "-x265-params", x265, "-color_primaries", "bt2020", "-color_trc",
                                        "smpte2084", "-colorspace", "bt2020nc"] + self.AUDIO + [out])
            return out
        if name == "hlg":
            out = d / "hlg.mkv"
            x265 = "log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc"
            self.ff(name, self.src() + ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
                                        "-x265-params", x265, "-color_primaries", "bt2020", "-color_trc",
                                        "arib-std-b67", "-colorspace", "bt2020nc"] + self.AUDIO + [out])
            return out
        if name == "yuv422p10":
            out = d / "yuv422p10.mkv"
            self.ff(name, self.src() + self.X264 + ["-pix_fmt", "yuv422p10le"] + self.AUDIO + [out])
            return out
        if name == "sar2":
            out = d / "sar2.mp4"
            self.ff(name, self.src() + self.X264 + ["-vf", "setsar=2/1", "-pix_fmt", "yuv420p"] + self.AUDIO + [out])
            return out
        if name == "fullrange":
            out = d / "fullrange.mp4"
            self.ff(name, self.src() + self.X264 + ["-pix_fmt", "yuvj420p"] + self.AUDIO + [out])
            return out
        if name == "audio2":
            out = d / "audio2.mkv"
            self.ff(name, self.src() + ["-f", "lavfi", "-i", f"sine=frequency=660:sample_rate=48000:duration={SECONDS}",
                                        "-map", "0:v", "-map", "1:a", "-map", "2:a"] + self.X264 +
                    ["-pix_fmt", "yuv420p"] + self.AUDIO +
                    ["-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
                     "-metadata:s:a:1", "title=Commentaire", out])
            return out
        if name in ("subs", "rich"):
            srt, ass = self.text("cues.srt", SRT_TEXT), self.text("cues.ass", ASS_TEXT)
            out = d / f"{name}.mkv"
            args = self.src() + ["-f", "lavfi", "-i", f"sine=frequency=660:sample_rate=48000:duration={SECONDS}",
                                 "-i", srt, "-i", ass]
            maps = ["-map", "0:v", "-map", "1:a"] + (["-map", "2:a"] if name == "rich" else []) + ["-map", "3", "-map", "4"]
            meta = []
            if name == "rich":
                args += ["-i", self.text("meta.txt", FFMETADATA)]
                meta = ["-map_metadata", "5", "-map_chapters", "5",
                        "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
                        "-metadata:s:a:1", "title=Commentaire"]
            self.ff(name, args + maps + meta + self.X264 + ["-pix_fmt", "yuv420p"] + self.AUDIO +
                    ["-c:s", "copy", "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=fra", out])
            return out
        if name == "chapters":
            out = d / "chapters.mkv"
            meta = self.text("meta.txt", FFMETADATA)
            self.ff(name, self.src() + ["-i", meta, "-map", "0:v", "-map", "1:a", "-map_metadata", "2",
                                        "-map_chapters", "2"] + self.X264 + ["-pix_fmt", "yuv420p"] + self.AUDIO + [out])
            return out
        if name == "attachment":
            out = d / "attachment.mkv"
            font = find_font()
            if font is None:
                font = d / "dummy.ttf"
                font.write_bytes(b"\x00\x01\x00\x00" + b"F" * 2044)
                self.notes[name] = "no font on this machine: a 2 KB dummy file named .ttf is attached"
            else:
                self.notes[name] = f"attached font: {font} ({font.stat().st_size} bytes)"
            plain = d / "attachment_plain.mkv"
            self.ff(name, self.src() + self.X264 + ["-pix_fmt", "yuv420p"] + self.AUDIO + [plain])
            self.ff(name, ["-i", plain, "-map", "0", "-c", "copy", "-attach", font, "-metadata:s:t",
                           "mimetype=application/x-truetype-font", out])
            return out
        if name == "dvdsub":
            # ffmpeg cannot turn text into bitmaps ("Subtitle encoding currently only possible from text to
            # text or bitmap to bitmap"), so SRT -> dvdsub fails; the subpictures are written here instead.
            srt = self.text("cues.srt", SRT_TEXT)
            probe = run([self.t.ffmpeg, "-nostdin", "-v", "error", "-y", "-i", srt, "-c:s", "dvdsub",
                         d / "dvd_from_srt.mkv"])
            self.notes[name] = ("ffmpeg -i cues.srt -c:s dvdsub: " +
                                ("worked" if probe["rc"] == 0 else "fails: " + first_line(probe["stderr"])) +
                                "; the input uses DVD subpictures written by this script (MPEG-PS, 2 boxes) instead")
            ps = d / "dvd_spu.mpg"
            ps.write_bytes(dvd_program_stream([(0.5, 0.9), (2.0, 0.8)]))
            out = d / "dvdsub.mkv"
            # -itsoffset: ffmpeg shifts every input to start at 0; the first subpicture is at 0.5 s.
            self.ff(name, self.src() + ["-itsoffset", "0.5", "-f", "mpeg", "-i", ps, "-map", "0:v", "-map", "1:a", "-map", "2:s"] +
                    self.X264 + ["-pix_fmt", "yuv420p"] + self.AUDIO +
                    ["-c:s", "copy", "-metadata:s:s:0", "language=eng", out])
            return out
        raise SystemExit(f"fidelity_compare: no such input {name}")


INPUT_NAMES = ["rot90", "rot180", "rot270", "hdr10", "hlg", "yuv422p10", "sar2", "fullrange", "audio2",
               "subs", "chapters", "attachment", "dvdsub", "rich"]


# ---------------------------------------------------------------------------------------------
# Facts: what ffprobe (and the HLS playlists) say about one file


def ratio(text, default=1.0):
    if not text or text in ("N/A", "0:1", "0/1"):
        return default
    m = re.match(r"(-?\d+)[:/](\d+)$", str(text))
    if not m:
        try:
            return float(text)
        except ValueError:
            return default
    n, d = int(m.group(1)), int(m.group(2))
    return n / d if d else default


def bit_depth(pix_fmt):
    if not pix_fmt:
        return None
    m = re.search(r"p(\d+)(le|be)$", pix_fmt)
    return int(m.group(1)) if m else 8


def chroma(pix_fmt):
    m = re.search(r"(420|422|444|411|440)", pix_fmt or "")
    return m.group(1) if m else ("400" if (pix_fmt or "").startswith("gray") else None)


def side_data(entries):
    out = {}
    for sd in entries or []:
        t = sd.get("side_data_type", "")
        if t == "Mastering display metadata":
            out["mastering"] = {k: sd.get(k) for k in ("red_x", "red_y", "green_x", "green_y", "blue_x", "blue_y",
                                                       "white_point_x", "white_point_y", "min_luminance",
                                                       "max_luminance")}
        elif t == "Content light level metadata":
            out["cll"] = {"max_content": sd.get("max_content"), "max_average": sd.get("max_average")}
        elif t == "Display Matrix":
            out["rotation"] = sd.get("rotation")
        else:
            out.setdefault("other", []).append(t)
    return out


def same_mastering(a, b):
    if not a or not b:
        return False
    return all(abs(ratio(a[k], 0) - ratio(b[k], 0)) < 1e-6 for k in a)


def hls_attrs(line):
    return {k: v.strip('"') for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])}


def read_hls(playlist):
    """What an HLS output carries beyond what ffprobe shows: master-playlist renditions and their WebVTT."""
    d = playlist.parent
    info = {"files": sorted(p.name for p in d.iterdir()) if d.is_dir() else [], "master": False,
            "media": [], "variants": [], "session_data": [], "playlist_text": None, "orphan_vtt_playlists": []}
    if not playlist.is_file():
        return info
    text = playlist.read_text(errors="replace")
    info["playlist_text"] = text
    lines = text.splitlines()
    referenced = set()
    for i, ln in enumerate(lines):
        if ln.startswith("#EXT-X-MEDIA:"):
            a = hls_attrs(ln)
            m = {"type": a.get("TYPE"), "language": a.get("LANGUAGE"), "name": a.get("NAME"), "uri": a.get("URI"),
                 "default": a.get("DEFAULT"), "forced": a.get("FORCED")}
            if m["uri"]:
                referenced.add(m["uri"])
                m.update(read_media_playlist(d / m["uri"]))
            info["media"].append(m)
        elif ln.startswith("#EXT-X-STREAM-INF:"):
            info["master"] = True
            uri = lines[i + 1].strip() if i + 1 < len(lines) else ""
            referenced.add(uri)
            info["variants"].append({"attrs": hls_attrs(ln), "uri": uri})
        elif ln.startswith("#EXT-X-SESSION-DATA:"):
            info["session_data"].append(hls_attrs(ln))
    for name in info["files"]:
        if name.endswith(".m3u8") and name != playlist.name and name not in referenced:
            mp = read_media_playlist(d / name)
            if mp["vtt_files"]:
                info["orphan_vtt_playlists"].append({"uri": name, **mp})
    return info


def read_media_playlist(path):
    res = {"segments": [], "vtt_files": [], "cues": 0, "cue_text": [], "cue_starts": [], "timestamp_map": None}
    if not path.is_file():
        res["missing"] = True
        return res
    for ln in path.read_text(errors="replace").splitlines():
        if ln and not ln.startswith("#"):
            res["segments"].append(ln)
            if ln.endswith(".vtt"):
                res["vtt_files"].append(ln)
                vtt = path.parent / ln
                if vtt.is_file():
                    body = vtt.read_text(errors="replace")
                    res["cues"] += sum(1 for x in body.splitlines() if "-->" in x)
                    res["cue_starts"] += [vtt_seconds(x.split("-->")[0]) for x in body.splitlines() if "-->" in x]
                    m = re.search(r"X-TIMESTAMP-MAP=([^\n]*)", body)
                    if m and res["timestamp_map"] is None:
                        res["timestamp_map"] = m.group(1).strip()
                    res["cue_text"] += [x for x in body.splitlines()
                                        if x and "-->" not in x and not x.startswith(("WEBVTT", "X-TIMESTAMP"))]
    return res


def first_segment(playlist, hls_info):
    """The first media segment an HLS player would load for the video (through the master playlist)."""
    media = playlist
    if hls_info["variants"]:
        media = playlist.parent / hls_info["variants"][0]["uri"]
    if not media.is_file():
        return None
    for ln in media.read_text(errors="replace").splitlines():
        if ln and not ln.startswith("#"):
            return media.parent / ln
    return None


def vtt_seconds(text):
    parts = text.strip().split()[0].split(":")
    sec = 0.0
    for p in parts:
        sec = sec * 60 + float(p)
    return sec


def vtt_offset(tsmap):
    """Seconds to add to a WebVTT cue time to get the MPEG-TS time (X-TIMESTAMP-MAP=MPEGTS:n,LOCAL:t)."""
    if not tsmap:
        return 0.0
    m1, m2 = re.search(r"MPEGTS:(\d+)", tsmap), re.search(r"LOCAL:([\d:.]+)", tsmap)
    return (int(m1.group(1)) / 90000 if m1 else 0.0) - (vtt_seconds(m2.group(1)) if m2 else 0.0)


def facts(tools, path, hls=False):
    """Streams, first video frame, chapters, tags (and, for HLS, the playlists) of one output.

    For HLS the streams and tags come from the first media segment: ffprobe through the hls demuxer
    does not pass the segments' stream tags (languages) on. The playlist's own view is kept beside."""
    target = Path(path) / "index.m3u8" if hls else Path(path)
    f = {"path": str(target)}
    probe_target = target
    if hls:
        f["hls"] = read_hls(target)
        seg = first_segment(target, f["hls"])
        if seg is not None:
            probe_target = seg
            f["segment"] = str(seg)
            r = run([tools.ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", target])
            if r["rc"] == 0:
                pl = json.loads(r["stdout"] or "{}")
                f["playlist_view"] = [{"type": s.get("codec_type"), "codec": s.get("codec_name"),
                                       "tags": s.get("tags") or {}} for s in pl.get("streams", [])]
    r = run([tools.ffprobe, "-v", "error", "-count_packets", "-show_streams", "-show_format", "-show_chapters",
             "-of", "json", probe_target])
    f["ffprobe_rc"] = r["rc"]
    if r["rc"] != 0:
        f["ffprobe_error"] = first_line(r["stderr"])
        data = {}
    else:
        data = json.loads(r["stdout"] or "{}")
    streams = []
    for s in data.get("streams", []):
        tags = {k.lower(): v for k, v in (s.get("tags") or {}).items()}
        e = {"index": s.get("index"), "type": s.get("codec_type"), "codec": s.get("codec_name"),
             "language": tags.get("language"), "title": tags.get("title"), "packets": s.get("nb_read_packets"),
             "tags": tags, "start_time": float(s["start_time"]) if s.get("start_time") not in (None, "N/A") else None,
             "disposition": {k: v for k, v in (s.get("disposition") or {}).items() if v}}
        if e["type"] == "video":
            e.update({"width": s.get("width"), "height": s.get("height"), "sar": s.get("sample_aspect_ratio"),
                      "pix_fmt": s.get("pix_fmt"), "color_range": s.get("color_range"),
                      "color_space": s.get("color_space"), "color_transfer": s.get("color_transfer"),
                      "color_primaries": s.get("color_primaries"), "profile": s.get("profile"),
                      "side_data": side_data(s.get("side_data_list")), "rotate_tag": tags.get("rotate")})
        if e["type"] == "attachment":
            e.update({"filename": tags.get("filename"), "mimetype": tags.get("mimetype"),
                      "size": s.get("extradata_size")})
        streams.append(e)
    f["streams"] = streams
    f["format_tags"] = {k.lower(): v for k, v in ((data.get("format") or {}).get("tags") or {}).items()}
    f["format_name"] = (data.get("format") or {}).get("format_name")
    f["chapters"] = [{"start": c.get("start_time"), "end": c.get("end_time"),
                      "title": (c.get("tags") or {}).get("title")} for c in data.get("chapters", [])]
    f["sub_packets"] = {}
    if any(s["type"] == "subtitle" for s in streams):
        r = run([tools.ffprobe, "-v", "error", "-select_streams", "s", "-show_entries",
                 "packet=stream_index,pts_time,size", "-of", "json", probe_target])
        for pk in json.loads(r["stdout"] or "{}").get("packets", []) if r["rc"] == 0 else []:
            if pk.get("pts_time") not in (None, "N/A"):
                f["sub_packets"].setdefault(str(pk["stream_index"]), []).append(
                    [float(pk["pts_time"]), int(pk.get("size") or 0)])
    r = run([tools.ffprobe, "-v", "error", "-select_streams", "v:0", "-show_frames", "-read_intervals", "%+#1",
             "-of", "json", target])
    frames = json.loads(r["stdout"] or "{}").get("frames", []) if r["rc"] == 0 else []
    if frames:
        fr = frames[0]
        f["frame0"] = {"pix_fmt": fr.get("pix_fmt"), "color_range": fr.get("color_range"),
                       "color_space": fr.get("color_space"), "color_transfer": fr.get("color_transfer"),
                       "color_primaries": fr.get("color_primaries"), "side_data": side_data(fr.get("side_data_list"))}
    else:
        f["frame0"] = None
    return f


def video(f):
    v = [s for s in f.get("streams", []) if s["type"] == "video"]
    return v[0] if v else None


def displayed_size(v):
    if not v or not v.get("width"):
        return None
    w, h = v["width"] * ratio(v.get("sar")), float(v["height"])
    rot = (v.get("side_data") or {}).get("rotation") or 0
    if round(abs(rot)) % 180 == 90:
        w, h = h, w
    return [int(round(w)), int(round(h))]


def psnr_first_frame(tools, inp, out):
    """PSNR of the output's first displayed frame against the input's (both autorotated by ffmpeg, both
    scaled to square pixels; the output is scaled to the input's displayed size if it differs)."""
    norm = "scale=trunc(iw*sar/2)*2:ih,setsar=1,format=yuv444p"
    graph = f"[0:v:0]{norm}[o];[1:v:0]{norm}[i];[o][i]scale2ref[o2][i2];[o2][i2]psnr"
    r = run([tools.ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-i", out, "-i", inp, "-filter_complex", graph,
             "-frames:v", "1", "-f", "null", "-"])
    m = re.search(r"PSNR .*average:(inf|[\d.]+)", r["stderr"])
    if not m:
        return {"db": None, "error": first_line(r["stderr"])}
    return {"db": 99.0 if m.group(1) == "inf" else float(m.group(1))}


# ---------------------------------------------------------------------------------------------
# Running the tools


def ffmpeg_cmd(tools, inp, out, container, change=None):
    """The plain command; `change` is what a next try alters: {"c:s": codec, "drop": [map specs], "sn": bool}."""
    change = change or {}
    args = [tools.ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-v", "warning", "-y", "-i", inp, "-map", "0"]
    for spec in change.get("drop", []):
        args += ["-map", "-" + spec]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy"]
    args += ["-sn"] if change.get("sn") else ["-c:s", change.get("c:s", "copy")]
    if container == "hls":
        return args + ["-f", "hls", "-hls_playlist_type", "vod", Path(out) / "index.m3u8"]
    return args + [out]


def change_args(change):
    """The next try's change, as the arguments that differ from the plain command."""
    a = []
    for spec in change.get("drop", []):
        a += ["-map", "-" + spec]
    if change.get("sn"):
        a.append("-sn")
    elif change.get("c:s", "copy") != "copy":
        a += ["-c:s", change["c:s"]]
    return a


def next_try(container, err, inp_facts, change):
    """The change a user would make after this failure; None when there is no obvious next step."""
    e = err.lower()
    subs = [s for s in inp_facts["streams"] if s["type"] == "subtitle"]
    text = [s for s in subs if s["codec"] in ("subrip", "ass", "ssa", "webvtt", "mov_text", "text")]
    bitmap = [s for s in subs if s not in text]
    attach = any(s["type"] == "attachment" for s in inp_facts["streams"])
    new = {"c:s": change.get("c:s", "copy"), "drop": list(change.get("drop", [])), "sn": change.get("sn", False)}
    if attach and "0:t" not in new["drop"] and re.search(r"codec (ttf|otf|none)|attachment", e):
        new["drop"].append("0:t")  # MP4 has no attachments: leave the font out
    elif "exactly one webvtt stream" in e and len(subs) > 1 and "0:s:1" not in new["drop"]:
        new["drop"] += [f"0:s:{i}" for i in range(1, len(subs))]  # HLS takes one subtitle stream: keep the first
    elif text and new["c:s"] == "copy" and not new["sn"]:
        new["c:s"] = "mov_text" if container == "mp4" else ("webvtt" if container == "hls" else "copy")
        if new["c:s"] == "copy":
            return None
    elif (bitmap or text) and not new["sn"]:
        new["sn"] = True  # no text form that fits: leave the subtitles out
    elif attach and "0:t" not in new["drop"]:
        new["drop"].append("0:t")
    else:
        return None
    return new


def run_ffmpeg(tools, inp, inp_facts, outdir, container):
    """First the plain command; after a failure, up to three next tries, each fixing the last error."""
    attempts = []
    change = {}
    for n in range(4):
        suffix = "" if n == 0 else f"_try{n + 1}"
        out = outdir / (f"ffmpeg_{container}{suffix}" + ("" if container == "hls" else f".{container}"))
        if container == "hls":
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
        res = run(ffmpeg_cmd(tools, inp, out, container, change))
        res["extra_args"] = change_args(change)
        res["reason"] = first_line(res["stderr"]) if res["rc"] != 0 else None
        res["output"] = str(out)
        attempts.append(res)
        if res["rc"] == 0:
            break
        change = next_try(container, res["stderr"], inp_facts, change)
        if change is None:
            break
    return attempts


def run_pvt(tools, inp, outdir, container, extra=()):
    name = "pvt_" + container + "".join(a.strip("-").replace(" ", "") for a in extra)
    out = outdir / (name if container == "hls" else f"{name}.{container}")
    if container == "hls":
        shutil.rmtree(out, ignore_errors=True)
    res = run([tools.pvt, "transcode", inp, "-o", out, "--preset", "ultrafast", "-y", "--progress", "none"] + list(extra))
    res["output"] = str(out)
    res["warnings"] = [ln.strip() for ln in res["stderr"].splitlines() if ln.strip()]
    res["reason"] = first_line(res["stderr"]) if res["rc"] != 0 else None
    return res


# ---------------------------------------------------------------------------------------------
# Judging: one verdict per property, tool and container


def verdict(status, detail=""):
    return {"status": status, "detail": detail}


def warned(ctx, *words):
    """The pvt warning (stderr line) that mentions one of these words, if any."""
    for ln in ctx.get("warnings", []):
        low = ln.lower()
        if any(w.lower() in low for w in words):
            return ln
    return None


def with_warning(ctx, v, *words):
    w = warned(ctx, *words)
    if w and v["status"] in ("converted", "lost"):
        v["detail"] = (v["detail"] + "; " if v["detail"] else "") + "warned"
        v["warning"] = w
    elif ctx.get("tool") == "pvt" and v["status"] in ("converted", "lost") and not w:
        v["detail"] = (v["detail"] + "; " if v["detail"] else "") + "no warning"
    return v


def audio_tracks(f):
    return [s for s in f["streams"] if s["type"] == "audio"]


def first_cue(f, stream_index):
    """Start of the first cue with text (mov_text fills gaps with 2-byte empty samples), in seconds."""
    pk = [t for t, size in f.get("sub_packets", {}).get(str(stream_index), []) if size > 2]
    return min(pk) if pk else None


def subtitle_tracks(f, hls):
    """Subtitle tracks as a player sees them: container streams, plus HLS subtitle renditions. `cue0` is
    the first cue's start relative to the first video frame."""
    v = video(f)
    v0 = (v or {}).get("start_time") or 0.0
    tracks = []
    for s in f["streams"]:
        if s["type"] == "subtitle":
            c = first_cue(f, s["index"])
            pk = f.get("sub_packets", {}).get(str(s["index"]))
            cues = sum(1 for _, size in pk if size > 2) if pk else s["packets"]
            tracks.append({"codec": s["codec"], "language": s["language"], "title": s["title"], "cues": cues,
                           "where": "stream", "cue0": None if c is None else round(c - v0, 3)})
    if hls and f.get("hls"):
        for m in f["hls"]["media"]:
            if m["type"] == "SUBTITLES":
                c = min(m["cue_starts"]) + vtt_offset(m.get("timestamp_map")) if m.get("cue_starts") else None
                tracks.append({"codec": "webvtt", "language": m["language"], "title": m["name"],
                               "cues": m.get("cues"), "where": "rendition " + (m.get("uri") or ""),
                               "cue0": None if c is None else round(c - v0, 3)})
    return tracks


def j_rotation(ctx):
    inp, out = ctx["in"], ctx["out"]
    want = displayed_size(video(inp))
    v = video(out)
    got = displayed_size(v)
    p = ctx["psnr"].get("db")
    rot = (v.get("side_data") or {}).get("rotation") if v else None
    how = f"matrix {rot:g}" if rot else "pixels"
    if got != want:
        return with_warning(ctx, verdict("lost", f"displayed {got} instead of {want}"), "rotat")
    if p is None or p < PSNR_OK_DB:
        return with_warning(ctx, verdict("lost", f"{how}, displayed {got[0]}x{got[1]} but PSNR {p} dB: wrong orientation"),
                            "rotat")
    return verdict("kept", f"{how}, PSNR {p:.1f}")


def j_color(trc_want, prim_want):
    def judge(ctx):
        v = video(ctx["out"])
        trc, prim = v.get("color_transfer"), v.get("color_primaries")
        if trc == trc_want and prim == prim_want:
            return verdict("kept", f"{trc}/{prim}")
        if trc in ("bt709", "iec61966-2-1") and warned(ctx, "tone", "sdr"):
            return with_warning(ctx, verdict("converted", f"tone-mapped to {trc}/{prim}"), "tone", "sdr", "hdr")
        return with_warning(ctx, verdict("lost", f"{trc}/{prim}"), "hdr", "tone", "transfer", "colour", "color")
    return judge


def j_depth(ctx):
    want = bit_depth(video(ctx["in"])["pix_fmt"])
    got = bit_depth(video(ctx["out"])["pix_fmt"])
    pf = video(ctx["out"])["pix_fmt"]
    if got is not None and got >= want:
        return verdict("kept", pf)
    if got is not None and warned(ctx, "bit", "depth", "tone"):
        return with_warning(ctx, verdict("converted", f"{want}->{got}-bit ({pf})"), "bit", "depth", "tone")
    return with_warning(ctx, verdict("lost", f"{want}->{got}-bit ({pf})"), "bit", "depth")


def j_chroma(ctx):
    want = chroma(video(ctx["in"])["pix_fmt"])
    pf = video(ctx["out"])["pix_fmt"]
    got = chroma(pf)
    if got == want:
        return verdict("kept", pf)
    if warned(ctx, "chroma", "4:2:", want):
        return with_warning(ctx, verdict("converted", f"{want}->{got} ({pf})"), "chroma", "4:2:")
    return with_warning(ctx, verdict("lost", f"{want}->{got} ({pf})"), "chroma", "4:2:")


def sdr_tonemapped(ctx):
    v = video(ctx["out"])
    return v.get("color_transfer") in ("bt709", None) and bool(warned(ctx, "tone", "sdr"))


def j_hdr_sd(key, level):
    """Mastering display ('mastering') or content light level ('cll'), in the first frame or the stream."""
    def judge(ctx):
        want = (ctx["in"]["frame0"] or {}).get("side_data", {}).get(key)
        if level == "frame":
            got = ((ctx["out"].get("frame0") or {}).get("side_data") or {}).get(key)
        else:
            got = (video(ctx["out"]).get("side_data") or {}).get(key)
        if got:
            ok = same_mastering(want, got) if key == "mastering" else got == want
            return verdict("kept" if ok else "lost", "same values" if ok else f"values changed: {got}")
        if level == "stream" and ctx["hls"]:
            return verdict("n/a", "MPEG-TS has no container field for it (players read the SEI)")
        if sdr_tonemapped(ctx):
            return verdict("converted", "SDR output (tone-mapped), none needed")
        return with_warning(ctx, verdict("lost", "absent"), "mastering", "light level", "maxcll", "hdr")
    return judge


def j_sar(ctx):
    want = displayed_size(video(ctx["in"]))
    v = video(ctx["out"])
    got = displayed_size(v)
    p = ctx["psnr"].get("db")
    if got != want:
        return with_warning(ctx, verdict("lost", f"displayed {got} (SAR {v.get('sar')}), want {want}"), "aspect", "sar")
    if p is None or p < PSNR_OK_DB:
        return verdict("lost", f"displayed size right but PSNR {p}")
    if ratio(v.get("sar")) == ratio(video(ctx["in"]).get("sar")):
        return verdict("kept", f"SAR {v.get('sar')}, {v['width']}x{v['height']}")
    return verdict("converted", f"square pixels {v['width']}x{v['height']} (SAR {v.get('sar')})")


def j_range(ctx):
    v = video(ctx["out"])
    fr = ctx["out"].get("frame0") or {}
    p = ctx["psnr"].get("db")
    full = v.get("color_range") == "pc" or (v.get("pix_fmt") or "").startswith("yuvj")
    desc = (f"{v.get('pix_fmt')}, range {v.get('color_range')} (frame {fr.get('color_range')}), "
            f"PSNR {'n/a' if p is None else format(p, '.1f')}")
    if p is None or p < PSNR_OK_DB:
        return with_warning(ctx, verdict("lost", desc + ": levels wrong"), "range")
    if full:
        return verdict("kept", desc)
    return with_warning(ctx, verdict("converted", desc + ": scaled to limited range"), "range")


def j_audio_count(ctx):
    want, got = len(audio_tracks(ctx["in"])), len(audio_tracks(ctx["out"]))
    if got == want:
        renditions = [m for m in (ctx["out"].get("hls") or {}).get("media", []) if m["type"] == "AUDIO"]
        if ctx["hls"] and got > 1 and not renditions:
            return verdict("kept", f"{got} tracks muxed in one TS, no EXT-X-MEDIA AUDIO renditions "
                                   "(hls.js plays the first audio PID only)")
        return verdict("kept", f"{got} tracks")
    return with_warning(ctx, verdict("lost", f"{got} of {want} tracks"), "audio")


def j_audio_lang(ctx):
    want = [s["language"] for s in audio_tracks(ctx["in"])]
    got = [s["language"] for s in audio_tracks(ctx["out"])]
    if got == want:
        return verdict("kept", ",".join(map(str, got)))
    return with_warning(ctx, verdict("lost", f"{got} instead of {want}"), "audio", "language")


def j_audio_title(ctx):
    want = [s["title"] for s in audio_tracks(ctx["in"])]
    outs = audio_tracks(ctx["out"])
    got = [s["title"] for s in outs]
    if len(got) == len(want) and all(w is None or w == g for w, g in zip(want, got)):
        return verdict("kept", str(got))
    handlers = [s["tags"].get("handler_name") for s in outs]
    if len(handlers) == len(want) and all(w is None or w == h for w, h in zip(want, handlers)):
        return verdict("kept", f"as handler_name {handlers}")
    return with_warning(ctx, verdict("lost", f"titles {got} instead of {want}"), "track title", "audio title",
                        "titles")


def j_audio_default(ctx):
    want = [bool(s["disposition"].get("default")) for s in audio_tracks(ctx["in"])]
    got = [bool(s["disposition"].get("default")) for s in audio_tracks(ctx["out"])]
    if got == want:
        return verdict("kept", f"default flags {got}")
    return with_warning(ctx, verdict("lost", f"default flags {got} instead of {want}"), "default", "disposition")


def j_subtitle(which):
    """Input subtitle track `which` (0: SRT, 1: ASS): its counterpart in the output, by order."""
    def judge(ctx):
        src = subtitle_tracks(ctx["in"], False)[which]
        tracks = subtitle_tracks(ctx["out"], ctx["hls"])
        if len(tracks) <= which:
            detail = f"{len(tracks)} subtitle track(s) in the output"
            orphans = (ctx["out"].get("hls") or {}).get("orphan_vtt_playlists") or []
            if orphans:
                detail += f"; WebVTT playlist {orphans[0]['uri']} written ({orphans[0]['cues']} cues) but not in index.m3u8"
            return with_warning(ctx, verdict("lost", detail), "subtitle", "stream")
        t = tracks[which]
        problems = []
        if t["language"] != src["language"]:
            problems.append(f"language {t['language']} instead of {src['language']}")
        if not t["cues"] or int(t["cues"]) < 2:
            problems.append(f"{t['cues']} cues")
        if t["cue0"] is None or src["cue0"] is None or abs(t["cue0"] - src["cue0"]) > 0.1:
            problems.append(f"first cue at {t['cue0']} s after the first frame instead of {src['cue0']} s")
        if problems:
            return with_warning(ctx, verdict("lost", f"{t['codec']} track: " + ", ".join(problems)), "subtitle")
        timing = f"first cue +{t['cue0']:.3f} s"
        if t["codec"] == src["codec"]:
            return verdict("kept", f"{t['codec']} {t['language']}, {t['cues']} cues, {timing}")
        v = verdict("converted", f"{src['codec']}->{t['codec']} {t['language']}, {t['cues']} cues, {timing}")
        if src["codec"] in ("ass", "ssa"):  # styling is lost on the way: pvt should say so
            return with_warning(ctx, v, "styling", "ass")
        return v
    return judge


def j_chapters(ctx):
    want, got = len(ctx["in"]["chapters"]), len(ctx["out"]["chapters"])
    titles = [c["title"] for c in ctx["out"]["chapters"]]
    if got == want:
        return verdict("kept", f"{got} chapters {titles}")
    return with_warning(ctx, verdict("lost", f"{got} of {want} chapters"), "chapter")


def j_title(ctx):
    want = ctx["in"]["format_tags"].get("title")
    got = ctx["out"]["format_tags"].get("title")
    if got == want:
        return verdict("kept", repr(got))
    for sd in (ctx["out"].get("hls") or {}).get("session_data", []):
        if sd.get("VALUE") == want:
            return verdict("kept", "EXT-X-SESSION-DATA " + sd.get("DATA-ID", ""))
    return with_warning(ctx, verdict("lost", f"title {got!r}"), "title")


def j_attachment(ctx):
    src = [s for s in ctx["in"]["streams"] if s["type"] == "attachment"][0]
    got = [s for s in ctx["out"]["streams"] if s["type"] == "attachment"]
    if not got:
        return with_warning(ctx, verdict("lost", "no attachment"), "attach", "font")
    a = got[0]
    if a["filename"] == src["filename"] and a["mimetype"] == src["mimetype"] and a.get("size") == src.get("size"):
        return verdict("kept", f"{a['filename']} {a['mimetype']} {a.get('size')} bytes")
    return verdict("lost", f"changed: {a}")


def j_rich_audio(ctx):
    return combine(ctx, [j_audio_count(ctx), j_audio_lang(ctx), j_audio_title(ctx)])


def j_rich_subs(ctx):
    return combine(ctx, [j_subtitle(0)(ctx), j_subtitle(1)(ctx)])


def combine(ctx, parts):
    order = ["lost", "converted", "kept", "n/a"]
    worst = min(parts, key=lambda v: order.index(v["status"]))
    strip = lambda d: re.sub(r"; (warned|no warning)", "", d or "")
    chosen = [p for p in parts if p["status"] == worst["status"]]
    out = verdict(worst["status"], "; ".join(strip(p["detail"]) for p in chosen))
    warnings = [p["warning"] for p in chosen if p.get("warning")]
    if warnings:
        out["warning"] = warnings[0]
        out["detail"] += "; warned"
    elif any("no warning" in (p["detail"] or "") for p in chosen):
        out["detail"] += "; no warning"
    return out


# (row label, input, judge)
PROPERTIES = [
    ("rotation 90 (display matrix)", "rot90", j_rotation),
    ("rotation 180 (display matrix)", "rot180", j_rotation),
    ("rotation 270 (display matrix)", "rot270", j_rotation),
    ("HDR10: PQ transfer + BT.2020 primaries", "hdr10", j_color("smpte2084", "bt2020")),
    ("HDR10: 10-bit", "hdr10", j_depth),
    ("HDR10: mastering display, first frame (SEI)", "hdr10", j_hdr_sd("mastering", "frame")),
    ("HDR10: mastering display, stream/container", "hdr10", j_hdr_sd("mastering", "stream")),
    ("HDR10: MaxCLL/MaxFALL, first frame (SEI)", "hdr10", j_hdr_sd("cll", "frame")),
    ("HDR10: MaxCLL/MaxFALL, stream/container", "hdr10", j_hdr_sd("cll", "stream")),
    ("HLG: arib-std-b67 transfer + BT.2020", "hlg", j_color("arib-std-b67", "bt2020")),
    ("HLG: 10-bit", "hlg", j_depth),
    ("4:2:2 10-bit: chroma 4:2:2", "yuv422p10", j_chroma),
    ("4:2:2 10-bit: 10-bit", "yuv422p10", j_depth),
    ("anamorphic SAR 2:1 (displayed 640x180)", "sar2", j_sar),
    ("full range (yuvj420p)", "fullrange", j_range),
    ("2 audio tracks: count", "audio2", j_audio_count),
    ("2 audio tracks: languages eng,fra", "audio2", j_audio_lang),
    ("2 audio tracks: title of track 2", "audio2", j_audio_title),
    ("2 audio tracks: default flag on track 1 only", "audio2", j_audio_default),
    ("SRT subtitle (eng)", "subs", j_subtitle(0)),
    ("ASS subtitle (fra)", "subs", j_subtitle(1)),
    ("chapters (2)", "chapters", j_chapters),
    ("global title", "chapters", j_title),
    ("font attachment (Matroska)", "attachment", j_attachment),
    ("bitmap subtitle (dvd_subtitle)", "dvdsub", j_subtitle(0)),
    ("rich: audio eng + fra(title)", "rich", j_rich_audio),
    ("rich: SRT + ASS subtitles", "rich", j_rich_subs),
    ("rich: chapters (2)", "rich", j_chapters),
    ("rich: global title", "rich", j_title),
]

# Extra pvt runs that take the path which keeps HDR and 10-bit (x265), judged by the same rows.
EXTRA_PVT = {"hdr10": ["--codec", "hevc"], "hlg": ["--codec", "hevc"], "yuv422p10": ["--codec", "hevc"]}


def verify_input(name, f):
    """Check that the generated input carries its property; return a list of problems."""
    v = video(f)
    probs = []
    if name.startswith("rot"):
        rot = (v.get("side_data") or {}).get("rotation")
        if rot is None:
            probs.append("no display matrix")
    elif name == "hdr10":
        sd = (f["frame0"] or {}).get("side_data", {})
        if v["color_transfer"] != "smpte2084" or "mastering" not in sd or "cll" not in sd:
            probs.append(f"HDR10 incomplete: {v['color_transfer']}, frame side data {list(sd)}")
    elif name == "hlg":
        if v["color_transfer"] != "arib-std-b67":
            probs.append(f"transfer {v['color_transfer']}")
    elif name == "yuv422p10":
        if v["pix_fmt"] != "yuv422p10le":
            probs.append(v["pix_fmt"])
    elif name == "sar2":
        if v["sar"] != "2:1":
            probs.append(f"SAR {v['sar']}")
    elif name == "fullrange":
        if v["color_range"] != "pc":
            probs.append(f"range {v['color_range']}")
    elif name in ("audio2", "rich"):
        a = audio_tracks(f)
        if [s["language"] for s in a] != ["eng", "fra"] or a[1]["title"] != "Commentaire":
            probs.append(f"audio {[(s['language'], s['title']) for s in a]}")
    if name in ("subs", "rich"):
        s = [(x["codec"], x["language"], x["packets"]) for x in f["streams"] if x["type"] == "subtitle"]
        if s != [("subrip", "eng", "2"), ("ass", "fra", "2")]:
            probs.append(f"subtitles {s}")
    if name in ("chapters", "rich"):
        if len(f["chapters"]) != 2 or f["format_tags"].get("title") != "Fidelity Test Title":
            probs.append(f"chapters {len(f['chapters'])}, title {f['format_tags'].get('title')}")
    if name == "attachment":
        if not any(s["type"] == "attachment" for s in f["streams"]):
            probs.append("no attachment")
    if name == "dvdsub":
        s = [(x["codec"], x["packets"]) for x in f["streams"] if x["type"] == "subtitle"]
        if s != [("dvd_subtitle", "2")]:
            probs.append(f"subtitles {s}")
    return probs


# ---------------------------------------------------------------------------------------------
# Output


COLUMNS = [("ffmpeg", "mp4", 0), ("ffmpeg", "mp4", 1), ("ffmpeg", "mkv", 0), ("ffmpeg", "mkv", 1),
           ("ffmpeg", "hls", 0), ("ffmpeg", "hls", 1), ("pvt", "mp4", 0), ("pvt", "mkv", 0), ("pvt", "hls", 0)]


def col_name(tool, cont, retry):
    return f"{tool} {cont}" + (" (next try)" if retry else "")


def cell(v):
    if v is None:
        return "—"
    s = v["status"]
    if s == "fails":
        return "**fails**"
    if s == "lost":
        s = "**lost**"
    d = v.get("detail") or ""
    return f"{s} ({d})" if d else s


def short_cell(v):
    """Status plus the few words that say how (matrix/pixels, codec change, warned)."""
    if v is None:
        return "—"
    s = v["status"]
    if s == "fails":
        return "**fails**"
    d = v.get("detail") or ""
    notes = []
    for key in ("matrix", "pixels", "tone-mapped", "square pixels", "scaled to limited", "->", "muxed in one TS",
                "warned", "no warning", "not in index.m3u8", "wrong orientation", "EXT-X-SESSION-DATA"):
        if key in d:
            if key == "->":
                convs = list(dict.fromkeys(m.rstrip(",;") for m in re.findall(r"(\S+->\S+)", d)))
                notes.append(", ".join(convs))
            elif key == "matrix":
                notes.append("matrix")
            else:
                notes.append(key)
    s = "**lost**" if s == "lost" else s
    return s + (f" ({', '.join(dict.fromkeys(notes))})" if notes else "")


def markdown(report):
    used = [c for c in COLUMNS if any(r["cells"].get(col_name(*c)) for r in report["rows"])]
    out = []
    out.append(f"# Fidelity: plain ffmpeg against pvt ({report['date']})")
    out.append("")
    out.append(f"ffmpeg: `ffmpeg -i IN -map 0 -c:v libx264 -preset ultrafast -c:a copy -c:s copy OUT` "
               f"(HLS: `-f hls -hls_playlist_type vod DIR/index.m3u8`); "
               f"pvt: `pvt transcode IN -o OUT --preset ultrafast -y --progress none` (HLS: OUT is a directory). "
               f"\"next try\": the ffmpeg command after the change a user would make once the first one fails "
               f"(— where the first one worked). Inputs: {SIZE}, {SECONDS} s, testsrc2 + sine, generated by "
               f"`benchmarks/fidelity_compare.py`. Host: {report['host']['cores']} cores, {report['host']['ffmpeg']}; "
               f"pvt sha256 {report['host']['pvt_sha256'][:12]}.")
    out.append("")
    out.append("| property | " + " | ".join(col_name(*c) for c in used) + " |")
    out.append("|---|" + "---|" * len(used))
    for r in report["rows"]:
        out.append(f"| {r['property']} | " + " | ".join(short_cell(r["cells"].get(col_name(*c))) for c in used) + " |")
    out.append("")
    out.append("kept: the property is in the output as it was; converted: changed on purpose (rotation into pixels "
               "counts as kept when the displayed picture is right, PSNR > 30 dB against the autorotated input); "
               "lost: gone or wrong; fails: the command exits non-zero. \"warned\"/\"no warning\": whether pvt "
               "said so on stderr.")
    if report.get("extra_rows"):
        out.append("")
        out.append("## pvt with `--codec hevc` (the path that keeps 10-bit and HDR)")
        out.append("")
        out.append("| property | pvt mp4 hevc | pvt mkv hevc | pvt hls hevc |")
        out.append("|---|---|---|---|")
        for r in report["extra_rows"]:
            out.append(f"| {r['property']} | " + " | ".join(short_cell(r["cells"].get(f"pvt {c}")) for c in CONTAINERS) + " |")
    out.append("")
    out.append("## Failures")
    out.append("")
    any_fail = False
    for inp, runs in report["runs"].items():
        for key, rr in runs.items():
            for a in (rr if isinstance(rr, list) else [rr]):
                if a["rc"] != 0:
                    any_fail = True
                    extra = " ".join(a.get("extra_args") or [])
                    out.append(f"- {inp}, {key}{' with `' + extra + '`' if extra else ''}: {a['reason']}")
    if not any_fail:
        out.append("none")
    out.append("")
    out.append("## Details per cell")
    out.append("")
    for r in report["rows"] + report.get("extra_rows", []):
        out.append(f"- **{r['property']}** (`{r['input']}`): " + "; ".join(
            f"{k}: {cell(v)}" for k, v in r["cells"].items() if v))
    out.append("")
    if report["input_notes"]:
        out.append("## Inputs")
        out.append("")
        for k, v in report["input_notes"].items():
            out.append(f"- {k}: {v}")
        out.append("")
    out.append(f"Run time: {report['seconds']:.0f} s.")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def judge_one(judge, ctx):
    try:
        return judge(ctx)
    except Exception as e:  # a judge that trips over an odd output says so instead of stopping the run
        return verdict("lost", f"could not judge: {type(e).__name__}: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pvt", default=str(REPO_ROOT / "build" / "cli" / "pvt"))
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--workdir", help="keep inputs and outputs here (default: a temp dir, removed at the end)")
    ap.add_argument("--only", help="comma-separated inputs: " + ",".join(INPUT_NAMES))
    ap.add_argument("--no-extra", action="store_true", help="skip the pvt --codec hevc runs")
    ap.add_argument("--json-out", default=str(DEFAULT_JSON))
    ap.add_argument("--md-out", default=str(DEFAULT_MD))
    a = ap.parse_args()

    ffmpeg = shutil.which(a.ffmpeg)
    if not ffmpeg:
        sys.exit("fidelity_compare: error: ffmpeg not found")
    sib = Path(ffmpeg).with_name("ffprobe")
    ffprobe = str(sib) if os.access(sib, os.X_OK) else shutil.which("ffprobe")
    if not ffprobe:
        sys.exit("fidelity_compare: error: ffprobe not found")
    if not os.access(a.pvt, os.X_OK):
        sys.exit(f"fidelity_compare: error: no pvt binary at {a.pvt}")

    names = a.only.split(",") if a.only else INPUT_NAMES
    started = time.monotonic()
    tmp = None
    if a.workdir:
        root = Path(a.workdir).resolve()
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="pvt-fidelity-")
        root = Path(tmp.name)
    # The binary may be relinked while this runs: use a private copy, the same one for every run.
    (root / "bin").mkdir(exist_ok=True)
    pvt = root / "bin" / "pvt"
    shutil.copy2(a.pvt, pvt)
    tools = Tools(ffmpeg, ffprobe, str(pvt))

    host = {"cores": os.cpu_count(), "platform": platform.platform(),
            "ffmpeg": " ".join(run([ffmpeg, "-version"])["stdout"].split()[:3]),
            "pvt": run([pvt, "--version"])["stdout"].strip(), "pvt_sha256": sha256(pvt), "pvt_source": a.pvt}

    inputs = Inputs(tools, root)
    in_facts, in_paths, runs, out_facts = {}, {}, {}, {}
    for name in names:
        log(f"[{name}] making the input")
        path = inputs.build(name)
        in_paths[name] = path
        f = facts(tools, path)
        probs = verify_input(name, f)
        if probs:
            raise SystemExit(f"fidelity_compare: input {name} does not carry its property: {probs}")
        in_facts[name] = f
        outdir = root / "out" / name
        outdir.mkdir(parents=True, exist_ok=True)
        runs[name], out_facts[name] = {}, {}
        jobs = [("ffmpeg", c, None) for c in CONTAINERS] + [("pvt", c, ()) for c in CONTAINERS]
        if not a.no_extra and name in EXTRA_PVT:
            jobs += [("pvt", c, tuple(EXTRA_PVT[name])) for c in CONTAINERS]
        for tool, cont, extra in jobs:
            if tool == "ffmpeg":
                attempts = run_ffmpeg(tools, path, f, outdir, cont)
                runs[name][f"ffmpeg {cont}"] = attempts
                for i, at in enumerate(attempts[:2]):
                    key = col_name("ffmpeg", cont, i)
                    if at["rc"] == 0:
                        out_facts[name][key] = facts(tools, at["output"], cont == "hls")
                    log(f"[{name}] {key}: rc {at['rc']} {at['reason'] or ''} {' '.join(at['extra_args'])}")
                # the "next try" column shows the last attempt (which may have needed more than one change)
                if len(attempts) > 2:
                    at = attempts[-1]
                    key = col_name("ffmpeg", cont, 1)
                    out_facts[name].pop(key, None)
                    if at["rc"] == 0:
                        out_facts[name][key] = facts(tools, at["output"], cont == "hls")
            else:
                key = f"pvt {cont}" + (" " + " ".join(extra) if extra else "")
                res = run_pvt(tools, path, outdir, cont, extra)
                runs[name][key] = res
                if res["rc"] == 0:
                    out_facts[name][key] = facts(tools, res["output"], cont == "hls")
                log(f"[{name}] {key}: rc {res['rc']} ({res['seconds']} s) {res['reason'] or ''}")
        for key, of in out_facts[name].items():
            of["psnr"] = psnr_first_frame(tools, path, of["path"])

    def cell_for(name, key, judge):
        tool, cont = key.split()[0], key.split()[1]
        if key.startswith("ffmpeg"):
            attempts = runs[name][f"ffmpeg {cont}"]
            retry = "next try" in key
            if retry:
                if attempts[0]["rc"] == 0:
                    return None
                at = attempts[-1]
            else:
                at = attempts[0]
            if at["rc"] != 0:
                return {"status": "fails", "detail": at["reason"], "extra_args": at["extra_args"]}
            warnings = []
        else:
            at = runs[name][key]
            if at["rc"] != 0:
                return {"status": "fails", "detail": at["reason"]}
            warnings = at["warnings"]
        of = out_facts[name][key]
        ctx = {"in": in_facts[name], "out": of, "tool": tool, "hls": cont == "hls", "warnings": warnings,
               "psnr": of["psnr"]}
        v = judge_one(judge, ctx)
        if tool == "ffmpeg" and "next try" in key:
            v["extra_args"] = at["extra_args"]
        return v

    rows, extra_rows = [], []
    for label, name, judge in PROPERTIES:
        if name not in runs:
            continue
        cells = {}
        for tool, cont, retry in COLUMNS:
            key = col_name(tool, cont, retry)
            cells[key] = cell_for(name, key, judge)
        rows.append({"property": label, "input": name, "cells": cells})
        if name in EXTRA_PVT and not a.no_extra:
            ex = " ".join(EXTRA_PVT[name])
            extra_rows.append({"property": label + f" [{ex}]", "input": name,
                               "cells": {f"pvt {c}": cell_for(name, f"pvt {c} {ex}", judge) for c in CONTAINERS}})

    report = {"date": STAMP, "generated": datetime.datetime.now().isoformat(timespec="seconds"), "host": host,
              "seconds": time.monotonic() - started, "psnr_threshold_db": PSNR_OK_DB,
              "input_commands": inputs.commands, "input_notes": inputs.notes,
              "inputs": {n: {"path": str(in_paths[n]), "facts": in_facts[n]} for n in in_facts},
              "runs": runs, "outputs": out_facts, "rows": rows, "extra_rows": extra_rows}
    md = markdown(report)
    print(md)
    Path(a.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json_out).write_text(json.dumps(report, indent=1, default=str) + "\n")
    Path(a.md_out).write_text(md)
    log(f"wrote {a.json_out} and {a.md_out} ({report['seconds']:.0f} s)")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
