"""The command-line plumbing shared by the task modules (charlm, dinos, binary_add, seq2seq, tagging).

Their contract: --help documents every option with its default; a bad argument
or file is one line on stderr and exit code 2, a diverged run exit code 1 and
Ctrl-C exit code 130, neither of which leaves a file behind; outputs are
checked before training and written atomically after it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
from collections.abc import Callable

from tinyrnn import nn, optim

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam}


class TrainingError(Exception):
    """Training diverged: reported in one line, exit code 1, nothing saved."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except for flags and options without one."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
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
    """Fail before training, not after it, when an output file cannot be written."""
    if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise ValueError(f"{option} {path}: its directory does not exist")


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


def run_cli(parser: ArgumentParser, run_fn: Callable[[argparse.Namespace], dict], argv: list[str] | None = None) -> int:
    """Parse argv, call run_fn(args) and write the metrics dict it returns to --metrics
    (an option every task's parser has), whose directory is checked first.
    Bad input (ValueError, OSError): one line on stderr, exit 2; a diverged run
    (TrainingError): exit 1; Ctrl-C: exit 130."""
    args = parser.parse_args(argv)
    use_one_blas_thread()
    try:
        check_output_path(args.metrics, "--metrics")
        metrics = run_fn(args)
        if args.metrics:
            write_json(args.metrics, metrics)
    except (ValueError, OSError) as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    except TrainingError as e:
        print(f"{parser.prog}: error: {e}; nothing was saved", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted; nothing was saved", file=sys.stderr)
        return 130
    return 0
