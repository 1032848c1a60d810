#!/usr/bin/env python3
"""Replays recorded pvt runs to compare dispatch orders: the plan's estimate alone (longest first) against
the estimate refitted to the segments timed so far, as engine/dispatch_order.cpp does. Input: the JSON that
transcode_vs_ffmpeg.py writes (each run's pvt report holds every segment's cost, content_cost and measured
seconds). For each run it simulates the two-worker (or --workers) list schedule with the measured seconds
and prints the finish over an even share (and the run's own, which includes the gaps between segments). A replay, not a timing: it shows what the order alone changes,
free of this machine's noise (which is larger than the effect).
"""
import argparse
import heapq
import json
import sys


def fit(timed):
    """Least squares of relative error: seconds ~ a * fixed + b * content, as engine/dispatch_order.cpp:
    None (the plan's estimate stands) when the parts' mixes are too alike or a weight comes out negative."""
    if len(timed) < 2:
        return None
    ff = fc = cc = fy = cy = 0.0
    for f, c, y in timed:
        f, c = f / y, c / y
        ff += f * f
        fc += f * c
        cc += c * c
        fy += f
        cy += c
    det = ff * cc - fc * fc
    if not (ff > 0 and cc > 0) or det < 0.01 * ff * cc:
        return None
    a, b = (fy * cc - cy * fc) / det, (cy * ff - fy * fc) / det
    return (a, b) if a >= 0 and b >= 0 else None


def replay(segs, workers, refit):
    queue = sorted(range(len(segs)), key=lambda i: -segs[i]["cost"])
    free = [(0.0, w) for w in range(workers)]
    running, finish = [], 0.0
    while queue:
        now, w = heapq.heappop(free)
        if refit:
            timed = [(segs[i]["cost"] - segs[i]["content_cost"], segs[i]["content_cost"], segs[i]["seconds"])
                     for end, i in running if end <= now]
            weights = fit(timed)
            if weights:
                queue.sort(key=lambda i: -(weights[0] * (segs[i]["cost"] - segs[i]["content_cost"]) +
                                           weights[1] * segs[i]["content_cost"]))
        i = queue.pop(0)
        end = now + segs[i]["seconds"]
        running.append((end, i))
        heapq.heappush(free, (end, w))
        finish = max(finish, end)
    return finish


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("results", nargs="+", help="transcode_vs_ffmpeg.py JSON files")
    p.add_argument("--workers", type=int, default=2)
    opts = p.parse_args()
    print(f"{'file':50} {'case':8} {'run':>3} {'plan order':>10} {'refitted':>9} {'as run':>7}")
    for path in opts.results:
        data = json.load(open(path))
        for case, body in data.get("cases", {}).items():
            for preset, res in body.get("transcode", {}).items():
                for k, run in enumerate(res.get("runs", [])):
                    segs = [{"cost": s.get("cost"), "content_cost": s.get("content_cost"),
                             "seconds": s["finished"] - s["started"]} for s in run["pvt"]["report"]["segments"]]
                    if any(s["cost"] is None for s in segs):
                        print(f"{path[-50:]:50} {case:8} {k + 1:>3}  (no cost in the report: older pvt)")
                        continue
                    even = sum(s["seconds"] for s in segs) / opts.workers
                    as_run = max(s["finished"] for s in run["pvt"]["report"]["segments"])
                    print(f"{path[-50:]:50} {case:8} {k + 1:>3} {replay(segs, opts.workers, False) / even:10.3f} "
                          f"{replay(segs, opts.workers, True) / even:9.3f} {as_run / even:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
