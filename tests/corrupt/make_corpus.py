#!/usr/bin/env python3
"""Builds the corrupt-input corpus: damaged media files derived from the clips in ../shared/media.

    python3 tests/corrupt/make_corpus.py OUT_DIR [--media DIR] [--seed N] [--seconds S]

Each clip is first cut to a few seconds with the ffmpeg CLI (stream copy, bit-exact muxing) and remuxed
into a few more layouts (MP4 with the index first, fragmented MP4, MPEG-TS, raw H.264 and MPEG-2
elementary streams); every damaged file is derived from those by Python alone, with random choices drawn
from a generator seeded per file, so the same seed and the same ffmpeg give the same bytes. OUT_DIR gets
sources-Ns/ (the intact cuts), files/ (the corpus) and corpus.tsv (file, kind, source, what was done,
whether it is slow to transcode), which tests/corrupt/run_corpus.py reads. Damage kinds: see KINDS.

Without the shared clips (PVT_SHARED_MEDIA, else ../shared/media from the repository root) it prints why
and exits 0 without writing a corpus; run_corpus.py then skips the same way.
"""

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

KINDS = [
    "intact",  # the cut clips themselves: must transcode cleanly (proves the run works at all)
    "truncate",  # cut at many offsets, from a few bytes to just before the end
    "bitflip-header",  # bits flipped where the container's headers and index live
    "bitflip-payload",  # bits flipped in the compressed data
    "zero-range",  # a range of bytes overwritten with zeros
    "mp4-boxes",  # MP4 boxes reordered, duplicated, dropped, resized (top level and inside moov)
    "mp4-tables",  # MP4 time scales, sample tables and edit lists with absurd values (timestamps, sizes)
    "wrong-ext",  # valid or invalid data under the wrong extension, and things that are no video at all
    "empty",  # zero-length and near-empty files
    "huge-dims",  # absurd (or zero) dimensions: tkhd/avc1, H.264 SPS, MPEG-2 sequence header, Matroska
    "splice",  # pieces of the file repeated, swapped, or another file's data appended; files joined
    "timestamps",  # timestamps that wrap or start negative
]


# Sources whose timestamps are the damage: they join the corpus as they are, and nothing else derives
# from them.
# Sources only other files are made from.
HELPER_SOURCES = {"city_small.mpg"}

TIMESTAMP_SOURCES = {
    "bbb_wrap.ts": "MPEG-TS whose 33-bit timestamps wrap 0.7 s into the clip",
    "bbb_negative.ts": "MPEG-TS starting 100 s before the 33-bit wrap",
    "bbb_negative.mp4": "MP4 whose timestamps start at -10 s",
}


def log(msg):
    print(f"make_corpus: {msg}", file=sys.stderr)


def run_ffmpeg(args):
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y"] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["failed"])[-1]
        raise RuntimeError(f"ffmpeg {' '.join(args[-1:])}: {last}")


# ---- sources ----------------------------------------------------------------------------------------


def make_sources(media, out, seconds):
    """The intact clips every damaged file derives from: name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    bitexact = ["-fflags", "+bitexact", "-map_metadata", "-1"]
    t = ["-t", str(seconds)]
    jobs = [
        # (name, input, extra args); the name's extension picks the muxer
        ("bbb.mp4", "big_buck_bunny.mp4", ["-map", "0", "-c", "copy"]),
        ("bbb_faststart.mp4", "big_buck_bunny.mp4", ["-map", "0", "-c", "copy", "-movflags", "+faststart"]),
        ("bbb_frag.mp4", "big_buck_bunny.mp4",
         ["-map", "0", "-c", "copy", "-movflags", "frag_keyframe+empty_moov+default_base_moof"]),
        ("bbb.ts", "big_buck_bunny.mp4", ["-map", "0", "-c", "copy"]),
        ("bbb.h264", "big_buck_bunny.mp4", ["-map", "0:v", "-c", "copy", "-bsf:v", "h264_mp4toannexb"]),
        ("car.mp4", "car-detection.mp4", ["-map", "0", "-c", "copy"]),
        ("car.ts", "car-detection.mp4", ["-map", "0", "-c", "copy"]),
        ("car_vfr.mp4", "car_vfr.mp4", ["-map", "0", "-c", "copy", "-movflags", "+faststart"]),
        ("hevc10.mkv", "bbb_hevc10.mkv", ["-map", "0", "-c", "copy"]),
        ("book.mkv", "book.mkv", ["-map", "0", "-c", "copy"]),
        ("city.mpg", "cityCC0.mpg", ["-map", "0", "-c", "copy"]),
        # Timestamps at the edges: MPEG-TS's 33-bit clock wrapping 0.7 s into the clip, or starting just
        # below the wrap (a negative offset), and MP4 starting at -10 s.
        ("bbb_wrap.ts", "big_buck_bunny.mp4", ["-map", "0", "-c", "copy", "-output_ts_offset", "95443"]),
        ("bbb_negative.ts", "big_buck_bunny.mp4",
         ["-map", "0", "-c", "copy", "-avoid_negative_ts", "disabled", "-output_ts_offset", "-100"]),
        ("bbb_negative.mp4", "big_buck_bunny.mp4",
         ["-map", "0", "-c", "copy", "-avoid_negative_ts", "disabled", "-output_ts_offset", "-10"]),
        # The next second of the city clip at 720x288, its timestamps following city.mpg's: joined to it,
        # the picture shrinks mid-stream (same width, so the same line stride, fewer lines).
        ("city_small.mpg", "cityCC0.mpg",
         ["-ss", str(seconds), "-t", "1", "-map", "0:v", "-vf", "scale=720:288", "-c:v", "mpeg2video", "-q:v",
          "5", "-threads", "1", "-flags:v", "+bitexact", "-output_ts_offset", str(seconds + 0.5)]),
        ("city.m2v", "cityCC0.mpg", ["-map", "0:v", "-c", "copy", "-f", "mpeg2video"]),
    ]
    sources = {}
    for name, src, extra in jobs:
        path = out / name
        if not path.exists():
            tmp = out / ("tmp-" + name)
            fmt = []
            if name.endswith(".h264"):
                fmt = ["-f", "h264"]
            run_ffmpeg(["-i", str(media / src)] + t + extra + bitexact + fmt + [str(tmp)])
            tmp.rename(path)
        sources[name] = path
    return sources


# ---- helpers ----------------------------------------------------------------------------------------


def flip_bits(data, rng, lo, hi, count):
    b = bytearray(data)
    hi = max(lo + 1, min(hi, len(b)))
    for _ in range(count):
        i = rng.randrange(lo, hi)
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def mp4_boxes(data, start=0, end=None):
    """Top-level boxes of data[start:end] as (offset, size, type); stops at the first malformed header."""
    end = len(data) if end is None else end
    boxes = []
    pos = start
    while pos + 8 <= end:
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1 and pos + 16 <= end:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        elif size == 0:
            size = end - pos
        if size < 8 or pos + size > end:
            break
        boxes.append((pos, size, typ.decode("latin-1")))
        pos += size
    return boxes


def find_box(data, path, start=0, end=None):
    """Offset and size of the first box along path (e.g. ["moov", "trak"]), or None."""
    end = len(data) if end is None else end
    for i, name in enumerate(path):
        for off, size, typ in mp4_boxes(data, start, end):
            if typ == name:
                break
        else:
            return None
        if i == len(path) - 1:
            return off, size
        start, end = off + 8, off + size
    return None


def video_trak(data):
    """(offset, size) of the first trak whose handler is 'vide'."""
    moov = find_box(data, ["moov"])
    if not moov:
        return None
    for off, size, typ in mp4_boxes(data, moov[0] + 8, moov[0] + moov[1]):
        if typ == "trak" and b"vide" in data[off:off + size][:2048]:
            return off, size
    return None


# ---- H.264 SPS and MPEG-2 sequence header --------------------------------------------------------------


class BitReader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def bit(self):
        v = (self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return v

    def bits(self, n):
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v

    def ue(self):
        zeros = 0
        while self.bit() == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self):
        v = self.ue()
        return (v + 1) // 2 if v & 1 else -(v // 2)


class BitWriter:
    def __init__(self):
        self.bitlist = []

    def bits(self, v, n):
        self.bitlist += [(v >> (n - 1 - i)) & 1 for i in range(n)]

    def ue(self, v):
        v += 1
        n = v.bit_length()
        self.bits(0, n - 1)
        self.bits(v, n)

    def data(self):
        b = self.bitlist + [0] * (-len(self.bitlist) % 8)
        return bytes(int("".join(map(str, b[i:i + 8])), 2) for i in range(0, len(b), 8))


def unescape(rbsp):
    out, zeros = bytearray(), 0
    for x in rbsp:
        if zeros >= 2 and x == 3:
            zeros = 0
            continue
        out.append(x)
        zeros = zeros + 1 if x == 0 else 0
    return bytes(out)


def escape(rbsp):
    out, zeros = bytearray(), 0
    for x in rbsp:
        if zeros >= 2 and x <= 3:
            out.append(3)
            zeros = 0
        out.append(x)
        zeros = zeros + 1 if x == 0 else 0
    return bytes(out)


def rewrite_sps(nal, width_mbs, height_map_units):
    """An H.264 SPS NAL (header byte included) with pic_width_in_mbs_minus1 / pic_height_in_map_units_minus1
    replaced; None when the SPS uses scaling matrices (not parsed here)."""
    rbsp = unescape(nal[1:])
    r = BitReader(rbsp)
    w = BitWriter()

    def copy_bits(n):
        w.bits(r.bits(n), n)

    def copy_ue():
        v = r.ue()
        w.ue(v)
        return v

    profile = r.bits(8)
    w.bits(profile, 8)
    copy_bits(16)  # constraint flags, level
    copy_ue()  # seq_parameter_set_id
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        if copy_ue() == 3:  # chroma_format_idc
            copy_bits(1)
        copy_ue()
        copy_ue()  # bit depths
        copy_bits(1)  # qpprime_y_zero_transform_bypass_flag
        if r.bits(1):  # seq_scaling_matrix_present_flag
            return None
        w.bits(0, 1)
    copy_ue()  # log2_max_frame_num_minus4
    poc_type = copy_ue()
    if poc_type == 0:
        copy_ue()
    elif poc_type == 1:
        copy_bits(1)
        for _ in range(2):
            v = r.se()
            w.ue(2 * v - 1 if v > 0 else -2 * v)
        n = copy_ue()
        for _ in range(n):
            v = r.se()
            w.ue(2 * v - 1 if v > 0 else -2 * v)
    copy_ue()  # max_num_ref_frames
    copy_bits(1)  # gaps_in_frame_num_allowed
    r.ue()
    r.ue()
    w.ue(width_mbs)
    w.ue(height_map_units)
    while r.pos < len(rbsp) * 8:  # the rest, rbsp trailing bits included
        w.bits(r.bit(), 1)
    return nal[:1] + escape(w.data())


def patch_annexb_sps(data, width_mbs, height_map_units):
    """Every SPS in an Annex B stream rewritten (lengths change, which Annex B allows)."""
    out, pos = bytearray(), 0
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    done = 0
    for k, s in enumerate(starts):
        e = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        while e > s and data[e - 1] == 0:  # a four-byte start code's leading zero
            e -= 1
        if data[s] & 0x1F == 7:
            new = rewrite_sps(data[s:e], width_mbs, height_map_units)
            if new is not None:
                out += data[pos:s] + new
                pos = e
                done += 1
    out += data[pos:]
    return bytes(out) if done else None


def patch_mpeg2_sequence(data, width, height, ext_bits=None):
    """Every MPEG-2 sequence header's 12-bit sizes set (and, if ext_bits is given, the 2-bit size extensions
    in the sequence extension), in place."""
    b = bytearray(data)
    i = b.find(b"\x00\x00\x01\xb3")
    found = 0
    while i >= 0 and i + 7 <= len(b):
        b[i + 4] = (width >> 4) & 0xFF
        b[i + 5] = ((width & 0xF) << 4) | ((height >> 8) & 0xF)
        b[i + 6] = height & 0xFF
        found += 1
        i = b.find(b"\x00\x00\x01\xb3", i + 4)
    if ext_bits is not None:
        i = b.find(b"\x00\x00\x01\xb5")
        while i >= 0 and i + 7 <= len(b):
            if b[i + 4] >> 4 == 1:  # sequence extension: id(4) profile(8) progressive(1) chroma(2) h(2) v(2)
                v = int.from_bytes(b[i + 4:i + 7], "big")
                v = (v & ~(0xF << 7)) | (ext_bits << 7)
                b[i + 4:i + 7] = v.to_bytes(3, "big")
            i = b.find(b"\x00\x00\x01\xb5", i + 4)
    return bytes(b) if found else None


def patch_mp4_dims(data, width, height, boxes=("tkhd", "avc1")):
    """tkhd's 16.16 width/height and the visual sample entry's 16-bit ones (avc1/hvc1/mp4v) set in place."""
    b = bytearray(data)
    trak = video_trak(data)
    if not trak:
        return None
    t0, tsize = trak
    done = 0
    if "tkhd" in boxes:
        tk = find_box(data, ["tkhd"], t0 + 8, t0 + tsize)
        if tk:
            off, size = tk
            # width and height are the last 8 bytes of tkhd (16.16 fixed point)
            b[off + size - 8:off + size] = struct.pack(">II", (width & 0xFFFF) << 16, (height & 0xFFFF) << 16)
            done += 1
    if "avc1" in boxes:
        stsd = find_box(data, ["mdia", "minf", "stbl", "stsd"], t0 + 8, t0 + tsize)
        if stsd:
            entry = stsd[0] + 16  # box header (8) + version/flags (4) + entry count (4)
            # sample entry: size(4) type(4) reserved(6) dref(2) predefined/reserved(16) width(2) height(2)
            b[entry + 32:entry + 36] = struct.pack(">HH", width & 0xFFFF, height & 0xFFFF)
            done += 1
    return bytes(b) if done else None


def patch_mkv_dims(data, width, height):
    """Matroska PixelWidth (0xB0) / PixelHeight (0xBA) of the first video track, in place, keeping each
    element's size (the value is clipped to what its bytes hold)."""
    b = bytearray(data)
    tracks = b.find(b"\x16\x54\xae\x6b")
    video = b.find(b"\xe0", tracks) if tracks >= 0 else -1
    if video < 0:
        return None
    done = 0
    for eid, value in ((0xB0, width), (0xBA, height)):
        i = video
        while i < min(len(b) - 2, video + 64):
            if b[i] == eid and 0x81 <= b[i + 1] <= 0x84:
                n = b[i + 1] & 0x0F
                v = min(value, (1 << (8 * n)) - 1)
                b[i + 2:i + 2 + n] = v.to_bytes(n, "big")
                done += 1
                break
            i += 1
    return bytes(b) if done else None


# ---- the corpus ---------------------------------------------------------------------------------------


class Corpus:
    def __init__(self, out, seed):
        self.dir = out / "files"
        self.seed = seed
        self.rows = []
        self.names = set()

    def rng(self, *key):
        return random.Random(":".join(map(str, (self.seed,) + key)))

    def add(self, kind, source, tag, data, ext, what, slow=False):
        if data is None:
            return
        name = f"{source.replace('.', '_')}-{kind}-{tag}{ext}"
        assert name not in self.names, name
        self.names.add(name)
        (self.dir / name).write_bytes(data)
        self.rows.append((name, kind, source, what, "yes" if slow else ""))


def build(sources, out, seed):
    files = out / "files"
    if files.exists():
        shutil.rmtree(files)
    files.mkdir(parents=True)
    c = Corpus(out, seed)
    data = {name: p.read_bytes() for name, p in sources.items()}

    for name, d in data.items():
        ext = Path(name).suffix
        n = len(d)
        if name in HELPER_SOURCES:
            continue
        if name in TIMESTAMP_SOURCES:
            c.add("timestamps", name, "0", d, ext, TIMESTAMP_SOURCES[name])
            continue
        c.add("intact", name, "0", d, ext, "the cut clip, undamaged")

        # Truncations: tiny prefixes (magic numbers, first header), then fractions up to just before the end.
        main = name in ("bbb.mp4", "city.mpg", "hevc10.mkv")
        cuts = [1, 4, 8, 12, 32, 188, 1024] if main else [8, 188]
        fractions = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] if main else [0.05, 0.25, 0.5, 0.9, 0.99]
        cuts += [int(n * f) for f in fractions] + [n - 1]
        for k in sorted(set(cuts)):
            if 0 < k < n:
                c.add("truncate", name, f"{k:08d}", d[:k], ext, f"first {k} of {n} bytes")

        # Bit flips where the headers live: MP4's moov (wherever it is), else the first 4 KiB.
        moov = find_box(d, ["moov"]) if ext == ".mp4" else None
        lo, hi = (moov[0], moov[0] + moov[1]) if moov else (0, min(n, 4096))
        for i, count in enumerate([1, 4, 16, 64]):
            r = c.rng(name, "bitflip-header", i)
            c.add("bitflip-header", name, f"{i}", flip_bits(d, r, lo, hi, count), ext,
                  f"{count} bits flipped in bytes {lo}-{hi}")
        # And in the payload (everything else; for MP4 the mdat).
        mdat = find_box(d, ["mdat"]) if ext == ".mp4" else None
        plo, phi = (mdat[0] + 8, mdat[0] + mdat[1]) if mdat else (min(n - 1, 4096), n)
        for i, count in enumerate([1, 8, 64, 512]):
            r = c.rng(name, "bitflip-payload", i)
            c.add("bitflip-payload", name, f"{i}", flip_bits(d, r, plo, phi, count), ext,
                  f"{count} bits flipped in bytes {plo}-{phi}")

        # Zeroed ranges: small and large, at the start, in the headers and anywhere.
        for i, (length, where) in enumerate([(16, 0), (64, None), (512, None), (4096, None), (n // 10, None)]):
            r = c.rng(name, "zero-range", i)
            off = where if where is not None else r.randrange(0, max(1, n - length))
            if i == 1 and moov:
                off = moov[0] + r.randrange(0, max(1, moov[1] - length))
            z = d[:off] + bytes(min(length, n - off)) + d[off + length:]
            c.add("zero-range", name, f"{i}", z, ext, f"{length} bytes zeroed at {off}")

        # Splices: a chunk repeated, two chunks swapped, another clip's bytes appended.
        r = c.rng(name, "splice")
        a, b2 = sorted(r.sample(range(n // 10, n - n // 10), 2))
        size = min(n // 20, b2 - a)
        c.add("splice", name, "repeat", d[:b2] + d[a:a + size] + d[b2:], ext,
              f"{size} bytes from {a} repeated at {b2}")
        swapped = d[:a] + d[b2:b2 + size] + d[a + size:b2] + d[a:a + size] + d[b2 + size:]
        c.add("splice", name, "swap", swapped, ext, f"{size} bytes at {a} and {b2} swapped")
        plain = sorted(set(data) - set(TIMESTAMP_SOURCES) - HELPER_SOURCES)
        other = plain[(plain.index(name) + 1) % len(plain)]
        c.add("splice", name, "append", d + data[other][:n // 2], ext, f"half of {other} appended")

    # MPEG-TS files joined: the picture size changes mid-stream, or the timestamps jump back.
    joins = [("bbb.ts", "car.ts"), ("car.ts", "bbb.ts"), ("bbb.ts", "bbb.ts"), ("city.mpg", "city_small.mpg")]
    for a, b in joins:
        c.add("splice", a, "concat-" + b.replace(".", "_"), data[a] + data[b], Path(a).suffix,
              f"{a} followed by {b}")

    # MP4 box structure: top level and inside moov.
    for name in ("bbb.mp4", "bbb_faststart.mp4", "bbb_frag.mp4", "car.mp4", "car_vfr.mp4"):
        d = data[name]
        top = mp4_boxes(d)
        chunks = {i: d[o:o + s] for i, (o, s, _) in enumerate(top)}
        types = [t for _, _, t in top]
        order = list(range(len(top)))

        def join(idx):
            return b"".join(chunks[i] for i in idx)

        for i in range(3):
            perm = order[:]
            c.rng(name, "shuffle", i).shuffle(perm)
            if perm != order:
                c.add("mp4-boxes", name, f"shuffle{i}", join(perm), ".mp4",
                      "top-level boxes reordered: " + " ".join(types[j] for j in perm))
        c.add("mp4-boxes", name, "reverse", join(order[::-1]), ".mp4", "top-level boxes in reverse order")
        for want in ("moov", "mdat", "ftyp", "moof"):
            if want in types:
                c.add("mp4-boxes", name, f"drop-{want}", join([j for j in order if types[j] != want]), ".mp4",
                      f"every top-level {want} dropped")
                j = types.index(want)
                c.add("mp4-boxes", name, f"dup-{want}", join(order[:j + 1] + [j] + order[j + 1:]), ".mp4",
                      f"first {want} duplicated")
        # Box sizes that lie: zero (to the end of file), too small, larger than the file.
        for tag, value in (("size0", 0), ("size7", 7), ("sizehuge", 0xFFFFFFF0)):
            j = types.index("moov")
            o = top[j][0]
            c.add("mp4-boxes", name, f"moov-{tag}", d[:o] + struct.pack(">I", value) + d[o + 4:], ".mp4",
                  f"moov size field set to {value}")
        # Inside moov: its children reordered, the video trak dropped or duplicated.
        moov = find_box(d, ["moov"])
        kids = mp4_boxes(d, moov[0] + 8, moov[0] + moov[1])
        body = [d[o:o + s] for o, s, _ in kids]
        ktypes = [t for _, _, t in kids]

        def with_moov(children):
            inner = b"".join(children)
            new = struct.pack(">I4s", len(inner) + 8, b"moov") + inner
            return d[:moov[0]] + new + d[moov[0] + moov[1]:]

        c.add("mp4-boxes", name, "moov-reverse", with_moov(body[::-1]), ".mp4",
              "moov children reversed: " + " ".join(ktypes[::-1]))
        vt = video_trak(d)
        vi = [o for o, _, _ in kids].index(vt[0])
        c.add("mp4-boxes", name, "drop-video-trak", with_moov(body[:vi] + body[vi + 1:]), ".mp4",
              "the video trak dropped")
        c.add("mp4-boxes", name, "dup-video-trak", with_moov(body[:vi + 1] + [body[vi]] + body[vi + 1:]),
              ".mp4", "the video trak duplicated")
        # Inside the video trak: the sample table boxes dropped one at a time.
        stbl = find_box(d, ["mdia", "minf", "stbl"], vt[0] + 8, vt[0] + vt[1])
        if name in ("bbb.mp4", "car_vfr.mp4") and stbl:
            for o, s, t in mp4_boxes(d, stbl[0] + 8, stbl[0] + stbl[1]):
                if t in ("stts", "stss", "stsz", "stco", "stsc", "ctts"):
                    # keep the sizes of every enclosing box right: replace the box by a 'free' box
                    c.add("mp4-boxes", name, f"free-{t}", d[:o] + struct.pack(">I4s", s, b"free") + d[o + 8:],
                          ".mp4", f"the video {t} box turned into 'free'")

    # Sample tables and time scales that lie: the timestamps, sizes and offsets pvt's probe computes with.
    for name in ("bbb.mp4", "car_vfr.mp4"):
        d = data[name]
        vt = video_trak(d)
        patches = [
            # (tag, box path inside the video trak, byte offset in the box, value, bytes, what)
            ("mdhd-timescale-1", ["mdia", "mdhd"], 20, 1, 4, "video time scale 1"),
            ("mdhd-timescale-0", ["mdia", "mdhd"], 20, 0, 4, "video time scale 0"),
            ("mdhd-timescale-max", ["mdia", "mdhd"], 20, 0xFFFFFFFF, 4, "video time scale 2^32-1"),
            ("stts-delta-0", ["mdia", "minf", "stbl", "stts"], 20, 0, 4, "first stts delta 0"),
            ("stts-delta-max", ["mdia", "minf", "stbl", "stts"], 20, 0xFFFFFFFF, 4, "first stts delta 2^32-1"),
            ("stts-count-max", ["mdia", "minf", "stbl", "stts"], 16, 0xFFFFFFFF, 4, "first stts count 2^32-1"),
            ("stts-entries-max", ["mdia", "minf", "stbl", "stts"], 12, 0xFFFFFFFF, 4, "stts entry count 2^32-1"),
            ("ctts-offset-max", ["mdia", "minf", "stbl", "ctts"], 20, 0x7FFFFFFF, 4, "first ctts offset 2^31-1"),
            ("ctts-offset-neg", ["mdia", "minf", "stbl", "ctts"], 20, 0x80000000, 4, "first ctts offset -2^31"),
            ("stss-max", ["mdia", "minf", "stbl", "stss"], 16, 0xFFFFFFFF, 4, "first sync sample 2^32-1"),
            ("stss-empty", ["mdia", "minf", "stbl", "stss"], 12, 0, 4, "no sync samples"),
            ("stsz-size-max", ["mdia", "minf", "stbl", "stsz"], 20, 0x7FFFFFFF, 4, "first sample 2 GiB"),
            ("stsz-count-max", ["mdia", "minf", "stbl", "stsz"], 16, 0x0FFFFFFF, 4, "sample count 2^28-1"),
            ("stco-past-eof", ["mdia", "minf", "stbl", "stco"], 16, 0xFFFFFFF0, 4, "first chunk past the end"),
            ("stco-zero", ["mdia", "minf", "stbl", "stco"], 16, 0, 4, "first chunk at offset 0"),
            ("stsc-max", ["mdia", "minf", "stbl", "stsc"], 20, 0xFFFFFFFF, 4, "2^32-1 samples per chunk"),
            ("elst-media-time-max", ["edts", "elst"], 20, 0x7FFFFFFF, 4, "edit list starts at 2^31-1"),
            ("elst-duration-max", ["edts", "elst"], 16, 0xFFFFFFFF, 4, "edit list lasts 2^32-1"),
            ("elst-entries-max", ["edts", "elst"], 12, 0x10000, 4, "edit list claims 65536 entries"),
        ]
        for tag, path, at, value, nbytes, what in patches:
            box = find_box(d, path, vt[0] + 8, vt[0] + vt[1])
            if not box or at + nbytes > box[1]:
                continue
            o = box[0] + at
            c.add("mp4-tables", name, tag, d[:o] + value.to_bytes(nbytes, "big") + d[o + nbytes:], ".mp4",
                  what + " (video track)")
        moov = find_box(d, ["moov"])
        mvhd = find_box(d, ["mvhd"], moov[0] + 8, moov[0] + moov[1])
        o = mvhd[0] + 20
        c.add("mp4-tables", name, "mvhd-timescale-0", d[:o] + bytes(4) + d[o + 4:], ".mp4",
              "movie time scale 0")
        # The audio track's timing: what the assembler copies.
        kids = [(o, s) for o, s, t in mp4_boxes(d, moov[0] + 8, moov[0] + moov[1]) if t == "trak"]
        at = [k for k in kids if k[0] != vt[0]]
        if at:
            a0, asize = at[0]
            audio_patches = [("audio-stts-delta-max", ["mdia", "minf", "stbl", "stts"], 20, 0xFFFFFFFF),
                             ("audio-mdhd-timescale-1", ["mdia", "mdhd"], 20, 1),
                             ("audio-stsz-size-max", ["mdia", "minf", "stbl", "stsz"], 20, 0x7FFFFFFF)]
            for tag, path, off, value in audio_patches:
                box = find_box(d, path, a0 + 8, a0 + asize)
                if box:
                    o = box[0] + off
                    c.add("mp4-tables", name, tag, d[:o] + value.to_bytes(4, "big") + d[o + 4:], ".mp4",
                          f"{tag} (audio track)")

    # Huge (and zero) dimensions.
    dims = [(65535, 65535, "max16"), (16383, 16383, "16383"), (16384, 16, "16384x16"), (0, 0, "zero"),
            (1, 1, "1x1")]
    for name in ("bbb.mp4", "bbb_faststart.mp4", "car.mp4"):
        for w, h, tag in dims:
            c.add("huge-dims", name, f"tkhd-avc1-{tag}", patch_mp4_dims(data[name], w, h), ".mp4",
                  f"tkhd and avc1 sample entry say {w}x{h}")
        c.add("huge-dims", name, "tkhd-only-max16", patch_mp4_dims(data[name], 65535, 65535, ("tkhd",)), ".mp4",
              "tkhd says 65535x65535")
    for wm, hm, tag in ((1023, 1023, "16384"), (4095, 4095, "65536"), (1 << 20, 1 << 20, "2e20mbs"),
                        (1023, 0, "16384x16"), (511, 511, "8192"), (0, 0, "16x16")):
        raw = patch_annexb_sps(data["bbb.h264"], wm, hm)
        w, h = 16 * (wm + 1), 16 * (hm + 1)
        c.add("huge-dims", "bbb.h264", f"sps-{tag}", raw, ".h264", f"every SPS says {w}x{h} (in macroblocks)")
        if raw and tag in ("8192", "16x16"):
            # The same SPS inside MP4 and Matroska (avcC/CodecPrivate carry it), remuxed by ffmpeg: MP4 from
            # the raw stream, Matroska from that MP4 (it needs timestamps the raw stream lacks). ffmpeg
            # refuses the larger sizes outright.
            tmp = out / f"sps-{tag}.h264"
            tmp.write_bytes(raw)
            src, fmt = tmp, ["-r", "24", "-f", "h264"]
            for ext in (".mp4", ".mkv"):
                dst = out / f"sps-{tag}{ext}"
                try:
                    run_ffmpeg(fmt + ["-i", str(src), "-c", "copy", "-map_metadata", "-1", "-fflags", "+bitexact",
                                      str(dst)])
                    c.add("huge-dims", "bbb.h264", f"sps-{tag}-remux{ext[1:]}", dst.read_bytes(), ext,
                          f"SPS says {w}x{h}, remuxed into {ext}")
                except RuntimeError as e:
                    log(f"skipping sps-{tag}{ext}: {e}")
                    break
                src, fmt = dst, []
            for p in (tmp, out / f"sps-{tag}.mp4", out / f"sps-{tag}.mkv"):
                p.unlink(missing_ok=True)
    for name, ext in (("city.mpg", ".mpg"), ("city.m2v", ".m2v")):
        # 4095x2160 is within pvt's limits: garbage decoded and encoded at that size (slow, but bounded)
        for w, h, e, tag in ((4095, 2160, None, "4095x2160"), (4095, 4095, 3, "16383"), (0, 0, None, "zero"),
                             (4095, 16, 3, "16383x4112"), (1, 1, None, "1x1")):
            c.add("huge-dims", name, f"seq-{tag}", patch_mpeg2_sequence(data[name], w, h, e), ext,
                  f"sequence header says {w}x{h}" + (f", size extension bits {e}" if e is not None else ""),
                  slow=e is None and w * h > 4096 * 2048)  # within pvt's limits: really decoded
    for name in ("hevc10.mkv", "book.mkv"):
        for w, h, tag in ((65535, 65535, "max"), (0, 0, "zero"), (16383, 16383, "16383")):
            c.add("huge-dims", name, f"mkv-{tag}", patch_mkv_dims(data[name], w, h), ".mkv",
                  f"Matroska PixelWidth/PixelHeight say {w}x{h}")

    # Wrong extensions: intact and damaged data under another container's name, and no video at all.
    swaps = [("bbb.mp4", ".mkv"), ("bbb.mp4", ".ts"), ("hevc10.mkv", ".mp4"), ("city.mpg", ".mp4"),
             ("bbb.ts", ".mp4"), ("bbb.h264", ".mp4"), ("city.m2v", ".mkv"), ("book.mkv", ".mpg"),
             ("bbb_frag.mp4", ".mov"), ("car.mp4", ".txt")]
    for name, ext in swaps:
        c.add("wrong-ext", name, f"as{ext[1:]}", data[name], ext, f"{name} named {ext}")
        c.add("wrong-ext", name, f"half-as{ext[1:]}", data[name][:len(data[name]) // 2], ext,
              f"first half of {name} named {ext}")
    rnd = c.rng("random-bytes")
    noise = bytes(rnd.randrange(256) for _ in range(65536))
    c.add("wrong-ext", "none", "random.mp4", noise, ".mp4", "64 KiB of random bytes")
    c.add("wrong-ext", "none", "random.mkv", noise[:4096], ".mkv", "4 KiB of random bytes")
    c.add("wrong-ext", "none", "text.mp4", b"this is not a video\n" * 200, ".mp4", "a text file")
    c.add("wrong-ext", "none", "ansi.mp4", b"\x1b[31mred\x1b[0m text\n" * 100, ".mp4", "ANSI art")
    c.add("wrong-ext", "none", "ftyp-only.mp4", data["bbb.mp4"][:top_len(data["bbb.mp4"])], ".mp4",
          "only the ftyp box")
    c.add("wrong-ext", "none", "mp4-magic-garbage.mp4", data["bbb.mp4"][:32] + noise[:8192], ".mp4",
          "an MP4 start followed by random bytes")
    c.add("wrong-ext", "none", "mkv-magic-garbage.mkv", data["book.mkv"][:64] + noise[:8192], ".mkv",
          "a Matroska start followed by random bytes")
    c.add("wrong-ext", "none", "ts-sync-garbage.ts",
          b"".join(b"\x47" + noise[i * 187:(i + 1) * 187] for i in range(40)), ".ts",
          "188-byte packets with sync bytes and random contents")

    # Empty and nearly empty.
    c.add("empty", "none", "0", b"", ".mp4", "zero bytes")
    c.add("empty", "none", "0", b"", ".mkv", "zero bytes")
    c.add("empty", "none", "0", b"", ".mpg", "zero bytes")
    c.add("empty", "none", "1", b"\x00", ".mp4", "one zero byte")
    c.add("empty", "none", "zeros", bytes(65536), ".mp4", "64 KiB of zeros")
    c.add("empty", "none", "newline", b"\n", ".ts", "one newline")
    return c.rows


def top_len(d):
    boxes = mp4_boxes(d)
    return boxes[0][1] if boxes else 8


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path, help="output directory (outside the repository)")
    ap.add_argument("--media", type=Path,
                    help="the shared clips (default: $PVT_SHARED_MEDIA, else ../shared/media)")
    ap.add_argument("--seed", type=int, default=20240611, help="random seed (default %(default)s)")
    ap.add_argument("--seconds", type=float, default=2, help="length each clip is cut to (default %(default)s)")
    args = ap.parse_args()
    media = args.media or Path(os.environ.get("PVT_SHARED_MEDIA") or REPO.parent / "shared" / "media")
    if not (media / "MANIFEST.tsv").exists():
        print(f"make_corpus: skipped: no shared clips at {media} (set PVT_SHARED_MEDIA)")
        return 0
    if shutil.which("ffmpeg") is None:
        print("make_corpus: skipped: the ffmpeg command-line tool is not installed")
        return 0
    out = args.out.resolve()
    if (out == REPO or REPO in out.parents) and not out.relative_to(REPO).parts[0].startswith("build"):
        ap.error(f"{out}: write the corpus outside the source tree (e.g. build-san/corrupt-corpus)")
    sources = make_sources(media, out / f"sources-{args.seconds:g}s", args.seconds)
    rows = build(sources, out, args.seed)
    with open(out / "corpus.tsv", "w") as f:
        f.write("file\tkind\tsource\twhat\tslow\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    kinds = {}
    for r in rows:
        kinds[r[1]] = kinds.get(r[1], 0) + 1
    print(f"make_corpus: {len(rows)} files in {out / 'files'} ("
          + ", ".join(f"{k} {kinds.get(k, 0)}" for k in KINDS) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
