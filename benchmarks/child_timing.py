"""Wall and CPU time of one child process, shared by the benchmark scripts."""
import resource
import subprocess
import sys
import time


def run_timed(argv, env=None):
    """Runs argv (an argument vector, no shell); returns (wall s, user+system CPU s of the child, stdout).
    Exits with the child's last stderr lines when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{argv[0]} failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.stdout
