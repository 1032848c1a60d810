#!/usr/bin/env python3
"""Runs the corrupt-input corpus (tests/corrupt/make_corpus.py) through a sanitizer build of pvt.

    python3 tests/corrupt/run_corpus.py CORPUS_DIR [--pvt build-san/cli/pvt] [--subset N] [-j 2]

Every file goes through `pvt analyze FILE --json` and `pvt transcode FILE -o OUT.mp4 -y` (ultrafast, 1 s
segments, so even 2 s clips make several segments to join), some also through HLS output, each with a time
limit. A run passes when it either
  - exits 0 with a usable result (analyze: a JSON report on stdout; transcode: the output exists, ffprobe
    reads a video stream from it) and no error line, or
  - exits non-zero with exactly one line `pvt: error: ...` on stderr (other lines may only be
    `pvt: warning: ...`) and nothing at the output path (a failed job may keep its state folder
    .NAME.pvt-job for a resume when its message says so, without half-written files in it),
and in both cases: no crash (signal), no hang (time limit), no AddressSanitizer/UBSan/LeakSanitizer
report (from pvt or any worker process it starts: reports go to files, see sanitizer_env), no temporary
files left in the output directory or in TMPDIR. Prints a table and exits 1 when any run failed these
checks, listing each failure with its stderr; the work directories of failed runs are kept.

--subset N picks N files (at least 60), the same every time, covering every damage kind and source.
"""

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KINDS_ORDER = ["intact", "truncate", "bitflip-header", "bitflip-payload", "zero-range", "mp4-boxes",
               "mp4-tables", "wrong-ext", "empty", "huge-dims", "splice", "timestamps"]

# Any sanitizer report is written to LOGDIR/san.<pid> (workers included, whose stderr pvt keeps in its
# work directory and deletes) and makes the process exit non-zero (86); the runner looks for those files.
# LeakSanitizer: see tests/corrupt/lsan.supp for what is suppressed and why.
SUPP = Path(__file__).resolve().parent / "lsan.supp"


def sanitizer_env(logdir, tmpdir):
    env = dict(os.environ)
    common = f"log_path={logdir}/san:exitcode=86:print_summary=1"
    env["ASAN_OPTIONS"] = (f"{common}:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:"
                           "check_initialization_order=1:strict_init_order=1:fast_unwind_on_malloc=0:"
                           # the CUDA driver maps memory where ASan's shadow gap is: needed where a GPU is
                           "protect_shadow_gap=0")
    env["UBSAN_OPTIONS"] = f"{common}:print_stacktrace=1:halt_on_error=1"
    env["LSAN_OPTIONS"] = f"{common}:suppressions={SUPP}:print_suppressions=0"
    env["TMPDIR"] = str(tmpdir)
    env.pop("PVT_FAULT", None)
    env.pop("PVT_ANALYSIS_FAULT", None)
    return env


def read_corpus(corpus):
    rows = []
    with open(corpus / "corpus.tsv") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def pick_subset(rows, n):
    """Round robin over the kinds (in KINDS_ORDER), and inside each kind over the sources, in file order:
    every kind and as many sources as fit, the same files every time."""
    by_kind = {}
    for r in rows:
        if r.get("slow") == "yes":  # large pictures: tens of seconds each, too slow for the CI subset
            continue
        by_kind.setdefault(r["kind"], {}).setdefault(r["source"], []).append(r)
    queues = []
    for kind in KINDS_ORDER + sorted(set(by_kind) - set(KINDS_ORDER)):
        sources = by_kind.get(kind, {})
        # within a kind: one per source in turn (sources in an order of their own per kind, so that the
        # few files a kind gets come from different sources), spreading over each source's list
        lists = {s: spread(rotate(v, random.Random(kind + s).randrange(len(v)))) for s, v in sources.items()}
        turn = sorted(lists)
        random.Random(kind).shuffle(turn)
        order = []
        while any(lists.values()):
            for s in turn:
                if lists[s]:
                    order.append(lists[s].pop(0))
        queues.append(order)
    chosen = []
    while len(chosen) < n and any(queues):
        for q in queues:
            if q and len(chosen) < n:
                chosen.append(q.pop(0))
    names = {r["file"] for r in chosen}
    return [r for r in rows if r["file"] in names]


def rotate(items, k):
    return items[k:] + items[:k]


def spread(items):
    """items reordered so that any prefix samples the whole list: first, last, middle, quarters..."""
    n = len(items)
    if n <= 2:
        return list(items)
    order, seen = [], set()
    step = n
    while len(order) < n:
        for i in range(0, n, max(1, step)):
            if i not in seen:
                seen.add(i)
                order.append(i)
        if n - 1 not in seen:
            seen.add(n - 1)
            order.append(n - 1)
        step //= 2
        if step == 0:
            step = 1
    return [items[i] for i in order]


def wants_hls(index, row):
    return row["kind"] == "intact" or index % 7 == 0


def ffprobe_has_video(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=codec_type",
                        "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=60)
    return r.returncode == 0 and "video" in r.stdout


def check_stderr(stderr, ok):
    """The problem with stderr's lines, or None."""
    lines = [l for l in stderr.splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("pvt: error: ")]
    other = [l for l in lines if not l.startswith("pvt: error: ") and not l.startswith("pvt: warning: ")]
    if other:
        return f"stray stderr line: {other[0][:200]!r}"
    if ok and errors:
        return f"exit 0 with an error line: {errors[0][:200]!r}"
    if not ok and len(errors) != 1:
        return f"{len(errors)} 'pvt: error:' lines (want exactly 1)"
    return None


def run_one(pvt, file_path, mode, workdir, timeout):
    """One pvt run; returns a dict with the outcome."""
    if workdir.exists():
        shutil.rmtree(workdir)
    logdir, tmpdir, outdir = workdir / "san", workdir / "tmp", workdir / "out"
    for d in (logdir, tmpdir, outdir):
        d.mkdir(parents=True)
    if mode == "analyze":
        cmd = [pvt, "analyze", str(file_path), "--json", "--progress", "none"]
        final = None
    else:
        final = outdir / ("hls" if mode == "hls" else "out.mp4")
        cmd = [pvt, "transcode", str(file_path), "-o", str(final), "-y", "--progress", "none", "--preset",
               "ultrafast", "--segment-duration", "1"]
        if mode == "hls":
            cmd += ["--format", "hls"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                            env=sanitizer_env(logdir, tmpdir), start_new_session=True)
    hung = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        hung = True
        os.killpg(proc.pid, signal.SIGKILL)  # pvt and its workers: they share the new session
        stdout, stderr = proc.communicate()
    seconds = time.monotonic() - t0
    rc = proc.returncode
    res = {"mode": mode, "rc": rc, "seconds": round(seconds, 2), "cmd": " ".join(map(str, cmd[1:])),
           "stderr": stderr[-4000:]}
    # A log file can hold only LeakSanitizer's list of suppressions used: not a report.
    reports = [p for p in sorted(logdir.iterdir()) if any(
        s in p.read_text(errors="replace") for s in ("ERROR: ", "runtime error", "SUMMARY: "))]
    if hung:
        res["status"] = "hang"
    elif reports:
        res["status"] = "sanitizer"
        res["detail"] = "\n".join(p.read_text(errors="replace")[:6000] for p in reports[:2])
    elif rc < 0:
        res["status"] = "crash"
        res["detail"] = f"killed by signal {-rc} ({signal.Signals(-rc).name})"
    elif "ERROR: AddressSanitizer" in stderr or "runtime error:" in stderr or "LeakSanitizer" in stderr:
        res["status"] = "sanitizer"
        res["detail"] = stderr[-6000:]
    else:
        problem = check_stderr(stderr, rc == 0)
        if not problem and rc == 0:
            if mode == "analyze":
                try:
                    report = json.loads(stdout)
                    if not isinstance(report.get("media"), dict) or "plan" not in report:
                        problem = "analyze --json: report without media or plan"
                except ValueError as e:
                    problem = f"analyze --json printed no JSON ({e})"
            else:
                target = final / "index.m3u8" if mode == "hls" else final
                if not target.exists():
                    problem = f"exit 0 but no {target.name}"
                elif not ffprobe_has_video(target):
                    problem = f"exit 0 but ffprobe reads no video from {target.name}"
        if not problem and rc != 0 and final is not None and final.exists():
            problem = f"exit {rc} but {final.name} was left at the output path"
        if not problem and final is not None:
            expected = {final.name} if rc == 0 else set()
            # A failed job whose finished segments are worth resuming keeps its state folder, and says so.
            job_dir = outdir / f".{final.name}.pvt-job"
            if rc != 0 and "run the same command again to resume" in stderr and job_dir.is_dir():
                expected.add(job_dir.name)
                half = [p.name for p in job_dir.iterdir() if p.name.endswith(".part") or ".pvt-tmp" in p.name]
                if half:
                    problem = "half-written files in the kept job folder: " + ", ".join(sorted(half)[:5])
            left = {p.name for p in outdir.iterdir()} - expected
            if left and not problem:
                problem = "left in the output directory: " + ", ".join(sorted(left)[:5])
        if not problem:
            left = [p.name for p in tmpdir.iterdir()]
            if left:
                problem = "left in TMPDIR: " + ", ".join(sorted(left)[:5])
        if problem:
            res["status"] = "bad-message" if "line" in problem else "bad-output"
            res["detail"] = problem
        else:
            res["status"] = "ok" if rc == 0 else "clean-failure"
    if res["status"] in ("ok", "clean-failure"):
        shutil.rmtree(workdir, ignore_errors=True)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", type=Path, help="directory written by make_corpus.py")
    ap.add_argument("--pvt", type=Path, default=REPO / "build-san" / "cli" / "pvt", help="the pvt binary")
    ap.add_argument("--subset", type=int, metavar="N", help="only N files (at least 60), every kind covered")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="runs at once (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per run before it is a hang")
    ap.add_argument("--match", help="only files whose name contains this")
    ap.add_argument("--results", type=Path, help="write every run's outcome here as JSON")
    args = ap.parse_args()

    if not (args.corpus / "corpus.tsv").exists():
        print(f"run_corpus: skipped: no corpus at {args.corpus} (make_corpus.py found no shared clips?)")
        return 0
    pvt = args.pvt.resolve()
    if not os.access(pvt, os.X_OK):
        print(f"run_corpus: {pvt}: no such binary (scripts/build-sanitized.sh builds it)", file=sys.stderr)
        return 2
    rows = read_corpus(args.corpus)
    for i, r in enumerate(rows):
        r["hls"] = wants_hls(i, r)
    if args.subset:
        rows = pick_subset(rows, max(60, args.subset))
    if args.match:
        rows = [r for r in rows if args.match in r["file"]]
    runs_dir = args.corpus / "runs"
    shutil.rmtree(runs_dir, ignore_errors=True)

    tasks = []
    for r in rows:
        modes = ["analyze", "mp4"] + (["hls"] if r["hls"] else [])
        for m in modes:
            tasks.append((r, m))
    # The slowest first (transcodes of intact clips), so the pool does not end on one long run.
    tasks.sort(key=lambda t: (t[1] == "analyze", t[0]["kind"] != "intact"))
    print(f"run_corpus: {len(rows)} files, {len(tasks)} runs, {args.jobs} at once, {args.timeout:g} s limit, "
          f"{pvt}", flush=True)
    t0 = time.monotonic()
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {}
        for r, m in tasks:
            wd = runs_dir / f"{r['file']}.{m}"
            futures[pool.submit(run_one, str(pvt), args.corpus / "files" / r["file"], m, wd, args.timeout)] = r
        for n, f in enumerate(concurrent.futures.as_completed(futures), 1):
            r = futures[f]
            res = f.result()
            res["file"], res["kind"] = r["file"], r["kind"]
            results.append(res)
            if res["status"] not in ("ok", "clean-failure"):
                print(f"  FAIL {res['status']}: {r['file']} ({res['mode']}, exit {res['rc']}, "
                      f"{res['seconds']} s): {res.get('detail', '').strip().splitlines()[:1]}", flush=True)
            if n % 50 == 0:
                print(f"  {n}/{len(tasks)} runs, {time.monotonic() - t0:.0f} s", flush=True)
    elapsed = time.monotonic() - t0

    # Per file: the worst of its runs.
    rank = ["ok", "clean-failure", "bad-output", "bad-message", "hang", "crash", "sanitizer"]
    per_file = {}
    for res in results:
        prev = per_file.get(res["file"])
        if prev is None or rank.index(res["status"]) > rank.index(prev):
            per_file[res["file"]] = res["status"]
    # A file is "ok" when its transcode succeeded, a clean failure when every run failed cleanly.
    print()
    cols = ["runs", "ok", "clean failures", "crashes", "hangs", "sanitizer reports", "bad messages",
            "bad outputs"]
    keys = ["ok", "clean-failure", "crash", "hang", "sanitizer", "bad-message", "bad-output"]
    print(f"{'kind':<16}{'files':>6}" + "".join(f"{c:>{len(c) + 2}}" for c in cols))
    kinds = sorted({r["kind"] for r in rows}, key=lambda k: KINDS_ORDER.index(k) if k in KINDS_ORDER else 99)
    total = {k: 0 for k in keys}
    total_runs = 0
    for kind in kinds + ["total"]:
        sel = [x for x in results if kind == "total" or x["kind"] == kind]
        nfiles = len({x["file"] for x in sel})
        counts = {k: sum(1 for x in sel if x["status"] == k) for k in keys}
        vals = [len(sel)] + [counts[k] for k in keys]
        print(f"{kind:<16}{nfiles:>6}" + "".join(f"{v:>{len(c) + 2}}" for v, c in zip(vals, cols)))
        if kind == "total":
            total, total_runs = counts, len(sel)
    files_ok = sum(1 for s in per_file.values() if s == "ok")
    files_clean = sum(1 for s in per_file.values() if s == "clean-failure")
    print(f"\nfiles: {len(per_file)} ({files_ok} every run ok, {files_clean} failing cleanly at least once and "
          f"otherwise ok, {len(per_file) - files_ok - files_clean} with a problem); runs: {total_runs} in "
          f"{elapsed:.0f} s")
    if args.results:
        args.results.write_text(json.dumps(sorted(results, key=lambda x: (x["file"], x["mode"])), indent=1))
    bad = [x for x in results if x["status"] not in ("ok", "clean-failure")]
    for x in sorted(bad, key=lambda x: (x["status"], x["file"])):
        print(f"\n== {x['status']}: {x['file']} ({x['mode']}, exit {x['rc']}): pvt {x['cmd']}")
        print((x.get("detail") or "").strip()[:3000])
        if x["status"] != "sanitizer":
            print("stderr:", x["stderr"].strip()[-1500:])
    if bad:
        print(f"\nrun_corpus: FAILED: {len(bad)} runs; their work directories are under {runs_dir}")
        return 1
    print("run_corpus: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
