"""Helpers shared by the benchmark scripts: thread pinning, interleaved timing, memory.

Use from a script in this folder (which puts the folder on sys.path):

    import _common
    _common.pin_threads(1)          # FIRST, before numpy or torch is imported
    import numpy as np, torch
    _common.set_torch_threads(torch, 1)
    times = _common.interleaved({"torch": step_a, "tinyrnn": step_b}, reps=7)
    _common.median(times["torch"])  # seconds per call

Why: BLAS worker threads busy-wait after each call,
so two libraries timed in one process with several threads each steal each
other's cores, and on a shared machine a busy neighbour skews a single run.
So both libraries get the same thread count, fixed before import, repetitions
of the libraries alternate (each sees the same machine state), and results are
medians reported as ratios measured in the same run.

OpenBLAS picks its kernels from the CPU model; on a CPU it does not recognise
(a virtual "AMD EPYC", say) it falls back to its AVX2 "Haswell" kernels even
when the CPU has AVX-512, which torch's oneDNN does use. select_openblas_core()
('auto') then asks for the AVX-512 "SkylakeX" kernels, via OpenBLAS's own
OPENBLAS_CORETYPE variable; openblas_core() reports the kernels in use.

Peak memory: run_child() starts a fresh Python on a script and returns the JSON
it prints; inside the child, rss_mb() / peak_rss_mb() read the kernel's
current and high-water resident set size (Linux).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
AVX512 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}  # what OpenBLAS's SkylakeX kernels use


def pin_threads(n: int = 1) -> None:
    """Fix every BLAS/OpenMP thread pool to n threads. Must run before numpy/torch load."""
    for lib in ("numpy", "torch"):
        if lib in sys.modules:
            raise RuntimeError(f"pin_threads() must be called before {lib} is imported")
    for var in THREAD_VARIABLES:
        os.environ[var] = str(n)


def _cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as f:
            return set(next(line for line in f if line.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        return set()


def select_openblas_core(mode: str = "auto") -> None:
    """Choose NumPy's OpenBLAS kernels; must run before numpy loads. 'detect': OpenBLAS's
    own choice; 'auto': SkylakeX (AVX-512) if the CPU has AVX-512 and OPENBLAS_CORETYPE is
    unset, else OpenBLAS's choice; any other value is passed on as OPENBLAS_CORETYPE."""
    if "numpy" in sys.modules:
        raise RuntimeError("select_openblas_core() must be called before numpy is imported")
    if mode == "auto":
        if "OPENBLAS_CORETYPE" not in os.environ and AVX512 <= _cpu_flags():
            os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    elif mode != "detect":
        os.environ["OPENBLAS_CORETYPE"] = mode


def openblas_core() -> str:
    """The kernel set NumPy's OpenBLAS runs (e.g. 'Haswell', 'SkylakeX'), or 'unknown'."""
    import ctypes

    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line})
    for path in paths:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                return fn().decode()
    return "unknown"


def set_torch_threads(torch, n: int = 1) -> None:
    torch.set_num_threads(n)
    if torch.get_num_interop_threads() != n:
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # only allowed before torch's first parallel work
            pass


def interleaved(fns: dict, reps: int, warmup: int = 1, clock=time.perf_counter, warm: int = 1) -> dict:
    """Time each callable `reps` times, alternating them (and rotating who goes
    first); returns {name: [seconds, ...]}. Each timed call comes right after
    `warm` untimed calls of the same callable, so that it runs as in a training
    loop, with its caches warm rather than just flushed by the other library.
    clock=time.process_time counts only this process's CPU time (steadier on a
    busy machine with one thread)."""
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: [] for name in names}
    for r in range(reps):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            for _ in range(warm):
                fns[name]()
            start = clock()
            fns[name]()
            times[name].append(clock() - start)
    return times


def check_row_spec(parser, flag: str, spec: str | None, kinds) -> None:
    """A benchmark row given on the command line as KIND:DTYPE:B:T:H (e.g. LSTM:float32:32:35:128),
    or parser.error() saying what was expected."""
    if spec is None:
        return
    parts = spec.split(":")
    ok = len(parts) == 5 and parts[0] in kinds and parts[1] in ("float32", "float64")
    if not (ok and all(n.isdigit() and int(n) > 0 for n in parts[2:])):
        parser.error(f"{flag} wants KIND:DTYPE:B:T:H with KIND in {', '.join(kinds)}, e.g. LSTM:float32:32:35:128, "
                     f"got {spec!r}")  # fmt: skip


def median(xs: list) -> float:
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else 0.5 * (xs[mid - 1] + xs[mid])


def _status_kb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux)."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """Highest resident set size this process has reached, in MB (Linux)."""
    return _status_kb("VmHWM") / 1024


def run_child(args: list, timeout: float = 600) -> dict:
    """Run `python args...` in a fresh process with this process's environment;
    return the JSON object printed on its last stdout line."""
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine_info(np, torch=None) -> dict:
    """CPU, BLAS and thread facts for a results header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": f"{blas.get('name')} {blas.get('version')}",
        "openblas_core": openblas_core(),
        "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE"),
        "threads": {var: os.environ.get(var) for var in THREAD_VARIABLES},
    }
    if torch is not None:
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        backends = [("MKL", torch.backends.mkl.is_available()), ("oneDNN", torch.backends.mkldnn.is_available())]
        info["torch_blas"] = " + ".join(name for name, ok in backends if ok) or "no MKL/oneDNN"
    return info
