"""`python -m tinyrnn.binary_add`: an RNN learns binary addition, then adds numbers it never saw.

The two operands enter one bit pair per time step, least significant bit
first, and the network emits one bit of the sum per step. All it has to learn
is the carry, a single bit of memory, so a net trained on 8-bit numbers can add
64-bit ones: the same step, repeated for more steps.

A `width`-bit problem has operands below 2^(width-1), so the sum fits in
`width` bits: `width` time steps (tinyrnn/binary_add_data.py). A model maps
inputs x (T, N, 2) to one logit per step (T, N) and predicts bit 1 where the
logit is positive.

Two setups:
  - default: a tanh RNN (tr.nn.RNN, hidden 16) with a linear readout, batches of
    32 numbers, binary cross-entropy on the logits, Adam (lr 0.02), 1,000 steps;
  - --preset classic: the well-known tutorial's network (ClassicRNN: sigmoid
    recurrence, no biases, squared error on sigmoid outputs), one pair per
    step, plain SGD with lr 0.1, 10,000 steps. Its BPTT is written out by hand
    in tinyrnn/bptt/binary_add.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import numpy as np

from tinyrnn import functional as F
from tinyrnn import nn
from tinyrnn.apps.checkpoint import checkpoint, load_checkpoint
from tinyrnn.apps.cli import CELLS as LAYERS  # 'rnn', 'gru', 'lstm' -> tr.nn's layer
from tinyrnn.apps.cli import EXIT_CODES, ArgumentParser, non_negative, positive, run_cli
from tinyrnn.apps.outputs import Outputs
from tinyrnn.apps.training import OPTIMIZERS, Trainer, due
from tinyrnn.data.bits import EVAL_SEED, EXHAUSTIVE_LIMIT, evaluation_pairs, from_bits, random_pairs, sequences
from tinyrnn.io import save
from tinyrnn.nn.module import init_uniform
from tinyrnn.ops import sigmoid, stack, unbind
from tinyrnn.random import get_rng, manual_seed
from tinyrnn.tensor import Tensor, no_grad

MIN_BITS, MAX_BITS = 2, 4096
EVAL_ELEMENTS = 1 << 23  # T * chunk * hidden floats per evaluation batch (64 MB in float64)


# ---- models: bits (T, N, 2) -> logits (T, N) ------------------------------------
class ClassicRNN(nn.Module):
    """The classic tutorial's network, weights drawn uniformly from [-1, 1]:
        h_t = sigmoid(x_t U + h_{t-1} W),   out_t = sigmoid(h_t V),   h_0 = 0, no biases,
    with U (2, H), W (H, H), V (H, 1). forward() returns the logits h_t V."""

    def __init__(self, hidden: int, dtype=np.float64):
        self.hidden = hidden
        self.U = init_uniform((2, hidden), 1.0, dtype)
        self.W = init_uniform((hidden, hidden), 1.0, dtype)
        self.V = init_uniform((hidden, 1), 1.0, dtype)

    def forward(self, x: Tensor) -> Tensor:
        """x (T, B, 2) -> logits (T, B)."""
        h = Tensor(np.zeros((x.shape[1], self.hidden), x.dtype))
        hs = []
        for xu_t in unbind(x @ self.U):  # x_t U for every t in one matmul
            h = sigmoid(xu_t + h @ self.W)
            hs.append(h)
        return (stack(hs) @ self.V).reshape(x.shape[:2])  # h_t V for every t in one matmul


class Adder(nn.Module):
    """A tinyrnn recurrent layer (RNN with tanh, GRU or LSTM) and a linear readout."""

    def __init__(self, cell: str, hidden: int, dtype=np.float64):
        self.hidden = hidden
        self.rnn = LAYERS[cell](2, hidden, dtype=dtype)
        self.readout = nn.Linear(hidden, 1, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        """x (T, B, 2) -> logits (T, B)."""
        return self.readout(self.rnn(x)[0]).reshape(x.shape[:2])


CELLS = (*LAYERS, "sigmoid")


AddingModel = ClassicRNN | Adder  # the two models this task trains


def build_model(cell: str, hidden: int) -> AddingModel:
    """'sigmoid' is the classic ClassicRNN; 'rnn', 'gru', 'lstm' an Adder around tr.nn's layer."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    return ClassicRNN(hidden) if cell == "sigmoid" else Adder(cell, hidden)


def loss_fn(logits: Tensor, y: np.ndarray, kind: str) -> Tensor:
    """Loss per number (summed over its bits, averaged over the batch) of logits (T, B)
    against bits y (T, B): 'bce' = binary cross-entropy on the logits, 'mse' = the
    classic 0.5 (sigmoid(logit) - y)^2."""
    y = y.astype(logits.dtype)
    batch = logits.shape[1]
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, y, reduction="sum") / batch
    err = sigmoid(logits) - y
    return (err * err).sum() * (0.5 / batch)


def count_exact(model: AddingModel, a: np.ndarray, b: np.ndarray) -> int:
    """How many of the pairs (a, b) (N, width) the model adds with every bit right (no graph, in chunks)."""
    chunk = max(1, EVAL_ELEMENTS // (a.shape[1] * model.hidden))
    right = 0
    with no_grad():
        for i in range(0, len(a), chunk):
            x, y = sequences(a[i : i + chunk], b[i : i + chunk])
            right += int(np.all((model(Tensor(x)).data > 0) == y, axis=0).sum())
    return right


# ---- training ---------------------------------------------------------------------
@dataclass
class Config:
    """One run's hyper-parameters (see build_parser for their meaning)."""

    cell: str
    hidden: int
    loss: str
    optimizer: str
    lr: float
    batch: int
    steps: int
    bits: int
    seed: int
    check_every: int
    test_pairs: int


def train(model: AddingModel, cfg: Config, log=print) -> dict:
    """Train on fresh random `cfg.bits`-wide pairs each step. Every `cfg.check_every`
    steps, test the training width and log progress; `converged_at_step` is the first
    check at 100% exact-match (None if none was). TrainingError if training diverges
    (tinyrnn.apps.cli.DivergenceCheck's rule)."""
    trainer = Trainer(model.parameters(), cfg.optimizer, cfg.lr)
    check_a, check_b, how = evaluation_pairs(cfg.bits, cfg.test_pairs)
    rng, converged, recent, start = get_rng(), None, [], time.perf_counter()
    for step in range(1, cfg.steps + 1):
        x, y = sequences(*random_pairs(cfg.batch, cfg.bits, rng))
        recent.append(trainer.step(loss_fn(model(Tensor(x)), y, cfg.loss)))
        if due(step, cfg.check_every, cfg.steps):
            accuracy = count_exact(model, check_a, check_b) / len(check_a)
            if accuracy == 1 and converged is None:
                converged = step
            seconds = time.perf_counter() - start
            log(
                f"step {step:6d}/{cfg.steps}  loss {np.mean(recent):.4f}  "
                f"exact {accuracy:7.2%} on {how} {len(check_a):,} {cfg.bits}-bit pairs  {seconds:5.1f} s"
            )
            recent = []
    trainer.finish()
    return {"seconds": time.perf_counter() - start, "converged_at_step": converged}


# ---- command line -------------------------------------------------------------------
PRESETS = {
    "default": dict(cell="rnn", hidden=16, loss="bce", optimizer="adam", lr=0.02, batch=32, steps=1000),
    "classic": dict(cell="sigmoid", hidden=16, loss="mse", optimizer="sgd", lr=0.1, batch=1, steps=10000),
}


def bit_width(text: str) -> int:
    """An argparse type: a number of bits in [MIN_BITS, MAX_BITS]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of bits, got {text!r}") from None
    if not MIN_BITS <= value <= MAX_BITS:
        raise argparse.ArgumentTypeError(f"must be in [{MIN_BITS}, {MAX_BITS}], got {value}")
    return value


def bit_widths(text: str) -> list[int]:
    """'8,16,32,64' -> [8, 16, 32, 64], each in [MIN_BITS, MAX_BITS]."""
    try:
        return [bit_width(part.strip()) for part in text.split(",")]
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"a comma-separated list of widths, e.g. 8,16,32,64: {e}") from None


def preset_help(key: str) -> str:
    return "; ".join(f"{name}: {values[key]}" for name, values in PRESETS.items())


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="python -m tinyrnn.binary_add",
        description="Train an RNN to add binary numbers, one bit pair per time step (least significant first), "
        "then test it on every operand pair of the training width and on random pairs of much wider numbers. "
        "A width of b bits means operands below 2^(b-1), so the sum fits in b bits (b time steps).",
        epilog="Defaults marked 'default: ...; classic: ...' come from --preset; a flag given explicitly wins. "
        + EXIT_CODES,
    )
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default="default",
        help="default: the tuned setup (tanh RNN, batches, BCE, Adam); classic: the classic tutorial's "
        "sigmoid RNN, one pair per step, squared error, SGD lr 0.1 (default: %(default)s)",
    )
    p.add_argument("--bits", type=bit_width, default=8, help="training width in bits")
    p.add_argument("--hidden", type=positive(int), help=f"hidden units ({preset_help('hidden')})")
    p.add_argument(
        "--cell",
        choices=CELLS,
        help="rnn (tanh), gru, lstm: tr.nn layers with a linear readout; "
        f"sigmoid: the classic bias-free sigmoid RNN ({preset_help('cell')})",
    )
    p.add_argument(
        "--loss",
        choices=("bce", "mse"),
        help="bce: cross-entropy on logits; mse: 0.5 (sigmoid - bit)^2; "
        f"both summed over a number's bits, averaged over the batch ({preset_help('loss')})",
    )
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"optimiser ({preset_help('optimizer')})")
    p.add_argument("--lr", type=positive(float), help=f"learning rate ({preset_help('lr')})")
    p.add_argument("--batch", type=positive(int), help=f"operand pairs per step ({preset_help('batch')})")
    p.add_argument("--steps", type=non_negative(int), help=f"training steps ({preset_help('steps')})")
    p.add_argument("--seed", type=non_negative(int), default=0, help="seeds initialisation and training data")
    p.add_argument(
        "--test-bits",
        type=bit_widths,
        default="8,16,32,64",  # argparse passes a str default through the type, like a typed value
        metavar="LIST",
        help="comma list of widths to test; the training width is always tested",
    )
    p.add_argument(
        "--test-pairs",
        type=positive(int),
        default=10000,
        metavar="N",
        help=f"random pairs per width when a width has more than {EXHAUSTIVE_LIMIT:,} pairs (widths "
        "above 11 bits); smaller widths test every pair",
    )
    p.add_argument(
        "--check-every",
        type=positive(int),
        metavar="N",
        help="test the training width and print progress every N steps; the first check at 100%% is "
        "converged_at_step (default: steps / 20)",
    )
    p.add_argument(
        "--save",
        metavar="FILE",
        help="write the model (.npz) once the run has succeeded (atomically: a failed run leaves an old file alone)",
    )
    p.add_argument(
        "--load",
        metavar="FILE",
        help="evaluate a model saved with --save instead of training "
        "(its cell, hidden size and training width come from the file)",
    )
    p.add_argument(
        "--metrics",
        metavar="FILE",
        help="write JSON: steps, seconds, accuracy {width: exact-match}, "
        "pairs {width: count}, converged_at_step, config",
    )
    return p


def config_from(args: argparse.Namespace) -> Config:
    """The preset's values with every flag the user gave on top."""
    chosen = {key: getattr(args, key) for key in PRESETS[args.preset] if getattr(args, key) is not None}
    values = {**PRESETS[args.preset], **chosen}
    check_every = args.check_every or max(1, values["steps"] // 20)
    return Config(**values, bits=args.bits, seed=args.seed, check_every=check_every, test_pairs=args.test_pairs)


TASK = "tinyrnn.binary_add"


def save_model(path: str, model: nn.Module, config: dict) -> None:
    save(checkpoint(TASK, model, config), path)


def load_model(path: str) -> tuple[AddingModel, dict]:
    """(model, its saved config); ValueError for anything but a binary_add model saved by save_model."""

    def build(config: dict, vocab) -> AddingModel:
        if not MIN_BITS <= int(config["bits"]) <= MAX_BITS:
            raise ValueError(f"training width {config['bits']} is outside [{MIN_BITS}, {MAX_BITS}]")
        return build_model(config["cell"], int(config["hidden"]))

    model, config, _ = load_checkpoint(path, TASK, build)
    assert isinstance(model, (ClassicRNN, Adder))
    return model, config


def show_examples(model: nn.Module, width: int, count: int = 2) -> None:
    """Print a few sums of `width`-bit numbers as Python ints: the model's and whether it is right."""
    a, b = random_pairs(count, width, np.random.default_rng([EVAL_SEED, width, 1]))
    with no_grad():
        guess = (model(Tensor(sequences(a, b)[0])).data > 0).astype(np.uint8).T
    print(f"examples at {width} bits:")
    for x, y, s in zip(from_bits(a), from_bits(b), from_bits(guess)):
        print(f"  {x} + {y} = {s}  ({'right' if s == x + y else f'WRONG, expected {x + y}'})")


def train_or_load(args: argparse.Namespace) -> tuple[AddingModel, dict, dict]:
    """(model, its config, {steps, seconds, converged_at_step}): trained as the flags say, or --load'ed."""
    if args.load:
        ignored = [
            f"--{key.replace('_', '-')}"
            for key in (*PRESETS["default"], "check_every")
            if getattr(args, key) is not None
        ]
        if ignored:
            raise ValueError(f"--load evaluates a trained model: {', '.join(ignored)} would have no effect")
        model, config = load_model(args.load)
        print(f"loaded {args.load}: cell {config['cell']}, hidden {config['hidden']}, trained on {config['bits']} bits")
        return model, config, {"steps": 0, "seconds": 0.0, "converged_at_step": None}
    cfg = config_from(args)
    manual_seed(cfg.seed)
    model = build_model(cfg.cell, cfg.hidden)
    print(
        f"training a {cfg.cell} net (hidden {cfg.hidden}) on {cfg.bits}-bit sums: {cfg.steps} steps of "
        f"{cfg.batch}, {cfg.optimizer} lr {cfg.lr}, {cfg.loss} loss, seed {cfg.seed}"
    )
    summary = {"steps": cfg.steps, **train(model, cfg, log=lambda line: print(line, flush=True))}
    at = summary["converged_at_step"]
    print(
        f"trained {cfg.steps} steps in {summary['seconds']:.2f} s; "
        + (f"first 100% at {cfg.bits} bits at step {at}" if at else f"never 100% at {cfg.bits} bits")
    )
    return model, vars(cfg), summary


def accuracy_table(model: AddingModel, widths: list[int], n_random: int) -> tuple[dict, dict]:
    """Print width, pairs tested, exact-match accuracy; return ({width: accuracy}, {width: pairs}), keys str."""
    accuracy, pairs = {}, {}
    print(f"\n{'width':>5}  {'pairs tested':>17}  {'exact-match':>11}")
    for width in widths:
        a, b, how = evaluation_pairs(width, n_random)
        accuracy[str(width)], pairs[str(width)] = count_exact(model, a, b) / len(a), len(a)
        print(f"{width:5d}  {f'{len(a):,} ({how})':>17}  {accuracy[str(width)]:11.2%}")
    return accuracy, pairs


def run(args: argparse.Namespace, outputs: Outputs) -> dict:
    """Train (or --load), test every width, add the --save file; return the metrics (run_cli writes both)."""
    model, config, summary = train_or_load(args)
    start = time.perf_counter()
    widths = sorted({int(config["bits"]), *args.test_bits})
    accuracy, pairs = accuracy_table(model, widths, args.test_pairs)
    eval_seconds = time.perf_counter() - start
    print(f"tested in {eval_seconds:.2f} s\n")
    show_examples(model, widths[-1])
    outputs.add("--save", lambda path: save_model(path, model, config))
    return {
        **summary,
        "accuracy": accuracy,
        "pairs": pairs,
        "eval_seconds": eval_seconds,
        "config": config,
        "loaded_from": args.load,
    }


def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
