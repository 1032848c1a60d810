#!/usr/bin/env python3
"""Drives pvt-mcp (started with --executor slurm) over stdio JSON-RPC, for tests/slurm/executor_test.sh:
starts a transcode, watches get_transcode_status until it succeeds, and checks that the status named the
Slurm job and its tasks while it ran and that the summary says the executor was Slurm.

  mcp_slurm_client.py PVT_MCP OUTPUT_DIR INPUT
Exit 0 and one line on success; 1 and the reason otherwise."""
import json
import subprocess
import sys
import time


def main():
    server, out_dir, clip = sys.argv[1:4]
    proc = subprocess.Popen([server, "--output-dir", out_dir, "--executor", "slurm", "--segment-duration", "2"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    next_id = [0]

    def call(method, params):
        next_id[0] += 1
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": next_id[0], "method": method, "params": params}) + "\n")
        proc.stdin.flush()
        while True:
            msg = json.loads(proc.stdout.readline())
            if msg.get("id") == next_id[0]:
                if "error" in msg:
                    sys.exit(f"mcp_slurm_client: {method}: {msg['error']}")
                return msg["result"]

    try:
        call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                            "clientInfo": {"name": "slurm-test", "version": "0"}})
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        proc.stdin.flush()
        started = call("tools/call", {"name": "transcode_video",
                                      "arguments": {"input": clip, "output": "mcp.mp4", "preset": "ultrafast"}})
        job = started["structuredContent"]["job_id"]
        seen_tasks, seen_job = {}, None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            s = call("tools/call", {"name": "get_transcode_status", "arguments": {"job_id": job, "wait_seconds": 1}})
            st = s["structuredContent"]
            if st["executor"] != "slurm":
                sys.exit(f"mcp_slurm_client: executor {st['executor']!r}, not slurm")
            if st["slurm_job_id"]:
                seen_job = st["slurm_job_id"]
            for k, v in st["slurm_tasks"].items():
                seen_tasks[k] = max(v, seen_tasks.get(k, 0))
            if st["state"] in ("failed", "cancelled", "interrupted"):
                sys.exit(f"mcp_slurm_client: job {st['state']}: {st['error']}")
            if st["state"] == "succeeded":
                summary = st["summary"]
                if summary["executor"] != "slurm" or not summary["slurm_job_id"]:
                    sys.exit(f"mcp_slurm_client: summary executor {summary['executor']}, job {summary['slurm_job_id']}")
                if not seen_job or not seen_tasks:
                    sys.exit(f"mcp_slurm_client: the status never showed the Slurm job ({seen_job}) and its tasks ({seen_tasks})")
                print(f"MCP job {job} ran as Slurm job {seen_job}; task states seen {seen_tasks}; "
                      f"{summary['frames']} frames")
                return
        sys.exit("mcp_slurm_client: the job did not finish in 120 s")
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
