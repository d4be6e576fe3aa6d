"""python -m tinyrnn.dinos: a character-level model that invents dinosaur names.

It reads ~1,500 real genus names one character at a time, learns to predict
the next character (or the end of the name), and then writes new names by
sampling one character after another (the model is in namemodel.py).

Two presets share this code:
  classic   the well-known course setup, exactly: tanh RNN, 50 hidden units, one
            name per SGD step (lr 0.01) on the loss summed over the name, every
            gradient entry clipped to [-5, 5], 35,000 steps, weights N(0, 0.01^2)
            and zero biases, the hidden state carried from one name to the next.
  default   a modern setup: mini-batches of padded names (padding masked out of
            the loss), a GRU, Adam, gradient-norm clipping; a few seconds.
Both are scored on the same held-out names (a fixed 10%, whatever the --seed).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from tinyrnn.apps.cli import CELLS, EXIT_CODES, ArgumentParser, non_negative, positive, run_cli
from tinyrnn.apps.namemodel import (
    ARCH,
    NameModel,
    batch_loss,
    course_init,
    load_checkpoint,
    per_char_nll,
    sample,
    save_checkpoint,
)
from tinyrnn.apps.outputs import Outputs
from tinyrnn.apps.training import CLIP_MODES, OPTIMIZERS, Trainer, due
from tinyrnn.data.names import EOS, Alphabet, bundled_path, read_names, split_names
from tinyrnn.nn.utils import detach_state
from tinyrnn.random import manual_seed


@dataclass(frozen=True)
class Config:
    """Everything a training run depends on; a preset is one of these."""

    cell: str
    hidden: int
    layers: int
    dtype: str
    steps: int
    batch: int
    lr: float
    optimizer: str
    clip: float
    clip_mode: str  # "value": every entry to [-clip, clip]; "norm": the joint gradient norm to <= clip
    course: bool  # the course's details: summed loss, carried state, N(0, 0.01^2) init, one fixed shuffle
    report_every: int
    report_samples: int
    smoothing: float  # progress loss = smoothing * old + (1 - smoothing) * new


PRESETS = {
    "default": Config("gru", 64, 1, "float32", 300, 32, 0.01, "adam", 1.0, "norm", False, 50, 4, 0.9),
    "classic": Config("rnn", 50, 1, "float64", 35000, 1, 0.01, "sgd", 5.0, "value", True, 2000, 7, 0.999),
}


# ---- training -------------------------------------------------------------------


def batches(names: list[str], size: int, rng: np.random.Generator, reshuffle: bool):
    """Endless lists of `size` names: a random order, cut into batches; reshuffled
    after every pass (the course shuffles once and then cycles)."""
    order = rng.permutation(len(names))
    while True:
        for i in range(0, len(order), size):
            yield [names[k] for k in order[i : i + size]]
        if reshuffle:
            order = rng.permutation(len(names))


def train(model: NameModel, cfg: Config, names: list[str], rng: np.random.Generator, seed: int, log=print) -> None:
    """cfg.steps optimiser steps on `names`, with progress lines every cfg.report_every steps.

    Default: each step minimises the mean loss per character of a batch.
    Course: each step minimises the summed loss of one name, and the hidden
    state runs on (detached) from one name into the next."""
    params = [p for p in model.parameters() if p.requires_grad]
    trainer = Trainer(params, cfg.optimizer, cfg.lr, cfg.clip, cfg.clip_mode, "try a lower --lr or a --clip")
    smoothed = math.log(len(model.alphabet)) * (7 if cfg.course else 1)  # the course starts at 7 names' worth
    state, start = None, time.perf_counter()
    for step, names_batch in zip(range(1, cfg.steps + 1), batches(names, cfg.batch, rng, reshuffle=not cfg.course)):
        loss, count, state = batch_loss(model, names_batch, state, lengths=cfg.course and cfg.batch > 1)
        if not cfg.course:
            loss, state = loss / count, None
        value = trainer.step(loss)
        if state is not None:
            state = detach_state(state)
        smoothed = cfg.smoothing * smoothed + (1 - cfg.smoothing) * value
        if due(step, cfg.report_every, cfg.steps):
            shown = sample(model, cfg.report_samples, np.random.default_rng([seed, step]))
            elapsed = time.perf_counter() - start
            unit = "per name" if cfg.course else "per char"
            log(f"step {step:6d}/{cfg.steps}  loss {smoothed:7.3f} {unit}  {elapsed:6.1f} s  " + ", ".join(shown))
    trainer.finish()


# ---- command line ---------------------------------------------------------------


def say(line: str) -> None:
    print(line, flush=True)  # progress shows at once, even through a pipe


def build_parser() -> ArgumentParser:
    d, c = PRESETS["default"], PRESETS["classic"]
    p = ArgumentParser(
        prog="python -m tinyrnn.dinos",
        description="Train a character-level model on dinosaur names (or any --data list of names), "
        "report its per-character negative log-likelihood (NLL, in nats; the end of a name counts as a "
        "character) on the training names and on a fixed held-out 10% (the same names for every --seed and "
        "preset), and sample new names.",
        epilog=f"Presets (flags override them): default = {d.cell}, {d.hidden} hidden, {d.dtype}, {d.steps} steps "
        f"of {d.batch} padded names, {d.optimizer} lr {d.lr}, clip {d.clip_mode} {d.clip}; "
        f"classic = the course: {c.cell}, {c.hidden} hidden, {c.dtype}, {c.steps} steps of one name, "
        f"{c.optimizer} lr {c.lr}, clip {c.clip_mode} {c.clip}, loss summed over the name, hidden state carried "
        "from name to name, N(0, 0.01^2) weights. " + EXIT_CODES,
    )
    p.add_argument("--preset", choices=sorted(PRESETS), default="default", help="starting configuration")
    p.add_argument("--data", metavar="FILE", help="UTF-8 list of names, one per line (default: the bundled dinos)")
    p.add_argument(
        "--keep-case",
        action="store_true",
        help="keep capital letters in --data and --eval names (by default they are lowercased, as the course does)",
    )
    p.add_argument("--cell", choices=sorted(CELLS), help="recurrent cell")
    p.add_argument("--hidden", type=positive(int), help="hidden units per layer")
    p.add_argument("--layers", type=positive(int), help="stacked recurrent layers")
    p.add_argument("--dtype", choices=["float32", "float64"], help="parameter dtype")
    p.add_argument("--steps", type=non_negative(int), help="optimiser steps")
    p.add_argument("--batch", type=positive(int), help="names per step")
    p.add_argument("--lr", type=positive(float), help="learning rate")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="optimiser")
    p.add_argument("--clip", type=non_negative(float), help="gradient clipping threshold (0: none)")
    p.add_argument("--clip-mode", choices=CLIP_MODES, help="clip the joint norm, or every entry")
    p.add_argument(
        "--seed", type=non_negative(int), default=0, help="random seed: initialisation, batch order, sampling"
    )
    p.add_argument("--save", metavar="FILE", help="write the trained model here (.npz; only after success)")
    p.add_argument("--load", metavar="FILE", help="start from a --save'd model (its architecture and alphabet)")
    p.add_argument("--no-train", action="store_true", help="with --load: skip training, just score and sample")
    p.add_argument("--sample", type=non_negative(int), default=10, metavar="N", help="names to sample at the end")
    p.add_argument(
        "--temperature",
        type=non_negative(float),
        default=1.0,
        help="sample from softmax(logits / T): below 1 safer, above 1 wilder, 0 the likeliest",
    )
    p.add_argument("--prefix", default="", help="every sampled name starts with this (e.g. tyran)")
    p.add_argument("--max-len", type=positive(int), default=50, help="longest sampled name, prefix included")
    p.add_argument("--eval", metavar="FILE", help="also report the per-character NLL of this list of names")
    p.add_argument("--metrics", metavar="FILE", help="write JSON: steps, seconds, NLLs, samples, novel_fraction")
    return p


def read_list(flag: str, path, keep_case: bool, log) -> list[str]:
    """The names of a --data or --eval file, lowercased unless keep_case (one line says so when it changed any)."""
    try:
        names = read_names(path)
    except ValueError as e:
        raise ValueError(f"{flag} {e}") from None
    if keep_case or all(name == name.lower() for name in names):
        return names
    log(f"{flag} {path}: names lowercased, as the course does (--keep-case keeps capitals)")
    return list(dict.fromkeys(name.lower() for name in names))


def check_alphabet(alphabet: Alphabet, text: str, what: str) -> None:
    unknown = alphabet.unknown(text)
    if unknown:
        shown = " ".join(repr(ch) for ch in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise ValueError(f"{what} has characters outside the model's alphabet {alphabet.symbols[1:]!r}: {shown}")


def build_model(args: argparse.Namespace, names: list[str], rng: np.random.Generator) -> tuple[NameModel, Config]:
    """A --load'ed model (its architecture wins; a flag that contradicts it is an
    error) or a new one, initialised from --seed; and the run's configuration:
    the preset overridden by the flags given."""
    cfg = PRESETS[args.preset]
    flags = {k: v for k, v in vars(args).items() if k in asdict(cfg) and v is not None}
    if not args.load:
        cfg = replace(cfg, **flags)
        manual_seed(args.seed)
        model = NameModel(Alphabet.from_names(names), cfg.cell, cfg.hidden, cfg.layers, cfg.dtype)
        if cfg.course:
            course_init(model, rng)
        return model, cfg
    model = load_checkpoint(args.load)
    clash = [f"--{k} {flags[k]} (it has {model.arch[k]})" for k in ARCH if k in flags and flags[k] != model.arch[k]]
    if clash:
        raise ValueError(f"--load {args.load}: the model differs from " + "; ".join(clash))
    data = args.data or bundled_path()
    check_alphabet(model.alphabet, "".join(names), f"--load {args.load} was made for another alphabet: --data {data}")
    return model, replace(cfg, **{**flags, **model.arch})


def run(args: argparse.Namespace, outputs: Outputs, log=say) -> dict:
    """Train (or --load), score, sample, add the --save file; return the metrics (run_cli writes both)."""
    if args.no_train and not args.load:
        raise ValueError("--no-train needs --load (there is no model to use otherwise)")
    if len(args.prefix) > args.max_len:
        raise ValueError(f"--prefix {args.prefix!r} is longer than --max-len {args.max_len}")
    if EOS in args.prefix or "\r" in args.prefix:
        raise ValueError(f"--prefix {args.prefix!r}: a name is one line; the prefix must not contain a line break")
    data = args.data or bundled_path()
    names = read_list("--data", data, args.keep_case, log)
    try:
        train_names, heldout = split_names(names)
    except ValueError as e:
        raise ValueError(f"--data {data}: {e}") from None
    eval_names = read_list("--eval", args.eval, args.keep_case, log) if args.eval else None
    rng = np.random.default_rng(args.seed)
    model, cfg = build_model(args, names, rng)
    check_alphabet(model.alphabet, args.prefix, f"--prefix {args.prefix!r}")
    if eval_names is not None:
        check_alphabet(model.alphabet, "".join(eval_names), f"--eval {args.eval}")
    log(
        f"{len(names):,} names from {data} ({len(heldout)} held out), alphabet of {len(model.alphabet)} "
        f"(end of name included); {cfg.cell} x{cfg.layers}, {cfg.hidden} hidden, {cfg.dtype}"
    )

    steps = 0 if args.no_train else cfg.steps
    start, cpu_start = time.perf_counter(), time.process_time()
    if steps:
        log(
            f"training {steps} steps of {cfg.batch} name(s): {cfg.optimizer} lr {cfg.lr}, "
            f"clip {cfg.clip_mode} {cfg.clip}" + (", the course's details" if cfg.course else "")
        )
        train(model, cfg, train_names, rng, args.seed, log)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    metrics = {"preset": args.preset, "steps": steps, "seconds": seconds, "cpu_seconds": cpu_seconds}
    metrics["train_nll"], metrics["heldout_nll"] = per_char_nll(model, train_names), per_char_nll(model, heldout)
    log(f"done: {steps} steps in {seconds:.1f} s")
    log("per-character NLL in nats (the end of a name counts as a character):")
    log(f"  train     {metrics['train_nll']:.4f}  ({len(train_names):,} names)")
    log(f"  held-out  {metrics['heldout_nll']:.4f}  ({len(heldout):,} names)")
    if eval_names is not None:
        metrics["eval_nll"] = per_char_nll(model, eval_names)
        log(f"  --eval    {metrics['eval_nll']:.4f}  ({len(eval_names):,} names in {args.eval})")
    samples = sample(model, args.sample, np.random.default_rng(args.seed), args.temperature, args.prefix, args.max_len)
    known = set(names)
    novel = sum(s not in known for s in samples)
    metrics["samples"], metrics["novel_fraction"] = samples, novel / len(samples) if samples else None
    if samples:
        log(f"{len(samples)} sampled names (seed {args.seed}, temperature {args.temperature}):")
        log("\n".join(f"  {s or '(empty: the end of the name came first)'}" for s in samples))
        log(f"new names: {novel} of {len(samples)} ({novel / len(samples):.0%}) are not in the name list")
    outputs.add("--save", lambda path: save_checkpoint(path, model))
    metrics["config"] = asdict(replace(cfg, steps=steps))
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Bad input: one line on stderr, exit 2; a diverged run: exit 1; Ctrl-C: exit 130."""
    return run_cli(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
