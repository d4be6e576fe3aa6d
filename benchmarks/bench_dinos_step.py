"""One training step of the classic dinosaur preset, three ways, in one process: where its time goes.

    python benchmarks/bench_dinos_step.py [--block 100] [--blocks 40]

  tinyrnn        the preset's own step: batch_loss (one-hot input, the RNN layer, the
                 Linear head, cross_entropy), then Trainer.step (zero_grad, backward,
                 clip every entry to [-5, 5], SGD) and detach_state
  kernel only    the same arithmetic with tinyrnn's fused RNN kernel (RNNKernel, its
                 projection, forward and BPTT) and plain NumPy for the head, the loss
                 and the update: no Tensors, no graph, no checks, no optimiser object
  hand-written   tinyrnn/bptt/dinos.py's forward and backward, the yardstick that
                 benchmarks/bench_dinos.py times as a whole program

All three train the same model (the course's init, seed 0) on the same names in the
same order, one name per step, the hidden state carried on. Before timing, the first
two are run for 300 steps and their weights compared (they agree to rounding).
After one untimed block of each, blocks of --block steps alternate between
the three, --blocks times each, CPU time; the table shows the lower quartile of the blocks in µs per step (the quiet
moments of a shared machine) and the median over blocks of each one's time / the
hand-written loop's time in the same round.

"kernel only" is the floor for this design: everything tinyrnn adds on top of it
(the layer's checks, the graph and the engine, cross_entropy's general form, the
optimiser and clipping over parameter lists) is the gap between the first two rows.
"""

from __future__ import annotations

import argparse
import statistics
import time

import _common

_common.pin_threads(1)

import numpy as np  # noqa: E402

from tinyrnn.apps.cli import positive  # noqa: E402
from tinyrnn.apps.dinos import PRESETS, batches  # noqa: E402
from tinyrnn.apps.namemodel import NameModel, batch_loss, course_init  # noqa: E402
from tinyrnn.apps.training import Trainer  # noqa: E402
from tinyrnn.bptt import dinos as hand  # noqa: E402
from tinyrnn.data.names import EOS, Alphabet, bundled_path, read_names, split_names  # noqa: E402
from tinyrnn.nn.fused_rnn import RNNKernel  # noqa: E402
from tinyrnn.nn.utils import detach_state  # noqa: E402
from tinyrnn.runtime import keep_freed_memory  # noqa: E402

CLASSIC = PRESETS["classic"]


def tinyrnn_steps(names: list[str], alphabet: Alphabet):
    """The classic preset's loop (tinyrnn/apps/dinos.py train()); yields the model, then runs
    `n` steps each time it is sent n."""
    rng = np.random.default_rng(0)
    model = NameModel(alphabet, CLASSIC.cell, CLASSIC.hidden, CLASSIC.layers, CLASSIC.dtype)
    course_init(model, rng)
    params = [p for p in model.parameters() if p.requires_grad]
    trainer = Trainer(params, CLASSIC.optimizer, CLASSIC.lr, CLASSIC.clip, CLASSIC.clip_mode)
    order, state = batches(names, 1, rng, reshuffle=False), None
    n = yield model
    while True:
        for _ in range(n):
            loss, _, state = batch_loss(model, next(order), state)
            trainer.step(loss)
            state = detach_state(state)
        n = yield model


def kernel_steps(names: list[str], alphabet: Alphabet):
    """The same steps with tinyrnn's RNN kernel and NumPy; yields its weights (torch's layout)."""
    rng = np.random.default_rng(0)
    V, H, lr, clip = len(alphabet), CLASSIC.hidden, CLASSIC.lr, CLASSIC.clip
    w_ih, w_hh = rng.standard_normal((H, V)) * 0.01, rng.standard_normal((H, H)) * 0.01  # course_init's order
    w_out = rng.standard_normal((V, H)) * 0.01
    b, b_out, no_bias = np.zeros(H), np.zeros(V), np.zeros(H)  # b_hh is frozen at zero
    one_hot, end = np.eye(V + 1, V), alphabet.index[EOS]
    order, h = rng.permutation(len(names)), np.zeros((H, 1))  # states are columns in the kernel
    weights = {"rnn.weight_ih_l0": w_ih, "rnn.weight_hh_l0": w_hh, "rnn.bias_ih_l0": b}
    weights |= {"head.weight": w_out, "head.bias": b_out}
    j, n = 0, (yield weights)
    while True:
        for _ in range(n):
            ids = alphabet.encode(names[order[j % len(order)]])
            x, y, j = one_hot[[alphabet.start, *ids]][:, None, :], np.array([*ids, end]), j + 1
            kernel = RNNKernel(w_ih, w_hh, b, no_bias)
            cache = kernel.forward(kernel.project(x), (h,), None)
            hs = cache.hs[1:, :, 0]  # (T, H)
            logits = hs @ w_out.T + b_out
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(y)), y] -= 1  # dL/dlogits of the summed loss: softmax - onehot
            g_out, g_b_out, dh = p.T @ hs, p.sum(axis=0), p @ w_out
            h = np.array(cache.state[0])
            dh_n = (np.zeros((H, 1)),)  # the final state is not in the loss
            _, _, (g_ih, g_hh, g_b, _) = kernel.backward(cache, dh[:, :, None], dh_n, None, x.transpose(0, 2, 1))
            for w, g in zip((w_ih, w_hh, b, w_out, b_out), (g_ih, g_hh, g_b, g_out, g_b_out)):
                w -= lr * np.clip(g, -clip, clip)
        n = yield weights


def hand_steps(names: list[str], alphabet: Alphabet):
    """tinyrnn/bptt/dinos.py's train() loop, without its smoothed loss and progress lines."""
    rng = np.random.default_rng(0)
    p = hand.init_params(rng, len(alphabet), CLASSIC.hidden)
    order, h, j = rng.permutation(len(names)), np.zeros(CLASSIC.hidden), 0
    n = yield p
    while True:
        for _ in range(n):
            x, y = hand.encode(names[order[j % len(order)]], alphabet)
            hs, probs = hand.forward(p, x, h)
            for k, g in hand.backward(p, x, y, hs, probs).items():
                p[k] -= CLASSIC.lr * np.clip(g, -CLASSIC.clip, CLASSIC.clip)
            h, j = hs[-1], j + 1
        n = yield p


def check_same_training(names: list[str], alphabet: Alphabet, steps: int = 300) -> float:
    """The largest difference between tinyrnn's and the kernel-only loop's weights after `steps` steps."""
    ours, floor = tinyrnn_steps(names, alphabet), kernel_steps(names, alphabet)
    next(ours), next(floor)
    model, weights = ours.send(steps), floor.send(steps)
    named = dict(model.named_parameters())
    return max(float(np.abs(named[k].data - w).max()) for k, w in weights.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--block", type=positive(int), default=100, help="steps per timed block")
    parser.add_argument("--blocks", type=positive(int), default=40, help="timed blocks of each loop")
    args = parser.parse_args()
    keep_freed_memory()
    names = read_names(bundled_path())
    train_names, _ = split_names(names)
    alphabet = Alphabet.from_names(names)
    gap = check_same_training(train_names, alphabet)
    if gap > 1e-9:
        raise SystemExit(f"tinyrnn and the kernel-only loop trained differently (weights differ by {gap:.2g})")
    loops = {"tinyrnn": tinyrnn_steps, "kernel only": kernel_steps, "hand-written": hand_steps}
    running = {name: make(train_names, alphabet) for name, make in loops.items()}
    for loop in running.values():
        next(loop)
        loop.send(args.block)  # warm-up, untimed
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.blocks):
        for name, loop in running.items():
            start = time.process_time()
            loop.send(args.block)
            times[name].append(time.process_time() - start)
    quartile = {name: sorted(t)[len(t) // 4] / args.block for name, t in times.items()}
    print("| loop | µs per step (lower quartile) | / hand-written (median of rounds) |")
    print("|---|---:|---:|")
    for name, t in times.items():
        ratio = statistics.median(a / b for a, b in zip(t, times["hand-written"]))
        print(f"| {name} | {quartile[name] * 1e6:.0f} | {ratio:.2f}x |")
    print(
        f"\n{args.blocks} rounds of {args.block} steps each, one thread, CPU time; tinyrnn and kernel-only "
        f"weights agree to {gap:.1e} after 300 steps"
    )


if __name__ == "__main__":
    main()
