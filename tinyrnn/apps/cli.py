"""The command-line plumbing shared by the task modules (charlm, dinos, binary_add, seq2seq, tagging).

Their contract: --help documents every option with its default; a bad argument
or file is one line on stderr and exit code 2, a diverged run exit code 1,
Ctrl-C exit code 130 and SIGTERM 143, none of which leaves a file behind or
touches an old one; outputs are checked before training and written atomically
after it (tinyrnn/apps/outputs.py). Every task judges divergence by the same
rule, DivergenceCheck's; the training step itself is tinyrnn/apps/training.py.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import warnings
from collections.abc import Callable, Iterable

import numpy as np

from tinyrnn import nn
from tinyrnn.apps.outputs import Outputs, Terminated, guarded_run, write_json
from tinyrnn.runtime import keep_freed_memory, use_one_blas_thread
from tinyrnn.tensor import Tensor

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


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
        self.hint, self.step = hint, 0
        self.first: float | None = None

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


INPUT_OPTIONS = ("--data", "--load", "--eval", "--pairs")


def run_cli(
    parser: ArgumentParser, run_fn: Callable[[argparse.Namespace, Outputs], dict], argv: list[str] | None = None
) -> int:
    """The one way every task runs: parse argv, check the outputs, call run_fn(args, outputs)
    (which trains and adds what --save writes), then write --metrics (the dict run_fn returns)
    and --save, in that order, each atomically (tinyrnn.apps.outputs).
    Bad input (ValueError, OSError) or sizes too large for memory: one line on stderr,
    exit 2; a diverged run (TrainingError): exit 1; Ctrl-C: exit 130; SIGTERM: exit 143.
    The last line of a failed run says which outputs were written and which old files were
    kept. NumPy's floating-point warnings are silenced: DivergenceCheck reports a diverging run, once."""
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:  # no threadpoolctl: one line that says what to do
        warnings.simplefilter("always")
        use_one_blas_thread()
    for w in caught:
        print(f"{parser.prog}: note: {w.message}", file=sys.stderr)
    keep_freed_memory()
    outputs = Outputs(
        {"--metrics": args.metrics, "--save": getattr(args, "save", None)},
        inputs={opt: getattr(args, opt[2:], None) for opt in INPUT_OPTIONS},
    )
    with guarded_run():
        try:
            outputs.check()
            with np.errstate(all="ignore"):
                metrics = run_fn(args, outputs)
            outputs.add("--metrics", lambda path: write_json(path, metrics))
            outputs.commit()
            if "--save" in outputs.written:
                print(f"saved the model to {outputs.paths['--save']}")
        except (ValueError, OSError) as e:
            return fail(parser, str(e), outputs, 2)
        except MemoryError as e:
            return fail(parser, f"out of memory ({e}): try smaller sizes", outputs, 2)
        except TrainingError as e:
            return fail(parser, str(e), outputs, 1)
        except KeyboardInterrupt:
            return fail(parser, "interrupted", outputs, 130)
        except Terminated:
            return fail(parser, "terminated (SIGTERM)", outputs, 128 + signal.SIGTERM)
    return 0


def fail(parser: ArgumentParser, message: str, outputs: Outputs, code: int) -> int:
    """One line on stderr; it says what happened to the outputs, unless the run stopped on
    bad input before it had anything to write (then there is nothing to say)."""
    quiet = code == 2 and not outputs.writers
    report = "" if quiet else f"; {outputs.report()}"
    print(f"{parser.prog}: " + ("error: " if code in (1, 2) else "") + message + report, file=sys.stderr)
    return code
