"""tinyrnn.runtime: one BLAS thread through threadpoolctl, and glibc's malloc keeping freed memory."""

import platform
import subprocess
import sys
import warnings

import numpy as np  # loads NumPy's BLAS into this process, so threadpoolctl can see it
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from tinyrnn import runtime


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.fixture
def two_threads(monkeypatch):
    """BLAS at 2 threads and no thread variable set; everything put back afterwards."""
    for var in runtime.THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    assert blas_threads(), "threadpoolctl finds no BLAS library in this process"
    with threadpool_limits(limits=2, user_api="blas"):
        yield
        if runtime._limiter is not None:
            runtime._limiter.restore_original_limits()
            monkeypatch.setattr(runtime, "_limiter", None)


def test_one_blas_thread_through_threadpoolctl(two_threads) -> None:
    assert blas_threads() == [2] * len(blas_threads())
    runtime.use_one_blas_thread()
    assert blas_threads() == [1] * len(blas_threads())
    assert np.allclose(np.ones((64, 64)) @ np.ones((64, 64)), 64)  # BLAS still works


def test_a_users_thread_setting_is_left_alone(two_threads, monkeypatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    runtime.use_one_blas_thread()
    assert blas_threads() == [2] * len(blas_threads())


def test_without_threadpoolctl_it_warns_and_changes_nothing(two_threads, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import threadpoolctl -> ImportError
    with pytest.warns(RuntimeWarning, match=r'threadpoolctl is not installed.*pip install "tinyrnn\[fast\]"'):
        runtime.use_one_blas_thread()
    assert blas_threads() == [2] * len(blas_threads())


FAULT_PROBE = """
import resource, sys
import numpy as np
from tinyrnn import runtime
if sys.argv[1] == "keep":
    runtime.keep_freed_memory()
def step():  # like a training step: large arrays written, then all freed
    arrays = [np.ones(1 << 20) for _ in range(4)]  # 4 x 8 MB
    del arrays
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="keep_freed_memory tunes glibc's malloc")
def test_freed_memory_is_reused_not_faulted_in_again() -> None:
    """By default glibc hands the step's 32 MB back and faults fresh pages in on every
    step (~2,000 faults here: 4 KB pages, some faulted in together); after
    keep_freed_memory() the step reuses its memory (no fault here)."""

    def faults(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", FAULT_PROBE, mode], capture_output=True, text=True, check=True)
        return float(out.stdout)

    default, kept = faults("default"), faults("keep")
    assert default > 1000, f"the default allocator should fault the step's pages in again ({default} per step)"
    assert kept < 0.05 * default, f"{kept} page faults per step with keep_freed_memory, {default} without"


def test_the_warning_names_the_fix_once_per_call_site(two_threads, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            runtime.use_one_blas_thread()
    assert len(caught) == 1 and "OMP_NUM_THREADS=1" in str(caught[0].message)
