"""Binary addition: tinyrnn against an equivalent PyTorch model for the same training
steps, and the accuracy of `python -m tinyrnn.binary_add` over five seeds.

Speed. Each setup trains from the same initial weights on the same pre-generated
batches (float64, one thread each, repetitions interleaved, medians):
  - default: tanh RNN (hidden 16) + Linear readout, batches of 32 8-bit sums,
    BCE on logits, Adam lr 0.02, 1,000 steps; tinyrnn's fused layer (its default)
    and its per-op layer (fused=False) against torch.nn.RNN;
  - classic: the tutorial's bias-free sigmoid RNN (hidden 16), one sum per step,
    0.5 squared error, SGD lr 0.1, 10,000 steps; tinyrnn's ClassicRNN (autograd)
    and the hand-written NumPy BPTT (tinyrnn/bptt/binary_add.py) against the
    same loop written with torch ops.
Each ratio is torch's time / the other's (above 1: faster than torch). The
largest difference between the final weights shows that both sides computed
the same training run.

Accuracy. The CLI's default and --preset classic for seeds 0..4, each in its own
process: exact-match accuracy at 8 (all 16,384 pairs), 16, 32 and 64 bits (10,000
random pairs each), the first step at 100% on 8 bits, training seconds and the
process's whole wall time.

    python benchmarks/bench_binary_add.py                 # both parts (a few minutes)
    python benchmarks/bench_binary_add.py --part speed --reps 3 --classic-steps 2000

Writes benchmarks/results/binary_add.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _common

_common.pin_threads(1)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import tinyrnn as tr  # noqa: E402
from tinyrnn.apps import binary_add as ba  # noqa: E402
from tinyrnn.bptt import binary_add as ref  # noqa: E402
from tinyrnn.data.bits import random_pairs, sequences  # noqa: E402

_common.set_torch_threads(torch, 1)
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "binary_add.json")


def make_batches(steps: int, batch: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [sequences(*random_pairs(batch, 8, rng)) for _ in range(steps)]


# ---- default setup: tanh RNN + Linear, BCE, Adam ----------------------------------------
class TorchAdder(torch.nn.Module):
    """torch's twin of ba.Adder('rnn', ...): same parameter names, so state dicts carry over."""

    def __init__(self, hidden: int):
        super().__init__()
        self.rnn = torch.nn.RNN(2, hidden).double()
        self.readout = torch.nn.Linear(hidden, 1).double()

    def forward(self, x):
        return self.readout(self.rnn(x)[0])[..., 0]


def tinyrnn_train(model: tr.nn.Module, start: dict, batches: list, optimizer, loss: str) -> dict:
    """Train `model` from the weights `start` with tinyrnn: one step per batch."""
    model.load_state_dict(start)
    opt = optimizer(model.parameters())
    for x, y in batches:
        value = ba.loss_fn(model(tr.Tensor(x)), y, loss)
        opt.zero_grad()
        value.backward()
        opt.step()
    return model.state_dict()


def tinyrnn_default(start: dict, batches: list, fused: bool) -> dict:
    model = ba.Adder("rnn", 16)
    model.rnn.fused = fused
    return tinyrnn_train(model, start, batches, lambda params: tr.optim.Adam(params, lr=0.02), "bce")


def torch_default(start: dict, batches: list) -> dict:
    model = TorchAdder(16)
    model.load_state_dict(tr.io.to_torch_state_dict(start))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    bce = torch.nn.BCEWithLogitsLoss(reduction="sum")
    for x, y in batches:
        loss = bce(model(torch.from_numpy(x)), torch.from_numpy(y.astype(np.float64))) / x.shape[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return tr.io.from_torch_state_dict(model.state_dict())


# ---- classic setup: sigmoid RNN without biases, squared error, SGD -------------------------
def tinyrnn_classic(start: dict, batches: list) -> dict:
    return tinyrnn_train(ba.ClassicRNN(16), start, batches, lambda params: tr.optim.SGD(params, lr=0.1), "mse")


def by_hand_classic(start: dict, batches: list) -> dict:
    w = {k: v.copy() for k, v in start.items()}
    for x, y in batches:
        h, o = ref.forward(w, x)
        for name, g in ref.backward(w, x, y, h, o).items():
            w[name] -= 0.1 * g
    return w


def torch_classic(start: dict, batches: list) -> dict:
    U, W, V = (torch.tensor(start[k], requires_grad=True) for k in "UWV")
    opt = torch.optim.SGD([U, W, V], lr=0.1)
    for x, y in batches:
        h, hs = torch.zeros(x.shape[1], 16, dtype=torch.float64), []
        for xu_t in torch.from_numpy(x) @ U:
            h = torch.sigmoid(xu_t + h @ W)
            hs.append(h)
        o = torch.sigmoid(torch.stack(hs) @ V)[..., 0]
        loss = 0.5 * ((o - torch.from_numpy(y.astype(np.float64))) ** 2).sum() / x.shape[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"U": U.detach().numpy(), "W": W.detach().numpy(), "V": V.detach().numpy()}


def time_setup(name: str, runs: dict, reps: int) -> dict:
    """Interleaved timings of runs {label: fn() -> final weights}; ratios against 'torch'."""
    finals = {label: fn() for label, fn in runs.items()}  # also the warm-up
    times = _common.interleaved(runs, reps=reps, warmup=0)
    medians = {label: _common.median(ts) for label, ts in times.items()}
    row = {"seconds": medians, "torch_over": {}, "max_weight_difference_to_torch": {}}
    print(f"\n{name}")
    for label, seconds in medians.items():
        diff = max(float(np.abs(finals[label][k] - finals["torch"][k]).max()) for k in finals["torch"])
        ratio = medians["torch"] / seconds
        row["torch_over"][label], row["max_weight_difference_to_torch"][label] = ratio, diff
        print(f"  {label:24s} {seconds:7.2f} s   torch/this {ratio:5.2f}x   final weights differ by {diff:.1e}")
    return row


def speed(reps: int, classic_steps: int) -> dict:
    tr.manual_seed(0)
    start = ba.Adder("rnn", 16).state_dict()
    batches = make_batches(1000, 32)
    default = time_setup(
        "default: tanh RNN 16 + Linear, batch 32, BCE, Adam lr 0.02, 1,000 steps (median of interleaved runs)",
        {
            "torch": lambda: torch_default(start, batches),
            "tinyrnn (fused layer)": lambda: tinyrnn_default(start, batches, fused=True),
            "tinyrnn (per-op layer)": lambda: tinyrnn_default(start, batches, fused=False),
        },
        reps,
    )
    tr.manual_seed(0)
    start = ba.ClassicRNN(16).state_dict()
    batches = make_batches(classic_steps, 1)
    classic = time_setup(
        f"classic: sigmoid RNN 16, batch 1, squared error, SGD lr 0.1, {classic_steps:,} steps",
        {
            "torch": lambda: torch_classic(start, batches),
            "tinyrnn (ClassicRNN)": lambda: tinyrnn_classic(start, batches),
            "hand-written NumPy BPTT": lambda: by_hand_classic(start, batches),
        },
        reps,
    )
    return {"default": default, "classic": {**classic, "steps": classic_steps}}


# ---- accuracy over seeds, through the CLI ---------------------------------------------------
def cli_run(preset: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.json")
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "tinyrnn.binary_add", "--preset", preset, "--seed", str(seed), "--metrics", path],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        with open(path) as f:
            return {**json.load(f), "wall_seconds": wall}


def accuracy(seeds: int) -> dict:
    results = {}
    for preset in ba.PRESETS:
        print(f"\n--preset {preset}")
        print("  seed      8 bits     16 bits     32 bits     64 bits   first 100%   train s   wall s")
        runs = []
        for seed in range(seeds):
            m = cli_run(preset, seed)
            runs.append(m)
            accs = "".join(f"{m['accuracy'][w]:11.2%} " for w in ("8", "16", "32", "64"))
            first = m["converged_at_step"] if m["converged_at_step"] is not None else "never"
            print(f"  {seed:4d} {accs} {first:>11} {m['seconds']:9.2f} {m['wall_seconds']:8.2f}")
        perfect = sum(all(v == 1.0 for v in m["accuracy"].values()) for m in runs)
        wall = _common.median([m["wall_seconds"] for m in runs])
        print(f"  100% at every width for {perfect} of {seeds} seeds; median wall time {wall:.2f} s")
        results[preset] = {"runs": runs, "seeds_at_100_percent": perfect, "median_wall_seconds": wall}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("speed", "accuracy", "both"), default="both")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions per library (default: 5)")
    parser.add_argument("--classic-steps", type=int, default=10000, help="steps of the classic setup (default: 10000)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the accuracy part (default: 5)")
    args = parser.parse_args()
    out = {"machine": _common.machine_info(np, torch)}
    if args.part in ("speed", "both"):
        out["speed"] = speed(args.reps, args.classic_steps)
    if args.part in ("accuracy", "both"):
        out["accuracy"] = accuracy(args.seeds)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
