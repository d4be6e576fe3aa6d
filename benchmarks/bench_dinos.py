"""Time python -m tinyrnn.dinos (default and --preset classic) against the classic
setup written by hand in NumPy and in PyTorch; print one markdown table.

Every run is its own process with one thread per library (OMP, OpenBLAS, MKL),
the four programs are interleaved `--repeat` times and the table shows medians:
wall time of the whole command (start-up, data, training, scoring, sampling)
and the training loop's own seconds, from each program's --metrics JSON.

    python benchmarks/bench_dinos.py [--repeat 3] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
PROGRAMS = {
    "default": [sys.executable, "-m", "tinyrnn.dinos"],
    "classic": [sys.executable, "-m", "tinyrnn.dinos", "--preset", "classic"],
    "hand-written NumPy": [sys.executable, "-m", "tinyrnn.bptt.dinos"],
    "PyTorch": [sys.executable, str(HERE / "torch_dinos.py")],
}


def run_once(command: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "metrics.json"
        start = time.perf_counter()
        subprocess.run([*command, "--metrics", str(metrics)], env=ENV, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        return {**json.loads(metrics.read_text()), "wall": wall}


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def table(results: dict[str, list[dict]]) -> str:
    keys = ("wall", "seconds", "cpu_seconds", "heldout_nll", "train_nll")
    med = {name: {k: median_of(runs, k) for k in keys} for name, runs in results.items()}
    rows = [
        "| program | steps | wall time, whole command (s) | training loop (s) | training loop, CPU (s) "
        "| held-out NLL | train NLL |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in med.items():
        cells = [f"{results[name][0]['steps']:,}", f"{m['wall']:.1f}", f"{m['seconds']:.1f}", f"{m['cpu_seconds']:.1f}"]
        cells += [f"{m['heldout_nll']:.3f}", f"{m['train_nll']:.3f}"]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    d, c, h, t = (med[k] for k in ("default", "classic", "hand-written NumPy", "PyTorch"))

    def ratio(a: dict, b: dict) -> str:
        return f"{a['cpu_seconds'] / b['cpu_seconds']:.2f}x (wall {a['seconds'] / b['seconds']:.2f}x)"

    rows += [
        "",
        f"- default / classic, whole command: {d['wall'] / c['wall']:.2f}x the time, "
        f"held-out NLL {d['heldout_nll']:.3f} vs {c['heldout_nll']:.3f}",
        f"- classic / hand-written NumPy, training loop: {ratio(c, h)}",
        f"- classic / PyTorch, training loop: {ratio(c, t)}",
        f"- medians of {len(results['classic'])} interleaved runs, each its own process with one thread; "
        "NLL in nats per character, the end of a name included",
    ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each program")
    parser.add_argument("--out", help="also write every run's metrics here as JSON")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {name: [] for name in PROGRAMS}
    for i in range(args.repeat):
        for name, command in PROGRAMS.items():
            results[name].append(run_once(command))
            print(f"round {i + 1}/{args.repeat}  {name:20s} {results[name][-1]['wall']:6.1f} s", file=sys.stderr)
    print(table(results))
    default_samples = results["default"][0].get("samples", [])
    print("\nsamples from the default run:", ", ".join(default_samples))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
