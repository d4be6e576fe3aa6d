"""Runtime tuning a user may choose: one BLAS thread, and a malloc that keeps freed memory.

tinyrnn multiplies small matrices, one time step after another. NumPy's BLAS
(OpenBLAS or MKL) starts a thread per core for each product, and its extra
threads only busy-wait on matrices this small: on a 2-core machine with a busy
neighbour the default dinosaur run took 6 s instead of 0.6 s. The task CLIs and
the notebooks call `use_one_blas_thread()` first; a training script may too.

    import tinyrnn.runtime
    tinyrnn.runtime.use_one_blas_thread()

It uses threadpoolctl (`pip install "tinyrnn[fast]"`), which finds the BLAS
libraries NumPy has loaded and sets their thread count while the program runs.
Without it nothing can change the count once NumPy is loaded (OpenBLAS and MKL
read OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS once, when NumPy
is imported, and importing tinyrnn imports NumPy): the function then leaves the
threads as they are and warns, once, naming both ways out.

keep_freed_memory() (glibc only) is the other choice the CLIs and notebooks make:
see its docstring for what it trades and what it gained when measured.
"""

from __future__ import annotations

import ctypes
import os
import platform
import warnings

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_limiter = None  # threadpoolctl's limiter, kept: the limit lasts as long as the program


def use_one_blas_thread() -> None:
    """Make NumPy's BLAS use one thread, unless the user chose a number in the environment
    (any of THREAD_VARIABLES set). Without threadpoolctl nothing changes, and a
    RuntimeWarning says what to do."""
    global _limiter
    if any(var in os.environ for var in THREAD_VARIABLES):
        return
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:
        warnings.warn(
            "tinyrnn.runtime.use_one_blas_thread: threadpoolctl is not installed, so NumPy's BLAS keeps one "
            'thread per core (slower on small matrices): pip install "tinyrnn[fast]", or start Python with '
            "OMP_NUM_THREADS=1",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    _limiter = threadpool_limits(limits=1, user_api="blas")


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for the next allocation instead of handing it
    back to the system (elsewhere than glibc: macOS, musl, Windows, it does nothing).

    A training step allocates and frees the same large arrays every time. By default glibc
    returns them to the system (munmap, or trimming its heap) and the next step gets fresh
    pages, each zeroed by the kernel on first touch. After this call, arrays below 32 MB
    come from the heap, which keeps up to 256 MB free before it shrinks: the process may
    hold that much more memory than it uses. Measured with benchmarks/bench_malloc.py
    (interleaved runs of the task CLIs with and without): page faults 10-17x fewer, CPU
    time of dinos' default run -20%, of charlm's -25%. The task CLIs call it; a training
    script chooses by calling it once."""
    if platform.libc_ver()[0] != "glibc":
        return
    mallopt = ctypes.CDLL(None).mallopt
    mallopt(M_MMAP_THRESHOLD, 32 << 20)
    mallopt(M_TRIM_THRESHOLD, 256 << 20)
