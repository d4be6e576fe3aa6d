"""Does tinyrnn.runtime.keep_freed_memory() matter? The task CLIs with and without it, interleaved.

    python benchmarks/bench_malloc.py [--repeat 6] [--tasks dinos charlm]

Each run is a fresh `python -m tinyrnn.TASK` (default options; glibc's malloc is set at
start, so it cannot be toggled inside one process); the two settings alternate, in
swapped order every other repetition, so both see the same machine. Reported per task:
median wall and CPU time (user + system of the child) and minor page faults, and the
median of the per-repetition CPU ratio without / with.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

CHILD = """
import sys
from tinyrnn.apps import cli
if sys.argv[1] == "off":
    cli.keep_freed_memory = lambda: None
import importlib
sys.exit(importlib.import_module("tinyrnn.apps." + sys.argv[2]).main([]))
"""


def one_run(task: str, mode: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD, mode, task], stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {"wall": wall, "cpu": cpu, "faults": after.ru_minflt - before.ru_minflt}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=6)
    p.add_argument("--tasks", nargs="+", default=["dinos", "charlm"])
    args = p.parse_args()
    runs: dict[tuple[str, str], list[dict]] = {}
    for rep in range(args.repeat):
        for task in args.tasks:
            for mode in ("on", "off") if rep % 2 == 0 else ("off", "on"):
                runs.setdefault((task, mode), []).append(one_run(task, mode))
    print(f"{'task':8s} {'malloc':>7s} {'wall s':>8s} {'cpu s':>7s} {'faults':>8s}   (medians of {args.repeat})")
    for task in args.tasks:
        for mode in ("on", "off"):
            r = runs[task, mode]
            med = {k: statistics.median(x[k] for x in r) for k in ("wall", "cpu", "faults")}
            name = "kept" if mode == "on" else "default"
            print(f"{task:8s} {name:>7s} {med['wall']:8.2f} {med['cpu']:7.2f} {med['faults']:8.0f}")
        ratios = [off["cpu"] / on["cpu"] for on, off in zip(runs[task, "on"], runs[task, "off"])]
        print(f"{task:8s} CPU without / with, per repetition: {', '.join(f'{x:.2f}' for x in ratios)}")


if __name__ == "__main__":
    main()
