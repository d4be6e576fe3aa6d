"""The command-line plumbing shared by the task modules (charlm, dinos, binary_add, seq2seq, tagging).

Their contract: --help documents every option with its default; a bad argument
or file is one line on stderr and exit code 2, a diverged run exit code 1 and
Ctrl-C exit code 130, neither of which leaves a file behind; outputs are
checked before training and written atomically after it. Every task judges
divergence by the same rule, DivergenceCheck's.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import platform
import sys
import tempfile
from collections.abc import Callable, Iterable

import numpy as np

from tinyrnn import nn, optim
from tinyrnn.tensor import Tensor

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam}


EXIT_CODES = (
    "Exit codes: 0 done; 1 training diverged (nothing saved); 2 bad arguments or files (one line on stderr); "
    "130 interrupted (nothing saved)."
)


class TrainingError(Exception):
    """Training diverged: reported in one line, exit code 1, nothing saved."""


EXPLODED = 1e6


class DivergenceCheck:
    """The one rule by which every task decides that training has diverged (a TrainingError):
      - a step's loss is not finite (nan or inf), or
      - a step's loss is above EXPLODED (a million) times the first step's loss, or above
        EXPLODED itself when the first loss is below 1, or
      - after the last step a parameter is not finite (no loss has seen that step's update).
    Every task's loss is a cross-entropy or a squared error of a few units at the start,
    whatever it is summed over (a character, a name, a number's bits). A million times
    that means the weights have blown up: the run is not learning, and NumPy reaches inf
    and nan a few steps later anyway. The floor of 1 keeps a --load'ed model whose loss
    starts near 0 from counting ordinary noise as divergence.

        check = DivergenceCheck("try a lower --lr")
        for ...:  # every optimiser step
            ...
            check.loss(loss.item())
        check.weights(model.parameters())
    """

    def __init__(self, hint: str):
        self.hint, self.first, self.step = hint, None, 0

    def loss(self, value: float) -> None:
        """The next step's loss (steps count from 1)."""
        self.step += 1
        if not math.isfinite(value):
            raise TrainingError(f"training diverged at step {self.step} (loss {value}): {self.hint}")
        if self.first is None:
            self.first = value
        elif value > EXPLODED * max(self.first, 1.0):
            raise TrainingError(
                f"training diverged at step {self.step} (loss {value:.3g}, over a million times the first step's "
                f"{self.first:.3g}): {self.hint}"
            )

    def weights(self, parameters: Iterable[Tensor]) -> None:
        """After the last step: every parameter must be finite."""
        if not all(np.isfinite(p.data).all() for p in parameters):
            raise TrainingError(f"training diverged: the last step left weights that are not finite: {self.hint}")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except for flags and options without one (None, False or '')."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or action.default == "":
            return action.help
        return super()._get_help_string(action)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (prog: error: ...) and exits 2."""

    def __init__(self, **kwargs):
        super().__init__(formatter_class=HelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _bounded(kind, ok, rule: str):
    """An argparse type: `kind(text)` that must satisfy ok(value), else 'must be {rule}'."""

    def check(text: str):
        value = kind(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")
        return value

    check.__name__ = kind.__name__  # argparse names the type in its messages
    return check


def positive(kind):
    return _bounded(kind, lambda v: v > 0, "> 0")


def non_negative(kind):
    return _bounded(kind, lambda v: v >= 0, ">= 0")


def check_output_path(path: str | None, option: str) -> None:
    """Fail before training, not after it, when an output file cannot be written:
    an empty name, a directory, a missing directory or one where no file can be created."""
    if path is None:
        return
    if not path:
        raise ValueError(f"{option}: the file name is empty")
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        raise ValueError(f"{option} {path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"{option} {path}: its directory does not exist")
    try:  # the real question, whoever runs this (root passes any permission check): can a file be created?
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as e:
        raise ValueError(f"{option} {path}: cannot create a file in {parent} ({e.strerror})") from None


def input_error(option: str, path: str, e: Exception) -> ValueError:
    """A one-line error naming the option for a file that could not be read or used: OSErrors
    as their reason, ValueErrors (tinyrnn's readers start their messages with the path) as they are."""
    if isinstance(e, FileNotFoundError):
        return ValueError(f"{option} {path}: no such file")
    if isinstance(e, IsADirectoryError):
        return ValueError(f"{option} {path}: is a directory")
    if isinstance(e, OSError):
        return ValueError(f"{option} {path}: cannot read ({e.strerror or e})")
    return ValueError(f"{option} {e}")


def write_json(path: str, data: dict) -> None:
    """Write atomically: a temporary file renamed over the target."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
OPENBLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads")


def use_one_blas_thread() -> None:
    """Ask NumPy's OpenBLAS for one thread, unless the user chose a number.

    The tasks multiply small matrices, where OpenBLAS's extra worker threads
    only busy-wait: on a 2-core machine with a busy neighbour the default
    dinosaur run took 6 s instead of 0.6 s. Finds the loaded library through
    /proc/self/maps (Linux); elsewhere, or with no OpenBLAS, it does nothing."""
    if any(var in os.environ for var in BLAS_THREAD_VARIABLES):
        return
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return
    for path in paths:
        lib = ctypes.CDLL(path)
        setter = next((getattr(lib, name) for name in OPENBLAS_SETTERS if hasattr(lib, name)), None)
        if setter is not None:
            setter(1)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep freed memory for the next allocation instead of
    handing it back to the system.

    A training step allocates and frees the same large arrays every time. By
    default glibc returns them to the system (munmap, or trimming its heap) and
    the next step gets fresh pages, each zeroed by the kernel on first touch:
    an LSTM (hidden 128, batch 32, float32) step took 16.5-21 ms with ~2,800 page
    faults instead of 10.4-13.9 ms with none. Arrays below 32 MB now come from
    the heap, which keeps up to 256 MB free before it shrinks. Elsewhere than
    glibc (macOS, musl, Windows) it does nothing."""
    if platform.libc_ver()[0] != "glibc":
        return
    mallopt = ctypes.CDLL(None).mallopt
    mallopt(M_MMAP_THRESHOLD, 32 << 20)
    mallopt(M_TRIM_THRESHOLD, 256 << 20)


def run_cli(parser: ArgumentParser, run_fn: Callable[[argparse.Namespace], dict], argv: list[str] | None = None) -> int:
    """Parse argv, call run_fn(args) and write the metrics dict it returns to --metrics
    (an option every task's parser has), which is checked first.
    Bad input (ValueError, OSError) or sizes too large for memory: one line on stderr,
    exit 2; a diverged run (TrainingError): exit 1; Ctrl-C: exit 130. NumPy's
    floating-point warnings are silenced: DivergenceCheck reports a diverging run, once."""
    args = parser.parse_args(argv)
    use_one_blas_thread()
    keep_freed_memory()
    try:
        check_output_path(args.metrics, "--metrics")
        with np.errstate(all="ignore"):
            metrics = run_fn(args)
        if args.metrics:
            write_json(args.metrics, metrics)
    except (ValueError, OSError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    except MemoryError as e:
        print(f"{parser.prog}: error: out of memory ({e}): try smaller sizes", file=sys.stderr)
        return 2
    except TrainingError as e:
        print(f"{parser.prog}: error: {e}; nothing was saved", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; nothing was saved", file=sys.stderr)
        return 130
    return 0
