"""The plumbing every task's command line shares (tinyrnn/cli.py)."""

import ctypes
import os
import sys

import numpy as np  # noqa: F401  (loads NumPy's OpenBLAS into this process)
import pytest

from tinyrnn import cli


def _openblas_libs() -> list[ctypes.CDLL]:
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
    return [lib for lib in map(ctypes.CDLL, paths) if hasattr(lib, "scipy_openblas_get_num_threads64_")]


def _threads() -> list[int]:
    return [lib.scipy_openblas_get_num_threads64_() for lib in _openblas_libs()]


@pytest.fixture
def restore_threads():
    before = _threads() if sys.platform == "linux" else []
    if not before and not os.environ.get("CI"):  # CI runs on Linux with NumPy's wheels: there it must work
        pytest.skip("use_one_blas_thread acts on NumPy's scipy-openblas on Linux only")
    yield before
    for lib, n in zip(_openblas_libs(), before):
        lib.scipy_openblas_set_num_threads64_(n)


def test_tasks_ask_openblas_for_one_thread(monkeypatch, restore_threads) -> None:
    for var in cli.BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    assert restore_threads, "NumPy's OpenBLAS was not found in this process"
    cli.use_one_blas_thread()
    assert _threads() == [1] * len(restore_threads)


def test_a_users_thread_setting_is_left_alone(monkeypatch, restore_threads) -> None:
    for lib in _openblas_libs():
        lib.scipy_openblas_set_num_threads64_(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    cli.use_one_blas_thread()
    assert _threads() == [2] * len(restore_threads)


@pytest.mark.parametrize("text, ok", [("3", True), ("0", False), ("-1", False)])
def test_positive_rejects_zero_and_below(text, ok) -> None:
    check = cli.positive(int)
    if ok:
        assert check(text) == 3
    else:
        with pytest.raises(Exception, match="must be > 0"):
            check(text)
